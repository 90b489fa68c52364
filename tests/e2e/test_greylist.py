"""Greylisting on an SMTP instance (SPEC "Anti-spam on an instance"): a remote
client's new (client /24, sender, recipient) triplet gets 451 4.7.1 at RCPT; the
same triplet passes after greylist_delay (2s here), also from another address of the
/24; another sender is a new triplet; refused recipients keep their 550; LAN,
authenticated and POP-before-SMTP clients are never greylisted; `userdb greylist
list|flush`; --test-relay says what would happen and writes nothing."""
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import DOMAIN, LAN_IP, REMOTE_IP, EnvTestCase

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"
BOB, BOB_PW = "bob@" + DOMAIN, "Quiet-Otter-Stone-9"
NEIGHBOUR_IP = "127.0.0.10"      # the /24 of REMOTE_IP
DELAY = 2


class Greylist(EnvTestCase):
    def setUp(self):
        self.env = harness.Env(
            self.id().split(".")[-1],
            sections="[smtp mx]\nlisten = 127.0.0.1:{port:smtp}\n"
                     "greylist = yes\ngreylist_delay = %ds\n"
                     "auth_mechanisms = PLAIN\nplaintext_auth = always\n\n"
                     "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\nplaintext_auth = always\n"
                     % DELAY)
        self.env.add_user(ALICE, ALICE_PW, relay=True)
        self.env.add_user(BOB, BOB_PW)
        self.env.start("smtpd", wait=["smtp"])

    def rcpt(self, source, sender="news@sender.example", rcpt=ALICE, login=None):
        s = self.env.smtp("smtp", source)
        if login:
            s.login(*login)
        s.mail(sender)
        reply = s.rcpt(rcpt)
        s.quit()
        return reply

    def triplets(self):
        r = self.env.userdb("greylist", "list")
        return [l for l in r.stdout.splitlines() if l.strip()]

    def test_new_triplet_then_retry(self):
        code, text = self.rcpt(REMOTE_IP)
        self.assertEqual(code, 451, text)
        self.assertIn(b"4.7.1", text)
        self.assertIn(b"Greylisted", text)
        code, _ = self.rcpt(REMOTE_IP)                       # an early retry
        self.assertEqual(code, 451)
        lines = self.triplets()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("127.0.0.0/24 <news@sender.example> <%s> " % ALICE),
                        lines[0])
        self.assertTrue(lines[0].endswith(" pending"), lines[0])
        # another sender from the same client is its own triplet
        code, _ = self.rcpt(REMOTE_IP, sender="other@sender.example")
        self.assertEqual(code, 451)
        time.sleep(DELAY + 0.5)
        # after the delay: the neighbour in the /24 passes with the same triplet
        code, text = self.rcpt(NEIGHBOUR_IP, sender="News@Sender.Example")
        self.assertEqual(code, 250, text)
        code, _ = self.rcpt(REMOTE_IP)                       # remembered
        self.assertEqual(code, 250)
        # a message goes through once passed
        s = self.env.smtp("smtp", REMOTE_IP)
        s.sendmail("news@sender.example", [ALICE], b"Subject: hi\r\n\r\nretried\r\n")
        s.quit()
        self.assertEqual(len(self.env.messages(ALICE)), 1)
        lines = self.triplets()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(any(l.endswith(" passed") and "<news@sender.example>" in l
                            for l in lines), lines)
        log = self.env.log("smtpd")
        self.assertIn("rule=greylist result=new TEMPFAIL 451", log)
        self.assertIn("rule=greylist result=passed PASS", log)
        self.assertIn("rule=greylist result=REJECT 451", log)    # the RCPT decision line
        # flush: the triplet is new again
        r = self.env.userdb("greylist", "flush")
        self.assertIn("flushed", r.stdout)
        self.assertEqual(self.triplets(), [])
        self.assertEqual(self.rcpt(REMOTE_IP)[0], 451)

    def test_refusals_come_first(self):
        # an unknown user gets 550 5.1.1 and a relay attempt its 550, never a 451
        code, text = self.rcpt(REMOTE_IP, rcpt="nobody@" + DOMAIN)
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.1.1", text)
        code, text = self.rcpt(REMOTE_IP, rcpt="friend@example.net")
        self.assertEqual(code, 550, text)
        self.assertEqual(self.triplets(), [])

    def test_exempt_clients(self):
        self.assertEqual(self.rcpt(LAN_IP)[0], 250)                    # lan
        self.assertEqual(self.rcpt(REMOTE_IP, login=(BOB, BOB_PW))[0], 250)   # AUTH
        self.assertEqual(self.triplets(), [])
        self.env.start("pop3d", wait=["pop"])                          # POP-before-SMTP
        p = self.env.pop3("pop", REMOTE_IP)
        p.user(BOB)
        p.pass_(BOB_PW)
        p.quit()
        self.assertEqual(self.rcpt(REMOTE_IP)[0], 250)
        self.assertEqual(self.triplets(), [])
        self.assertEqual(self.rcpt(NEIGHBOUR_IP)[0], 451)               # not its neighbour

    def test_test_relay_is_dry(self):
        r = self.env.smtpd_cmd("--test-relay", "mx", "--client", REMOTE_IP,
                               "--from", "news@sender.example", "--to", ALICE)
        self.assertIn("451 4.7.1 rule=greylist", r.stdout, r.stdout + r.stderr)
        self.assertEqual(self.triplets(), [])
        r = self.env.smtpd_cmd("--test-relay", "mx", "--client", LAN_IP,
                               "--from", "news@sender.example", "--to", ALICE)
        self.assertIn("rule=local", r.stdout, r.stdout + r.stderr)

    def test_check_config_warns_on_a_useless_window(self):
        env = harness.Env("greylist-conf", sections="[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n"
                          "greylist = yes\ngreylist_delay = 2h\ngreylist_window = 1h\n")
        r = env.smtpd_cmd("--check-config")
        self.assertIn("instance mx: greylist_window (3600s) is not longer than greylist_delay "
                      "(7200s)", r.stdout, r.stdout + r.stderr)
        r = self.env.smtpd_cmd("--check-config")                     # 24h > 2s: quiet
        self.assertNotIn("greylist_window", r.stdout)


if __name__ == "__main__":
    unittest.main()
