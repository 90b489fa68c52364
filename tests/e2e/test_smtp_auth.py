"""SMTP AUTH end to end (RFC 4954, SPEC.md "SMTP" and "Lockout"): each mechanism
(SCRAM-SHA-256 with a client written here, CRAM-MD5, LOGIN, PLAIN), initial responses,
cancel, bad credentials, disabled users, plaintext rules, lockout and its lifting."""
import base64
import hashlib
import hmac
import os
import smtplib
import ssl
import time
import unittest

from tests.e2e.harness import Env, LAN_IP, REMOTE_IP, DOMAIN
from tests.e2e.test_smtp_proto import Raw

ALICE, ALICE_PW = "alice@" + DOMAIN, "Correct-Horse-42"
BOB, BOB_PW = "bob@" + DOMAIN, "Battery-Staple-43"
CAROL, CAROL_PW = "carol@" + DOMAIN, "Purple-Monkey-44"
LOCK_IP = "127.0.0.10"   # an address of its own for the lockout test
# Failed logins count toward the lockout per IP: each test that fails logins on purpose
# uses an address of its own (all in secure_networks, so PLAIN is allowed without TLS).


def b64(b):
    return base64.b64encode(b).decode()


def plain(user, pw):
    return b64(b"\0" + user.encode() + b"\0" + pw.encode())


def scram_login(r, user, pw, tamper=False):
    """SCRAM-SHA-256 (RFC 5802/7677) over a Raw connection; returns the final reply."""
    nonce = b64(os.urandom(18))
    first_bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), nonce)
    code, text = r.cmd("AUTH SCRAM-SHA-256 " + b64(("n,," + first_bare).encode()))
    if code != 334:
        return code, text
    server_first = base64.b64decode(text[4:].strip()).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(nonce)
    salt, iters = base64.b64decode(attrs["s"]), int(attrs["i"])
    salted = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, iters)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_wo_proof = "c=%s,r=%s" % (b64(b"n,,"), attrs["r"])
    auth_msg = ",".join((first_bare, server_first, final_wo_proof)).encode()
    sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    code, text = r.cmd(b64(("%s,p=%s" % (final_wo_proof, b64(proof))).encode()))
    if code != 334:
        return code, text
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    want = "v=" + b64(hmac.new(server_key, auth_msg, hashlib.sha256).digest())
    got = base64.b64decode(text[4:].strip()).decode()
    assert got == want, (got, want)      # the server proved it knows the password too
    return r.cmd("")


class SmtpAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = Env("smtp-auth",
                  server_conf="secure_networks = 127.0.0.1, 127.0.0.20-127.0.0.40\nauth_fail_limit = 3\n"
                              "auth_fail_window = 10m\nauth_lockout = 10m\n",
                  sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\ntls = starttls\n\n"
                           "[smtp noauth]\nlisten = 127.0.0.1:{port:noauth}\nauth_mechanisms =\n")
        cls.env = env
        env.add_user(ALICE, ALICE_PW, relay=True)
        env.add_user(BOB, BOB_PW)
        env.add_user(CAROL, CAROL_PW)
        env.userdb("set", CAROL, "enabled=no")
        env.start("smtpd")
        cls.port = env.ports["smtp"]

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_all()

    def raw(self, source=LAN_IP, ehlo=True, port=None):
        r = Raw(port or self.port, source=source)
        self.addCleanup(r.close)
        if ehlo:
            self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        return r

    def lib(self, source=LAN_IP):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=15, source_address=(source, 0))
        self.addCleanup(s.close)
        s.ehlo("client.test")
        return s

    def lib_auth(self, mech, user, pw, source=LAN_IP):
        s = self.lib(source)
        s.user, s.password = user, pw
        fn = {"CRAM-MD5": s.auth_cram_md5, "LOGIN": s.auth_login, "PLAIN": s.auth_plain}[mech]
        try:
            return s.auth(mech, fn, initial_response_ok=(mech == "PLAIN"))
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code, e.smtp_error

    # ---- mechanisms ---------------------------------------------------------------
    def test_scram_sha256(self):
        r = self.raw()
        self.assertEqual(scram_login(r, ALICE, ALICE_PW), (235, "235 2.7.0 Authentication successful\r\n"))
        self.assertIn("auth: ip=127.0.0.1 user=%s mech=SCRAM-SHA-256 result=ok" % ALICE,
                      self.env.log("smtpd"))

    def test_scram_bad_proof(self):
        r = self.raw(source="127.0.0.21")
        code, text = scram_login(r, BOB, BOB_PW, tamper=True)
        self.assertEqual(code, 535)
        self.assertIn("5.7.8", text)

    def test_cram_login_plain_with_smtplib(self):
        for mech in ("CRAM-MD5", "LOGIN", "PLAIN"):
            with self.subTest(mech=mech):
                code, _ = self.lib_auth(mech, ALICE, ALICE_PW)
                self.assertEqual(code, 235)
                self.assertIn("user=%s mech=%s result=ok" % (ALICE, mech), self.env.log("smtpd"))

    def test_bare_local_part_login(self):
        self.assertEqual(self.lib_auth("PLAIN", "bob", BOB_PW)[0], 235)

    def test_initial_response_and_empty(self):
        r = self.raw()
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 235)
        r = self.raw()
        self.assertEqual(r.cmd("AUTH PLAIN"), (334, "334 \r\n"))   # empty challenge
        self.assertEqual(r.cmd(plain(BOB, BOB_PW))[0], 235)
        r = self.raw(source="127.0.0.25")
        code, _ = r.cmd("AUTH PLAIN =")          # "=": an empty initial response, not base64
        self.assertIn(code, (501, 535))
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r = self.raw()
        code, text = r.cmd("AUTH LOGIN " + b64(BOB.encode()))   # LOGIN: user as IR
        self.assertEqual((code, base64.b64decode(text[4:].strip())), (334, b"Password:"))
        self.assertEqual(r.cmd(b64(BOB_PW.encode()))[0], 235)

    def test_cancel(self):
        r = self.raw()
        self.assertEqual(r.cmd("AUTH LOGIN")[0], 334)
        code, text = r.cmd("*")
        self.assertEqual(code, 501)
        self.assertIn("5.7.0", text)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 235)   # a fresh start works

    def test_bad_credentials_look_the_same(self):
        ip = "127.0.0.22"
        wrong = self.lib_auth("PLAIN", BOB, "not-the-password", source=ip)
        unknown = self.lib_auth("PLAIN", "nobody@" + DOMAIN, "not-the-password", source=ip)
        self.assertEqual(wrong[0], 535)
        self.assertEqual(wrong, unknown)
        self.assertIn(b"5.7.8", wrong[1])
        self.assertEqual(self.lib_auth("CRAM-MD5", BOB, "not-the-password", source=ip)[0], 535)
        self.assertIn("auth failed: service=smtp ip=%s user=nobody@%s" % (ip, DOMAIN),
                      self.env.log("smtpd"))

    def test_disabled_user_refused(self):
        for mech in ("PLAIN", "CRAM-MD5"):
            with self.subTest(mech=mech):
                self.assertEqual(self.lib_auth(mech, CAROL, CAROL_PW, source="127.0.0.23")[0], 535)
        r = self.raw(source="127.0.0.23")
        self.assertEqual(scram_login(r, CAROL, CAROL_PW)[0], 535)

    def test_long_auth_line(self):
        r = self.raw(source="127.0.0.24")
        code, text = r.cmd("AUTH PLAIN " + plain(BOB, "x" * 6000))   # ~8 KB line
        self.assertEqual(code, 535, text)

    # ---- sequencing and availability ------------------------------------------------------
    def test_sequencing(self):
        r = self.raw(ehlo=False)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 503)   # before EHLO
        self.assertEqual(r.cmd("HELO client.test")[0], 250)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 503)   # HELO only
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 503)   # in a transaction
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 235)
        code, text = r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))
        self.assertEqual(code, 503)                                           # twice
        self.assertIn("5.5.1", text)

    def test_unknown_mechanism(self):
        r = self.raw()
        for mech in ("DIGEST-MD5", "XYZZY"):
            code, text = r.cmd("AUTH " + mech)
            self.assertEqual(code, 504)
            self.assertIn("5.5.4", text)

    def test_no_auth_instance(self):
        r = self.raw(port=self.env.ports["noauth"], ehlo=False)
        code, text = r.cmd("EHLO client.test")
        self.assertNotIn("AUTH", text)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))[0], 503)

    def test_plaintext_needs_tls_outside_secure_networks(self):
        r = self.raw(source=REMOTE_IP, ehlo=False)
        code, text = r.cmd("EHLO client.test")
        self.assertIn("AUTH SCRAM-SHA-256 CRAM-MD5\r\n", text)   # no LOGIN/PLAIN offered
        code, text = r.cmd("AUTH PLAIN " + plain(BOB, BOB_PW))
        self.assertEqual(code, 538)
        self.assertIn("5.7.11", text)
        self.assertEqual(r.cmd("AUTH LOGIN")[0], 538)
        s = self.lib(source=REMOTE_IP)      # after STARTTLS they are offered and work
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo("client.test")
        self.assertIn("PLAIN", s.esmtp_features["auth"])
        self.assertEqual(s.login(BOB, BOB_PW)[0], 235)

    def test_auth_then_relay_and_esmtpa(self):
        s = self.lib(source=REMOTE_IP)
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo("client.test")
        s.login(ALICE, ALICE_PW)
        s.sendmail(ALICE, [BOB], b"Subject: esmtpsa\r\n\r\nx\r\n")
        m = [x for x in self.env.messages(BOB) if b"Subject: esmtpsa" in x]
        self.assertEqual(len(m), 1)
        self.assertIn(b"with ESMTPSA id", m[0])

    # ---- lockout --------------------------------------------------------------------------
    def test_lockout(self):
        for i in range(3):
            self.assertEqual(self.lib_auth("CRAM-MD5", BOB, "wrong-%d" % i, source=LOCK_IP)[0], 535)
        code, text = self.lib_auth("CRAM-MD5", BOB, BOB_PW, source=LOCK_IP)
        self.assertEqual(code, 454)                       # right password, still locked
        self.assertIn(b"4.7.0", text)
        r = self.raw(source=LOCK_IP)
        self.assertEqual(scram_login(r, BOB, BOB_PW)[0], 454)
        self.assertEqual(self.lib_auth("PLAIN", BOB, BOB_PW)[0], 235)   # 127.0.0.1 unaffected
        log = self.env.log("smtpd")
        self.assertEqual(log.count("auth failed: service=smtp ip=%s" % LOCK_IP), 3)
        self.env.userdb("lockout", "clear", LOCK_IP)
        self.assertEqual(self.lib_auth("CRAM-MD5", BOB, BOB_PW, source=LOCK_IP)[0], 235)


if __name__ == "__main__":
    unittest.main()
