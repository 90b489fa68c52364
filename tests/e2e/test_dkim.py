"""DKIM signing and `userdb dns` end to end (SPEC "Signing and publishing (outbound)").
Keys made by the real userdb; mail sent through the real smtpd from the LAN, from an
authenticated session and from a POP-before-SMTP client is signed (rsa-sha256 and
ed25519-sha256, c=relaxed/relaxed, From oversigned); a remote unauthenticated client's
mail is not; our DSN is signed for the primary domain. Every signature is checked by an
independent verifier, dkimpy (python3-dkim, ed25519 through python3-nacl), over the
delivered Maildir file and the copy a loopback SMTP sink received; its DNS answers are
the TXT records `userdb dns` prints for the admin to publish. A message altered after
signing fails."""
import re
import unittest

import dkim

from tests.e2e.harness import Env, DOMAIN, LAN_IP, REMOTE_IP, free_port
from tests.e2e.test_outbound import Sink, wait_for

ALICE, ALICE_PW = "alice@" + DOMAIN, "Alice-Secret-42"
BOB = "bob@" + DOMAIN

SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
relay_pop_before_smtp = yes
[smtp sub]
listen = 127.0.0.1:{port:sub}
require_auth = yes
plaintext_auth = always
[pop3 p]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
"""


def msg(frm=ALICE, to=BOB, subject="signed test"):
    return ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <dkim-%s@client.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            "Hello Bob,\r\n.a dotted line\r\ntrailing   \r\n\r\n\r\n" % (frm, to, subject, subject.replace(" ", "-"))).encode()


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signatures(m):
    """The DKIM-Signature fields of message m (unfolded, bytes)."""
    head = crlf(m).split(b"\r\n\r\n", 1)[0]
    fields = re.split(rb"\r\n(?![ \t])", head)
    return [re.sub(rb"\r\n[ \t]", b" ", f) for f in fields if f.lower().startswith(b"dkim-signature:")]


def tag(sig, name):
    m = re.search(rb"[;:]\s*" + name + rb"=([^;]*)", sig)
    return re.sub(rb"\s+", b"", m.group(1)) if m else None


class DkimCase(unittest.TestCase):
    env = None
    sinks = ()

    def tearDown(self):
        for s in self.sinks:
            s.stop()
        if self.env is not None:
            self.env.stop_all()

    def setup_env(self, name, routes=""):
        self.env = Env(name, sections=SECTIONS, routes=routes)
        self.env.add_user(ALICE, ALICE_PW, relay=True)
        self.env.add_user(BOB, "Bob-Secret-42")
        r = self.env.userdb("dkim", "add", DOMAIN, "--selector", "r1")
        self.assertIn("r1._domainkey.%s.\tIN\tTXT\t" % DOMAIN, r.stdout)
        self.env.userdb("dkim", "add", DOMAIN, "--selector", "e1", "--algorithm", "ed25519")

    def zone(self):
        """The TXT records of `userdb dns`: name -> value (the quoted strings joined)."""
        out = self.env.userdb("dns", DOMAIN).stdout
        txt = {}
        for line in out.splitlines():
            f = line.split("\t")
            if len(f) >= 4 and "TXT" in f:
                txt[f[0].lower()] = "".join(re.findall(r'"([^"]*)"', line)).encode()
        return out, txt

    def verify(self, m, nsig=2):
        """Verify every signature of m with dkimpy against the published records."""
        _, txt = self.zone()
        data = crlf(m)
        sigs = signatures(m)
        self.assertEqual(len(sigs), nsig, m[:1500])
        d = dkim.DKIM(data)
        for i in range(nsig):
            ok = d.verify(idx=i, dnsfunc=lambda name, timeout=5: txt.get(name.decode().lower(), b""))
            self.assertTrue(ok, "signature %d does not verify: %s" % (i, sigs[i]))
        algs = sorted(tag(s, b"a") for s in sigs)
        self.assertEqual(algs, [b"ed25519-sha256", b"rsa-sha256"][:nsig] if nsig == 2 else algs)
        for s in sigs:
            self.assertEqual(tag(s, b"c"), b"relaxed/relaxed")
            self.assertEqual(tag(s, b"d"), DOMAIN.encode())
            h = tag(s, b"h").lower().split(b":")
            self.assertEqual(h.count(b"from"), 2, s)          # From oversigned
            for name in (b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"):
                self.assertIn(name, h)
        return sigs

    def test_lan_and_auth_signed_and_tamper_fails(self):
        self.setup_env("dkim-sign")
        self.env.start("smtpd", wait=["mx", "sub"])
        s = self.env.smtp("mx", source=LAN_IP)              # a LAN client
        s.sendmail(ALICE, [BOB], msg(subject="from lan"))
        s.quit()
        s = self.env.smtp("sub", source=REMOTE_IP)          # authenticated, from outside
        s.login(ALICE, ALICE_PW)
        s.sendmail(ALICE, [BOB], msg(subject="from auth"))
        s.quit()
        got = self.env.messages(BOB)
        self.assertEqual(len(got), 2)
        for m in got:
            self.assertTrue(m.startswith(b"Return-Path: <%s>\nDKIM-Signature: " % ALICE.encode()), m[:200])
            self.verify(m)
        # a message altered in transit fails, as does a From: added above the signed one
        _, txt = self.zone()
        hdr, body = crlf(got[0]).split(b"\r\n\r\n", 1)
        for bad in (hdr + b"\r\n\r\n" + body.replace(b"Hello Bob", b"Hello Eve"),
                    hdr + b"\r\nFrom: mallory@evil.test\r\n\r\n" + body,
                    hdr.replace(b"Subject: from lan", b"Subject: from LAN!") + b"\r\n\r\n" + body):
            for i in range(2):
                self.assertFalse(self.verifies(bad, i, txt), (i, bad[:300]))

    @staticmethod
    def verifies(data, idx, txt):
        try:
            return dkim.DKIM(data).verify(
                idx=idx, dnsfunc=lambda n, timeout=5: txt.get(n.decode().lower(), b""))
        except dkim.DKIMException:
            return False

    def test_remote_unauthenticated_not_signed(self):
        self.setup_env("dkim-remote")
        self.env.start("smtpd", wait=["mx", "sub"])
        s = self.env.smtp("mx", source=REMOTE_IP)
        s.sendmail("someone@example.net", [BOB], msg(frm=ALICE, subject="forged"))
        s.quit()
        got = self.env.messages(BOB)
        self.assertEqual(len(got), 1)
        self.assertEqual(signatures(got[0]), [])

    def test_pop_before_smtp_signed(self):
        self.setup_env("dkim-pop")
        self.env.start("smtpd", wait=["mx", "sub"])
        self.env.start("pop3d", wait=["pop3"])
        p = self.env.pop3("pop3", source=REMOTE_IP)
        p.user(ALICE)
        p.pass_(ALICE_PW)
        p.quit()
        s = self.env.smtp("mx", source=REMOTE_IP)
        s.sendmail(ALICE, [BOB], msg(subject="after pop"))
        s.quit()
        got = self.env.messages(BOB)
        self.assertEqual(len(got), 1)
        self.verify(got[0])
        # the signed message's POP3 size is what RETR gives (the store's sizes grew too)
        p = self.env.pop3("pop3", source=LAN_IP)
        p.user(BOB)
        p.pass_("Bob-Secret-42")
        size = int(p.list(1).split()[2])
        _, lines, octets = p.retr(1)
        p.quit()
        self.assertEqual(size, sum(len(x) + 2 for x in lines))
        self.assertTrue(lines[0].startswith(b"Return-Path:") and lines[1].startswith(b"DKIM-Signature:"))
        self.verify(b"\r\n".join(lines) + b"\r\n")

    def test_relayed_copy_and_dsn_signed(self):
        ok_port, bad_port = free_port(), free_port()
        ok, bad = Sink(ok_port), Sink(bad_port, mode="perm")
        self.sinks = [ok, bad]
        self.setup_env("dkim-relay", routes="example.net = 127.0.0.1:%d\nexample.org = 127.0.0.1:%d"
                       % (ok_port, bad_port))
        self.env.userdb("dkim", "del", DOMAIN, "e1")        # rsa only from now on
        self.env.start("smtpd", wait=["mx", "sub"])
        s = self.env.smtp("sub", source=REMOTE_IP)
        s.login(ALICE, ALICE_PW)
        s.sendmail(ALICE, ["carol@example.net"], msg(to="carol@example.net", subject="relayed"))
        s.sendmail(ALICE, ["nobody@example.org"], msg(to="nobody@example.org", subject="bounced"))
        s.quit()
        self.assertTrue(wait_for(lambda: ok.messages, 20), "nothing reached the sink")
        sigs = self.verify(ok.messages[0][2], nsig=1)
        self.assertEqual(tag(sigs[0], b"a"), b"rsa-sha256")
        dsn = wait_for(lambda: self.env.messages(ALICE), 20)
        self.assertTrue(dsn, "no DSN in the sender's Maildir")
        self.assertIn(b"MAILER-DAEMON@mail.example.test", dsn[0])
        self.verify(dsn[0], nsig=1)

    def test_userdb_dkim_and_dns(self):
        self.env = Env("dkim-userdb", sections=SECTIONS,
                       server_conf="relayhost = [192.0.2.25]\ndomain_aliases = example.org")
        self.env.userdb("dkim", "add", DOMAIN)                 # rsa, default selector
        self.env.userdb("dkim", "add", "EXAMPLE.ORG", "--algorithm", "ed25519", "--selector", "e1")
        r = self.env.userdb("dkim", "add", DOMAIN, "--selector", "e1", "--algorithm", "ed25519")
        r = self.env.userdb("dkim", "add", DOMAIN, "--selector", "e1", check=False)
        self.assertNotEqual(r.returncode, 0)                   # one key per selector
        self.assertNotEqual(self.env.userdb("dkim", "add", "example.net", check=False).returncode, 0)
        self.assertNotEqual(self.env.userdb("dkim", "add", DOMAIN, "--selector", "../x",
                                            check=False).returncode, 0)
        lines = self.env.userdb("dkim", "list").stdout.splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertRegex(lines[0], r"^example\.org\te1\ted25519\tv=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$")
        self.assertRegex(lines[1], r"^example\.test\te1\ted25519\t")
        self.assertRegex(lines[2], r"^example\.test\trsa-\d{6}\trsa\tv=DKIM1; k=rsa; p=MIIBIjAN")
        import os
        import stat
        keydir = os.path.join(self.env.data, "dkim", DOMAIN)
        for n in os.listdir(keydir):
            st = os.stat(os.path.join(keydir, n))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, n)
        out, txt = self.zone()
        self.assertIn("example.test.\t3600\tIN\tMX\t10 mail.example.test.\n", out)
        self.assertIn('example.test.\t3600\tIN\tTXT\t"v=spf1 mx ip4:192.0.2.25 -all"\n', out)
        self.assertIn('_dmarc.example.test.\t3600\tIN\tTXT\t"v=DMARC1; p=quarantine; '
                      'rua=mailto:postmaster@example.test"\n', out)
        self.assertIn("_submissions._tcp.example.test.", out)
        self.assertIn("_pop3._tcp.example.test.", out)
        self.assertNotIn("example.org", out)
        self.assertEqual(txt[b"e1._domainkey.example.test.".decode()], lines[1].split("\t")[3].encode())
        rsa = [k for k in txt if k.startswith("rsa-")][0]
        self.assertEqual(txt[rsa], lines[2].split("\t")[3].encode())
        both = self.env.userdb("dns").stdout
        self.assertIn("e1._domainkey.example.org.", both)
        self.env.userdb("dkim", "del", DOMAIN, "e1")
        self.assertEqual(len(self.env.userdb("dkim", "list").stdout.splitlines()), 2)
        self.assertNotEqual(self.env.userdb("dkim", "del", DOMAIN, "e1", check=False).returncode, 0)


if __name__ == "__main__":
    unittest.main()
