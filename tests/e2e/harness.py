"""End-to-end test harness: writes a config, runs the real userdb, starts the real
smtpd/pop3d (the ASan+UBSan build) on free loopback ports, and checks on stop that
they exited cleanly and that no sanitizer reported anything.

Clients: "LAN" is 127.0.0.1, a "remote" client binds to 127.0.0.9 (REMOTE_IP).
"""
import os
import shutil
import signal
import smtplib
import poplib
import socket
import subprocess
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("MS_BIN", os.path.join(ROOT, os.environ.get("B", "build"), "asan", "bin"))
WORK = os.path.join(ROOT, "build", "e2e")
LAN_IP = "127.0.0.1"
REMOTE_IP = "127.0.0.9"
DOMAIN = "example.test"


def free_port():
    s = socket.socket()
    s.bind(("0.0.0.0", 0))   # free on every address, not just 127.0.0.1
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host="127.0.0.1", timeout=15.0, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("daemon exited with %s before listening" % proc.returncode)
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s:%d" % (host, port))


def test_cert():
    """A self-signed certificate for tests, made once."""
    os.makedirs(WORK, exist_ok=True)
    cert = os.path.join(WORK, "cert.pem")
    key = os.path.join(WORK, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "3650",
                        "-subj", "/CN=mail.example.test"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o644)   # the daemon reads it after dropping to run_as_user
    return cert, key


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer", "WARNING: ThreadSanitizer")


class Env:
    """One throwaway installation: a data dir, a config, and the daemons started on it.

    server_conf: extra lines for [server]; sections: text of the [smtp ...]/[pop3 ...]
    sections; use {port:NAME} in them for a free port (env.ports[NAME] afterwards)."""

    def __init__(self, name, server_conf="", sections="", routes=""):
        self.dir = os.path.join(WORK, "%s-%d" % (name, os.getpid()))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "mailserver.conf")
        self.ports = {}
        self.procs = {}
        self.logs = {}
        self.wrap = []       # a command the programs run under (ip netns exec NS)
        cert, key = test_cert()
        if "dns_trust_anchor" not in server_conf:
            # the tests' DNS (NSD) serves no root zone: validating from the root's
            # anchor (dns-root-data) would make every MX answer bogus
            server_conf += "\ndns_trust_anchor ="
        text = ("[server]\nhostname = mail.example.test\ndomain = %s\n"
                "data_dir = %s\nrun_as_user = mail\ntls_cert = %s\ntls_key = %s\n%s\n"
                % (DOMAIN, self.data, cert, key, server_conf))
        if routes:
            text += "[routes]\n%s\n" % routes
        text += self._ports(sections)
        self.write_conf(text)

    def _ports(self, text):
        out = []
        i = 0
        while True:
            j = text.find("{port:", i)
            if j < 0:
                out.append(text[i:])
                break
            k = text.index("}", j)
            name = text[j + 6:k]
            if name not in self.ports:
                self.ports[name] = free_port()
            out.append(text[i:j])
            out.append(str(self.ports[name]))
            i = k + 1
        return "".join(out)

    def write_conf(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    # ---- tools ------------------------------------------------------------
    def userdb(self, *args, password=None, check=True):
        cmd = self.wrap + [os.path.join(BIN, "userdb"), "-c", self.conf] + list(args)
        inp = None
        if password is not None:
            cmd.append("--password-stdin")
            inp = password + "\n"
        r = subprocess.run(cmd, input=inp, capture_output=True, text=True, timeout=60)
        for mark in SANITIZER_MARKS:
            if mark in r.stderr:
                raise AssertionError("sanitizer in userdb %s:\n%s" % (args, r.stderr))
        if check and r.returncode != 0:
            raise AssertionError("userdb %s failed (%d): %s" % (args, r.returncode, r.stderr))
        return r

    def add_user(self, address, password, relay=False):
        args = ["add", address]
        if relay:
            args.append("--relay")
        return self.userdb(*args, password=password)

    def smtpd_cmd(self, *args):
        r = subprocess.run([os.path.join(BIN, "smtpd"), "-c", self.conf] + list(args),
                           capture_output=True, text=True, timeout=60)
        return r

    # ---- daemons ----------------------------------------------------------
    def start(self, daemon, wait=None, env=None):
        """Start bin/DAEMON -f (with env added to the environment); wait for the ports
        named in wait (default: all)."""
        log = os.path.join(self.dir, daemon + ".log")
        self.logs[daemon] = log
        f = open(log, "ab")
        p = subprocess.Popen(self.wrap + [os.path.join(BIN, daemon), "-c", self.conf, "-f"],
                             stdout=f, stderr=subprocess.STDOUT,
                             env=dict(os.environ, **env) if env else None)
        f.close()
        self.procs[daemon] = p
        for name in (wait if wait is not None else list(self.ports)):
            wait_port(self.ports[name], proc=p)
        return p

    def log(self, daemon):
        with open(self.logs[daemon], errors="replace") as f:
            return f.read()

    def kill9(self, daemon):
        p = self.procs.pop(daemon)
        p.kill()
        p.wait()

    def stop(self, daemon, check=True):
        p = self.procs.pop(daemon, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError("%s did not exit within 15 s of SIGTERM" % daemon)
        text = self.log(daemon)
        if check:
            for mark in SANITIZER_MARKS:
                if mark in text:
                    raise AssertionError("sanitizer report in %s log:\n%s" % (daemon, text[-4000:]))
            if p.returncode != 0:
                raise AssertionError("%s exited %s:\n%s" % (daemon, p.returncode, text[-3000:]))

    def stop_all(self):
        errors = []
        for d in list(self.procs):
            try:
                self.stop(d)
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("\n".join(errors))

    # ---- clients ----------------------------------------------------------
    def smtp(self, port_name, source=LAN_IP, ehlo=True):
        s = smtplib.SMTP(timeout=15, source_address=(source, 0))
        s.connect("127.0.0.1", self.ports[port_name])
        if ehlo:
            s.ehlo("client.test")
        return s

    def pop3(self, port_name, source=LAN_IP):
        # poplib has no source_address; connect a socket ourselves.
        p = poplib.POP3.__new__(poplib.POP3)
        p.host, p.port = "127.0.0.1", self.ports[port_name]
        p._tls_established = False
        p.sock = socket.create_connection(("127.0.0.1", self.ports[port_name]), 15,
                                          source_address=(source, 0))
        p.file = p.sock.makefile("rb")
        p._debugging = 0
        p.welcome = p._getresp()
        return p

    def maildir(self, address):
        local, domain = address.split("@")
        return os.path.join(self.data, "mail", domain, local)

    def messages(self, address):
        """Contents of every message in new/ and cur/ (bytes), oldest name first."""
        out = []
        base = self.maildir(address)
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            if os.path.isdir(d):
                for n in sorted(os.listdir(d)):
                    with open(os.path.join(d, n), "rb") as f:
                        out.append(f.read())
        return out


class EnvTestCase(unittest.TestCase):
    """Base class: self.env is stopped (and checked for sanitizer reports) after each test."""
    env = None

    def tearDown(self):
        if self.env is not None:
            self.env.stop_all()
