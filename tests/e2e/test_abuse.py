"""Abuse limits (issue 7, point 4) against the real daemons:
- a connection flood from one IP up to max_connections_per_ip (and far beyond) does not
  keep the LAN (127.0.0.1) out; the extra connections get 421 4.7.0 / -ERR [SYS/TEMP];
- an idle client and a slow-loris client (one byte a second, never a full line) are cut
  at the idle timeout (timeout = 3s);
- a dictionary attack of 1,000 passwords against SMTP AUTH and against POP3 from one IP
  is stopped after auth_fail_limit tries: every later try fails, the right password too;
  failures over SMTP and POP3 count together; other IPs are unaffected;
- every failed login is logged in one line that the fail2ban filter
  contrib/fail2ban/mailserver.conf matches (its failregex run in Python on the real
  logs), and no password ever appears in a log;
- directory harvesting (many unknown recipients in one session) slows down and ends the
  session."""
import base64
import configparser
import os
import re
import socket
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import Env, LAN_IP, REMOTE_IP

LIMIT = 5
SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
auth_mechanisms = PLAIN LOGIN
plaintext_auth = always
max_connections_per_ip = 5
timeout = 3s
[pop3 p]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
max_connections_per_ip = 5
timeout = 3s
"""
SERVER = "auth_fail_limit = %d\nauth_fail_window = 15m\nauth_lockout = 15m\n" % LIMIT
ALICE = "alice@example.test"
PW = "Alice-Secret-42"
FILTER = os.path.join(harness.ROOT, "contrib", "fail2ban", "mailserver.conf")
# What fail2ban's date detector removes before failregex is applied.
DATE_PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*|[A-Z][a-z]{2} [ \d]\d "
                         r"\d\d:\d\d:\d\d) ")


def have(*binaries):
    return all(os.path.exists(os.path.join(harness.BIN, b)) for b in binaries)


def plain(user, pw):
    return base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()


def raw(port, source, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout, source_address=(source, 0))


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            break
        buf += c
    return buf


def fail2ban_regexes():
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(FILTER)
    lines = [ln.strip() for ln in cp.get("Definition", "failregex").splitlines() if ln.strip()]
    return [re.compile(ln.replace("<HOST>", r"(?P<host>[0-9A-Fa-f.:]+)")) for ln in lines]


def fail2ban_hosts(text, regexes):
    """Hosts fail2ban would count in a log text, one entry per matching line."""
    hosts = []
    for line in text.splitlines():
        body = DATE_PREFIX.sub("", line, count=1)
        for rx in regexes:
            m = rx.search(body)
            if m:
                hosts.append(m.group("host"))
                break
    return hosts


class Abuse(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        if not have("smtpd", "pop3d", "userdb"):
            raise unittest.SkipTest("daemons not built yet")
        cls.env = Env("abuse", server_conf=SERVER, sections=SECTIONS)
        cls.env.add_user(ALICE, PW, relay=True)
        cls.env.start("smtpd", wait=["mx"])
        cls.env.start("pop3d", wait=["pop3"])

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop_all()

    # ---- helpers -----------------------------------------------------------
    def smtp_auth(self, source, pw, session=None):
        """One AUTH PLAIN try; returns (code, session or None if it closed)."""
        s = session
        if s is None:
            s = self.env.smtp("mx", source=source)
        try:
            code, _ = s.docmd("AUTH", "PLAIN " + plain(ALICE, pw))
        except (OSError, EOFError) as e:
            self.fail("SMTP session dropped during AUTH: %r" % e)
        if code == 235 or code == 421:
            s.close()
            return code, None
        return code, s

    def pop_auth(self, source, pw):
        """One USER/PASS try on a fresh connection; returns the reply line."""
        p = self.env.pop3("pop3", source=source)
        try:
            p.user(ALICE)
            try:
                return p.pass_(PW if pw is None else pw)
            except Exception as e:   # poplib.error_proto: -ERR ...
                return e.args[0] if e.args and isinstance(e.args[0], bytes) else str(e).encode()
        finally:
            p.sock.close()

    def dictionary(self, n, right_at):
        words = ["guess-%04d" % i for i in range(n)]
        for i in right_at:
            words[i] = PW
        return words

    # ---- connection flood --------------------------------------------------
    def test_flood_does_not_lock_out_lan(self):
        port = self.env.ports["mx"]
        held = []
        try:
            for _ in range(5):
                s = raw(port, REMOTE_IP)
                self.assertTrue(read_line(s).startswith(b"220"))
                held.append(s)
            for _ in range(30):
                s = raw(port, REMOTE_IP)
                line = read_line(s)
                self.assertTrue(line.startswith(b"421 4.7.0"), line)
                self.assertEqual(s.recv(10), b"", "over-limit connection left open")
                s.close()
            lan = self.env.smtp("mx", source=LAN_IP)
            self.assertEqual(lan.noop()[0], 250)
            lan.quit()
        finally:
            for s in held:
                s.close()
        time.sleep(0.5)
        s = self.env.smtp("mx", source=REMOTE_IP)   # slots are given back
        self.assertEqual(s.noop()[0], 250)
        s.quit()

    def test_flood_pop3_does_not_lock_out_lan(self):
        port = self.env.ports["pop3"]
        held = []
        try:
            for _ in range(5):
                s = raw(port, REMOTE_IP)
                self.assertTrue(read_line(s).startswith(b"+OK"))
                held.append(s)
            for _ in range(30):
                s = raw(port, REMOTE_IP)
                line = read_line(s)
                self.assertTrue(line.startswith(b"-ERR [SYS/TEMP]"), line)
                s.close()
            p = self.env.pop3("pop3", source=LAN_IP)
            p.user(ALICE)
            self.assertTrue(p.pass_(PW).startswith(b"+OK"))
            p.quit()
        finally:
            for s in held:
                s.close()

    # ---- timeouts ----------------------------------------------------------
    def closed_after(self, port, source, drip):
        """Connect, read the greeting, then (if drip) send one byte a second without
        ever ending the line. Returns (seconds until the server closed, last line)."""
        s = raw(port, source, timeout=1)
        start = time.time()
        read_line(s)
        last = b""
        try:
            while time.time() - start < 12:
                if drip:
                    try:
                        s.sendall(b"N")
                    except OSError:
                        break
                try:
                    data = s.recv(512)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not data:
                    break
                last = data
            return time.time() - start, last
        finally:
            s.close()

    def test_idle_client_times_out(self):
        t, last = self.closed_after(self.env.ports["mx"], "127.0.0.31", drip=False)
        self.assertLess(t, 7, "idle SMTP client kept %.1f s" % t)
        self.assertGreater(t, 2)
        self.assertIn(b"421 4.4.2", last)

    # The idle timer restarts on every byte; a command line (SMTP, POP3; not DATA
    # content) must also be complete within `timeout` of its first byte, else
    # 421 4.4.2 / -ERR and close.
    def test_slow_loris_smtp_cut_at_timeout(self):
        t, last = self.closed_after(self.env.ports["mx"], "127.0.0.32", drip=True)
        self.assertLess(t, 7, "slow-loris SMTP client kept %.1f s (timeout 3s)" % t)
        self.assertGreater(t, 2)
        self.assertIn(b"421 4.4.2", last)

    def test_slow_loris_pop3_cut_at_timeout(self):
        t, last = self.closed_after(self.env.ports["pop3"], "127.0.0.33", drip=True)
        self.assertLess(t, 7, "slow-loris POP3 client kept %.1f s (timeout 3s)" % t)
        self.assertGreater(t, 2)
        self.assertTrue(last.startswith(b"-ERR"), last)

    def test_slow_data_not_cut_while_bytes_flow(self):
        """DATA content has only the idle rule: a message trickling in for longer than
        `timeout` (one short line a second, each well within it) is accepted."""
        s = raw(self.env.ports["mx"], "127.0.0.34", timeout=10)
        try:
            self.assertTrue(read_line(s).startswith(b"220"))
            for cmd, want in ((b"EHLO slow.test", b"250 "), (b"MAIL FROM:<slow@remote.test>",
                              b"250"), (b"RCPT TO:<%s>" % ALICE.encode(), b"250"),
                              (b"DATA", b"354")):
                s.sendall(cmd + b"\r\n")
                line = read_line(s)
                while line[3:4] == b"-":
                    line = read_line(s)
                self.assertTrue(line.startswith(want), (cmd, line))
            s.sendall(b"Subject: slow\r\n\r\n")
            start = time.time()
            while time.time() - start < 5:      # longer than the 3 s timeout
                s.sendall(b"x")
                time.sleep(0.5)
            s.sendall(b"\r\n.\r\n")
            self.assertTrue(read_line(s).startswith(b"250"))
        finally:
            s.close()

    # ---- password guessing -------------------------------------------------
    def test_dictionary_attack_smtp(self):
        ip = "127.0.0.21"
        codes = []
        s = None
        for pw in self.dictionary(1000, right_at=(7, 500, 999)):
            code, s = self.smtp_auth(ip, pw, s)
            if code == 421:   # the session's error limit: same password, new session
                code, s = self.smtp_auth(ip, pw, None)
            codes.append(code)
        if s is not None:
            s.close()
        self.assertEqual(codes[:LIMIT], [535] * LIMIT)
        self.assertEqual(set(codes[LIMIT:]), {454}, "a try after the limit was not refused")
        self.assertIn(ip, self.env.userdb("lockout", "list").stdout)
        code, s = self.smtp_auth(LAN_IP, PW)      # other IPs are not affected
        self.assertEqual(code, 235)

    def test_dictionary_attack_pop3(self):
        ip = "127.0.0.22"
        replies = [self.pop_auth(ip, pw) for pw in self.dictionary(1000, right_at=(6, 500, 999))]
        self.assertTrue(all(r.startswith(b"-ERR") for r in replies),
                        [r for r in replies if not r.startswith(b"-ERR")][:3])
        self.assertTrue(all(b"[AUTH]" in r for r in replies))
        self.assertIn(ip, self.env.userdb("lockout", "list").stdout)
        failed = re.findall(r"auth failed: service=pop3 ip=127\.0\.0\.22 ", self.env.log("pop3d"))
        self.assertEqual(len(failed), LIMIT, "failures counted after the lock")
        self.assertTrue(self.pop_auth(LAN_IP, PW).startswith(b"+OK"))

    def test_smtp_and_pop3_failures_count_together(self):
        ip = "127.0.0.23"
        s = None
        for _ in range(3):
            code, s = self.smtp_auth(ip, "wrong-one", s)
            self.assertEqual(code, 535)
        s.close()
        for _ in range(LIMIT - 3):
            self.assertIn(b"[AUTH]", self.pop_auth(ip, "wrong-two"))
        code, _ = self.smtp_auth(ip, PW)
        self.assertEqual(code, 454, "locked IP could log in over SMTP")
        self.assertIn(b"[AUTH]", self.pop_auth(ip, PW))

    # ---- logging for fail2ban ---------------------------------------------------
    def test_fail2ban_filter_matches_real_logs(self):
        ip = "127.0.0.24"
        s = None
        for pw in ("f2b-wrong-1", "f2b-wrong-2"):
            code, s = self.smtp_auth(ip, pw, s)
            self.assertEqual(code, 535)
        s.close()
        self.assertIn(b"[AUTH]", self.pop_auth(ip, "f2b-wrong-3"))
        self.assertTrue(self.pop_auth(LAN_IP, PW).startswith(b"+OK"))   # a success
        code, _ = self.smtp_auth(LAN_IP, PW)
        self.assertEqual(code, 235)
        time.sleep(0.3)
        regexes = fail2ban_regexes()
        self.assertTrue(regexes, "no failregex in " + FILTER)
        smtp_log, pop_log = self.env.log("smtpd"), self.env.log("pop3d")
        hosts = fail2ban_hosts(smtp_log, regexes) + fail2ban_hosts(pop_log, regexes)
        self.assertEqual(hosts.count(ip), 3, "each failed login is one match")
        self.assertNotIn(LAN_IP, hosts, "a successful login matched the filter")
        for text in (smtp_log, pop_log):
            for line in text.splitlines():
                if "auth failed:" in line:
                    self.assertTrue(fail2ban_hosts(line, regexes), "not matched: " + line)
        # the same lines as syslog writes them
        sys_line = "Nov 22 04:43:10 mail smtpd[1234]: auth failed: service=smtp ip=192.0.2.7 user=x"
        self.assertEqual(fail2ban_hosts(sys_line, regexes), ["192.0.2.7"])
        v6 = "Nov 22 04:43:10 mail pop3d[99]: auth failed: service=pop3 ip=2001:db8::7 user=-"
        self.assertEqual(fail2ban_hosts(v6, regexes), ["2001:db8::7"])
        # an attacker-chosen string elsewhere in a line must not frame another host
        inject = ("2026-01-01T00:00:00 smtpd: relay: instance=mx ip=192.0.2.9 user=- "
                  "from=<\"smtpd: auth failed: service=smtp ip=198.51.100.1 \"@x.test> "
                  "to=<a@b.test> rule=denied result=REJECT 550")
        self.assertEqual(fail2ban_hosts(inject, regexes), [])
        for secret in (PW, "f2b-wrong-1", "f2b-wrong-3", plain(ALICE, PW)):
            self.assertNotIn(secret, smtp_log + pop_log, "a password in the logs")

    # ---- directory harvesting ------------------------------------------------
    def test_directory_harvesting_slows_down_and_ends(self):
        """Per session, unknown local recipients (550 5.1.1) 1-3 are answered at once, the
        k-th (k >= 4) only after (k - 3) * 0.5 s (capped at 5 s, on a timer, not blocking
        the loop), and the 10th gets "421 4.7.0 too many unknown recipients" and the
        connection is closed (smtpd/penalty.h)."""
        s = self.env.smtp("mx", source=REMOTE_IP)
        s.mail("x@sender.test")
        times, codes, last = [], [], b""
        for i in range(10):
            t = time.time()
            try:
                code, last = s.docmd("RCPT TO:<nobody%d@example.test>" % i)
            except OSError:
                code = 0
            times.append(time.time() - t)
            codes.append(code)
        self.assertEqual(codes[:9], [550] * 9)
        self.assertEqual(codes[9], 421, last)
        self.assertIn(b"too many unknown recipients", last)
        self.assertLess(max(times[:3]), 0.4)
        self.assertGreater(times[8], times[1] + 2.0)   # 9th: (9 - 3) * 0.5 = 3 s
        with self.assertRaises(Exception):
            s.noop()


if __name__ == "__main__":
    unittest.main()
