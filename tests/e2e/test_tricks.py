"""Classic open-relay tricks (issue 7, point 2), one test each, against the real smtpd:
a port-25-style instance (defaults: relay only for the LAN), the client is "remote"
(127.0.0.9) and does not authenticate. Every trick must be refused with 5xx at RCPT (or
at the latest after DATA), nothing may be queued (data_dir/queue holds no file and
`smtpd --queue list` says the queue is empty) and nothing may land in a Maildir.
Case and trailing-dot variants of the local domains must still deliver locally."""
import os
import unittest

from tests.e2e import harness
from tests.e2e.harness import Env, REMOTE_IP

SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
"""
# Relayed mail would go to a dead route and stay deferred in the queue, where we see it.
ROUTES = "remote.test = 127.0.0.1:9\n192.0.2.1 = 127.0.0.1:9"
SENDER = "someone@sender.test"   # not local: no local_spoof rejection gets in the way


def have(binary):
    return os.path.exists(os.path.join(harness.BIN, binary))


def files_under(path):
    out = []
    for dirpath, _dirs, files in os.walk(path):
        out.extend(os.path.join(dirpath, f) for f in files)
    return out


class RelayTricks(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        if not have("userdb") or not have("smtpd"):
            raise unittest.SkipTest("smtpd/userdb not built yet")
        cls.env = Env("tricks", server_conf="domain_aliases = alias.test\nqueue_retry = 1h\n",
                      sections=SECTIONS, routes=ROUTES)
        cls.env.add_user("user@example.test", "User-Secret-42")
        cls.env.start("smtpd", wait=["mx"])

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop_all()

    # ---- helpers -------------------------------------------------------------
    def delivered(self):
        return [f for f in files_under(os.path.join(self.env.data, "mail"))
                if os.sep + "new" + os.sep in f or os.sep + "cur" + os.sep in f]

    def queued(self):
        """Queue entries (tmp/, msg/, env/); runner.pid is the runner's lock, not mail."""
        return [f for f in files_under(os.path.join(self.env.data, "queue"))
                if os.path.basename(f) != "runner.pid"]

    def queue_list(self):
        r = self.env.smtpd_cmd("--queue", "list")
        return r.returncode, r.stdout + r.stderr

    def assert_nothing_queued(self):
        self.assertEqual(self.queued(), [], "something was queued")
        rc, out = self.queue_list()
        self.assertEqual(rc, 0, out)
        self.assertIn("queue is empty", out)

    def send(self, rcpt):
        """MAIL + RCPT (+ DATA if the RCPT was taken) from the remote IP. Returns
        (rcpt code, final code or None)."""
        s = self.env.smtp("mx", source=REMOTE_IP)
        try:
            code, msg = s.mail(SENDER)
            self.assertEqual(code, 250, msg)
            rcode, rmsg = s.docmd("RCPT TO:<%s>" % rcpt)
            final = None
            if rcode == 250:
                dcode, _ = s.docmd("DATA")
                if dcode == 354:
                    s.send(b"Subject: relay probe\r\n\r\nprobe\r\n.\r\n")
                    final, _ = s.getreply()
                else:
                    final = dcode
            s.quit()
            return rcode, rmsg, final
        finally:
            s.close()

    def refused(self, rcpt):
        before = self.delivered()
        rcode, rmsg, final = self.send(rcpt)
        self.assertTrue(500 <= rcode < 600, "RCPT TO:<%s> got %d %r" % (rcpt, rcode, rmsg))
        self.assertIsNone(final, "DATA went on for %s" % rcpt)
        self.assertEqual(self.delivered(), before, "delivered locally: %s" % rcpt)
        self.assert_nothing_queued()

    def local(self, rcpt):
        before = len(self.env.messages("user@example.test"))
        rcode, rmsg, final = self.send(rcpt)
        self.assertEqual(rcode, 250, "local RCPT TO:<%s> got %d %r" % (rcpt, rcode, rmsg))
        self.assertEqual(final, 250)
        self.assertEqual(len(self.env.messages("user@example.test")), before + 1)
        self.assert_nothing_queued()

    # ---- the tricks: all must be refused ---------------------------------------
    def test_control_plain_relay_refused(self):
        self.refused("user@remote.test")

    def test_percent_hack(self):
        self.refused("user%remote.test@example.test")

    def test_percent_hack_alias_domain(self):
        self.refused("user%remote.test@alias.test")

    def test_bang_path(self):
        self.refused("remote.test!user@example.test")

    def test_source_route(self):
        self.refused("@example.test:user@remote.test")

    def test_source_route_two_hops(self):
        self.refused("@example.test,@alias.test:user@remote.test")

    def test_quoted_local_part(self):
        self.refused('"user@remote.test"@example.test')

    def test_quoted_percent(self):
        self.refused('"user%remote.test"@example.test')

    def test_double_at(self):
        self.refused("user@remote.test@example.test")

    def test_address_literal(self):
        self.refused("user@[192.0.2.1]")

    def test_address_literal_of_server(self):
        self.refused("user@[127.0.0.1]")

    def test_upper_case_remote_with_local_suffix(self):
        self.refused("user@remote.test.example.test")

    def test_percent_hack_upper_case_trailing_dot(self):
        self.refused("user%remote.test@EXAMPLE.TEST.")

    # ---- local-domain variants: must still deliver locally ----------------------
    def test_local_plain(self):
        self.local("user@example.test")

    def test_local_upper_case_domain(self):
        self.local("user@EXAMPLE.TEST")

    def test_local_mixed_case(self):
        self.local("User@Example.Test")

    def test_local_trailing_dot(self):
        self.local("user@example.test.")

    def test_local_alias_domain_upper_trailing_dot(self):
        self.local("USER@Alias.Test.")


if __name__ == "__main__":
    unittest.main()
