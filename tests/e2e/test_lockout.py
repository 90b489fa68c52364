"""Lockout against password guessing end to end (SPEC.md "Lockout", "SMTP" AUTH on
SCRAM, "POP3"), with real clients on smtpd and pop3d:
- exchanges begun before a lock and finished after it fail (454 4.7.0 / -ERR [AUTH])
  even with the right password, and such a session does not relay;
- parallel attempts from one IP get no more than auth_fail_limit guesses verified;
- SCRAM-SHA-256 does not tell unknown or disabled users from real ones at the first
  step (a stable fake challenge, failure at the proof), and a cancel after a
  challenge counts as a failure.
Each test uses client addresses of its own (failures count per IP)."""
import base64
import hmac
import re
import smtplib
import socket
import threading
import time
import unittest

from tests.e2e.harness import Env, DOMAIN
from tests.e2e.test_concurrency import run_threads
from tests.e2e.test_smtp_auth import scram_login, plain, b64
from tests.e2e.test_smtp_proto import Raw

ALICE, ALICE_PW = "alice@" + DOMAIN, "Correct-Horse-42"
CAROL, CAROL_PW = "carol@" + DOMAIN, "Purple-Monkey-44"
NOBODY = "nobody@" + DOMAIN
LIMIT = 5


class Pop:
    """A byte-exact POP3 client on a plain socket."""

    def __init__(self, port, source):
        self.sock = socket.create_connection(("127.0.0.1", port), 15, source_address=(source, 0))
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline().decode("latin1").rstrip("\r\n")

    def cmd(self, text):
        self.sock.sendall(text.encode("latin1") + b"\r\n")
        return self.line()

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


def scram_first(send, name):
    """SCRAM step 1 for NAME through SEND(line) -> reply line; returns (reply, 's=..,i=..')."""
    first = "n,,n=%s,r=%s" % (name, b64(b"0123456789abcdef"))
    reply = send(b64(first.encode()))
    m = re.match(r"^(?:334|\+) (\S+)$", reply.strip())
    if not m:
        return reply, None
    attrs = dict(kv.split("=", 1) for kv in base64.b64decode(m.group(1)).decode().split(","))
    return reply, (attrs["s"], attrs["i"])


class Lockout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = Env("lockout",
                  server_conf="secure_networks = 127.0.0.1, 127.0.0.20-127.0.0.80\n"
                              "auth_fail_limit = %d\nauth_fail_window = 10m\n"
                              "auth_lockout = 10m\n" % LIMIT,
                  sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\n\n"
                           "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\n")
        cls.env = env
        env.add_user(ALICE, ALICE_PW, relay=True)
        env.add_user(CAROL, CAROL_PW)
        env.userdb("set", CAROL, "enabled=no")
        env.start("smtpd", wait=["smtp"])
        env.start("pop3d", wait=["pop"])

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_all()

    def raw(self, source):
        r = Raw(self.env.ports["smtp"], source=source)
        self.addCleanup(r.close)
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        return r

    def pop(self, source):
        p = Pop(self.env.ports["pop"], source)
        self.addCleanup(p.close)
        self.assertTrue(p.greeting.startswith("+OK"), p.greeting)
        return p

    def lock_smtp(self, ip):
        for i in range(LIMIT):
            self.assertEqual(self.raw(ip).cmd("AUTH PLAIN " + plain(ALICE, "wrong-%d" % i))[0], 535)
        self.assertIn("auth lockout: ip=%s " % ip, self.env.log("smtpd"))

    def clear(self, ip):
        self.env.userdb("lockout", "clear", ip, check=False)

    def failures(self, ip):
        out = self.env.userdb("lockout", "list").stdout
        m = re.search(r"^%s failures=(\d+)" % re.escape(ip), out, re.M)
        return int(m.group(1)) if m else 0

    # ---- an exchange under way when the lock begins ------------------------------------
    def test_smtp_exchange_begun_before_lock(self):
        ip = "127.0.0.21"
        waiting = []
        for _ in range(3):                      # AUTH LOGIN, waiting at "Password:"
            r = self.raw(ip)
            self.assertEqual(r.cmd("AUTH LOGIN")[0], 334)
            self.assertEqual(r.cmd(b64(ALICE.encode())), (334, "334 UGFzc3dvcmQ6\r\n"))
            waiting.append(r)
        plain_r = self.raw(ip)                  # PLAIN without initial response
        self.assertEqual(plain_r.cmd("AUTH PLAIN")[0], 334)
        self.lock_smtp(ip)
        code, text = waiting[0].cmd(b64(b"wrong-password"))
        self.assertEqual(code, 454)
        self.assertIn("4.7.0", text)
        for r in waiting[1:]:                   # the right password, after the lock
            self.assertEqual(r.cmd(b64(ALICE_PW.encode()))[0], 454)
        self.assertEqual(plain_r.cmd(plain(ALICE, ALICE_PW))[0], 454)
        r = waiting[1]                          # and the session does not relay
        self.assertEqual(r.cmd("MAIL FROM:<someone@outside.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<someone@elsewhere.example>")[0] // 100, 5)
        self.assertEqual(self.failures(ip), LIMIT)   # attempts while locked do not count
        self.clear(ip)
        self.assertEqual(self.raw(ip).cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW))[0], 235)

    def test_smtp_scram_and_cram_begun_before_lock(self):
        ip = "127.0.0.22"
        r = self.raw(ip)
        sent = []

        class Late:
            """Runs scram_login but locks the IP before the client-final message."""

            def __init__(self, inner, lock):
                self.inner, self.lock = inner, lock

            def cmd(self, text):
                sent.append(text)
                if len(sent) == 2:
                    self.lock()
                return self.inner.cmd(text)

        self.assertEqual(scram_login(Late(r, lambda: self.lock_smtp(ip)), ALICE, ALICE_PW)[0], 454)
        self.clear(ip)
        c = self.raw(ip)
        code, text = c.cmd("AUTH CRAM-MD5")
        self.assertEqual(code, 334)
        digest = hmac.new(ALICE_PW.encode(), base64.b64decode(text[4:].strip()), "md5").hexdigest()
        self.lock_smtp(ip)
        self.assertEqual(c.cmd(b64(("%s %s" % (ALICE, digest)).encode()))[0], 454)
        self.clear(ip)

    def test_pop3_exchange_begun_before_lock(self):
        ip = "127.0.0.23"
        a = self.pop(ip)
        self.assertEqual(a.cmd("AUTH PLAIN"), "+ ")
        u = self.pop(ip)
        self.assertTrue(u.cmd("USER " + ALICE).startswith("+OK"))
        for i in range(LIMIT):
            p = self.pop(ip)
            self.assertTrue(p.cmd("USER " + ALICE).startswith("+OK"))
            self.assertTrue(p.cmd("PASS wrong-%d" % i).startswith("-ERR [AUTH]"))
        self.assertTrue(a.cmd(plain(ALICE, ALICE_PW)).startswith("-ERR [AUTH]"))
        self.assertTrue(u.cmd("PASS " + ALICE_PW).startswith("-ERR [AUTH]"))
        self.assertEqual(self.failures(ip), LIMIT)
        self.clear(ip)

    # ---- parallel guesses ---------------------------------------------------------------
    def parallel(self, n, attempt):
        """N clients get ready (attempt(i) returns the final step), then all go at once."""
        barrier = threading.Barrier(n)
        results = [None] * n

        def one(i):
            ready = attempt(i)
            barrier.wait(timeout=30)
            results[i] = ready()
        self.assertEqual(run_threads(one, n), [])
        return results

    def test_smtp_parallel_guesses_capped(self):
        ip = "127.0.0.24"

        def attempt(i):
            r = Raw(self.env.ports["smtp"], source=ip, timeout=30)
            self.addCleanup(r.close)
            self.assertEqual(r.cmd("EHLO client.test")[0], 250)
            return lambda: r.cmd("AUTH PLAIN " + plain(ALICE, "guess-%d" % i))[0]
        codes = self.parallel(12, attempt)
        self.assertTrue(all(c in (535, 454) for c in codes), codes)
        self.assertLessEqual(codes.count(535), LIMIT, codes)
        time.sleep(0.2)
        verified = self.env.log("smtpd").count("auth failed: service=smtp ip=%s " % ip)
        self.assertLessEqual(verified, LIMIT)
        self.assertEqual(self.failures(ip), verified)
        self.clear(ip)

    def test_pop3_parallel_guesses_capped(self):
        ip = "127.0.0.25"

        def attempt(i):
            p = Pop(self.env.ports["pop"], ip)
            self.addCleanup(p.close)
            self.assertTrue(p.cmd("USER " + ALICE).startswith("+OK"))
            return lambda: p.cmd("PASS guess-%d" % i)
        replies = self.parallel(12, attempt)
        self.assertTrue(all(r.startswith("-ERR [AUTH]") for r in replies), replies)
        time.sleep(0.2)
        verified = self.env.log("pop3d").count("auth failed: service=pop3 ip=%s " % ip)
        self.assertLessEqual(verified, LIMIT)
        self.assertEqual(self.failures(ip), verified)
        self.clear(ip)

    # ---- SCRAM-SHA-256 and account enumeration ----------------------------------------------
    def test_scram_unknown_user_looks_like_a_user(self):
        ip = "127.0.0.26"

        def smtp_step1(name):
            r = self.raw(ip)
            reply, salt = scram_first(lambda ln: r.cmd("AUTH SCRAM-SHA-256 " + ln)[1], name)
            if salt:
                self.assertEqual(r.cmd("*")[0], 501)
            return reply, salt
        seen = {}
        for name in (ALICE, NOBODY, CAROL, "alice@elsewhere.example"):
            reply, salt = smtp_step1(name)
            self.assertIsNotNone(salt, "%s: %r" % (name, reply))
            self.assertEqual(salt[1], "4096")
            self.assertEqual(len(base64.b64decode(salt[0])), 16)
            seen[name] = salt
            self.clear(ip)
        self.assertEqual(smtp_step1(NOBODY)[1], seen[NOBODY])        # stable for the name
        self.assertNotEqual(seen[NOBODY], seen[CAROL])
        self.clear(ip)
        # pop3d shows the same fake salt (one key per installation), as for a real user
        p = self.pop(ip)
        self.assertEqual(scram_first(lambda ln: p.cmd("AUTH SCRAM-SHA-256 " + ln), NOBODY)[1],
                         seen[NOBODY])
        self.assertEqual(scram_first(lambda ln: self.pop(ip).cmd("AUTH SCRAM-SHA-256 " + ln),
                                     ALICE)[1], seen[ALICE])
        # and it fails at the proof, exactly like a wrong password
        unknown = scram_login(self.raw(ip), NOBODY, "whatever")
        wrong = scram_login(self.raw(ip), ALICE, "not-her-password")
        self.assertEqual(unknown, wrong)
        self.assertEqual(unknown[0], 535)
        self.assertIn("5.7.8", unknown[1])
        self.assertIn("auth failed: service=smtp ip=%s user=%s" % (ip, NOBODY),
                      self.env.log("smtpd"))
        self.clear(ip)

    def test_cancel_after_challenge_counts(self):
        ip = "127.0.0.27"
        for _ in range(2):
            r = self.raw(ip)
            self.assertEqual(scram_first(lambda ln: r.cmd("AUTH SCRAM-SHA-256 " + ln)[1],
                                         NOBODY)[0][:3], "334")
            self.assertEqual(r.cmd("*")[0], 501)
        self.assertEqual(self.failures(ip), 2)
        p = self.pop(ip)
        self.assertTrue(scram_first(lambda ln: p.cmd("AUTH SCRAM-SHA-256 " + ln),
                                    NOBODY)[0].startswith("+ "))
        self.assertTrue(p.cmd("*").startswith("-ERR"))
        self.assertEqual(self.failures(ip), 3)
        self.assertIn("auth failed: service=pop3 ip=%s user=%s" % (ip, NOBODY),
                      self.env.log("pop3d"))
        self.clear(ip)

    # ---- the store rule (common/store.h) -------------------------------------------------
    def test_no_store_call_on_an_event_loop_thread(self):
        """On a loop thread a store call makes one attempt and never waits (CRAM-MD5 and
        SCRAM steps, MAIL/RCPT lookups run there first; PLAIN, LOGIN and POP3 logins
        on workers): the daemons never log a wait on an event-loop thread."""
        ip = "127.0.0.28"
        r = self.raw(ip)
        self.assertEqual(scram_login(r, ALICE, ALICE_PW)[0], 235)
        for mech in ("CRAM-MD5", "LOGIN", "PLAIN"):
            s = smtplib.SMTP("127.0.0.1", self.env.ports["smtp"], timeout=15,
                             source_address=(ip, 0))
            self.addCleanup(s.close)
            s.ehlo("client.test")
            s.user, s.password = ALICE, ALICE_PW
            fn = {"CRAM-MD5": s.auth_cram_md5, "LOGIN": s.auth_login, "PLAIN": s.auth_plain}[mech]
            self.assertEqual(s.auth(mech, fn, initial_response_ok=(mech == "PLAIN"))[0], 235)
            s.mail(ALICE)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            self.assertEqual(s.rcpt("nobody@" + DOMAIN)[0], 550)
            self.assertEqual(s.rcpt("someone@elsewhere.example")[0], 250)
            s.rset()
        p = self.pop(ip)
        self.assertTrue(p.cmd("USER " + ALICE).startswith("+OK"))
        self.assertTrue(p.cmd("PASS " + ALICE_PW).startswith("+OK"))
        p.cmd("QUIT")
        for daemon in ("smtpd", "pop3d"):
            self.assertNotIn("on an event-loop thread", self.env.log(daemon))


if __name__ == "__main__":
    unittest.main()
