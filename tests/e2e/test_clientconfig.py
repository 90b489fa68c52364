"""userdb clientconfig thunderbird|outlook|srv: the files mail clients find the server
with. Every server the Thunderbird file describes is used the way a client would (its
port, its socketType, %EMAILADDRESS% as the user name) and must log in; the Outlook
file and the SRV records name the same endpoints, implicit TLS first."""
import re
import smtplib
import poplib
import ssl
import xml.etree.ElementTree as ET

from tests.e2e.harness import DOMAIN, Env, EnvTestCase

SECTIONS = ("[smtp lan]\nlisten = 127.0.0.1:{port:lan}\n"
            "[smtp sub]\nlisten = 127.0.0.1:{port:sub}\ntls = starttls\nrequire_auth = yes\n"
            "[smtp smtps]\nlisten = 127.0.0.1:{port:smtps}\ntls = implicit\nrequire_auth = yes\n"
            "[pop3 main]\nlisten = 127.0.0.1:{port:pop3}\ntls = stls\n"
            "[pop3 pop3s]\nlisten = 127.0.0.1:{port:pop3s}\ntls = implicit\n")
PW = "Client-config-pw-1"
OL = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


def tls_ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class ClientConfigTest(EnvTestCase):
    def setUp(self):
        self.env = Env("clientcfg", server_conf="domain_aliases = example.org, [192.0.2.1]\n",
                       sections=SECTIONS)
        self.env.add_user("alice", PW)

    def out(self, what):
        return self.env.userdb("clientconfig", what).stdout

    def test_thunderbird_servers_work(self):
        env = self.env
        root = ET.fromstring(self.out("thunderbird"))
        prov = root.find("emailProvider")
        self.assertEqual([d.text for d in prov.findall("domain")], [DOMAIN, "example.org"])
        incoming = [(int(s.findtext("port")), s.findtext("socketType"))
                    for s in prov.findall("incomingServer")]
        outgoing = [(int(s.findtext("port")), s.findtext("socketType"))
                    for s in prov.findall("outgoingServer")]
        p = env.ports
        self.assertEqual(incoming, [(p["pop3s"], "SSL"), (p["pop3"], "STARTTLS")])
        self.assertEqual(outgoing, [(p["smtps"], "SSL"), (p["sub"], "STARTTLS")])
        for s in prov.findall("incomingServer") + prov.findall("outgoingServer"):
            self.assertEqual(s.findtext("hostname"), "mail.example.test")
            self.assertEqual(s.findtext("username"), "%EMAILADDRESS%")
            self.assertEqual(s.findtext("authentication"), "password-cleartext")
        user = "alice@" + DOMAIN
        env.start("smtpd", wait=["lan", "sub", "smtps"])
        env.start("pop3d", wait=["pop3", "pop3s"])
        for port, sock in incoming:
            if sock == "SSL":
                c = poplib.POP3_SSL("127.0.0.1", port, context=tls_ctx(), timeout=15)
            else:
                c = poplib.POP3("127.0.0.1", port, timeout=15)
                c.stls(context=tls_ctx())
            c.user(user)
            self.assertTrue(c.pass_(PW).startswith(b"+OK"))
            c.quit()
        for port, sock in outgoing:
            if sock == "SSL":
                c = smtplib.SMTP_SSL("127.0.0.1", port, context=tls_ctx(), timeout=15)
            else:
                c = smtplib.SMTP("127.0.0.1", port, timeout=15)
                c.starttls(context=tls_ctx())
            c.ehlo("client.test")
            self.assertEqual(c.login(user, PW)[0], 235)
            c.sendmail(user, [user], "Subject: x\r\n\r\nsent\r\n")
            c.quit()

    def test_outlook_and_srv(self):
        p = self.env.ports
        root = ET.fromstring(self.out("outlook"))
        protos = {x.findtext(OL + "Type"): x for x in root.iter(OL + "Protocol")}
        self.assertEqual(sorted(protos), ["POP3", "SMTP"])
        self.assertEqual(protos["POP3"].findtext(OL + "Port"), str(p["pop3s"]))
        self.assertEqual(protos["SMTP"].findtext(OL + "Port"), str(p["smtps"]))
        for x in protos.values():
            self.assertEqual(x.findtext(OL + "Server"), "mail.example.test")
            self.assertEqual(x.findtext(OL + "Encryption"), "SSL")
        lines = [l for l in self.out("srv").splitlines() if not l.startswith(";")]
        recs = {}
        for l in lines:
            m = re.match(r"^_([a-z0-9]+)\._tcp\.([a-z.]+)\.\t3600\tIN\tSRV\t0 ([01]) (\d+) (\S+)$", l)
            self.assertIsNotNone(m, l)
            recs[(m.group(1), m.group(2))] = (int(m.group(4)), m.group(5))
        for dom in (DOMAIN, "example.org"):
            self.assertEqual(recs[("submissions", dom)], (p["smtps"], "mail.example.test."))
            self.assertEqual(recs[("submission", dom)], (p["sub"], "mail.example.test."))
            self.assertEqual(recs[("pop3s", dom)], (p["pop3s"], "mail.example.test."))
            self.assertEqual(recs[("pop3", dom)], (p["pop3"], "mail.example.test."))
            self.assertEqual(recs[("imap", dom)], (0, "."))   # RFC 6186: not offered
        self.assertEqual(len(recs), 12)                        # no record for the literal

    def test_plain_only_when_nothing_else(self):
        env = Env("clientcfg-plain", sections=(
            "[smtp lan]\nlisten = 127.0.0.1:{port:lan}\n"
            "[pop3 main]\nlisten = 127.0.0.1:{port:pop3}\n"))
        prov = ET.fromstring(env.userdb("clientconfig", "thunderbird").stdout).find("emailProvider")
        self.assertEqual([(int(s.findtext("port")), s.findtext("socketType"))
                          for s in prov.findall("incomingServer") + prov.findall("outgoingServer")],
                         [(env.ports["pop3"], "plain"), (env.ports["lan"], "plain")])
        srv = env.userdb("clientconfig", "srv").stdout
        self.assertIn("_submissions._tcp.%s.\t3600\tIN\tSRV\t0 0 0 .\n" % DOMAIN, srv)
        r = env.userdb("clientconfig", "imap", check=False)
        self.assertEqual(r.returncode, 2)
