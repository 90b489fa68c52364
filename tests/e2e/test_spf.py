"""SPF (SPEC "Anti-spam on an instance": spf = tag|reject) against a real authoritative
DNS server (NSD) serving SPF records on loopback, looked up by libspf2 through our
resolver (dns_servers): pass (ip4: and mx mechanisms), fail, softfail, temperror (a
domain the server refuses, a server that never answers), the Received-SPF: header of tag and reject, 550 5.7.23 and
451 4.7.24 of reject, and exempt (LAN) clients left alone.
libspf2 passes every loopback client (127.0.0.0/8, ::1) without a lookup, so the
remote client here is this machine's own non-loopback address (the source address
of its default route) connecting to the daemon on 127.0.0.1."""
import socket
import time
import unittest

from tests.e2e.dnsserver import dns_env
from tests.e2e.harness import DOMAIN, LAN_IP, EnvTestCase

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"


def local_ip():
    """This machine's IPv4 address towards its default route, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 9))      # no packet is sent
        ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None
    finally:
        s.close()


CLIENT_IP = local_ip()
ZONES = {
    "spf.example": ['@ TXT "v=spf1 ip4:%s -all"' % CLIENT_IP,
                    'fail TXT "v=spf1 ip4:198.51.100.7 -all"',
                    'soft TXT "v=spf1 ip4:198.51.100.7 ~all"',
                    'mxd TXT "v=spf1 mx -all"',
                    "mxd MX 10 mail.spf.example.",
                    "mail A %s" % CLIENT_IP,
                    'mxfail TXT "v=spf1 mx -all"',
                    "mxfail MX 10 other.spf.example.",
                    "other A 198.51.100.7",
                    'none TXT "not an spf record"',
                    'helo TXT "v=spf1 -all"'],
}
MSG = b"Subject: spf\r\n\r\nhello\r\n"


@unittest.skipIf(CLIENT_IP is None, "no non-loopback IPv4 address on this machine")
class Spf(EnvTestCase):
    def setUp(self):
        dns_env(self, ZONES, timeout="2s",
                sections="[smtp rej]\nlisten = 127.0.0.1:{port:rej}\nspf = reject\n\n"
                         "[smtp tag]\nlisten = 127.0.0.1:{port:tag}\nspf = tag\n")
        self.env.add_user(ALICE, ALICE_PW)
        self.env.start("smtpd", wait=["rej", "tag"])

    def send(self, port, source, sender):
        s = self.env.smtp(port, source)
        try:
            s.sendmail(sender, [ALICE], MSG)
        finally:
            s.close()
        return self.env.messages(ALICE)[-1]

    def mail_from(self, port, source, sender):
        s = self.env.smtp(port, source)
        try:
            return s.mail(sender)
        finally:
            s.close()

    def test_pass_gets_header(self):
        m = self.send("rej", CLIENT_IP, "bob@spf.example")
        self.assertIn(b"\nReceived-SPF: pass ", m)
        self.assertIn(b"client-ip=%s;" % CLIENT_IP.encode(), m)
        # one Authentication-Results: on top, above our Received:
        self.assertEqual(m.count(b"Authentication-Results:"), 1)
        self.assertIn(b"\nAuthentication-Results: mail.example.test; spf=pass "
                      b"smtp.mailfrom=spf.example\nReceived: from", m)
        self.assertIn("spf: ip=%s from=<bob@spf.example> helo=client.test result=pass"
                      % CLIENT_IP, self.env.log("smtpd"))

    def test_forged_authentication_results_removed(self):
        s = self.env.smtp("tag", CLIENT_IP)
        s.sendmail("bob@fail.spf.example", [ALICE],
                   b"Authentication-Results: Mail.Example.Test; spf=pass\r\n"
                   b"Authentication-Results: elsewhere.example; dkim=pass\r\n"
                   b"Authentication-Results: (forged)\r\n mail.example.test;\r\n spf=pass\r\n"
                   b"Subject: forged\r\n\r\nAuthentication-Results: mail.example.test; body\r\n")
        s.close()
        m = self.env.messages(ALICE)[-1]
        hdr, body = m.split(b"\n\n", 1)
        self.assertEqual(hdr.count(b"Authentication-Results:"), 2)
        self.assertIn(b"\nAuthentication-Results: mail.example.test; spf=fail", hdr)
        self.assertIn(b"\nAuthentication-Results: elsewhere.example; dkim=pass\n", hdr)
        self.assertNotIn(b"forged)", hdr)
        self.assertIn(b"Subject: forged", hdr)
        self.assertEqual(body, b"Authentication-Results: mail.example.test; body\n")

    def test_pass_through_mx_mechanism(self):
        m = self.send("rej", CLIENT_IP, "bob@mxd.spf.example")
        self.assertIn(b"\nReceived-SPF: pass ", m)

    def test_fail_rejected(self):
        code, text = self.mail_from("rej", CLIENT_IP, "bob@fail.spf.example")
        self.assertEqual(code, 550)
        self.assertTrue(text.decode().startswith("5.7.23 SPF: fail.spf.example"), text)
        code, _ = self.mail_from("rej", CLIENT_IP, "bob@mxfail.spf.example")
        self.assertEqual(code, 550)
        self.assertIn("rule=spf", self.env.log("smtpd"))
        self.assertEqual(self.env.messages(ALICE), [])

    def test_fail_tagged(self):
        m = self.send("tag", CLIENT_IP, "bob@fail.spf.example")
        self.assertIn(b"\nReceived-SPF: fail ", m)

    def test_softfail_delivered_with_header(self):
        m = self.send("rej", CLIENT_IP, "bob@soft.spf.example")
        self.assertIn(b"\nReceived-SPF: softfail ", m)
        self.assertIn(b"; spf=softfail smtp.mailfrom=soft.spf.example\n", m)

    def test_no_record_is_none(self):
        m = self.send("rej", CLIENT_IP, "bob@none.spf.example")
        self.assertIn(b"\nReceived-SPF: none ", m)

    def test_temperror(self):
        # other.example is not served: NSD refuses it, the resolver answers SERVFAIL
        code, text = self.mail_from("rej", CLIENT_IP, "bob@other.example")
        self.assertEqual(code, 451)
        self.assertTrue(text.decode().startswith("4.7.24 "), text)
        m = self.send("tag", CLIENT_IP, "bob@other.example")
        self.assertIn(b"\nReceived-SPF: temperror ", m)

    def test_lan_client_exempt(self):
        m = self.send("rej", LAN_IP, "bob@fail.spf.example")
        self.assertNotIn(b"Received-SPF:", m)
        self.assertNotIn(b"Authentication-Results:", m)
        self.assertNotIn("spf: ip=", self.env.log("smtpd"))

    def test_null_sender_checks_helo(self):
        s = self.env.smtp("rej", CLIENT_IP, ehlo=False)
        try:
            s.ehlo("helo.spf.example")
            code, text = s.mail("")
        finally:
            s.close()
        self.assertEqual(code, 550, text)


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(CLIENT_IP is None, "no non-loopback IPv4 address on this machine")
class SpfDeadDns(EnvTestCase):
    """A DNS server that never answers: the SPF lookup gives up after dns_timeout
    (temperror: 451 4.7.24 with spf = reject), the worker is not held longer."""

    def setUp(self):
        dns_env(self, timeout="1s",
                sections="[smtp rej]\nlisten = 127.0.0.1:{port:rej}\nspf = reject\n")
        self.env.add_user(ALICE, ALICE_PW)
        self.env.start("smtpd", wait=["rej"])

    def test_dead_server_is_temperror(self):
        s = self.env.smtp("rej", CLIENT_IP)
        try:
            t0 = time.monotonic()
            code, text = s.mail("bob@spf.example")
            took = time.monotonic() - t0
        finally:
            s.close()
        self.assertEqual(code, 451, text)
        self.assertTrue(text.decode().startswith("4.7.24 "), text)
        self.assertLess(took, 4)
        self.assertGreater(self.dns.queries, 0)
