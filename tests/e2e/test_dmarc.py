"""DKIM verification and DMARC of received mail (SPEC "Anti-spam on an instance":
dkim_verify, dmarc = tag|enforce) against a real authoritative DNS server (NSD) serving
DKIM keys (_domainkey TXT), SPF and _dmarc records on loopback, looked up through our
resolver (dns_servers). Messages are signed by an independent signer, dkimpy
(python3-dkim; rsa-sha256 with a key made by openssl, ed25519-sha256 with python3-nacl)
and sent by a remote client: good signatures, a broken body, a broken header, a missing
key, an oversized key record; DMARC reject (550 5.7.1 after DATA), quarantine
(X-Spam-Flag: YES), none, relaxed alignment through the organizational domain, strict
alignment failing, SPF alignment without DKIM, pct=0, sp= for a subdomain, broken and
duplicate records; a LAN client is exempt. The remote client is this machine's own
non-loopback address, as in test_spf (libspf2 passes every loopback client)."""
import base64
import os
import re
import subprocess
import unittest

import dkim
import nacl.signing

from tests.e2e import harness
from tests.e2e.dnsserver import dns_env
from tests.e2e.harness import DOMAIN, LAN_IP
from tests.e2e.test_spf import local_ip

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"
CLIENT_IP = local_ip()
HOST = b"mail.example.test"


def rsa_key(workdir):
    """A 2048-bit RSA key made by openssl: (PEM private key, base64 public key)."""
    path = os.path.join(workdir, "rsa.pem")
    subprocess.run(["openssl", "genrsa", "-out", path, "2048"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    with open(path, "rb") as f:
        return f.read(), base64.b64encode(der).decode()


def txt(value):
    """A zone-file TXT rdata: VALUE split into character-strings of 250 octets."""
    return " ".join('"%s"' % value[i:i + 250] for i in range(0, len(value), 250))


def message(frm, subject="dmarc test", body="Hello Alice,\r\nall is well.\r\n"):
    return ("From: Bob <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <%s@client.test>\r\n\r\n%s"
            % (frm, ALICE, subject, re.sub(r"\W", "-", subject), body)).encode()


@unittest.skipIf(CLIENT_IP is None, "no non-loopback IPv4 address on this machine")
class Dmarc(unittest.TestCase):
    env = dns = None

    @classmethod
    def setUpClass(cls):
        work = os.path.join(harness.WORK, "dmarc-%d-dns" % os.getpid())
        os.makedirs(work, exist_ok=True)
        cls.rsa, rsa_pub = rsa_key(work)
        ed = nacl.signing.SigningKey.generate()
        cls.ed = base64.b64encode(bytes(ed))                    # dkimpy: the seed
        ed_pub = base64.b64encode(bytes(ed.verify_key)).decode()
        rsa_rec = txt("v=DKIM1; k=rsa; p=" + rsa_pub)
        spf = 'TXT "v=spf1 ip4:%s -all"' % CLIENT_IP
        zones = {
            # p=reject, relaxed; keys for rsa and ed25519; SPF passes our client
            "good.example": ["rsa._domainkey TXT " + rsa_rec,
                             'ed._domainkey TXT "v=DKIM1; k=ed25519; p=%s"' % ed_pub,
                             "huge._domainkey TXT " + txt("v=DKIM1; k=rsa; p=" + "A" * 5000),
                             '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@good.example"',
                             "@ " + spf],
            "quar.example": ['_dmarc TXT "v=DMARC1; p=quarantine"'],
            "none.example": ['_dmarc TXT "v=DMARC1; p=none"'],
            # strict alignment: a signature by a subdomain does not align
            "strict.example": ["rsa._domainkey.sign TXT " + rsa_rec,
                               '_dmarc TXT "v=DMARC1; p=reject; adkim=s; aspf=s"'],
            "pct.example": ['_dmarc TXT "v=DMARC1; p=reject; pct=0"'],
            "sp.example": ['_dmarc TXT "v=DMARC1; p=none; sp=reject"'],
            "broken.example": ['_dmarc TXT "v=DMARC1; p=bogus"',
                               '_dmarc.two TXT "v=DMARC1; p=reject"',
                               '_dmarc.two TXT "v=DMARC1; p=none"',
                               "_dmarc.big TXT " + txt("v=DMARC1; p=reject; rua=mailto:"
                                                       + "x" * 3000 + "@broken.example")],
            # the envelope domain of mail that must not pass by SPF: SPF fails
            "env.example": ['@ TXT "v=spf1 -all"'],
        }
        dns_env(cls, zones, timeout="2s",
                sections="[smtp enf]\nlisten = 127.0.0.1:{port:enf}\ndkim_verify = yes\n"
                         "dmarc = enforce\n\n"
                         "[smtp tag]\nlisten = 127.0.0.1:{port:tag}\ndmarc = tag\n\n"
                         "[smtp dk]\nlisten = 127.0.0.1:{port:dk}\ndkim_verify = yes\n")
        cls.env.add_user(ALICE, ALICE_PW)
        cls.env.start("smtpd", wait=["enf", "tag", "dk"])

    def sign(self, msg, domain, selector="rsa", alg=b"rsa-sha256"):
        key = self.ed if alg == b"ed25519-sha256" else self.rsa
        return dkim.sign(msg, selector.encode(), domain.encode(), key,
                         canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=alg,
                         include_headers=[b"from", b"to", b"subject", b"date"]) + msg

    def send(self, port, msg, sender="bounce@env.example", source=None):
        """Send MSG; (code, text) of the end of data, and the delivered message or None."""
        before = len(self.env.messages(ALICE))
        s = self.env.smtp(port, source or CLIENT_IP)
        try:
            self.assertEqual(s.mail(sender)[0], 250)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            code, text = s.data(msg)
        finally:
            s.close()
        got = self.env.messages(ALICE)
        return code, text, (got[-1] if len(got) > before else None)

    def authres(self, m):
        """Our Authentication-Results: field of delivered message M (text)."""
        head = m.split(b"\n\n", 1)[0]
        found = [f for f in re.split(rb"\n(?![ \t])", head)
                 if f.lower().startswith(b"authentication-results: " + HOST)]
        self.assertEqual(len(found), 1, head)
        return found[0].decode()

    # ---- DKIM --------------------------------------------------------------
    def test_dkim_good_rsa_and_ed25519(self):
        for sel, alg in (("rsa", b"rsa-sha256"), ("ed", b"ed25519-sha256")):
            msg = self.sign(message("bob@good.example", "good " + sel), "good.example", sel, alg)
            code, _, m = self.send("dk", msg)
            self.assertEqual(code, 250)
            ar = self.authres(m)
            self.assertRegex(ar, r"; dkim=pass header\.d=good\.example header\.s=%s "
                                 r"header\.b=[A-Za-z0-9+/]{8}$" % sel)
            self.assertNotIn("dmarc=", ar)          # dmarc is off on this instance
            self.assertNotIn("spf=", ar)            # and so is spf

    def test_dkim_two_signatures(self):
        msg = self.sign(self.sign(message("bob@good.example", "two"), "good.example", "ed",
                                  b"ed25519-sha256"), "good.example")
        _, _, m = self.send("dk", msg)
        ar = self.authres(m)
        self.assertEqual(ar.count("dkim=pass"), 2, ar)

    def test_dkim_broken_body(self):
        msg = self.sign(message("bob@good.example", "body"), "good.example")
        msg = msg.replace(b"all is well", b"all is WELL")
        _, _, m = self.send("dk", msg)
        self.assertIn("; dkim=fail (body hash mismatch) header.d=good.example header.s=rsa",
                      self.authres(m))

    def test_dkim_broken_header(self):
        msg = self.sign(message("bob@good.example", "header"), "good.example", "ed",
                        b"ed25519-sha256")
        msg = msg.replace(b"Subject: header", b"Subject: altered")
        _, _, m = self.send("dk", msg)
        self.assertIn("; dkim=fail (signature mismatch) header.d=good.example header.s=ed",
                      self.authres(m))

    def test_dkim_missing_key(self):
        msg = self.sign(message("bob@good.example", "nokey"), "good.example", "nokey")
        _, _, m = self.send("dk", msg)
        self.assertRegex(self.authres(m), r"; dkim=permerror \([^)]*\) header\.d=good\.example "
                                          r"header\.s=nokey")

    def test_dkim_huge_key_record_and_broken_signature(self):
        msg = self.sign(message("bob@good.example", "huge"), "good.example", "huge")
        code, _, m = self.send("dk", msg)
        self.assertEqual(code, 250)
        self.assertRegex(self.authres(m), r"; dkim=(permerror|temperror) .*header\.s=huge")
        # a DKIM-Signature with no b= and a bad version: reported, not a crash
        msg = (b"DKIM-Signature: v=9; a=rsa-sha256; d=good.example; s=rsa; h=from; bh=x;\r\n"
               + message("bob@good.example", "garbage"))
        code, _, m = self.send("dk", msg)
        self.assertEqual(code, 250)
        self.assertRegex(self.authres(m), r"; dkim=(neutral|permerror)")

    def test_unsigned_is_none(self):
        _, _, m = self.send("dk", message("bob@good.example", "unsigned"))
        self.assertTrue(self.authres(m).endswith("; dkim=none"), self.authres(m))

    # ---- DMARC -------------------------------------------------------------
    def test_dmarc_pass_by_dkim(self):
        msg = self.sign(message("bob@good.example", "pass"), "good.example")
        code, _, m = self.send("enf", msg)
        self.assertEqual(code, 250)
        ar = self.authres(m)
        self.assertIn("; spf=fail smtp.mailfrom=env.example", ar)
        self.assertIn("; dkim=pass header.d=good.example", ar)
        self.assertTrue(ar.endswith("; dmarc=pass (p=reject) header.from=good.example"), ar)
        self.assertNotIn(b"X-Spam-Flag", m)

    def test_dmarc_reject(self):
        msg = self.sign(message("bob@good.example", "rejected"), "good.example")
        msg = msg.replace(b"all is well", b"all is lost")
        code, text, m = self.send("enf", msg)
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1 "), text)
        self.assertIn(b"DMARC", text)
        self.assertIsNone(m)
        self.assertIn("result=fail p=reject action=reject", self.env.log("smtpd"))
        # the same message on the tag instance is delivered and reported
        code, _, m = self.send("tag", msg)
        self.assertEqual(code, 250)
        ar = self.authres(m)
        self.assertIn("; dmarc=fail (p=reject) header.from=good.example", ar)
        self.assertIn("dkim=fail", ar)      # DKIM verified for DMARC (dkim_verify = no)
        self.assertNotIn(b"X-Spam-Flag", m)

    def test_dmarc_quarantine(self):
        code, _, m = self.send("enf", message("bob@quar.example", "quarantined"))
        self.assertEqual(code, 250)
        self.assertIn(b"\nX-Spam-Flag: YES\n", m.split(b"\n\n", 1)[0] + b"\n")
        self.assertIn("; dmarc=fail (p=quarantine) header.from=quar.example", self.authres(m))
        _, _, m = self.send("tag", message("bob@quar.example", "tagged only"))
        self.assertNotIn(b"X-Spam-Flag", m)

    def test_dmarc_none_policy(self):
        code, _, m = self.send("enf", message("bob@none.example", "monitor"))
        self.assertEqual(code, 250)
        self.assertIn("; dmarc=fail (p=none) header.from=none.example", self.authres(m))
        self.assertNotIn(b"X-Spam-Flag", m)
        # no record at all: dmarc=none
        _, _, m = self.send("enf", message("bob@env.example", "no record"))
        self.assertTrue(self.authres(m).endswith("; dmarc=none header.from=env.example"))

    def test_dmarc_relaxed_alignment_through_organizational_domain(self):
        # From: a subdomain without a record of its own; signed by the parent domain
        msg = self.sign(message("bob@news.good.example", "relaxed"), "good.example")
        code, _, m = self.send("enf", msg)
        self.assertEqual(code, 250)
        self.assertIn("; dmarc=pass (p=reject) header.from=news.good.example", self.authres(m))

    def test_dmarc_strict_alignment_fails(self):
        msg = self.sign(message("bob@strict.example", "strict"), "sign.strict.example")
        code, _, m = self.send("enf", msg)
        self.assertEqual(code, 550)
        self.assertIsNone(m)
        _, _, m = self.send("tag", msg)
        ar = self.authres(m)
        self.assertIn("; dkim=pass header.d=sign.strict.example", ar)
        self.assertIn("; dmarc=fail (p=reject) header.from=strict.example", ar)

    def test_dmarc_spf_aligned_without_dkim(self):
        code, _, m = self.send("enf", message("bob@good.example", "spf aligned"),
                               sender="bounce@good.example")
        self.assertEqual(code, 250)
        ar = self.authres(m)
        self.assertIn("; spf=pass smtp.mailfrom=good.example; dkim=none;", ar)
        self.assertIn("; dmarc=pass", ar)
        self.assertNotIn(b"Received-SPF:", m)   # spf = off: evaluated for DMARC only

    def test_dmarc_pct_zero(self):
        # never sampled: the next milder policy (RFC 7489 6.6.4), quarantine
        code, _, m = self.send("enf", message("bob@pct.example", "pct"))
        self.assertEqual(code, 250)
        self.assertIn(b"\nX-Spam-Flag: YES\n", m)
        self.assertIn("; dmarc=fail (p=reject) header.from=pct.example", self.authres(m))

    def test_dmarc_subdomain_policy(self):
        code, _, m = self.send("enf", message("bob@lists.sp.example", "sp"))
        self.assertEqual(code, 550)
        self.assertIsNone(m)
        code, _, m = self.send("enf", message("bob@sp.example", "p"))   # p=none for itself
        self.assertEqual(code, 250)
        self.assertIn("; dmarc=fail (p=none)", self.authres(m))

    def test_dmarc_broken_duplicate_and_huge_records(self):
        _, _, m = self.send("enf", message("bob@broken.example", "bad record"))
        self.assertTrue(self.authres(m).endswith("; dmarc=permerror header.from=broken.example"))
        _, _, m = self.send("enf", message("bob@two.broken.example", "two records"))
        self.assertIn("; dmarc=none", self.authres(m))      # RFC 7489 6.6.3: no policy
        code, _, m = self.send("enf", message("bob@big.broken.example", "huge record"))
        self.assertEqual(code, 250)
        self.assertIn("; dmarc=permerror", self.authres(m))

    def test_check_config_shows_checks(self):
        r = self.env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        inst = {l.split(":")[0]: l for l in r.stdout.splitlines() if l.startswith("smtp ")}
        self.assertTrue(inst["smtp enf"].endswith(" checks=dkim,dmarc(enforce)"), inst)
        self.assertTrue(inst["smtp tag"].endswith(" checks=dmarc(tag)"), inst)
        self.assertTrue(inst["smtp dk"].endswith(" checks=dkim"), inst)

    def test_lan_client_exempt(self):
        msg = self.sign(message("bob@good.example", "lan"), "good.example")
        code, _, m = self.send("enf", msg.replace(b"all is well", b"changed"), source=LAN_IP)
        self.assertEqual(code, 250)
        self.assertNotIn(b"Authentication-Results:", m)


@unittest.skipIf(CLIENT_IP is None, "no non-loopback IPv4 address on this machine")
class DmarcDeadDns(harness.EnvTestCase):
    """A DNS server that never answers: the key and record lookups give up after
    dns_timeout on the worker; the message is delivered with dkim=temperror and
    dmarc=temperror, nothing is refused."""

    def setUp(self):
        dns_env(self, timeout="1s",
                sections="[smtp enf]\nlisten = 127.0.0.1:{port:enf}\ndkim_verify = yes\n"
                         "dmarc = enforce\n")
        self.env.add_user(ALICE, ALICE_PW)
        self.env.start("smtpd", wait=["enf"])

    def test_dead_server_is_temperror(self):
        msg = (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=good.example; s=rsa;"
               b" h=from; bh=47DEQpj8HBSdTWL6Z2BldxDE8K3ZGM6uQxx43iUtI1U=; b=AAAA\r\n"
               + message("bob@good.example", "dead dns"))
        s = self.env.smtp("enf", CLIENT_IP)
        try:
            s.mail("bounce@env.example")
            s.rcpt(ALICE)
            code, text = s.data(msg)
        finally:
            s.close()
        self.assertEqual(code, 250, text)
        m = self.env.messages(ALICE)[-1]
        self.assertIn(b"; dkim=temperror (key lookup failed) header.d=good.example", m)
        self.assertIn(b"; dmarc=temperror header.from=good.example", m)
        self.assertNotIn(b"X-Spam-Flag", m)


if __name__ == "__main__":
    unittest.main()
