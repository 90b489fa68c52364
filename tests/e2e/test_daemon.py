"""The daemon framework (common/server.c, conn.c) seen from outside, through smtpd
(and pop3d where it matters): connection limits, allow/deny refusal, idle timeout,
capped command lines, STARTTLS and implicit TLS, SIGHUP reload, SIGTERM, bind
errors and the privilege drop."""
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import LAN_IP, REMOTE_IP, Env, EnvTestCase


class Line:
    """A raw client: connect from SOURCE, read CRLF lines, send bytes."""

    def __init__(self, port, source=LAN_IP, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                             source_address=(source, 0))
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; pending %r" % self.buf)
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("latin-1")

    def reply(self):
        """One SMTP reply (all lines of a multi-line one), as a list of lines."""
        out = [self.line()]
        while len(out[-1]) > 3 and out[-1][3] == "-":
            out.append(self.line())
        return out

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def closed(self, wait=5.0):
        """True when the server closes the connection within WAIT seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


class DaemonCase(EnvTestCase):
    """Also checks that SIGTERM at the end found no connection it had to force shut:
    every session the tests left behind (or the harness's probes) ended on its own."""
    forced_ok = False

    def tearDown(self):
        super().tearDown()
        if self.env is None or self.forced_ok:
            return
        for daemon in self.env.logs:
            self.assertNotIn("still open after", self.env.log(daemon))


SMTP_BASE = """
[smtp main]
listen = 127.0.0.1:{port:main}
tls = starttls
timeout = 2s
max_connections_per_ip = 2
"""


def tls_client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def settle(env, daemon, wait=5.0):
    """Wait until every connection the daemon logged (the harness's port probes
    included) has been logged as gone, so that limit counts start from zero."""
    end = time.time() + wait
    while time.time() < end:
        log = env.log(daemon)
        opened = len(re.findall(r"connect: instance=\S+ ip=\S+ port=\d+ id=", log))
        if "started:" in log and opened >= len(env.ports) and \
                opened == log.count("disconnect: id="):
            return
        time.sleep(0.05)
    raise AssertionError("connections still open:\n" + env.log(daemon)[-2000:])


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("Uid:"):
                return int(ln.split()[1])
    raise AssertionError("no Uid line")


class DaemonLimits(DaemonCase):
    def setUp(self):
        self.env = Env("daemon-limits", sections=SMTP_BASE + """
[smtp small]
listen = 127.0.0.1:{port:small}
max_connections = 1
deny_clients = 127.0.0.9

[smtp only]
listen = 127.0.0.1:{port:only}
allow_clients = 127.0.0.1
""")
        self.env.start("smtpd")
        settle(self.env, "smtpd")

    def test_per_ip_limit(self):
        a = Line(self.env.ports["main"])
        b = Line(self.env.ports["main"])
        self.assertTrue(a.line().startswith("220 "))
        self.assertTrue(b.line().startswith("220 "))
        c = Line(self.env.ports["main"])
        self.assertTrue(c.line().startswith("421 4.7.0"))
        self.assertTrue(c.closed())
        # another IP is not affected by this IP's count
        d = Line(self.env.ports["main"], source=REMOTE_IP)
        self.assertTrue(d.line().startswith("220 "))
        a.send("QUIT\r\n")
        self.assertTrue(a.reply()[0].startswith("221"))
        self.assertTrue(a.closed())
        time.sleep(0.3)
        e = Line(self.env.ports["main"])   # a slot is free again
        self.assertTrue(e.line().startswith("220 "))
        for x in (b, c, d, e):
            x.close()

    def test_total_limit(self):
        a = Line(self.env.ports["small"])
        self.assertTrue(a.line().startswith("220 "))
        b = Line(self.env.ports["small"])
        self.assertTrue(b.line().startswith("421 4.7.0"))
        self.assertTrue(b.closed())
        a.close()
        time.sleep(0.3)
        c = Line(self.env.ports["small"])
        self.assertTrue(c.line().startswith("220 "))
        c.close()

    def test_deny_and_allow(self):
        r = Line(self.env.ports["small"], source=REMOTE_IP)
        self.assertTrue(r.line().startswith("554 5.7.1"))
        self.assertTrue(r.closed())
        r = Line(self.env.ports["only"], source=REMOTE_IP)
        self.assertTrue(r.line().startswith("554 5.7.1"))
        self.assertTrue(r.closed())
        ok = Line(self.env.ports["only"], source=LAN_IP)
        self.assertTrue(ok.line().startswith("220 "))
        ok.close()
        log = self.env.log("smtpd")
        self.assertIn("refused: ", log)
        self.assertIn("connect: instance=only ip=127.0.0.9", log)

    def test_idle_timeout(self):
        a = Line(self.env.ports["main"])
        a.line()
        t0 = time.time()
        a.sock.settimeout(10)
        self.assertTrue(a.line().startswith("421 4.4.2"))
        self.assertTrue(1.5 < time.time() - t0 < 6, time.time() - t0)
        self.assertTrue(a.closed())

    def test_long_line_and_tail_never_executed(self):
        a = Line(self.env.ports["main"])
        a.line()
        a.send(b"NOOP " + b"x" * 600 + b"QUIT\r\nNOOP\r\n")
        self.assertTrue(a.reply()[0].startswith("500 5.5.2"))
        self.assertTrue(a.reply()[0].startswith("250"))   # the NOOP; QUIT never ran
        # a long line arriving in pieces: one 500 when its LF finally comes
        a.send(b"RSET " + b"y" * 3000)
        time.sleep(0.3)
        a.send(b"z" * 70000)
        time.sleep(0.3)
        a.send(b"QUIT\r\nNOOP\r\n")
        self.assertTrue(a.reply()[0].startswith("500 5.5.2"))
        self.assertTrue(a.reply()[0].startswith("250"))
        a.send("QUIT\r\n")
        self.assertTrue(a.reply()[0].startswith("221"))
        self.assertTrue(a.closed())

    def test_pipelined_replies_and_close_after_quit(self):
        a = Line(self.env.ports["main"])
        a.line()
        a.send("NOOP\r\nNOOP\r\nNOOP\r\nQUIT\r\nNOOP\r\n")
        codes = [a.reply()[0][:3] for _ in range(4)]
        self.assertEqual(codes, ["250", "250", "250", "221"])
        self.assertTrue(a.closed())
        self.assertEqual(a.buf, b"")           # nothing after QUIT was answered


    def test_half_close_still_answered(self):
        a = Line(self.env.ports["main"])
        a.line()
        a.send("NOOP\r\nNOOP\r\nQUIT\r\n")
        a.sock.shutdown(socket.SHUT_WR)        # FIN right behind the commands
        codes = [a.reply()[0][:3] for _ in range(3)]
        self.assertEqual(codes, ["250", "250", "221"])
        self.assertTrue(a.closed())

    def test_peer_reset_does_not_disturb_others(self):
        a = Line(self.env.ports["main"], source=REMOTE_IP)
        a.line()
        a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        a.send("NOOP\r\n")
        a.close()                              # RST
        b = Line(self.env.ports["main"])
        self.assertTrue(b.line().startswith("220 "))
        b.send("NOOP\r\n")
        self.assertTrue(b.reply()[0].startswith("250"))
        b.close()


    def test_ipv6_listener(self):
        port = harness.free_port()
        text = open(self.env.conf).read()
        self.env.write_conf(text + "\n[smtp six]\nlisten = [::1]:%d\n" % port)
        p = self.env.procs["smtpd"]
        p.send_signal(signal.SIGHUP)
        end = time.time() + 5
        while True:
            try:
                s = socket.create_connection(("::1", port), 2)
                break
            except OSError:
                self.assertLess(time.time(), end, "no IPv6 listener")
                time.sleep(0.1)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        s.close()
        self.assertIn("connect: instance=six ip=::1 ", self.env.log("smtpd"))


class DaemonOutOfFds(DaemonCase):
    def test_emfile_pauses_accepting_then_recovers(self):
        import resource
        self.env = Env("daemon-fds", sections=SMTP_BASE.replace(
            "max_connections_per_ip = 2", "max_connections_per_ip = 1000"))
        log = os.path.join(self.env.dir, "smtpd.log")
        self.env.logs["smtpd"] = log
        with open(log, "ab") as f:
            p = subprocess.Popen(
                [os.path.join(harness.BIN, "smtpd"), "-c", self.env.conf, "-f"],
                stdout=f, stderr=subprocess.STDOUT,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
        self.env.procs["smtpd"] = p
        harness.wait_port(self.env.ports["main"], proc=p)
        clients = []
        for _ in range(80):                 # more than the daemon has descriptors for
            clients.append(socket.create_connection(("127.0.0.1", self.env.ports["main"]), 5))
        time.sleep(1.0)
        self.assertIn("Too many open files", self.env.log("smtpd"))
        cpu0 = self.cpu(p.pid)
        time.sleep(1.0)
        self.assertLess(self.cpu(p.pid) - cpu0, 0.5)   # not spinning on the listener
        for c in clients:
            c.close()
        time.sleep(1.5)
        a = Line(self.env.ports["main"])
        a.sock.settimeout(10)
        self.assertTrue(a.line().startswith("220 "))
        a.close()

    @staticmethod
    def cpu(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DaemonTls(DaemonCase):
    def setUp(self):
        self.env = Env("daemon-tls", sections=SMTP_BASE + """
[smtp smtps]
listen = 127.0.0.1:{port:smtps}
tls = implicit
timeout = 2s
""")
        self.env.start("smtpd")

    def test_starttls_reply_then_handshake_and_injection_dropped(self):
        a = Line(self.env.ports["main"])
        a.line()
        a.send("EHLO client.test\r\n")
        self.assertIn("250-STARTTLS", a.reply())
        # plaintext pipelined behind STARTTLS must be discarded (CVE-2011-0411)
        a.send("STARTTLS\r\nNOOP\r\n")
        self.assertTrue(a.line().startswith("220 "))
        self.assertEqual(a.buf, b"")
        t = tls_client_ctx().wrap_socket(a.sock)
        self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))
        t.sendall(b"EHLO client.test\r\n")
        data = b""
        while not data.endswith(b"\r\n") or b"250 " not in data:
            chunk = t.recv(4096)
            self.assertTrue(chunk)
            data += chunk
        self.assertTrue(data.startswith(b"250-"), data)   # not the NOOP's reply
        self.assertNotIn(b"STARTTLS", data)
        t.sendall(b"QUIT\r\n")
        self.assertTrue(t.recv(4096).startswith(b"221"))
        t.close()
        self.assertRegex(self.env.log("smtpd"), r"tls: id=\d+ TLSv1\.[23]:")

    def test_implicit_tls(self):
        raw = socket.create_connection(("127.0.0.1", self.env.ports["smtps"]), 10)
        t = tls_client_ctx().wrap_socket(raw)
        self.assertTrue(t.recv(4096).startswith(b"220 "))
        t.sendall(b"QUIT\r\n")
        self.assertTrue(t.recv(4096).startswith(b"221"))
        t.close()

    def test_stalled_handshake_times_out(self):
        for port in ("smtps", "main"):
            raw = socket.create_connection(("127.0.0.1", self.env.ports[port]), 10)
            if port == "main":                  # STARTTLS, then no handshake at all
                f = Line.__new__(Line)
                f.sock, f.buf = raw, b""
                f.line()
                f.send("STARTTLS\r\n")
                self.assertTrue(f.line().startswith("220 "))
            t0 = time.time()
            raw.settimeout(10)
            try:
                while raw.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            self.assertLess(time.time() - t0, 6, port)
            raw.close()

    def handshake(self, maximum):
        ctx = tls_client_ctx()
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")     # let the client offer old versions
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = maximum
        raw = socket.create_connection(("127.0.0.1", self.env.ports["smtps"]), 10)
        try:
            t = ctx.wrap_socket(raw)
            version = t.version()
            t.close()
            return version
        except (ssl.SSLError, ConnectionResetError):
            raw.close()
            return None

    def test_tls_below_1_2_refused(self):
        self.assertIsNone(self.handshake(ssl.TLSVersion.TLSv1_1))
        # the same client may use TLS 1.2, so the refusal above is the server's
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")


class DaemonSignals(DaemonCase):
    def setUp(self):
        self.env = Env("daemon-signals", sections=SMTP_BASE)
        self.text = open(self.env.conf).read()

    def test_sighup_adds_listener_and_changes_policy(self):
        p = self.env.start("smtpd")
        live = Line(self.env.ports["main"], source=REMOTE_IP)
        self.assertTrue(live.line().startswith("220 "))
        extra = harness.free_port()
        self.env.write_conf(self.text.replace("timeout = 2s", "timeout = 30s")
                            .replace("max_connections_per_ip = 2",
                                     "deny_clients = 127.0.0.9") +
                            "\n[smtp extra]\nlisten = 127.0.0.1:%d\n" % extra)
        p.send_signal(signal.SIGHUP)
        harness.wait_port(extra, proc=p)
        # the new policy applies to new sessions ...
        r = Line(self.env.ports["main"], source=REMOTE_IP)
        self.assertTrue(r.line().startswith("554 5.7.1"))
        n = Line(extra)
        self.assertTrue(n.line().startswith("220 "))
        # ... the live one keeps working under the old one
        live.send("NOOP\r\n")
        self.assertTrue(live.reply()[0].startswith("250"))
        live.send("QUIT\r\n")
        self.assertTrue(live.reply()[0].startswith("221"))
        n.close()
        self.assertIn("reloaded", self.env.log("smtpd"))

    def test_sighup_removes_listener(self):
        self.env.write_conf(self.text + "\n[smtp gone]\nlisten = 127.0.0.1:{port:gone}\n"
                            .replace("{port:gone}", str(harness.free_port())))
        gone_port = int(open(self.env.conf).read().rsplit(":", 1)[1])
        p = self.env.start("smtpd", wait=["main"])
        harness.wait_port(gone_port, proc=p)
        self.env.write_conf(self.text)
        p.send_signal(signal.SIGHUP)
        end = time.time() + 5
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", gone_port), 0.5).close()
                time.sleep(0.1)
            except OSError:
                break
        else:
            self.fail("removed listener still accepts")
        a = Line(self.env.ports["main"])            # the kept one still works
        self.assertTrue(a.line().startswith("220 "))
        a.close()

    def test_sighup_broken_config_keeps_old(self):
        p = self.env.start("smtpd")
        self.env.write_conf(self.text + "\n[smtp bad]\nlisten = 127.0.0.1:1\nno_such_key = 1\n")
        p.send_signal(signal.SIGHUP)
        end = time.time() + 5
        while "reload refused" not in self.env.log("smtpd") and time.time() < end:
            time.sleep(0.1)
        self.assertIn("reload refused", self.env.log("smtpd"))
        a = Line(self.env.ports["main"])
        self.assertTrue(a.line().startswith("220 "))
        a.send("NOOP\r\n")
        self.assertTrue(a.reply()[0].startswith("250"))
        a.close()

    def wait_log(self, daemon, text, count=1, wait=5.0):
        end = time.time() + wait
        while self.env.log(daemon).count(text) < count and time.time() < end:
            time.sleep(0.1)
        self.assertGreaterEqual(self.env.log(daemon).count(text), count, self.env.log(daemon))

    def test_sighup_refusals_roll_back(self):
        p = self.env.start("smtpd")
        # a protocol check (open relay) refuses it after the new port was bound
        open_port = harness.free_port()
        self.env.write_conf(self.text + "\n[smtp open]\nlisten = 0.0.0.0:%d\n"
                            "relay_outside_lan = yes\n" % open_port)
        p.send_signal(signal.SIGHUP)
        self.wait_log("smtpd", "reload refused")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", open_port), 1).close()
        # a missing certificate for a TLS instance refuses it too
        self.env.write_conf(self.text.replace("tls_cert = ", "tls_cert = /nonexistent"))
        p.send_signal(signal.SIGHUP)
        self.wait_log("smtpd", "reload refused", 2)
        self.assertIn("nonexistent", self.env.log("smtpd"))
        # the old config, listener and certificate are still in force
        a = Line(self.env.ports["main"])
        a.line()
        a.send("STARTTLS\r\n")
        self.assertTrue(a.line().startswith("220 "))
        t = tls_client_ctx().wrap_socket(a.sock)
        t.sendall(b"QUIT\r\n")
        self.assertTrue(t.recv(4096).startswith(b"221"))
        t.close()
        self.assertNotIn("reloaded", self.env.log("smtpd"))

    def test_sigterm_with_live_session(self):
        p = self.env.start("smtpd")
        a = Line(self.env.ports["main"])
        a.line()
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        self.assertTrue(a.line().startswith("421"))
        self.assertTrue(a.closed())
        p.wait(timeout=10)
        self.assertLess(time.time() - t0, 10)
        self.assertEqual(p.returncode, 0)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.env.ports["main"]), 1).close()

    def test_bind_failure_is_clear(self):
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", self.env.ports["main"]))
        blocker.listen(1)
        try:
            r = subprocess.run([os.path.join(harness.BIN, "smtpd"), "-c", self.env.conf, "-f"],
                               capture_output=True, text=True, timeout=30)
        finally:
            blocker.close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("127.0.0.1:%d" % self.env.ports["main"], r.stderr)
        self.assertIn("main", r.stderr)
        self.assertIn("in use", r.stderr)

    def test_bad_config_exit_1_and_unknown_option_exit_2(self):
        self.env.write_conf(self.text + "\nbogus line\n")
        r = subprocess.run([os.path.join(harness.BIN, "smtpd"), "-c", self.env.conf, "-f"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.env.conf, r.stderr)
        r = subprocess.run([os.path.join(harness.BIN, "pop3d"), "-c", self.env.conf, "--bogus"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage", r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_privilege_drop(self):
        p = self.env.start("smtpd")
        mail = pwd.getpwnam("mail")
        self.assertEqual(proc_uid(p.pid), mail.pw_uid)
        st = os.stat(self.env.data)
        self.assertEqual(st.st_uid, mail.pw_uid)
        self.assertEqual(st.st_mode & 0o777, 0o700)
        for sub in ("mail", "queue"):
            st = os.stat(os.path.join(self.env.data, sub))
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (mail.pw_uid, 0o700))


class DaemonPop3(DaemonCase):
    def setUp(self):
        self.env = Env("daemon-pop3", sections="""
[pop3 main]
listen = 127.0.0.1:{port:pop3}
deny_clients = 127.0.0.9
max_connections_per_ip = 1
timeout = 2s
""")
        self.env.start("pop3d")
        settle(self.env, "pop3d")

    def test_refusals(self):
        r = Line(self.env.ports["pop3"], source=REMOTE_IP)
        self.assertTrue(r.line().startswith("-ERR [SYS/PERM]"))
        self.assertTrue(r.closed())
        a = Line(self.env.ports["pop3"])
        self.assertTrue(a.line().startswith("+OK"))
        b = Line(self.env.ports["pop3"])
        self.assertTrue(b.line().startswith("-ERR [SYS/TEMP]"))
        self.assertTrue(b.closed())
        a.send("QUIT\r\n")
        self.assertTrue(a.line().startswith("+OK"))
        self.assertTrue(a.closed())


class DaemonForcedShutdown(EnvTestCase):
    """A session that cannot finish (a client that stops reading a big RETR) is
    closed by force, and the daemon still exits 0 within 10 s of SIGTERM."""

    @unittest.skipUnless(os.path.exists(os.path.join(harness.BIN, "userdb")), "no userdb yet")
    def test_stuck_session_forced_within_10s(self):
        self.env = Env("daemon-force", sections="""
[pop3 main]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
timeout = 60s
""")
        self.env.add_user("big@example.test", "Unusual-Pass-4817")
        base = self.env.maildir("big@example.test")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        line = b"x" * 76 + b"\n"
        with open(os.path.join(base, "new", "1700000000.M1P1.test"), "wb") as f:
            f.write(b"Subject: big\n\n" + line * (16 * 1024 * 1024 // len(line)))
        if os.geteuid() == 0:
            mail = pwd.getpwnam("mail")
            for root, dirs, files in os.walk(os.path.join(self.env.data, "mail")):
                for n in dirs + files + ["."]:
                    os.chown(os.path.join(root, n), mail.pw_uid, mail.pw_gid)
        p = self.env.start("pop3d")
        a = Line(self.env.ports["pop3"])
        a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.assertTrue(a.line().startswith("+OK"))
        a.send("USER big@example.test\r\n")
        self.assertTrue(a.line().startswith("+OK"))
        a.send("PASS Unusual-Pass-4817\r\n")
        self.assertTrue(a.line().startswith("+OK"))
        a.send("RETR 1\r\n")
        time.sleep(0.5)                       # the server fills its buffers, we read nothing
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
        elapsed = time.time() - t0
        self.assertEqual(p.returncode, 0)
        self.assertLess(elapsed, 10.5)
        self.assertIn("still open after", self.env.log("pop3d"))
        a.close()


class StartupOrder(DaemonCase):
    """The store (and SASL) are opened before listen(): with a users.db that cannot
    be opened the daemon exits 1 without ever accepting (or resetting) a client."""
    forced_ok = True

    def setUp(self):
        self.env = Env("daemon-start", sections=SMTP_BASE + """
[pop3 p]
listen = 127.0.0.1:{port:pop3}
""")
        self.env.add_user("alice@example.test", "Alice-Secret-42")
        with open(os.path.join(self.env.data, "db", "users.db"), "r+b") as f:
            f.truncate(100)

    def never_accepts(self, daemon, port):
        p = subprocess.Popen([os.path.join(harness.BIN, daemon), "-c", self.env.conf, "-f"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        connected = 0
        tries = 0
        try:
            end = time.time() + 30
            while p.poll() is None and time.time() < end:
                tries += 1
                try:
                    s = socket.create_connection(("127.0.0.1", port), 1)
                except OSError:
                    continue
                connected += 1
                s.close()
        finally:
            if p.poll() is None:
                p.kill()
            _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1, err)
        self.assertGreater(tries, 0)
        self.assertEqual(connected, 0, "%s accepted %d connection(s) before it gave up"
                         % (daemon, connected))

    def test_corrupt_store_smtpd_never_accepts(self):
        self.never_accepts("smtpd", self.env.ports["main"])

    def test_corrupt_store_pop3d_never_accepts(self):
        self.never_accepts("pop3d", self.env.ports["pop3"])


if __name__ == "__main__":
    unittest.main()
