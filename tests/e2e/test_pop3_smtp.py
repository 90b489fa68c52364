"""pop3d together with smtpd: mail delivered by smtpd is collected over POP3 exactly as
sent; POP-before-SMTP (a POP3 login lets that IP relay, only for a user with the relay
privilege); and the lockout shared between SMTP AUTH and POP3 logins."""
import base64
import poplib
import smtplib
import unittest

from tests.e2e import harness
from tests.e2e.harness import DOMAIN, LAN_IP, REMOTE_IP, EnvTestCase

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"      # relay privilege
BOB, BOB_PW = "bob@" + DOMAIN, "Quiet-Otter-Stone-9"            # no relay privilege
OTHER_IP = "127.0.0.11"


class Pop3Smtp(EnvTestCase):
    def setUp(self):
        sink = harness.free_port()
        self.env = harness.Env(
            self.id().split(".")[-1],
            server_conf="auth_fail_limit = 3\nsecure_networks = 127.0.0.1\n",
            routes="example.net = 127.0.0.1:%d" % sink,
            sections="[smtp in]\nlisten = 127.0.0.1:{port:smtp}\nrelay_pop_before_smtp = yes\n"
                     "auth_mechanisms = CRAM-MD5 PLAIN\nplaintext_auth = always\n\n"
                     "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\nplaintext_auth = always\n")
        self.env.add_user(ALICE, ALICE_PW, relay=True)
        self.env.add_user(BOB, BOB_PW)
        self.env.start("smtpd", wait=["smtp"])
        self.env.start("pop3d", wait=["pop"])

    def pop_login(self, user, pw, source):
        p = self.env.pop3("pop", source)
        p.user(user)
        p.pass_(pw)
        return p

    def rcpt(self, source, sender="someone@elsewhere.test", rcpt="friend@example.net"):
        s = self.env.smtp("smtp", source)
        s.mail(sender)
        code, _ = s.rcpt(rcpt)
        s.quit()
        return code

    def test_delivered_mail_collected(self):
        body = "Subject: via smtp\r\n\r\n.starts with a dot\r\nend\r\n"
        s = self.env.smtp("smtp", LAN_IP)
        s.sendmail("x@elsewhere.test", [ALICE], body.encode())
        s.quit()
        p = self.pop_login(ALICE, ALICE_PW, LAN_IP)
        self.assertEqual(p.stat()[0], 1)
        size = int(p.list(1).split()[2])
        resp, lines, octets = p.retr(1)
        self.assertEqual(octets, size)                # LIST size = octets on the wire
        text = b"\r\n".join(lines)
        self.assertIn(b"\r\n.starts with a dot\r\nend", text)
        self.assertIn(b"Received: ", text)
        p.dele(1)
        p.quit()
        self.assertEqual(self.env.messages(ALICE), [])

    def test_pop_before_smtp(self):
        self.assertEqual(self.rcpt(REMOTE_IP), 550)            # nobody collected mail yet
        self.pop_login(BOB, BOB_PW, OTHER_IP).quit()            # no relay privilege
        self.assertEqual(self.rcpt(OTHER_IP), 550)
        self.pop_login(ALICE, ALICE_PW, REMOTE_IP).quit()
        self.assertEqual(self.rcpt(REMOTE_IP), 250)
        r = self.env.smtpd_cmd("--test-relay", "in", "--client", REMOTE_IP,
                               "--from", "someone@elsewhere.test", "--to", "friend@example.net")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("rule=pop_before_smtp", r.stdout)
        # the cache survives a pop3d restart
        self.env.stop("pop3d")
        self.env.start("pop3d", wait=["pop"])
        self.assertEqual(self.rcpt(REMOTE_IP), 250)

    def test_pop_before_smtp_in_use(self):
        """A correct password on a mailbox in use by another session gets -ERR [IN-USE],
        but the login is verified: the IP is recorded and may relay (any method). A wrong
        password on that mailbox records nothing."""
        p = self.pop_login(ALICE, ALICE_PW, LAN_IP)             # holds the mailbox
        q = self.env.pop3("pop", OTHER_IP)
        q.user(ALICE)
        with self.assertRaises(poplib.error_proto) as e:
            q.pass_("wrong-password-here")
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        q.quit()
        self.assertEqual(self.rcpt(OTHER_IP), 550)
        self.assertEqual(self.rcpt(REMOTE_IP), 550)
        q = self.env.pop3("pop", REMOTE_IP)
        q.user(ALICE)
        with self.assertRaises(poplib.error_proto) as e:
            q.pass_(ALICE_PW)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"))
        q.quit()
        self.assertEqual(self.rcpt(REMOTE_IP), 250)
        q = self.env.pop3("pop", OTHER_IP)
        plain = base64.b64encode(("\0%s\0%s" % (ALICE, ALICE_PW)).encode()).decode()
        with self.assertRaises(poplib.error_proto) as e:
            q._shortcmd("AUTH PLAIN " + plain)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"))
        q.quit()
        self.assertEqual(self.rcpt(OTHER_IP), 250)
        p.quit()
        self.assertIn(REMOTE_IP, self.env.userdb("popauth", "list").stdout)

    def test_lockout_shared_with_smtp_auth(self):
        for i in range(2):
            s = self.env.smtp("smtp", REMOTE_IP)
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login(ALICE, "wrong-%d-password" % i)
            s.quit()
        p = self.env.pop3("pop", REMOTE_IP)
        p.user(ALICE)
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong-pop3-password")                 # third failure: locked
        p.user(ALICE)
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(ALICE_PW)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        p.quit()
        s = self.env.smtp("smtp", REMOTE_IP)
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, ALICE_PW)
        self.assertEqual(e.exception.smtp_code, 454)
        s.quit()
        self.pop_login(ALICE, ALICE_PW, LAN_IP).quit()          # other IPs unaffected
        self.env.userdb("lockout", "clear", REMOTE_IP)
        self.pop_login(ALICE, ALICE_PW, REMOTE_IP).quit()


if __name__ == "__main__":
    unittest.main()
