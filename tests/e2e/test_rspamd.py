"""The content scanner hook (SPEC "Anti-spam on an instance", content_filter) against a
real rspamd started by the test (rspamdserver.py): GTUBE is refused 550 5.7.1, a
"soft reject" gets 451 4.7.1, "add header" is delivered with X-Spam-Flag: YES and
X-Spam-Score:, clean mail plainly; exempt clients (LAN, authenticated) are not
scanned. A scanner that is down (nothing listening) or silent (accepts, never answers)
gives, per content_filter_fail, acceptance with X-Spam-Status: unchecked or 451 4.7.1,
and a silent one holds only the waiting session (another is served meanwhile)."""
import os
import threading
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import DOMAIN, LAN_IP, REMOTE_IP, EnvTestCase
from tests.e2e.rspamdserver import (ADD_HEADER, BAD_IP, BAD_SENDER_DOMAIN, GTUBE, SOFT_REJECT,
                                    Rspamd, SilentServer)

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"


def message(body):
    return ("From: someone@elsewhere.test\r\nTo: %s\r\nSubject: test\r\n"
            "Message-ID: <%f@elsewhere.test>\r\nDate: Mon, 7 Dec 2026 00:00:00 +0000\r\n"
            "\r\n%s\r\n" % (ALICE, time.time(), body)).encode()


def send(env, body, source=REMOTE_IP, login=None, sender="someone@elsewhere.test"):
    """The reply to the end of data: (code, text)."""
    s = env.smtp("smtp", source)
    try:
        if login:
            s.login(*login)
        s.mail(sender)
        code, _ = s.rcpt(ALICE)
        assert code == 250, code
        return s.data(message(body))
    finally:
        s.close()


def make_env(name, target, extra=""):
    env = harness.Env(
        name, sections="[smtp in]\nlisten = 127.0.0.1:{port:smtp}\n"
        "content_filter = rspamd:%s\n%sauth_mechanisms = PLAIN\nplaintext_auth = always\n"
        % (target, extra))
    env.add_user(ALICE, ALICE_PW)
    env.start("smtpd", wait=["smtp"])
    return env


class Scanner(EnvTestCase):
    @classmethod
    def setUpClass(cls):
        cls.rspamd = Rspamd(os.path.join(harness.WORK, "rspamd-%d" % os.getpid()))

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()

    def setUp(self):
        self.env = make_env(self.id().split(".")[-1], self.rspamd.server)

    def test_gtube_rejected(self):
        code, text = send(self.env, GTUBE)
        self.assertEqual((code, text.decode()), (550, "5.7.1 Message rejected as spam"))
        self.assertEqual(self.env.messages(ALICE), [])
        self.assertIn("content_filter: id=", self.env.log("smtpd"))
        self.assertIn("action=reject", self.env.log("smtpd"))

    def test_envelope_reaches_rspamd(self):
        """rspamd's own ip and from maps see the client address and MAIL FROM we pass."""
        self.assertEqual(send(self.env, "hello", source=BAD_IP)[0], 550)
        self.assertEqual(send(self.env, "hello", sender="x@" + BAD_SENDER_DOMAIN)[0], 550)
        self.assertEqual(send(self.env, "hello")[0], 250)

    def test_soft_reject_tempfails(self):
        code, text = send(self.env, "hello " + SOFT_REJECT)
        self.assertEqual(code, 451)
        self.assertTrue(text.decode().startswith("4.7.1 "), text)
        self.assertEqual(self.env.messages(ALICE), [])

    def test_add_header(self):
        code, _ = send(self.env, "hello " + ADD_HEADER)
        self.assertEqual(code, 250)
        msgs = self.env.messages(ALICE)
        self.assertEqual(len(msgs), 1)
        head = msgs[0].split(b"\n\n", 1)[0]
        self.assertIn(b"\nX-Spam-Flag: YES\n", head)
        self.assertRegex(head, rb"\nX-Spam-Score: [0-9.]+ / 15\.00\n")
        self.assertIn(b"\n\nhello " + ADD_HEADER.encode(), msgs[0].replace(b"\r\n", b"\n"))

    def test_clean_mail_plain(self):
        code, _ = send(self.env, "just a friendly note")
        self.assertEqual(code, 250)
        msgs = self.env.messages(ALICE)
        self.assertEqual(len(msgs), 1)
        self.assertNotIn(b"X-Spam-", msgs[0])
        self.assertIn("action=no action", self.env.log("smtpd"))

    def test_exempt_clients_not_scanned(self):
        self.assertEqual(send(self.env, GTUBE, source=LAN_IP)[0], 250)
        self.assertEqual(send(self.env, GTUBE, login=(ALICE, ALICE_PW))[0], 250)
        self.assertEqual(len(self.env.messages(ALICE)), 2)
        self.assertNotIn("content_filter: id=", self.env.log("smtpd"))


class ScannerFails(EnvTestCase):
    def tearDown(self):
        try:
            super().tearDown()
        finally:
            if getattr(self, "silent", None):
                self.silent.stop()

    def down(self, mode):
        target = "127.0.0.1:%d" % harness.free_port()           # nothing listens there
        self.env = make_env(self.id().split(".")[-1], target,
                            "content_filter_fail = %s\n" % mode)

    def test_down_accept_unchecked(self):
        self.down("accept")
        self.assertEqual(send(self.env, GTUBE)[0], 250)
        msgs = self.env.messages(ALICE)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"\nX-Spam-Status: unchecked\n", msgs[0].split(b"\n\n", 1)[0])
        self.assertIn("accepted unchecked", self.env.log("smtpd"))

    def test_down_tempfail(self):
        self.down("tempfail")
        code, text = send(self.env, "hello")
        self.assertEqual(code, 451)
        self.assertTrue(text.decode().startswith("4.7.1 "), text)
        self.assertEqual(self.env.messages(ALICE), [])

    def silent_env(self, mode):
        self.silent = SilentServer()
        self.env = make_env(self.id().split(".")[-1], self.silent.server,
                            "content_filter_fail = %s\ncontent_filter_timeout = 1s\n" % mode)

    def test_silent_accept_after_timeout_others_served(self):
        self.silent_env("accept")
        out = {}

        def waiting():
            t = time.time()
            out["reply"] = send(self.env, "hello")
            out["took"] = time.time() - t
        th = threading.Thread(target=waiting)
        th.start()
        time.sleep(0.3)
        t = time.time()
        self.assertEqual(send(self.env, "from the LAN", source=LAN_IP)[0], 250)  # exempt
        self.assertLess(time.time() - t, 0.8)            # not queued behind the wait
        th.join(10)
        self.assertEqual(out["reply"][0], 250)
        self.assertGreaterEqual(out["took"], 0.9)
        unchecked = [m for m in self.env.messages(ALICE) if b"X-Spam-Status: unchecked" in m]
        self.assertEqual(len(unchecked), 1)

    def test_silent_tempfail(self):
        self.silent_env("tempfail")
        code, text = send(self.env, "hello")
        self.assertEqual(code, 451)
        self.assertIn("no answer within content_filter_timeout", self.env.log("smtpd"))


if __name__ == "__main__":
    unittest.main()
