"""The Debian package (make check-package, after make deb; as root, on a test machine:
it installs and purges the package mailserver and leaves the system user mailserver).
Not a test_*.py file: the package build is slow, so make test does not run it.

lintian reports no error or warning (the remaining infos are overridden with a reason
in debian/mailserver.lintian-overrides); then one life cycle: dpkg -i creates the user,
data_dir, a certificate and enables both units; the installed daemons answer (started
by hand when the machine runs no systemd) and deliver; a reinstall keeps the admin's
config and the data; dpkg -r keeps config and data; dpkg -P removes both."""
import glob
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import time
import unittest

from tests.e2e.harness import ROOT, WORK, free_port, wait_port

DEBS = sorted(glob.glob(os.path.join(ROOT, "build", "deb", "mailserver_*.deb")))
CHANGES = glob.glob(os.path.join(ROOT, "build", "deb", "mailserver_*.changes"))
CONF = "/etc/mailserver/mailserver.conf"
DATA = "/var/lib/mailserver"
WANTS = "/etc/systemd/system/multi-user.target.wants/%s.service"
SYSTEMD = os.path.isdir("/run/systemd/system")


def dpkg(*args):
    for _ in range(60):      # another apt/dpkg on the machine holds the lock: wait
        r = subprocess.run(["dpkg"] + list(args), capture_output=True, text=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode == 0 or "lock" not in r.stderr:
            return r
        time.sleep(2)
    return r


def status():
    r = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", "mailserver"],
                       capture_output=True, text=True)
    out = r.stdout.strip()
    return out if r.returncode == 0 and not out.startswith("un") else "not known"


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("installs a package: run as root")
        if len(DEBS) != 1:
            raise AssertionError("run make deb first (found %s)" % DEBS)
        if status().startswith("ii") or status().startswith("rc"):
            raise AssertionError("the package mailserver is already on this machine (%s): "
                                 "not touching it" % status())

    def test_lintian_clean(self):
        r = subprocess.run(["lintian", "-I", "--show-overrides", CHANGES[0]],
                           capture_output=True, text=True)
        tags = [l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:")]
        self.assertEqual(tags, [])
        overridden = [l for l in r.stdout.splitlines() if l.startswith("O:")]
        self.assertTrue(all("init.d-script" in l or "spelling-error-in-binary tigger" in l
                            for l in overridden), overridden)
        shown = [l for l in r.stdout.splitlines() if l.startswith("I:")]
        self.assertEqual(shown, [])

    def deliver_and_fetch(self, conf):
        """Start the installed daemons on CONF's ports, deliver to alice, fetch it."""
        procs = []
        try:
            for d in ("smtpd", "pop3d"):
                procs.append(subprocess.Popen(["/usr/sbin/mailserver-" + d, "-c", conf, "-f"],
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            wait_port(self.ports["smtp"], proc=procs[0])
            wait_port(self.ports["pop3"], proc=procs[1])
            s = smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=15)
            s.sendmail("bob@example.net", ["alice@example.test"], "Subject: pkg\r\n\r\nhello\r\n")
            s.quit()
            with socket.create_connection(("127.0.0.1", self.ports["pop3"]), timeout=15) as c:
                f = c.makefile("rwb")
                self.assertTrue(f.readline().startswith(b"+OK"))
                for cmd in (b"USER alice", b"PASS Package-test-pw-1", b"STAT"):
                    f.write(cmd + b"\r\n")
                    f.flush()
                    line = f.readline()
                    self.assertTrue(line.startswith(b"+OK"), (cmd, line))
                self.assertGreaterEqual(int(line.split()[1]), 1)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
                out = p.communicate(timeout=20)[0].decode(errors="replace")
                self.assertEqual(p.returncode, 0, out)

    def test_install_upgrade_remove_purge(self):
        try:
            self.life_cycle()
        finally:
            if status() != "not known":
                dpkg("-P", "mailserver")

    def life_cycle(self):
        r = dpkg("-i", DEBS[0])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(status().startswith("ii"), status())
        uid = pwd.getpwnam("mailserver").pw_uid
        st = os.stat(DATA)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (uid, 0o700))
        key = os.stat("/etc/mailserver/tls/key.pem")
        self.assertEqual((key.st_uid, key.st_mode & 0o777), (0, 0o600))   # as certbot's
        self.assertTrue(os.path.exists("/etc/mailserver/tls/cert.pem"))
        for u in ("mailserver-smtpd", "mailserver-pop3d"):
            self.assertTrue(os.path.islink(WANTS % u), "%s not enabled" % u)
        conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "mailserver"],
                                   capture_output=True, text=True).stdout
        self.assertIn(CONF, conffiles)
        r = subprocess.run(["man", "-w", "mailserver-userdb"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)

        # the daemons answer: on this machine's free ports, else the installed config
        self.ports = {"smtp": free_port(), "sub": free_port(), "pop3": free_port()}
        os.makedirs(WORK, exist_ok=True)
        conf = os.path.join(WORK, "pkg-%d.conf" % os.getpid())
        with open(CONF) as f:
            text = f.read()
        for old, new in (("0.0.0.0:25\n", "127.0.0.1:%d\n" % self.ports["smtp"]),
                         ("0.0.0.0:587\n", "127.0.0.1:%d\n" % self.ports["sub"]),
                         ("0.0.0.0:110\n", "127.0.0.1:%d\n" % self.ports["pop3"])):
            text = text.replace(old, new)
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run(["/usr/sbin/mailserver-userdb", "-c", conf, "add", "alice",
                            "--password-stdin"], input="Package-test-pw-1\n",
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        if SYSTEMD:
            for u in ("mailserver-smtpd", "mailserver-pop3d"):
                r = subprocess.run(["systemctl", "is-active", u], capture_output=True, text=True)
                self.assertEqual(r.stdout.strip(), "active", u)
            subprocess.run(["systemctl", "stop", "mailserver-smtpd", "mailserver-pop3d"], check=True)
        self.deliver_and_fetch(conf)
        self.assertEqual(os.stat(DATA + "/mail").st_uid, uid)

        # upgrade (a reinstall runs the same maintainer scripts): the admin's config stays
        with open(CONF, "a") as f:
            f.write("# the admin's change\n")
        r = dpkg("-i", "--force-confold", DEBS[0])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(CONF) as f:
            self.assertTrue(f.read().endswith("# the admin's change\n"))
        self.assertIn("alice@example.test", subprocess.run(
            ["/usr/sbin/mailserver-userdb", "list"], capture_output=True, text=True,
            cwd="/").stdout)

        # remove: programs gone, config and data kept
        r = dpkg("-r", "mailserver")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists("/usr/sbin/mailserver-smtpd"))
        self.assertTrue(os.path.exists(CONF))
        self.assertTrue(os.listdir(DATA + "/mail/example.test/alice/new") or
                        os.listdir(DATA + "/mail/example.test/alice/cur"))
        self.assertTrue(status().startswith("rc"), status())

        # purge: config, certificate, data and the enabled-unit links gone
        r = dpkg("-P", "mailserver")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for gone in (CONF, "/etc/mailserver", DATA, WANTS % "mailserver-smtpd",
                     WANTS % "mailserver-pop3d"):
            self.assertFalse(os.path.lexists(gone), gone)
        self.assertEqual(status(), "not known")
        os.unlink(conf)


if __name__ == "__main__":
    unittest.main()
