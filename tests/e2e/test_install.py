"""make install into a DESTDIR: the tree (names, modes), the man pages render without
warnings, the systemd units verify, the installed config is valid, and the installed
binaries run under exactly the unit's CapabilityBoundingSet (each capability in it is
needed: without it the start fails or the daemon warns) and answer, reload and stop."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

from tests.e2e.harness import ROOT, WORK, free_port, test_cert, wait_port

DEST = os.path.join(WORK, "install-%d" % os.getpid())
MAKE_VARS = ["PREFIX=/usr", "UNITDIR=/lib/systemd/system"]
EXPECTED = {
    "etc/mailserver/mailserver.conf": 0o644,
    "etc/pam.d/mailserver": 0o644,
    "lib/systemd/system/mailserver-smtpd.service": 0o644,
    "lib/systemd/system/mailserver-pop3d.service": 0o644,
    "usr/sbin/mailserver-smtpd": 0o755,
    "usr/sbin/mailserver-pop3d": 0o755,
    "usr/sbin/mailserver-userdb": 0o755,
    "usr/share/man/man5/mailserver.conf.5": 0o644,
    "usr/share/man/man8/mailserver-smtpd.8": 0o644,
    "usr/share/man/man8/mailserver-pop3d.8": 0o644,
    "usr/share/man/man8/mailserver-userdb.8": 0o644,
    "usr/share/doc/mailserver/mailserver.conf.sample": 0o644,
    "usr/share/mailserver/mailserver-setup": 0o755,
}
UNITS = ("mailserver-smtpd", "mailserver-pop3d")


def make_install(*extra):
    return subprocess.run(["make", "-s", "--no-print-directory", "install", "DESTDIR=" + DEST]
                          + MAKE_VARS + list(extra), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def unit_caps(unit):
    with open(os.path.join(DEST, "lib/systemd/system/%s.service" % unit)) as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    return m.group(1).split()


def low_port():
    """A free port below 1024 (needs CAP_NET_BIND_SERVICE)."""
    for port in range(700, 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise unittest.SkipTest("no free port below 1024")


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(DEST, ignore_errors=True)
        r = make_install()
        if r.returncode != 0:
            raise AssertionError("make install failed:\n" + r.stdout + r.stderr)

    def test_tree(self):
        found = {}
        for top, dirs, files in os.walk(DEST):
            for n in files:
                p = os.path.join(top, n)
                found[os.path.relpath(p, DEST)] = os.stat(p).st_mode & 0o7777
        self.assertEqual(found, EXPECTED)
        st = os.stat(os.path.join(DEST, "var/lib/mailserver"))
        self.assertEqual(st.st_mode & 0o777, 0o700)
        # no name another Debian package ships (/usr/sbin/smtpd: OpenSMTPD, userdb: courier)
        self.assertEqual(sorted(os.listdir(os.path.join(DEST, "usr/sbin"))),
                         ["mailserver-pop3d", "mailserver-smtpd", "mailserver-userdb"])
        with open(os.path.join(DEST, "etc/mailserver/mailserver.conf")) as f:
            conf = f.read()
        for line in ("data_dir = /var/lib/mailserver", "run_as_user = mailserver",
                     "tls_cert = /etc/mailserver/tls/cert.pem", "listen = 0.0.0.0:25",
                     "listen = 0.0.0.0:587", "listen = 0.0.0.0:110"):
            self.assertIn("\n" + line + "\n", conf)

    def test_install_keeps_the_admins_config(self):
        path = os.path.join(DEST, "etc/mailserver/mailserver.conf")
        with open(path) as f:
            orig = f.read()
        with open(path, "a") as f:
            f.write("# the admin's change\n")
        try:
            r = make_install()
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("keeping", r.stdout)
            with open(path) as f:
                self.assertTrue(f.read().endswith("# the admin's change\n"))
        finally:
            with open(path, "w") as f:
                f.write(orig)

    def test_man_pages_render_without_warnings(self):
        pages = [os.path.join(DEST, p) for p in EXPECTED if "/man/" in p]
        self.assertEqual(len(pages), 4)
        for page in pages:
            r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", page],
                               capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual(r.returncode, 0, page)
            self.assertEqual(r.stderr, "", page)
            self.assertIn("NAME", r.stdout)
        # mailserver.conf(5) comes from the sample: every key of it is documented
        r = subprocess.run(["man", "-l", os.path.join(DEST, "usr/share/man/man5/mailserver.conf.5")],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="200"))
        with open(os.path.join(ROOT, "mailserver.conf.sample")) as f:
            keys = set(re.findall(r"^(?:# )?([a-z_]+) =", f.read(), re.M))
        self.assertGreater(len(keys), 40)
        for k in keys:
            self.assertRegex(r.stdout, r"(?m)^\s+%s =( |$)" % k)
        self.assertIn("data_dir = /var/lib/mailserver", r.stdout)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "no systemd-analyze")
    def test_units_verify(self):
        tmp = os.path.join(DEST + "-units")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        paths = []
        for u in UNITS:
            with open(os.path.join(DEST, "lib/systemd/system/%s.service" % u)) as f:
                text = f.read()
            for want in ("Type=simple", "ExecStart=/usr/sbin/%s -c /etc/mailserver/mailserver.conf -f" % u,
                         "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                         "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                         "PrivateTmp=yes", "ReadWritePaths=/var/lib/mailserver",
                         "SyslogFacility=mail", "WantedBy=multi-user.target"):
                self.assertIn("\n" + want + "\n", text, u)
            # verify against the DESTDIR's binaries and man pages
            p = os.path.join(tmp, u + ".service")
            with open(p, "w") as f:
                f.write(text.replace("=/usr/sbin/", "=%s/usr/sbin/" % DEST))
            paths.append(p)
        r = subprocess.run(["systemd-analyze", "verify"] + paths, capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=os.path.join(DEST, "usr/share/man")))
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_installed_config_is_valid(self):
        # it names /etc/mailserver/tls/{cert,key}.pem, which mailserver-setup makes on a
        # real install, not in a DESTDIR; --check-config loads them: the tests' pair
        cert, key = test_cert()
        with open(os.path.join(DEST, "etc/mailserver/mailserver.conf")) as f:
            conf = f.read()
        for old, new in (("tls_cert = /etc/mailserver/tls/cert.pem", "tls_cert = " + cert),
                         ("tls_key = /etc/mailserver/tls/key.pem", "tls_key = " + key)):
            self.assertIn(old, conf)
            conf = conf.replace(old, new)
        path = os.path.join(WORK, "installed-%d.conf" % os.getpid())
        with open(path, "w") as f:
            f.write(conf)
        self.addCleanup(os.unlink, path)
        r = subprocess.run([os.path.join(DEST, "usr/sbin/mailserver-smtpd"), "-c", path,
                            "--check-config"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("error:", r.stdout)
        self.assertIn("smtp submission: listen=0.0.0.0:587 tls=starttls", r.stdout)


class InstalledDaemonsTest(unittest.TestCase):
    """The installed binaries, started as root the way the units start them."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("starts the daemons as root, as the units do")
        if not os.path.isdir(DEST):
            r = make_install()
            self.assertEqual(r.returncode, 0, r.stderr)
        self.dir = DEST + "-run"
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.ports = {"smtp": low_port(), "sub": free_port(), "pop3": free_port()}
        cert, key = test_cert()
        with open(os.path.join(DEST, "etc/mailserver/mailserver.conf")) as f:
            conf = f.read()
        for old, new in (("data_dir = /var/lib/mailserver", "data_dir = %s/data" % self.dir),
                         ("run_as_user = mailserver", "run_as_user = mail"),
                         ("tls_cert = /etc/mailserver/tls/cert.pem", "tls_cert = " + cert),
                         ("tls_key = /etc/mailserver/tls/key.pem", "tls_key = " + key),
                         ("listen = 0.0.0.0:25", "listen = 127.0.0.1:%d" % self.ports["smtp"]),
                         ("listen = 0.0.0.0:587", "listen = 127.0.0.1:%d" % self.ports["sub"]),
                         ("listen = 0.0.0.0:110", "listen = 127.0.0.1:%d" % self.ports["pop3"])):
            self.assertIn(old, conf)
            conf = conf.replace(old, new)
        self.conf = os.path.join(self.dir, "mailserver.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.procs = []

    def tearDown(self):
        for p, _ in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def start(self, daemon, caps):
        bset = ",".join(["-all"] + ["+" + c.lower()[4:] for c in caps])
        log = os.path.join(self.dir, "%s-%d.log" % (daemon, len(self.procs)))
        with open(log, "wb") as f:
            p = subprocess.Popen(["setpriv", "--bounding-set", bset, "--",
                                  os.path.join(DEST, "usr/sbin/mailserver-" + daemon),
                                  "-c", self.conf, "-f"], stdout=f, stderr=subprocess.STDOUT)
        self.procs.append((p, log))
        return p, log

    def banner(self, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            return s.recv(512).decode()

    def read(self, log):
        with open(log, errors="replace") as f:
            return f.read()

    def stop(self, p, log):
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=15), 0, self.read(log))

    def test_run_reload_stop_under_the_units_capabilities(self):
        smtpd, slog = self.start("smtpd", unit_caps("mailserver-smtpd"))
        wait_port(self.ports["smtp"], proc=smtpd)
        pop3d, plog = self.start("pop3d", unit_caps("mailserver-pop3d"))
        wait_port(self.ports["pop3"], proc=pop3d)
        self.assertTrue(self.banner(self.ports["smtp"]).startswith("220 "))
        self.assertTrue(self.banner(self.ports["pop3"]).startswith("+OK"))
        for log in (slog, plog):
            self.assertNotIn("cannot empty the capability bounding set", self.read(log))
            self.assertIn("running as uid %d" % int(subprocess.check_output(["id", "-u", "mail"])),
                          self.read(log))
        r = subprocess.run([os.path.join(DEST, "usr/sbin/mailserver-userdb"), "-c", self.conf,
                            "add", "alice", "--password-stdin"], input="Install-test-pw-1\n",
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with socket.create_connection(("127.0.0.1", self.ports["pop3"]), timeout=10) as s:
            f = s.makefile("rwb")
            f.readline()
            f.write(b"USER alice\r\n")
            f.flush()
            f.readline()
            f.write(b"PASS Install-test-pw-1\r\n")
            f.flush()
            self.assertTrue(f.readline().startswith(b"+OK"))
        smtpd.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while "reloaded" not in self.read(slog) and time.time() < end:
            time.sleep(0.1)
        self.assertIn("reloaded", self.read(slog))
        self.stop(smtpd, slog)
        self.stop(pop3d, plog)

    def test_each_capability_is_needed(self):
        """Without any one capability of the unit's set, a start on a fresh data_dir or
        on an existing one fails, or the daemon says it cannot empty the bounding set."""
        caps = unit_caps("mailserver-smtpd")
        self.assertEqual(sorted(caps), sorted(unit_caps("mailserver-pop3d")))
        for missing in caps:
            fewer = [c for c in caps if c != missing]
            broken = False
            for fresh in (True, False):
                if fresh:
                    shutil.rmtree(os.path.join(self.dir, "data"), ignore_errors=True)
                else:   # an existing data_dir, made with every capability
                    p, log = self.start("smtpd", caps)
                    wait_port(self.ports["smtp"], proc=p)
                    self.stop(p, log)
                    os.rmdir(os.path.join(self.dir, "data", "mail"))   # for root to recreate
                p, log = self.start("smtpd", fewer)
                try:
                    wait_port(self.ports["smtp"], timeout=5, proc=p)
                    if "cannot empty the capability bounding set" in self.read(log):
                        broken = True
                    self.stop(p, log)
                except RuntimeError:
                    broken = True
                    p.wait(timeout=15)
                if broken:
                    break
            self.assertTrue(broken, "the daemons start as well without %s" % missing)


if __name__ == "__main__":
    unittest.main()
