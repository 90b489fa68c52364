"""End-to-end tests of pop3d: every command (poplib and curl), STLS and implicit TLS,
SASL (PLAIN, LOGIN, CRAM-MD5 through curl, SCRAM-SHA-256 in Python), UIDL stability,
deletions only at QUIT, crash safety, [IN-USE], CAPA per policy, the shared lockout
and the POP-auth cache."""
import base64
import hashlib
import hmac
import os
import poplib
import pwd
import socket
import ssl
import subprocess
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import DOMAIN, LAN_IP, REMOTE_IP, EnvTestCase

USER = "alice@" + DOMAIN
PASSWORD = "Tr1cky-Walrus-Lamp"
MAIL_UID = pwd.getpwnam("mail").pw_uid
MAIL_GID = pwd.getpwnam("mail").pw_gid

MSGS = [
    ("1700000001.M100P1.mx", "Subject: first\nFrom: a@b.test\n\nhello\n.leading dot\n..two dots\nbye\n"),
    ("1700000002.M100P1.mx", "Subject: second\n\nline1\nline2\nline3\nline4\n"),
    ("1700000003.M100P1.mx", "Subject: third\n\nno final newline"),
]


def wire(text):
    """The message as it travels: CRLF line endings (before dot-stuffing)."""
    return text.replace("\n", "\r\n").encode()


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class Pop3Case(EnvTestCase):
    """Helpers: an Env with one [pop3 main] instance and a user with a Maildir."""

    def make_env(self, pop3="", server="", extra_sections="", msgs=MSGS):
        sections = "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\n%s\n%s" % (pop3, extra_sections)
        self.env = harness.Env(self.id().split(".")[-1], server_conf=server, sections=sections)
        self.env.add_user(USER, PASSWORD, relay=True)
        for name, text in msgs:
            self.put(name, text)
        self.env.start("pop3d")
        return self.env

    def put(self, name, text, sub="new"):
        base = self.env.maildir(USER)
        for d in (os.path.dirname(os.path.dirname(base)), os.path.dirname(base), base,
                  base + "/tmp", base + "/new", base + "/cur"):
            if not os.path.isdir(d):
                os.mkdir(d, 0o700)
                os.chown(d, MAIL_UID, MAIL_GID)
        path = os.path.join(base, sub, name)
        with open(path, "wb") as f:
            f.write(text.encode())
        os.chmod(path, 0o600)
        os.chown(path, MAIL_UID, MAIL_GID)

    def login(self, source=LAN_IP, user=USER, password=PASSWORD, port="pop"):
        p = self.env.pop3(port, source)
        p.user(user)
        p.pass_(password)
        return p

    @staticmethod
    def drop(p):
        """Hang up without QUIT."""
        p.file.close()
        p.sock.close()

    def login_after_drop(self):
        """The server notices a hang-up asynchronously: retry [IN-USE] briefly."""
        end = time.time() + 5
        while True:
            try:
                return self.login()
            except poplib.error_proto as e:
                if b"[IN-USE]" not in e.args[0] or time.time() > end:
                    raise
                time.sleep(0.1)

    def raw(self, source=LAN_IP, port="pop"):
        s = socket.create_connection(("127.0.0.1", self.env.ports[port]), 15,
                                     source_address=(source, 0))
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        return s, f

    def curl(self, url, *args, user=USER, password=PASSWORD):
        cmd = ["curl", "-s", "-S", "--max-time", "20", "--user", "%s:%s" % (user, password)]
        cmd += list(args) + [url]
        return subprocess.run(cmd, capture_output=True, timeout=30)

    def url(self, path="", scheme="pop3", port="pop"):
        return "%s://127.0.0.1:%d/%s" % (scheme, self.env.ports[port], path)


class TestCommands(Pop3Case):
    def test_all_commands_poplib(self):
        self.make_env()
        p = self.login()
        count, size = p.stat()
        self.assertEqual(count, 3)
        self.assertEqual(size, sum(len(wire(t)) for _, t in MSGS))
        resp, lines, _ = p.list()
        self.assertEqual([l.decode() for l in lines],
                         ["%d %d" % (i + 1, len(wire(t))) for i, (_, t) in enumerate(MSGS)])
        self.assertEqual(p.list(2), ("+OK 2 %d" % len(wire(MSGS[1][1]))).encode())
        resp, lines, _ = p.uidl()
        self.assertEqual([l.decode() for l in lines],
                         ["%d %s" % (i + 1, n) for i, (n, _) in enumerate(MSGS)])
        self.assertEqual(p.uidl(3), ("+OK 3 " + MSGS[2][0]).encode())
        # RETR: poplib undoes dot-stuffing; the text comes back exactly
        for i, (_, text) in enumerate(MSGS):
            resp, lines, octets = p.retr(i + 1)
            self.assertEqual(b"\r\n".join(lines), wire(text.rstrip("\n")))
            self.assertEqual(octets, len(wire(text)) + (0 if text.endswith("\n") else 2))
        resp, lines, _ = p.top(2, 2)
        self.assertEqual(lines, [b"Subject: second", b"", b"line1", b"line2"])
        resp, lines, _ = p.top(1, 0)
        self.assertEqual(lines, [b"Subject: first", b"From: a@b.test", b""])
        self.assertTrue(p.noop().startswith(b"+OK"))
        self.assertTrue(p.dele(1).startswith(b"+OK"))
        with self.assertRaises(poplib.error_proto):
            p.retr(1)
        with self.assertRaises(poplib.error_proto):
            p.dele(1)
        self.assertEqual(p.stat()[0], 2)
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 3)
        with self.assertRaises(poplib.error_proto):
            p.retr(4)
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("XYZZY")
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(len(self.env.messages(USER)), 3)

    def test_bare_local_part_and_wrong_password(self):
        self.make_env()
        p = self.login(user="Alice")
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        p = self.env.pop3("pop")
        p.user(USER)
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_("wrong-password-here")
        self.assertIn(b"[AUTH]", e.exception.args[0])
        p.user("nobody@" + DOMAIN)
        with self.assertRaises(poplib.error_proto) as e2:
            p.pass_("wrong-password-here")
        self.assertEqual(e.exception.args[0], e2.exception.args[0])   # no user oracle
        p.quit()
        self.assertIn("auth failed: service=pop3 ip=127.0.0.1", self.env.log("pop3d"))

    def test_disabled_user(self):
        self.make_env()
        self.env.userdb("set", USER, "enabled=no")
        p = self.env.pop3("pop")
        p.user(USER)
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(PASSWORD)
        self.assertIn(b"[AUTH]", e.exception.args[0])
        p.quit()

    def test_pipelining_and_long_line(self):
        self.make_env()
        s, f = self.raw()
        s.sendall(("USER %s\r\nPASS %s\r\nSTAT\r\nRETR 2\r\nNOOP\r\n" % (USER, PASSWORD)).encode())
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(f.readline().startswith(b"+OK Logged in"))
        self.assertTrue(f.readline().startswith(b"+OK 3 "))
        self.assertTrue(f.readline().startswith(b"+OK"))
        body = []
        while True:
            line = f.readline()
            if line == b".\r\n":
                break
            body.append(line)
        self.assertEqual(b"".join(body), wire(MSGS[1][1]))
        self.assertEqual(f.readline(), b"+OK\r\n")
        # a line over 255 octets is refused and never executed
        s.sendall(b"DELE 1" + b" " * 300 + b"\r\nSTAT\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        self.assertTrue(f.readline().startswith(b"+OK 3 "))
        s.sendall(b"QUIT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.close()
        self.assertEqual(len(self.env.messages(USER)), 3)

    def test_large_message_streamed(self):
        lines = []
        for i in range(60000):
            lines.append(("." if i % 7 == 0 else "") + "line %d of a long message %s" % (i, "x" * (i % 50)))
        big = "Subject: big\n\n" + "\n".join(lines) + "\n"
        self.make_env(msgs=[("1700000009.M1P1.mx", big)])
        p = self.login()
        self.assertEqual(p.list(1), ("+OK 1 %d" % len(wire(big))).encode())
        resp, got, octets = p.retr(1)
        self.assertEqual(b"\r\n".join(got) + b"\r\n", wire(big))
        self.assertEqual(octets, len(wire(big)))
        p.quit()


class TestDeletion(Pop3Case):
    def test_dele_only_at_quit(self):
        self.make_env()
        p = self.login()
        p.dele(1)
        p.dele(3)
        self.drop(p)         # dropped connection: nothing is deleted
        p = self.login_after_drop()
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        self.assertEqual(len(self.env.messages(USER)), 3)
        p = self.login()
        uidls = p.uidl()[1]
        p.dele(1)
        p.dele(3)
        self.assertTrue(p.quit().startswith(b"+OK"))
        msgs = self.env.messages(USER)
        self.assertEqual(msgs, [MSGS[1][1].encode()])
        p = self.login()
        self.assertEqual(p.uidl()[1], [b"1 " + uidls[1].split()[1]])
        p.quit()

    def test_uidl_stable_across_restart_and_new_mail(self):
        self.make_env()
        p = self.login()
        before = p.uidl()[1]
        p.quit()
        self.env.stop("pop3d")
        self.put("1700000005.M1P1.mx", "Subject: later\n\nx\n")
        self.env.start("pop3d")
        p = self.login()
        after = p.uidl()[1]
        self.assertEqual(after[:3], before)
        self.assertEqual(after[3], b"4 1700000005.M1P1.mx")
        p.quit()
        # new/ messages were moved to cur/ with ":2,"
        cur = os.listdir(os.path.join(self.env.maildir(USER), "cur"))
        self.assertIn(MSGS[0][0] + ":2,", cur)
        self.assertEqual(os.listdir(os.path.join(self.env.maildir(USER), "new")), [])

    def test_kill9_mid_session(self):
        self.make_env()
        p = self.login()
        p.dele(1)
        p.dele(2)
        self.env.kill9("pop3d")
        self.drop(p)
        self.env.start("pop3d")
        p = self.login()           # no stale lock
        self.assertEqual(p.stat()[0], 3)
        resp, lines, _ = p.retr(3)
        self.assertEqual(lines, [b"Subject: third", b"", b"no final newline"])
        p.quit()
        self.assertEqual(len(self.env.messages(USER)), 3)

    def test_in_use(self):
        self.make_env()
        p = self.login()
        q = self.env.pop3("pop")
        q.user(USER)
        with self.assertRaises(poplib.error_proto) as e:
            q.pass_(PASSWORD)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"))
        q.quit()
        p.quit()
        q = self.login()
        self.assertEqual(q.stat()[0], 3)
        q.quit()


class TestLifecycle(Pop3Case):
    def test_idle_timeout_deletes_nothing(self):
        self.make_env(pop3="timeout = 1s\n")
        p = self.login()
        p.dele(1)
        self.assertEqual(p.file.readline(), b"-ERR [SYS/TEMP] autologout; idle for too long\r\n")
        self.assertEqual(p.file.readline(), b"")      # closed
        self.drop(p)
        self.assertEqual(len(self.env.messages(USER)), 3)

    def test_sigterm_says_goodbye(self):
        self.make_env()
        p = self.login()
        p.dele(1)
        self.env.stop("pop3d")          # checks exit 0 and a clean sanitizer log
        self.assertEqual(p.file.readline(), b"-ERR [SYS/TEMP] server shutting down\r\n")
        self.drop(p)
        self.assertEqual(len(self.env.messages(USER)), 3)

    def test_connection_limit(self):
        self.make_env(pop3="max_connections_per_ip = 1\n")
        end = time.time() + 5
        while True:          # the harness's own port probe may still be counted
            try:
                p = self.env.pop3("pop")
                break
            except poplib.error_proto:
                if time.time() > end:
                    raise
                time.sleep(0.1)
        s = socket.create_connection(("127.0.0.1", self.env.ports["pop"]), 15)
        self.assertTrue(s.makefile("rb").readline().startswith(b"-ERR [SYS/TEMP]"))
        s.close()
        p.quit()


class TestPolicy(Pop3Case):
    def capa(self, source):
        p = self.env.pop3("pop", source)
        c = p.capa()
        p.quit()
        return c

    def test_capa_plaintext_tls(self):
        self.make_env(pop3="tls = stls\nplaintext_auth = tls\n",
                      server="secure_networks = 127.0.0.1\n")
        remote = self.capa(REMOTE_IP)
        self.assertNotIn("USER", remote)
        self.assertIn("STLS", remote)
        self.assertIn("RESP-CODES", remote)
        self.assertIn("AUTH-RESP-CODE", remote)
        self.assertNotIn("PLAIN", remote.get("SASL", []))
        self.assertNotIn("LOGIN", remote.get("SASL", []))
        self.assertIn("CRAM-MD5", remote["SASL"])
        local = self.capa(LAN_IP)
        self.assertIn("USER", local)
        self.assertIn("PLAIN", local["SASL"])
        self.assertIn("LOGIN", local["SASL"])
        # USER from outside is refused before TLS, allowed after STLS
        p = self.env.pop3("pop", REMOTE_IP)
        with self.assertRaises(poplib.error_proto) as e:
            p.user(USER)
        self.assertIn(b"[AUTH]", e.exception.args[0])
        p.stls(ctx())
        self.assertNotIn("STLS", p.capa())
        self.assertIn("USER", p.capa())
        p.user(USER)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 3)
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("STLS")
        p.quit()

    def test_tls_required(self):
        self.make_env(pop3="tls = required\nplaintext_auth = always\n")
        p = self.env.pop3("pop", LAN_IP)
        self.assertNotIn("USER", p.capa())
        for cmd in ("USER " + USER, "PASS x", "AUTH PLAIN AGFsaWNlAHg="):
            with self.assertRaises(poplib.error_proto) as e:
                p._shortcmd(cmd)
            self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        p.stls(ctx())
        p.user(USER)
        p.pass_(PASSWORD)
        p.quit()

    def test_deny_clients(self):
        self.make_env(pop3="deny_clients = 127.0.0.9\n")
        s = socket.create_connection(("127.0.0.1", self.env.ports["pop"]), 15,
                                     source_address=(REMOTE_IP, 0))
        self.assertTrue(s.makefile("rb").readline().startswith(b"-ERR [SYS/PERM]"))
        s.close()
        self.capa(LAN_IP)

    def test_lockout_and_popauth(self):
        self.make_env(server="auth_fail_limit = 3\n")
        for _ in range(3):
            p = self.env.pop3("pop", REMOTE_IP)
            p.user(USER)
            with self.assertRaises(poplib.error_proto):
                p.pass_("not-the-password")
            p.quit()
        self.assertIn("127.0.0.9", self.env.userdb("lockout", "list").stdout)
        p = self.env.pop3("pop", REMOTE_IP)
        p.user(USER)
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(PASSWORD)                      # right password, still refused
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        with self.assertRaises(poplib.error_proto) as e:
            p._shortcmd("AUTH PLAIN " + base64.b64encode(
                ("\0%s\0%s" % (USER, PASSWORD)).encode()).decode())
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        p.quit()
        self.assertNotIn("127.0.0.9", self.env.userdb("popauth", "list").stdout)
        # the LAN address is unaffected, and its login is recorded for POP-before-SMTP
        p = self.login(LAN_IP)
        p.quit()
        out = self.env.userdb("popauth", "list").stdout
        self.assertIn("127.0.0.1", out)
        self.assertIn(USER, out)
        self.env.stop("pop3d")
        self.env.start("pop3d")
        self.assertIn("127.0.0.1", self.env.userdb("popauth", "list").stdout)

    def test_popauth_written_on_remote_login(self):
        self.make_env()
        p = self.login(REMOTE_IP)
        p.quit()
        line = [l for l in self.env.userdb("popauth", "list").stdout.splitlines() if "127.0.0.9" in l]
        self.assertEqual(len(line), 1)
        self.assertIn(USER, line[0])
        self.assertIn("login: service=pop3 ip=127.0.0.9 user=%s method=USER" % USER,
                      self.env.log("pop3d"))


class TestSasl(Pop3Case):
    def test_auth_plain_variants(self):
        self.make_env()
        cred = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()
        p = self.env.pop3("pop")
        self.assertEqual(p._shortcmd("AUTH PLAIN " + cred)[:3], b"+OK")
        p.quit()
        # no initial response: "+ " then the response line
        p = self.env.pop3("pop")
        self.assertEqual(p._shortcmd("AUTH PLAIN"), b"+ ")
        self.assertTrue(p._shortcmd(cred).startswith(b"+OK"))
        p.quit()
        # "*" cancels; "=" is an empty initial response (PLAIN then fails)
        p = self.env.pop3("pop")
        self.assertEqual(p._shortcmd("AUTH PLAIN"), b"+ ")
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("*")
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("AUTH PLAIN =")
        # AUTH with no argument lists the mechanisms
        resp, lines, _ = p._longcmd("AUTH")
        self.assertIn(b"PLAIN", lines)
        self.assertIn(b"SCRAM-SHA-256", lines)
        p.quit()

    def test_curl_every_way(self):
        self.make_env(pop3="tls = stls\n", extra_sections=(
            "[pop3 secure]\nlisten = 127.0.0.1:{port:pops}\ntls = implicit\n"))
        harness.wait_port(self.env.ports["pops"])
        listing = "".join("%d %d\r\n" % (i + 1, len(wire(t))) for i, (_, t) in enumerate(MSGS))
        for args in ([], ["--login-options", "AUTH=PLAIN"], ["--login-options", "AUTH=LOGIN"],
                     ["--login-options", "AUTH=CRAM-MD5"]):
            r = self.curl(self.url(), *args)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
            self.assertEqual(r.stdout.decode(), listing, args)
        r = self.curl(self.url("2"), "--ssl-reqd", "-k")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, wire(MSGS[1][1]))
        r = self.curl(self.url("1", scheme="pop3s", port="pops"), "-k")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, wire(MSGS[0][1]))
        r = self.curl(self.url(), "--login-options", "AUTH=CRAM-MD5", password="wrong-one-x")
        self.assertNotEqual(r.returncode, 0)
        r = self.curl(self.url("1"), "-X", "DELE", "-I")     # DELE then QUIT
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.env.messages(USER)), 2)

    def test_scram_sha256(self):
        self.make_env()
        p = self.env.pop3("pop")
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=%s,r=%s" % (USER, nonce)
        resp = p._shortcmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
        self.assertTrue(resp.startswith(b"+ "))
        server_first = base64.b64decode(resp[2:]).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        self.assertTrue(attrs["r"].startswith(nonce))
        salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), base64.b64decode(attrs["s"]),
                                     int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        final_wo = "c=biws,r=" + attrs["r"]
        auth_msg = ",".join((first_bare, server_first, final_wo)).encode()
        sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        resp = p._shortcmd(base64.b64encode(("%s,p=%s" % (final_wo, base64.b64encode(proof).decode())).encode()).decode())
        self.assertTrue(resp.startswith(b"+ "))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        expect = base64.b64encode(hmac.new(server_key, auth_msg, hashlib.sha256).digest()).decode()
        self.assertEqual(base64.b64decode(resp[2:]).decode(), "v=" + expect)
        self.assertTrue(p._shortcmd("").startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        self.assertIn("method=SCRAM-SHA-256", self.env.log("pop3d"))


if __name__ == "__main__":
    unittest.main()
