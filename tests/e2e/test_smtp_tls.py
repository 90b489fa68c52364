"""SMTP over TLS end to end (RFC 3207, SPEC.md "SMTP"): STARTTLS resets the session,
is not offered or accepted twice, plaintext pipelined behind it is discarded
(CVE-2011-0411); tls = required; implicit TLS; protocols older than TLS 1.2 refused."""
import smtplib
import socket
import ssl
import unittest

from tests.e2e.harness import Env, LAN_IP, REMOTE_IP, DOMAIN
from tests.e2e.test_smtp_proto import Raw

BOB, BOB_PW = "bob@" + DOMAIN, "Battery-Staple-43"


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def upgrade(r):
    """Wrap a Raw connection in TLS after a 220 to STARTTLS."""
    r.sock = client_ctx().wrap_socket(r.sock)
    r.buf = b""


class SmtpTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = Env("smtp-tls", server_conf="secure_networks = 127.0.0.1\n",
                  sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\ntls = starttls\n\n"
                           "[smtp req]\nlisten = 127.0.0.1:{port:req}\ntls = required\n\n"
                           "[smtp smtps]\nlisten = 127.0.0.1:{port:smtps}\ntls = implicit\n\n"
                           "[smtp plain]\nlisten = 127.0.0.1:{port:plain}\ntls = off\n")
        cls.env = env
        env.add_user(BOB, BOB_PW)
        env.start("smtpd")

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_all()

    def raw(self, name="smtp", source=LAN_IP):
        r = Raw(self.env.ports[name], source=source)
        self.addCleanup(r.close)
        return r

    def test_starttls_resets_state(self):
        r = self.raw()
        code, text = r.cmd("EHLO client.test")
        self.assertIn("250-STARTTLS", text)
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        self.assertEqual(r.cmd("STARTTLS"), (220, "220 2.0.0 Ready to start TLS\r\n"))
        upgrade(r)
        code, text = r.cmd("MAIL FROM:<x@remote.test>")
        self.assertEqual(code, 503)               # EHLO and the transaction are forgotten
        self.assertIn("HELO/EHLO", text)
        code, text = r.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        self.assertNotIn("STARTTLS", text)        # not offered twice
        code, text = r.cmd("STARTTLS")
        self.assertEqual(code, 503)               # nor accepted
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<%s>" % BOB)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: over-tls\r\n\r\nx\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        m = [x for x in self.env.messages(BOB) if b"Subject: over-tls" in x]
        self.assertEqual(len(m), 1)
        self.assertIn(b" with ESMTPS id ", m[0])
        # RFC 8314 4.3: the protocol version and cipher, as a comment line of Received:
        self.assertRegex(m[0], rb"\[127\.0\.0\.1\]\)\n\t\(using TLSv1\.[23] with cipher "
                               rb"[A-Z0-9_-]+\)\n\tby ")

    def test_plaintext_after_starttls_discarded(self):
        r = self.raw()
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        # CVE-2011-0411: commands injected in the same packet as STARTTLS
        r.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nQUIT\r\n")
        self.assertEqual(r.reply()[0], 220)
        self.assertEqual(r.buf, b"")              # no reply to the injected commands
        upgrade(r)
        self.assertEqual(r.cmd("NOOP")[0], 250)   # QUIT was not executed
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 250)   # no MAIL was pending

    def test_starttls_not_available(self):
        r = self.raw("plain")
        code, text = r.cmd("EHLO client.test")
        self.assertNotIn("STARTTLS", text)
        self.assertEqual(r.cmd("STARTTLS")[0], 454)
        self.assertEqual(r.cmd("STARTTLS now")[0], 501)
        self.assertEqual(r.cmd("NOOP")[0], 250)

    def test_tls_required(self):
        r = self.raw("req", source=REMOTE_IP)
        code, text = r.cmd("EHLO client.test")
        self.assertIn("STARTTLS", text)
        self.assertNotIn("AUTH", text)
        for cmd in ("MAIL FROM:<x@remote.test>", "AUTH CRAM-MD5"):
            self.assertEqual(r.cmd(cmd), (530, "530 5.7.0 Must issue a STARTTLS command first\r\n"))
        self.assertEqual(r.cmd("STARTTLS")[0], 220)
        upgrade(r)
        code, text = r.cmd("EHLO client.test")
        self.assertIn("AUTH SCRAM-SHA-256 CRAM-MD5 LOGIN PLAIN", text)
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<%s>" % BOB)[0], 250)

    def test_implicit_tls(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.env.ports["smtps"], timeout=15,
                             context=client_ctx())
        self.addCleanup(s.close)
        code, text = s.ehlo("client.test")
        self.assertEqual(code, 250)
        self.assertNotIn(b"STARTTLS", text)
        s.login(BOB, BOB_PW)
        s.sendmail(BOB, [BOB], b"Subject: implicit\r\n\r\nx\r\n")
        m = [x for x in self.env.messages(BOB) if b"Subject: implicit" in x]
        self.assertEqual(len(m), 1)
        self.assertIn(b" with ESMTPSA id ", m[0])

    def handshake(self, maxver):
        ctx = client_ctx()
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = maxver
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        sock = socket.create_connection(("127.0.0.1", self.env.ports["smtps"]), 10)
        try:
            with ctx.wrap_socket(sock) as t:
                return t.version()
        finally:
            sock.close()

    def test_old_tls_refused(self):
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")   # control
        with self.assertRaises(ssl.SSLError) as cm:
            self.handshake(ssl.TLSVersion.TLSv1_1)
        if "NO_PROTOCOLS_AVAILABLE" in str(cm.exception) or "no protocols" in str(cm.exception):
            self.skipTest("this client cannot speak TLS 1.1 at all")


if __name__ == "__main__":
    unittest.main()
