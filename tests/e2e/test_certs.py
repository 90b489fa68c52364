"""Certificates renewed on disk (SPEC "Installing and running as a service"): a SIGHUP
takes up a renewed certificate, also when the key is readable by root only (the daemons
started as root keep a root certificate keeper, common/certkeeper.c); an expired, not
yet valid, mismatched or garbled one is refused with a log line naming the file, and
the old certificate stays in force; live sessions finish on the old one.

The certificates are made here with openssl: a CA and leaves signed by it with
`openssl ca -startdate/-enddate` (past dates for the expired one), laid out as certbot
does (live/NAME/*.pem symlinks into archive/NAME/*N.pem, renewals re-point them)."""
import os
import pwd
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from tests.e2e.harness import Env, EnvTestCase, BIN, wait_port

NAME = "mail.example.test"
CA_CNF = """[ca]
default_ca = ca_here
[ca_here]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/new
certificate = {d}/ca.pem
private_key = {d}/ca.key
serial = {d}/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
"""


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Certbot:
    """A CA and a certbot-like tree under DIR: issue() makes a leaf (cert, key) signed by
    the CA into archive/ and install() points live/ at it, as a renewal does."""

    def __init__(self, d, owner=0):
        self.d = d
        self.ca = os.path.join(d, "ca")
        self.archive = os.path.join(d, "archive", NAME)
        self.live = os.path.join(d, "live", NAME)
        self.owner = owner
        self.n = 0
        for p in (self.ca, os.path.join(self.ca, "new"), self.archive, self.live):
            os.makedirs(p, mode=0o700, exist_ok=True)
        for p in (os.path.join(d, "archive"), os.path.join(d, "live"), self.archive, self.live):
            os.chmod(p, 0o700)
            os.chown(p, owner, -1)
        with open(os.path.join(self.ca, "ca.cnf"), "w") as f:
            f.write(CA_CNF.format(d=self.ca))
        open(os.path.join(self.ca, "index.txt"), "w").close()
        with open(os.path.join(self.ca, "serial"), "w") as f:
            f.write("1000\n")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", os.path.join(self.ca, "ca.key"),
            "-out", os.path.join(self.ca, "ca.pem"), "-days", "3650", "-subj", "/CN=Test CA")
        self.cert = os.path.join(self.live, "fullchain.pem")
        self.key = os.path.join(self.live, "privkey.pem")

    def issue(self, start=None, end=None):
        """A new leaf: (fullchain path, key path, DER of the leaf). Dates as
        YYYYMMDDHHMMSSZ; default: valid from now for 90 days."""
        self.n += 1
        key = os.path.join(self.archive, "privkey%d.pem" % self.n)
        csr = os.path.join(self.ca, "req%d.csr" % self.n)
        leaf = os.path.join(self.ca, "leaf%d.pem" % self.n)
        old = os.umask(0o077)
        try:
            run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                "-subj", "/CN=" + NAME)
        finally:
            os.umask(old)
        dates = ["-days", "90"] if start is None else ["-startdate", start, "-enddate", end]
        run("openssl", "ca", "-batch", "-notext", "-config", os.path.join(self.ca, "ca.cnf"),
            "-in", csr, "-out", leaf, *dates)
        with open(leaf) as f:
            leaf_pem = f.read()
        with open(os.path.join(self.ca, "ca.pem")) as f:
            ca_pem = f.read()
        chain = os.path.join(self.archive, "fullchain%d.pem" % self.n)
        with open(chain, "w") as f:
            f.write(leaf_pem + ca_pem)
        os.chmod(key, 0o600)
        os.chown(key, self.owner, -1)
        os.chown(chain, self.owner, -1)
        return chain, key, ssl.PEM_cert_to_DER_cert(leaf_pem)

    def install(self, chain, key):
        """Re-point live/ at CHAIN and KEY (atomically, as certbot does)."""
        for target, link in ((chain, self.cert), (key, self.key)):
            tmp = link + ".new"
            os.symlink(os.path.relpath(target, self.live), tmp)
            os.rename(tmp, link)


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # no CA store: nothing is verified
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def status_field(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return ln.split()[1]
    raise AssertionError("no %s line for pid %d" % (field, pid))


class CertCase(EnvTestCase):
    SECTIONS = ("[smtp main]\nlisten = 127.0.0.1:{port:smtp}\ntls = starttls\n\n"
                "[pop3 pops]\nlisten = 127.0.0.1:{port:pops}\ntls = implicit\n\n"
                "[pop3 stls]\nlisten = 127.0.0.1:{port:pop3}\ntls = stls\n")

    def make_env(self, name, owner=0):
        self.env = Env(name, sections=self.SECTIONS)
        self.le = Certbot(os.path.join(self.env.dir, "letsencrypt"), owner)
        with open(self.env.conf) as f:
            text = f.read()
        text = re.sub(r"(?m)^tls_cert = .*$", "tls_cert = " + self.le.cert, text)
        text = re.sub(r"(?m)^tls_key = .*$", "tls_key = " + self.le.key, text)
        self.env.write_conf(text)

    # ---- what the daemons serve ---------------------------------------------------
    def smtp_cert(self):
        with smtplib.SMTP("127.0.0.1", self.env.ports["smtp"], timeout=10) as s:
            s.ehlo("client.test")
            s.starttls(context=client_ctx())
            return s.sock.getpeercert(binary_form=True)

    def pops_cert(self):
        with socket.create_connection(("127.0.0.1", self.env.ports["pops"]), 10) as raw:
            with client_ctx().wrap_socket(raw) as t:
                der = t.getpeercert(binary_form=True)
                f = t.makefile("rb")
                self.assertTrue(f.readline().startswith(b"+OK"))
                t.sendall(b"QUIT\r\n")
                self.assertTrue(f.readline().startswith(b"+OK"))
                f.close()
                return der

    def stls_cert(self):
        p = self.env.pop3("pop3")
        p.stls(client_ctx())
        der = p.sock.getpeercert(binary_form=True)
        p.quit()
        return der

    def assert_served(self, der, what):
        self.assertEqual(self.smtp_cert(), der, "smtpd STARTTLS serves " + what)
        if "pop3d" in self.env.procs:
            self.assertEqual(self.pops_cert(), der, "pop3d implicit TLS serves " + what)
            self.assertEqual(self.stls_cert(), der, "pop3d STLS serves " + what)

    # ---- reloads --------------------------------------------------------------------
    def hup_and_wait(self, mark):
        """SIGHUP every daemon; wait until each logged MARK once more than before."""
        before = {d: self.env.log(d).count(mark) for d in self.env.procs}
        for p in self.env.procs.values():
            p.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while time.time() < end:
            if all(self.env.log(d).count(mark) > n for d, n in before.items()):
                return
            time.sleep(0.05)
        self.fail("no '%s' after SIGHUP:\n%s" % (mark, "\n".join(
            self.env.log(d)[-1500:] for d in self.env.procs)))

    def refused(self, chain, key, reason, good, what):
        self.le.install(chain, key)
        self.hup_and_wait("keeping the old one")
        for d in self.env.procs:
            line = [ln for ln in self.env.log(d).splitlines() if "keeping the old one" in ln][-1]
            self.assertIn(reason, line, d)
        self.assert_served(good, "the old certificate after " + what)


@unittest.skipUnless(os.geteuid() == 0, "the certificate keeper exists only when started as root")
class CertReloadAsRoot(CertCase):
    def setUp(self):
        self.make_env("certs-root")
        self.a = self.le.issue()
        self.le.install(*self.a[:2])
        self.env.start("smtpd", wait=["smtp"])
        self.env.start("pop3d", wait=["pops", "pop3"])

    def keeper_of(self, daemon):
        m = re.search(r"certificate keeper: pid (\d+) stays root", self.env.log(daemon))
        self.assertIsNotNone(m, self.env.log(daemon)[-1500:])
        return int(m.group(1))

    def test_renewed_root_only_key_taken_up_bad_ones_refused(self):
        a_der = self.a[2]
        self.assert_served(a_der, "certificate A at start")
        # a session that did its handshake on A goes on after the reload
        live = smtplib.SMTP("127.0.0.1", self.env.ports["smtp"], timeout=10)
        live.ehlo("client.test")
        live.starttls(context=client_ctx())
        self.assertEqual(live.sock.getpeercert(binary_form=True), a_der)

        b = self.le.issue()
        self.le.install(*b[:2])
        self.hup_and_wait("reload: tls_cert " + self.le.cert + ": serial")
        self.assert_served(b[2], "the renewed certificate B")
        self.assertEqual(live.noop()[0], 250)
        live.quit()

        expired = self.le.issue("20240101000000Z", "20250101000000Z")
        self.refused(expired[0], expired[1],
                     "tls_cert %s: certificate expired on 2025-01-01 00:00:00 UTC" % self.le.cert,
                     b[2], "an expired one")
        future = self.le.issue("20990101000000Z", "21000101000000Z")
        self.refused(future[0], future[1], "certificate not valid before 2099-01-01", b[2],
                     "a not yet valid one")
        c = self.le.issue()
        self.refused(c[0], b[1], "tls_key %s: the key does not match the certificate in %s"
                     % (self.le.key, self.le.cert), b[2], "a mismatched key")
        garbled = os.path.join(self.le.archive, "garbled.pem")
        with open(garbled, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\ntruncated by a full disk\n")
        self.refused(garbled, b[1], "tls_cert %s: no PEM certificate in it" % self.le.cert, b[2],
                     "a garbled one")
        os.unlink(b[1])                    # a key file that is gone
        self.refused(b[0], b[1], "tls_key %s: cannot open (as root): No such file"
                     % self.le.key, b[2], "the key gone")
        self.le.install(c[0], c[1])        # and a good one is taken up again
        self.hup_and_wait("reload: tls_cert " + self.le.cert + ": serial")
        self.assert_served(c[2], "certificate C after the refusals")

    def test_process_tree(self):
        mail = pwd.getpwnam("mail")
        keepers = []
        for d in ("smtpd", "pop3d"):
            daemon = self.env.procs[d].pid
            keeper = self.keeper_of(d)
            keepers.append(keeper)
            # the daemon: run_as_user, CAP_NET_BIND_SERVICE only
            self.assertEqual(int(status_field(daemon, "Uid")), mail.pw_uid)
            self.assertEqual(int(status_field(daemon, "CapEff"), 16), 1 << 10)
            # the keeper: the daemon's child, uid 0, nothing but CAP_DAC_READ_SEARCH
            self.assertEqual(int(status_field(keeper, "PPid")), daemon)
            self.assertEqual(int(status_field(keeper, "Uid")), 0)
            self.assertEqual(int(status_field(keeper, "CapEff"), 16) & ~(1 << 2), 0)
            self.assertEqual(int(status_field(keeper, "CapBnd"), 16), 0)
            self.assertEqual(status_field(keeper, "NoNewPrivs"), "1")
            # it holds no listening socket (it reads no network input)
            fds = os.listdir("/proc/%d/fd" % keeper)
            socks = [os.readlink("/proc/%d/fd/%s" % (keeper, n)) for n in fds]
            self.assertEqual(len([s for s in socks if s.startswith("socket:")]), 1, socks)
        # run_as_user cannot read the key
        r = subprocess.run(["setpriv", "--reuid=mail", "--regid=mail", "--clear-groups",
                            "cat", self.le.key], capture_output=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"Permission denied", r.stderr)
        # the keepers end with their daemons
        self.env.stop_all()
        end = time.time() + 5
        for k in keepers:
            while time.time() < end and os.path.exists("/proc/%d" % k) and \
                    status_field(k, "State") != "Z":
                time.sleep(0.05)
            self.assertTrue(not os.path.exists("/proc/%d" % k) or status_field(k, "State") == "Z",
                            "keeper %d still runs" % k)


class CertAsUser(CertCase):
    """Started as a user (make run, or here as `mail` through setpriv when the tests run
    as root): no keeper, reloads read the files themselves."""
    SECTIONS = "[smtp main]\nlisten = 127.0.0.1:{port:smtp}\ntls = starttls\n"

    def setUp(self):
        self.user = os.geteuid() != 0
        owner = os.geteuid() if self.user else pwd.getpwnam("mail").pw_uid
        self.make_env("certs-user", owner)
        os.makedirs(self.env.data, mode=0o700)
        os.chown(self.env.data, owner, -1)
        for d in (os.path.join(self.env.dir, "letsencrypt"), self.le.ca):
            os.chown(d, owner, -1)

    def start_smtpd(self):
        log = os.path.join(self.env.dir, "smtpd.log")
        self.env.logs["smtpd"] = log
        prefix = [] if self.user else ["setpriv", "--reuid=mail", "--regid=mail",
                                       "--clear-groups"]
        with open(log, "ab") as f:
            p = subprocess.Popen(prefix + [os.path.join(BIN, "smtpd"), "-c", self.env.conf, "-f"],
                                 stdout=f, stderr=subprocess.STDOUT)
        self.env.procs["smtpd"] = p
        wait_port(self.env.ports["smtp"], proc=p)
        return p

    def test_reload_reads_renewed_files(self):
        a = self.le.issue()
        self.le.install(*a[:2])
        self.start_smtpd()
        self.assertNotIn("certificate keeper", self.env.log("smtpd"))
        self.assert_served(a[2], "A")
        b = self.le.issue()
        self.le.install(*b[:2])
        self.hup_and_wait("reload: tls_cert " + self.le.cert + ": serial")
        self.assert_served(b[2], "the renewed B")
        c = self.le.issue()
        self.refused(c[0], a[1], "does not match the certificate", b[2], "a mismatched key")

    def test_start_expired_warns_mismatched_refuses(self):
        expired = self.le.issue("20240101000000Z", "20250101000000Z")
        self.le.install(*expired[:2])
        self.start_smtpd()
        self.assertIn("certificate expired on 2025-01-01 00:00:00 UTC; serving it anyway",
                      self.env.log("smtpd"))
        r = self.env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("warning: tls_cert %s: certificate expired on 2025-01-01" % self.le.cert,
                      r.stdout)
        self.assert_served(expired[2], "the expired certificate, at start")
        self.env.stop("smtpd")
        good = self.le.issue()
        self.le.install(expired[0], good[1])
        prefix = [] if self.user else ["setpriv", "--reuid=mail", "--regid=mail",
                                       "--clear-groups"]
        r = subprocess.run(prefix + [os.path.join(BIN, "smtpd"), "-c", self.env.conf, "-f"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tls_key %s: the key does not match the certificate in %s"
                      % (self.le.key, self.le.cert), r.stderr)
        r = self.env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("error: tls_key %s: the key does not match" % self.le.key, r.stdout)


if __name__ == "__main__":
    unittest.main()
