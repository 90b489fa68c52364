"""Authentication sources (SPEC "Authentication source"): relay-only accounts
(userdb add --no-mailbox), auth_source = fixed, auth_source = system through PAM
(a PAM service file of the test's own over pam_userdb and a Berkeley DB file made
with db_load), each against the real daemons with real clients."""
import base64
import os
import smtplib
import poplib
import unittest

from tests.e2e.harness import DOMAIN, REMOTE_IP, EnvTestCase, Env

GOOD = "Tr0ub4dor-horse-staple"
SCAN = "Sc4nner-copier-secret"


def plain(user, pw):
    return base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()


class RelayOnlyTest(EnvTestCase):
    def setUp(self):
        self.env = Env("authsrc-relayonly", sections=(
            "[smtp sub]\nlisten = 127.0.0.1:{port:sub}\nplaintext_auth = always\n"
            "[pop3 p]\nlisten = 127.0.0.1:{port:pop3}\nplaintext_auth = always\n"))

    def test_relay_only_account(self):
        env = self.env
        r = env.userdb("add", "scanner", "--relay", "--no-mailbox", password=SCAN)
        self.assertIn("mailbox=no", r.stdout)
        self.assertNotIn("postmaster", r.stdout)      # never the postmaster
        env.add_user("alice", GOOD)
        self.assertEqual(env.userdb("list").stdout.splitlines(), [
            "alice@%s relay=no enabled=yes" % DOMAIN,
            "scanner@%s relay=yes enabled=yes mailbox=no" % DOMAIN])
        show = dict(l.split(": ", 1) for l in env.userdb("show", "scanner").stdout.splitlines())
        self.assertTrue(show["mailbox"].startswith("no"), show)
        self.assertEqual(dict(l.split(": ", 1) for l in
                              env.userdb("show", "alice").stdout.splitlines())["mailbox"], "yes")
        env.userdb("alias", "add", "copier", "scanner")
        env.start("smtpd", wait=["sub"])
        env.start("pop3d", wait=["pop3"])
        # receives nothing, also through an alias
        s = env.smtp("sub", source=REMOTE_IP)
        s.mail("x@remote.test")
        for rcpt in ("scanner@" + DOMAIN, "copier@" + DOMAIN):
            code, msg = s.rcpt(rcpt)
            self.assertEqual(code, 550, msg)
            self.assertIn(b"5.1.1", msg)
        self.assertEqual(s.rcpt("alice@" + DOMAIN)[0], 250)
        s.quit()
        # authenticates (every mechanism) and relays
        for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
            s = env.smtp("sub", source=REMOTE_IP)
            s.user, s.password = "scanner@" + DOMAIN, SCAN
            code = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")))[0]
            self.assertEqual(code, 235, mech)
            s.mail("scanner@" + DOMAIN)
            self.assertEqual(s.rcpt("friend@remote.test")[0], 250, mech)
            s.rset()
            s.quit()
        # POP3 refuses it after the password, not as a failure; no Maildir appears
        p = env.pop3("pop3")
        p.user("scanner")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_(SCAN)
        self.assertIn(b"-ERR [AUTH] This account has no mailbox", cm.exception.args[0])
        p.quit()
        p = env.pop3("pop3")
        p.user("scanner")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong-password-1")
        self.assertIn(b"Authentication failed", cm.exception.args[0])
        p.quit()
        self.assertFalse(os.path.exists(env.maildir("scanner@" + DOMAIN)))
        self.assertIn("reason=no-mailbox", env.log("pop3d"))
        self.assertEqual(env.userdb("popauth", "list").stdout.strip(), "")


if __name__ == "__main__":
    unittest.main()
