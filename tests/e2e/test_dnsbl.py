"""DNSBL and DNSWL (SPEC "Anti-spam on an instance") against a real authoritative DNS
server (NSD) serving test zones on loopback: a listed remote client gets 554 5.7.1 at
RCPT, an unlisted one and exempt ones (LAN, authenticated, POP-before-SMTP) pass, a
dnswl listing overrides the dnsbl one; and a DNS server that never answers costs the
waiting session dns_timeout, then mail passes, while other sessions are served."""
import smtplib
import socket
import threading
import time
import unittest

from tests.e2e.dnsserver import dns_env
from tests.e2e.harness import DOMAIN, LAN_IP, REMOTE_IP, EnvTestCase

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"
UNLISTED_IP = "127.0.0.10"
ALLOWED_IP = "127.0.0.11"       # in bl.example and in wl.example
V6_NAME = ".".join(reversed("%032x" % 1))       # ::1, reversed nibbles
ZONES = {
    "bl.example": ["%s A 127.0.0.2" % V6_NAME,      # ::1 (LAN only in Ipv6Client)
                   "9.0.0.127 A 127.0.0.2",          # REMOTE_IP
                "1.0.0.127 A 127.0.0.2",          # LAN_IP: exempt all the same
                "11.0.0.127 A 127.0.0.2",
                "9.0.0.127 TXT \"listed for tests\""],
    "wl.example": ["11.0.0.127 A 127.0.10.1"],
}


def rcpt(env, source, login=None):
    s = env.smtp("smtp", source)
    try:
        if login:
            s.login(*login)
        s.mail("someone@elsewhere.test")
        return s.rcpt(ALICE)
    finally:
        s.close()


class Dnsbl(EnvTestCase):
    def setUp(self):
        dns_env(self, ZONES, timeout="2s",
                sections="[smtp in]\nlisten = 127.0.0.1:{port:smtp}\ndnsbl = bl.example\n"
                         "dnswl = wl.example\nauth_mechanisms = PLAIN\nplaintext_auth = always\n\n"
                         "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\nplaintext_auth = always\n")
        self.env.add_user(ALICE, ALICE_PW)
        self.env.start("smtpd", wait=["smtp"])

    def test_listed_client_refused_at_each_rcpt(self):
        s = self.env.smtp("smtp", REMOTE_IP)
        s.mail("someone@elsewhere.test")
        for _ in range(2):                               # looked up once, refused each time
            code, text = s.rcpt(ALICE)
            self.assertEqual(code, 554)
            self.assertEqual(text.decode(), "5.7.1 Service unavailable; client [%s] blocked "
                             "using bl.example" % REMOTE_IP)
        s.close()
        log = self.env.log("smtpd")
        self.assertIn("rule=dnsbl", log)
        self.assertEqual(log.count("dnsbl: ip=%s listed in bl.example" % REMOTE_IP), 1)
        self.assertEqual(self.env.messages(ALICE), [])

    def test_unlisted_client_passes(self):
        s = self.env.smtp("smtp", UNLISTED_IP)
        s.sendmail("someone@elsewhere.test", [ALICE], b"Subject: hi\r\n\r\nhello\r\n")
        s.quit()
        self.assertEqual(len(self.env.messages(ALICE)), 1)

    def test_lan_client_exempt(self):
        self.assertEqual(rcpt(self.env, LAN_IP)[0], 250)

    def test_authenticated_client_exempt(self):
        self.assertEqual(rcpt(self.env, REMOTE_IP, login=(ALICE, ALICE_PW))[0], 250)
        self.assertEqual(rcpt(self.env, REMOTE_IP)[0], 554)   # the same IP without login

    def test_pop_before_smtp_exempt(self):
        self.env.start("pop3d", wait=["pop"])
        p = self.env.pop3("pop", REMOTE_IP)
        p.user(ALICE)
        p.pass_(ALICE_PW)
        p.quit()
        self.assertEqual(rcpt(self.env, REMOTE_IP)[0], 250)

    def test_dnswl_skips_dnsbl(self):
        self.assertEqual(rcpt(self.env, ALLOWED_IP)[0], 250)
        self.assertIn("dnsbl: ip=%s whitelisted" % ALLOWED_IP, self.env.log("smtpd"))


class Ipv6Client(EnvTestCase):
    """An IPv6 client (::1, taken out of lan here) listed by its reversed nibbles."""

    def setUp(self):
        dns_env(self, ZONES, server_conf="lan = 127.0.0.1\n",
                sections="[smtp in]\nlisten = [::1]:{port:smtp}\ndnsbl = bl.example\n")
        self.env.add_user(ALICE, ALICE_PW)
        self.env.start("smtpd", wait=[])
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("::1", self.env.ports["smtp"]), 0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def test_listed_ipv6_client_refused(self):
        s = smtplib.SMTP("::1", self.env.ports["smtp"], timeout=15)
        s.ehlo("client.test")
        s.mail("someone@elsewhere.test")
        code, text = s.rcpt(ALICE)
        s.quit()
        self.assertEqual(code, 554)
        self.assertEqual(text.decode(), "5.7.1 Service unavailable; client [::1] blocked "
                         "using bl.example")


class DeadDnsServer(EnvTestCase):
    """dns_timeout = 1s against a server that drops every query."""

    def setUp(self):
        dns_env(self, timeout="1s",
                sections="[smtp in]\nlisten = 127.0.0.1:{port:smtp}\ndnsbl = bl.example\n")
        self.env.add_user(ALICE, ALICE_PW)
        # one event loop: the waiting session and the other one share it
        self.env.start("smtpd", wait=["smtp"], env={"MAILSERVER_LOOPS": "1"})

    def test_timeout_costs_the_session_only(self):
        s = self.env.smtp("smtp", REMOTE_IP)
        s.mail("someone@elsewhere.test")
        result = {}

        def slow():
            t0 = time.time()
            result["reply"] = s.rcpt(ALICE)
            result["secs"] = time.time() - t0

        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.2)                                   # the lookup is under way
        t0 = time.time()
        other = self.env.smtp("smtp", LAN_IP)
        other.sendmail("x@elsewhere.test", [ALICE], b"Subject: meanwhile\r\n\r\nhi\r\n")
        other.quit()
        other_secs = time.time() - t0
        self.assertTrue(th.is_alive(), "the DNSBL session did not wait for DNS")
        th.join(10)
        self.assertLess(other_secs, 0.6)
        self.assertEqual(result["reply"][0], 250)        # a DNS timeout passes
        self.assertGreater(result["secs"], 0.7)
        self.assertLess(result["secs"], 3.0)
        s.quit()
        self.assertGreater(self.dns.queries, 0)
        self.assertIn("lookup timed out: counted as not listed", self.env.log("smtpd"))

    def test_sigterm_while_waiting(self):
        """SIGTERM with a session waiting for DNS: a clean exit (no leak, no crash)."""
        s = self.env.smtp("smtp", REMOTE_IP)
        s.mail("someone@elsewhere.test")
        th = threading.Thread(target=_try, args=(s.rcpt, ALICE))
        th.start()
        time.sleep(0.3)
        t0 = time.time()
        self.env.stop("smtpd")                          # checks exit 0 and sanitizers
        self.assertLess(time.time() - t0, 10)
        th.join(10)
        s.close()


def _try(fn, *args):
    try:
        return fn(*args)
    except (smtplib.SMTPException, OSError):
        return None


if __name__ == "__main__":
    unittest.main()
