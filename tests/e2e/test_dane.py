"""DANE for outbound SMTP (RFC 7672) end to end: a DNSSEC-signed zone (ldns-signzone)
served by a real NSD, smtpd's resolver validating it with the zone's DS as trust anchor
(dns_trust_anchor), MX hosts that are real SMTP sinks (aiosmtpd, STARTTLS with
certificates the test makes) on port 25 of their own loopback addresses.

- TLSA 3 1 1 matching the sink's key (its certificate names another host): delivered over TLS, "verified=dane" logged;
- TLSA 2 1 1 of the CA that issued the sink's certificate (named as the MX host): the same;
- TLSA not matching: deferred with the reason in the queue listing, nothing arrives,
  although the sink would take the mail in clear;
- TLSA published but no STARTTLS offered: deferred, nothing in clear;
- only PKIX (unusable) TLSA records: STARTTLS required, delivered unauthenticated;
- a TLSA record whose signature no longer verifies (bogus): deferred;
- an unsigned zone: delivered as before (opportunistic STARTTLS, not verified);
- `userdb dns` prints our own TLSA record (3 1 1 of tls_cert's key)."""
import hashlib
import os
import random
import re
import shutil
import ssl
import subprocess
import unittest

from aiosmtpd.controller import Controller

from tests.e2e.dnsserver import dns_env
from tests.e2e.harness import WORK, test_cert
from tests.e2e.test_outbound import SENDER, Sink, SinkHandler, wait_for

BODY = b"Subject: dane test\r\nMessage-ID: <dane-1@client.example>\r\n\r\nhello\r\n"
ZONE = "dane.example"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cert(d, name, cn, ca=None):
    """An EC key and certificate (self-signed, or issued by ca=(cert, key)); paths."""
    key, cert = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key, cwd=d)
    if ca is None:
        openssl("req", "-x509", "-new", "-key", key, "-out", cert, "-days", "30",
                "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE", cwd=d)
    else:
        csr = os.path.join(d, name + ".csr")
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + cn, cwd=d)
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\n" % cn)
        openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                "-out", cert, "-days", "30", "-extfile", ext, cwd=d)
    return cert, key


def spki_sha256(cert):
    """The TLSA 1 1 association data: SHA-256 of the certificate's SubjectPublicKeyInfo."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


class TlsSink(Sink):
    """test_outbound's sink on IP:25; STARTTLS with chain (cert file, key) when given
    (offered, not required: a client falling back to clear text would deliver)."""

    def __init__(self, ip, chain=None):   # pylint: disable=super-init-not-called
        self.handler = SinkHandler()
        kw = {}
        if chain:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*chain)
            kw = {"tls_context": ctx}
        self.ctl = Controller(self.handler, hostname=ip, port=25, data_size_limit=0,
                              decode_data=False, **kw)
        self.ctl.start()


def break_tlsa(owner):
    """A tamper function: the TLSA data of owner changed after signing (bogus)."""
    def fn(text):
        out = []
        for line in text.splitlines(True):
            f = line.split()
            if len(f) >= 8 and f[0].startswith(owner + ".") and f[3] == "TLSA":
                last = f[-1]
                f[-1] = ("0" if last[0] != "0" else "1") + last[1:]    # another first digit
                line = "\t".join(f) + "\n"
            out.append(line)
        return "".join(out)
    return fn


class Dane(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sinks = []
        cls.env = None
        try:
            cls._setup()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _setup(cls):
        base = random.randrange(2, 250)            # loopback addresses of our own
        ip = {k: "127.%d.%d.%d" % (base, 25, i + 1)
              for i, k in enumerate(("good", "bad", "notls", "bogus", "ta", "plain", "pkix"))}
        d = os.path.join(WORK, "dane-pki-%d" % os.getpid())   # keys and certificates
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        good = make_cert(d, "good", "unrelated.example")   # DANE-EE checks no name
        other = make_cert(d, "other", "mx-bad." + ZONE)
        ca = make_cert(d, "ca", "Test CA")
        leaf = make_cert(d, "leaf", "mx-ta." + ZONE, ca=ca)
        chain = os.path.join(d, "leaf-chain.pem")
        with open(chain, "w") as f:
            f.write(open(leaf[0]).read() + open(ca[0]).read())
        good_tlsa = "3 1 1 " + spki_sha256(good[0])
        records = []
        for k in ("good", "bad", "notls", "bogus", "ta", "pkix"):
            records += ["%s MX 10 mx-%s.%s." % (k, k, ZONE), "mx-%s A %s" % (k, ip[k])]
        records += ["_25._tcp.mx-good TLSA " + good_tlsa,
                    "_25._tcp.mx-bad TLSA " + good_tlsa,       # the sink shows another key
                    "_25._tcp.mx-notls TLSA " + good_tlsa,
                    "_25._tcp.mx-bogus TLSA " + good_tlsa,     # broken after signing
                    "_25._tcp.mx-ta TLSA 2 1 1 " + spki_sha256(ca[0]),
                    "_25._tcp.mx-ta TLSA 0 1 1 " + "00" * 32,  # PKIX-TA: unusable, ignored
                    "_25._tcp.mx-pkix TLSA 1 1 1 " + spki_sha256(good[0])]   # only unusable
        plain = ["@ MX 10 mx.plain.example.", "mx A " + ip["plain"]]
        cls.sinks = {"good": TlsSink(ip["good"], good), "bad": TlsSink(ip["bad"], other),
                     "notls": TlsSink(ip["notls"]), "bogus": TlsSink(ip["bogus"], good),
                     "ta": TlsSink(ip["ta"], (chain, leaf[1])),
                     "plain": TlsSink(ip["plain"], other),
                     "pkix": TlsSink(ip["pkix"], other)}
        env = dns_env(cls, {ZONE: records, "plain.example": plain},
                      server_conf="queue_retry = 1h\n",
                      sections="[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n",
                      nsd_args={"signed": (ZONE,),
                                "tamper": {ZONE: break_tlsa("_25._tcp.mx-bogus." + ZONE)}})
        env.start("smtpd")
        s = env.smtp("smtp")
        try:
            for k in ("good", "bad", "notls", "bogus", "ta", "pkix"):
                s.sendmail(SENDER, ["rcpt@%s.%s" % (k, ZONE)], BODY)
            s.sendmail(SENDER, ["rcpt@plain.example"], BODY)
        finally:
            s.quit()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.sinks.values() if isinstance(cls.sinks, dict) else cls.sinks):
            try:
                s.stop()
            except Exception:
                pass
        if cls.env is not None:
            cls.env.stop_all()          # the DNS server: dns_env's class cleanup

    def queue(self):
        r = self.env.smtpd_cmd("--queue", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def line_of(self, rcpt):
        """The queue listing's line of rcpt once it has an error, or None."""
        for ln in self.queue().splitlines():
            if rcpt in ln and "error=" in ln:
                return ln
        return None

    def delivered(self, k):
        sink = self.sinks[k]
        got = wait_for(lambda: sink.messages, 20)
        self.assertTrue(got, "nothing arrived at %s: %s" % (k, self.queue()))
        self.assertTrue(got[0][2].endswith(BODY))
        return sink.handler.tls[0]

    def test_dane_ee_match_delivered_verified(self):
        self.assertTrue(self.delivered("good"), "not over TLS")
        log = self.env.log("smtpd")
        self.assertRegex(log, r"tls policy: mx-good\.dane\.example: DANE-EE\(3\) 1 1 matched")
        self.assertRegex(log, r"relay=mx-good\.dane\.example\[[0-9.]+\]:25 tls=TLSv1\.[23] "
                              r"verified=dane status=sent")

    def test_dane_ta_match_delivered_verified(self):
        self.assertTrue(self.delivered("ta"), "not over TLS")
        log = self.env.log("smtpd")
        self.assertRegex(log, r"tls policy: mx-ta\.dane\.example: DANE-TA\(2\) 1 1 matched")
        self.assertRegex(log, r"relay=mx-ta\.dane\.example\[[0-9.]+\]:25 tls=\S+ "
                              r"verified=dane status=sent")

    def test_mismatch_deferred_never_in_clear(self):
        line = wait_for(lambda: self.line_of("rcpt@bad." + ZONE), 20)
        self.assertTrue(line, self.queue())
        self.assertIn("DANE", line)
        self.assertIn("does not match the TLSA records", line)
        self.assertEqual(self.sinks["bad"].messages, [])

    def test_no_starttls_deferred(self):
        line = wait_for(lambda: self.line_of("rcpt@notls." + ZONE), 20)
        self.assertTrue(line, self.queue())
        self.assertIn("DANE: no STARTTLS at mx-notls.dane.example", line)
        self.assertEqual(self.sinks["notls"].messages, [])

    def test_bogus_tlsa_deferred(self):
        line = wait_for(lambda: self.line_of("rcpt@bogus." + ZONE), 20)
        self.assertTrue(line, self.queue())
        self.assertIn("bogus", line)
        self.assertEqual(self.sinks["bogus"].messages, [])

    def test_only_unusable_tlsa_tls_unauthenticated(self):
        """PKIX-EE only (unusable for SMTP): TLS required but not authenticated."""
        self.assertTrue(self.delivered("pkix"), "not over TLS")
        log = self.env.log("smtpd")
        self.assertIn("mx-pkix.dane.example: TLSA records, none usable: TLS without "
                      "authentication", log)
        self.assertRegex(log, r"relay=mx-pkix\.dane\.example\[[0-9.]+\]:25 tls=TLSv1\.[23] "
                              r"verified=none status=sent")

    def test_unsigned_zone_opportunistic(self):
        self.assertTrue(self.delivered("plain"), "STARTTLS was offered")
        log = self.env.log("smtpd")
        self.assertNotRegex(log, r"mx\.plain\.example\S*: TLS .*verified=dane")
        self.assertIsNone(re.search(r"rcpt@plain\.example", self.queue()))

    def test_userdb_dns_prints_our_tlsa(self):
        """userdb dns: _25._tcp.HOSTNAME TLSA 3 1 1 of tls_cert's key (the harness's)."""
        out = self.env.userdb("dns").stdout
        lines = [ln for ln in out.splitlines() if "\tTLSA\t" in ln]
        self.assertEqual(len(lines), 1, out)
        f = lines[0].split("\t")
        self.assertEqual(f[0], "_25._tcp.mail.example.test.")
        self.assertEqual(f[4].lower(), "3 1 1 " + spki_sha256(test_cert()[0]))
        self.assertIn("\tTLSA\t", self.env.userdb("dns", "example.test").stdout)



if __name__ == "__main__":
    unittest.main()
