"""Every rule of SPEC's relay table, plus local_spoof, sender_login_match, unknown_user,
postmaster and domain aliases, through real SMTP sessions against the real smtpd (several
instances in one config), from the LAN (127.0.0.1) and from outside (127.0.0.9).
Rule 4 (POP-before-SMTP) uses a real pop3d login to fill the POP-auth cache."""
import base64
import os
import socket
import unittest

from tests.e2e import harness
from tests.e2e.harness import Env, LAN_IP, REMOTE_IP

SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
always_relay_from = 127.0.0.5
always_relay_to = partner.test, *.partner.test
deny_clients = 127.0.0.66
[smtp norelay]
listen = 127.0.0.1:{port:norelay}
relay = no
[smtp sub]
listen = 127.0.0.1:{port:sub}
require_auth = yes
sender_login_match = yes
plaintext_auth = always
[smtp pop]
listen = 127.0.0.1:{port:pop}
relay_pop_before_smtp = yes
[smtp lanstrict]
listen = 127.0.0.1:{port:lanstrict}
relay_nonlocal_senders = no
[smtp outside]
listen = 127.0.0.1:{port:outside}
relay_outside_lan = yes
relay_nonlocal_senders = no
[smtp localsend]
listen = 127.0.0.1:{port:localsend}
relay_local_senders = yes
reject_local_spoof = no
[pop3 p]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
"""

SMTP_PORTS = ["mx", "norelay", "sub", "pop", "lanstrict", "outside", "localsend"]
ALICE_PW = "Alice-Secret-42"
BOB_PW = "Bob-Secret-42"


def have(binary):
    return os.path.exists(os.path.join(harness.BIN, binary))


class SmtpRelay(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        if not have("userdb"):
            raise unittest.SkipTest("userdb not built yet")
        cls.env = Env("relay", server_conf="domain_aliases = alias.test, [127.0.0.7], "
                      "[IPv6:2001:db8::7]\n", sections=SECTIONS)
        env = cls.env
        env.add_user("alice@example.test", ALICE_PW, relay=True)
        env.add_user("bob@example.test", BOB_PW)
        env.userdb("alias", "add", "info@example.test", "alice@example.test")
        env.start("smtpd", wait=SMTP_PORTS)
        if have("pop3d"):
            env.start("pop3d", wait=["pop3"])

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop_all()

    # ---- helpers -----------------------------------------------------------
    def session(self, inst, source=LAN_IP, user=None, password=None):
        s = self.env.smtp(inst, source=source)
        self.addCleanup(self.close, s)
        if user:
            tok = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
            code, msg = s.docmd("AUTH", "PLAIN " + tok)
            self.assertEqual(code, 235, msg)
        return s

    @staticmethod
    def close(s):
        try:
            s.quit()
        except Exception:
            s.close()

    def mail(self, s, sender):
        s.docmd("RSET")
        return s.docmd("MAIL FROM:<%s>" % sender)

    def expect(self, inst, source, sender, rcpt, code, enh=None, user=None, password=None,
               mail_code=250):
        s = self.session(inst, source, user, password)
        c, msg = self.mail(s, sender)
        self.assertEqual(c, mail_code, "MAIL FROM:<%s> on %s from %s: %s" % (sender, inst, source, msg))
        if mail_code != 250:
            return msg
        c, msg = s.docmd("RCPT TO:<%s>" % rcpt)
        self.assertEqual(c, code, "RCPT TO:<%s> (from <%s>) on %s from %s: %d %s"
                         % (rcpt, sender, inst, source, c, msg))
        if enh:
            self.assertTrue(msg.decode().startswith(enh), msg)
        return msg

    def pop_login(self, user, password, source=REMOTE_IP):
        p = self.env.pop3("pop3", source=source)
        p.user(user)
        p.pass_(password)
        p.quit()

    # ---- the table ---------------------------------------------------------
    def test_rule0_relay_disabled(self):
        self.expect("norelay", LAN_IP, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.expect("norelay", LAN_IP, "x@remote.test", "y@partner.test", 550, "5.7.1")
        self.expect("norelay", REMOTE_IP, "x@remote.test", "alice@example.test", 250)
        self.assertIn("rule=relay_disabled result=REJECT 550", self.env.log("smtpd"))

    def test_rule1_always_relay_to(self):
        self.expect("mx", REMOTE_IP, "x@remote.test", "y@partner.test", 250)
        self.expect("mx", REMOTE_IP, "x@remote.test", "y@deep.sub.Partner.Test", 250)
        self.expect("mx", REMOTE_IP, "x@remote.test", "y@partner.test.evil.test", 550, "5.7.1")
        self.expect("mx", REMOTE_IP, "x@remote.test", "y@xpartner.test", 550, "5.7.1")
        self.assertIn("rule=always_relay_to result=ACCEPT", self.env.log("smtpd"))

    def test_rule2_always_relay_from(self):
        self.expect("mx", "127.0.0.5", "x@remote.test", "y@remote.test", 250)
        # 2 before 3b: even authenticated without the privilege
        self.expect("mx", "127.0.0.5", "bob@example.test", "y@remote.test", 250,
                    user="bob@example.test", password=BOB_PW)

    def test_rule3_auth(self):
        self.expect("mx", REMOTE_IP, "alice@example.test", "y@remote.test", 250,
                    user="alice@example.test", password=ALICE_PW)
        self.expect("sub", REMOTE_IP, "alice@example.test", "y@remote.test", 250,
                    user="alice", password=ALICE_PW)
        self.assertIn("user=alice@example.test from=<alice@example.test> to=<y@remote.test> "
                      "rule=auth result=ACCEPT", self.env.log("smtpd"))

    def test_rule3b_auth_no_privilege(self):
        # even from the LAN, where rule 6 would have accepted
        self.expect("mx", LAN_IP, "bob@example.test", "y@remote.test", 550, "5.7.1",
                    user="bob@example.test", password=BOB_PW)
        self.assertIn("rule=auth_no_privilege result=REJECT 550", self.env.log("smtpd"))

    def test_rule4_pop_before_smtp(self):
        if not have("pop3d"):
            self.skipTest("pop3d not built yet")
        src = "127.0.0.21"
        self.expect("pop", src, "x@remote.test", "y@remote.test", 550, "5.7.1")
        # a user without the relay privilege: the entry proves a local user, not relay
        self.pop_login("bob@example.test", BOB_PW, source=src)
        self.expect("pop", src, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.expect("pop", src, "bob@example.test", "y@remote.test", 550, "5.7.1")  # no spoof refusal
        self.pop_login("alice@example.test", ALICE_PW, source=src)
        self.expect("pop", src, "x@remote.test", "y@remote.test", 250)
        # only for that IP, and only on an instance with relay_pop_before_smtp
        self.expect("pop", "127.0.0.22", "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.expect("mx", src, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.assertIn("ip=%s user=- from=<x@remote.test> to=<y@remote.test> "
                      "rule=pop_before_smtp result=ACCEPT" % src, self.env.log("smtpd"))

    def test_rule5_auth_required(self):
        self.expect("sub", LAN_IP, "x@remote.test", "y@remote.test", 530, "5.7.0")
        self.expect("sub", LAN_IP, "alice@example.test", "y@remote.test", 530, "5.7.0")
        # mail for local users is still accepted
        self.expect("sub", REMOTE_IP, "x@remote.test", "alice@example.test", 250)

    def test_rule6_lan_and_sender(self):
        self.expect("mx", LAN_IP, "x@remote.test", "y@remote.test", 250)
        self.expect("mx", LAN_IP, "", "y@remote.test", 250)
        self.expect("lanstrict", LAN_IP, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.expect("lanstrict", LAN_IP, "", "y@remote.test", 550, "5.7.1")
        self.expect("lanstrict", LAN_IP, "bob@alias.test", "y@remote.test", 250)
        # relay_outside_lan = yes (with relay_nonlocal_senders = no)
        self.expect("outside", REMOTE_IP, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.expect("outside", REMOTE_IP, "bob@example.test", "y@remote.test", 550,
                    mail_code=550)   # reject_local_spoof still guards the local sender

    def test_rule7_local_sender(self):
        self.expect("localsend", REMOTE_IP, "bob@example.test", "y@remote.test", 250)
        self.expect("localsend", REMOTE_IP, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.assertIn("rule=local_sender result=ACCEPT", self.env.log("smtpd"))

    def test_rule8_denied(self):
        self.expect("mx", REMOTE_IP, "x@remote.test", "y@remote.test", 550, "5.7.1")
        self.expect("mx", REMOTE_IP, "", "y@remote.test", 550, "5.7.1")
        self.assertIn("relay: instance=mx ip=127.0.0.9 user=- from=<x@remote.test> "
                      "to=<y@remote.test> rule=denied result=REJECT 550", self.env.log("smtpd"))

    # ---- address tricks ------------------------------------------------------
    def test_tricks_are_relay_attempts(self):
        for rcpt in ["user%remote.test@example.test", "remote.test!user@example.test",
                     '"user@remote.test"@example.test', "@example.test:user@remote.test",
                     "alice@[127.0.0.1]"]:
            with self.subTest(rcpt=rcpt):
                self.expect("mx", REMOTE_IP, "x@remote.test", rcpt, 550, "5.7.1")
        s = self.session("mx", REMOTE_IP)
        self.mail(s, "x@remote.test")
        code, _ = s.docmd("RCPT TO:<user@remote.test@example.test>")
        self.assertEqual(code // 100, 5)
        self.assertNotEqual(code, 250)
        # a source route through us to a local user: the final address counts
        self.expect("mx", REMOTE_IP, "x@remote.test", "@relay.test:alice@example.test", 250)

    # ---- MAIL FROM checks ----------------------------------------------------
    def test_local_spoof(self):
        for sender in ["alice@example.test", "nobody@ALIAS.TEST", "x@example.test."]:
            with self.subTest(sender=sender):
                msg = self.expect("mx", REMOTE_IP, sender, "alice@example.test", 0, mail_code=550)
                self.assertTrue(msg.decode().startswith("5.7.1"), msg)
        self.expect("mx", LAN_IP, "alice@example.test", "alice@example.test", 250)
        self.expect("mx", REMOTE_IP, "", "alice@example.test", 250)
        self.expect("mx", REMOTE_IP, "x@sub.example.test", "alice@example.test", 250)
        self.expect("mx", "127.0.0.5", "alice@example.test", "alice@example.test", 250)
        self.expect("mx", REMOTE_IP, "bob@example.test", "alice@example.test", 250,
                    user="bob", password=BOB_PW)
        self.expect("localsend", REMOTE_IP, "bob@example.test", "alice@example.test", 250)
        self.assertIn("rule=local_spoof result=REJECT 550", self.env.log("smtpd"))

    def test_local_spoof_pop_before_smtp(self):
        if not have("pop3d"):
            self.skipTest("pop3d not built yet")
        src = "127.0.0.31"
        self.expect("pop", src, "alice@example.test", "alice@example.test", 0, mail_code=550)
        self.pop_login("bob", BOB_PW, source=src)      # any user's entry will do
        self.expect("pop", src, "alice@example.test", "alice@example.test", 250)
        self.expect("mx", src, "alice@example.test", "alice@example.test", 0, mail_code=550)

    def test_sender_login_match(self):
        cred = dict(user="alice@example.test", password=ALICE_PW)
        self.expect("sub", REMOTE_IP, "alice@example.test", "y@remote.test", 250, **cred)
        self.expect("sub", REMOTE_IP, "ALICE@alias.test", "y@remote.test", 250, **cred)
        self.expect("sub", REMOTE_IP, "info@example.test", "y@remote.test", 250, **cred)
        for sender in ["bob@example.test", "alice@remote.test", "nobody@example.test"]:
            with self.subTest(sender=sender):
                msg = self.expect("sub", REMOTE_IP, sender, "y@remote.test", 0, mail_code=553,
                                  **cred)
                self.assertTrue(msg.decode().startswith("5.7.1"), msg)
        # not enforced where sender_login_match = no
        self.expect("mx", REMOTE_IP, "bob@example.test", "y@remote.test", 250, **cred)
        self.assertIn("rule=sender_login_match result=REJECT 553", self.env.log("smtpd"))

    # ---- RCPT of local recipients --------------------------------------------
    def test_local_recipients(self):
        for rcpt in ["alice@example.test", "ALICE@Example.Test", "alice@alias.test",
                     "alice@example.test.", "info@example.test", "bob@alias.test"]:
            with self.subTest(rcpt=rcpt):
                self.expect("mx", REMOTE_IP, "x@remote.test", rcpt, 250)
        self.expect("mx", REMOTE_IP, "x@remote.test", "nobody@example.test", 550, "5.1.1")
        self.expect("norelay", LAN_IP, "x@remote.test", "nobody@alias.test", 550, "5.1.1")
        self.assertIn("to=<nobody@example.test> rule=unknown_user result=REJECT 550",
                      self.env.log("smtpd"))

    def test_listed_address_literal_is_local(self):
        """SPEC "Who is local": an address literal listed in domain_aliases is a local
        domain (before: config_is_local_domain said yes, the RCPT check said no, and
        alice@[127.0.0.7] from outside got 550 5.7.1 Relaying denied)."""
        before = len(self.env.messages("alice@example.test"))
        s = self.session("mx", REMOTE_IP)
        self.assertEqual(self.mail(s, "x@remote.test")[0], 250)
        for rcpt in ["alice@[127.0.0.7]", "Alice@[IPv6:2001:DB8:0::7]"]:
            code, msg = s.docmd("RCPT TO:<%s>" % rcpt)
            self.assertEqual(code, 250, "%s: %s" % (rcpt, msg))
        code, msg = s.data(b"Subject: literal\r\n\r\nto a listed address literal\r\n")
        self.assertEqual(code, 250, msg)
        msgs = self.env.messages("alice@example.test")
        self.assertEqual(len(msgs), before + 1)      # one copy: both name alice
        self.assertIn(b"to a listed address literal", msgs[-1])
        # unlisted literals and the host name stay relay attempts; unknown users 5.1.1
        for rcpt in ["alice@[127.0.0.1]", "alice@[127.0.0.8]", "alice@[IPv6:2001:db8::8]",
                     "alice@mail.example.test"]:
            with self.subTest(rcpt=rcpt):
                self.expect("mx", REMOTE_IP, "x@remote.test", rcpt, 550, "5.7.1")
        self.expect("mx", REMOTE_IP, "x@remote.test", "nobody@[127.0.0.7]", 550, "5.1.1")
        # a listed literal in MAIL FROM is a local sender: refused from outside
        self.expect("mx", REMOTE_IP, "alice@[127.0.0.7]", "alice@example.test", 0,
                    mail_code=550)

    def test_postmaster(self):
        for rcpt in ["postmaster", "Postmaster", "postmaster@example.test",
                     "POSTMASTER@alias.test"]:
            with self.subTest(rcpt=rcpt):
                self.expect("norelay", REMOTE_IP, "", rcpt, 250)

    def test_disabled_user_still_receives(self):
        self.env.add_user("dave@example.test", "Dave-Secret-42")
        self.env.userdb("set", "dave@example.test", "enabled=no")
        self.expect("mx", REMOTE_IP, "x@remote.test", "dave@example.test", 250)

    def test_deny_clients(self):
        s = socket.create_connection(("127.0.0.1", self.env.ports["mx"]), 10,
                                     source_address=("127.0.0.66", 0))
        try:
            banner = s.makefile("rb").readline()
        finally:
            s.close()
        self.assertTrue(banner.startswith(b"554 5.7.1"), banner)


if __name__ == "__main__":
    unittest.main()
