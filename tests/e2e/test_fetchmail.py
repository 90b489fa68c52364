"""End-to-end: a real collector, fetchmail, takes mail that smtpd delivered, over POP3
with STLS (issue 4: "a newcomer can collect mail with curl pop3://... and with fetchmail")."""
import os
import subprocess
import sys
import unittest

from tests.e2e import harness
from tests.e2e.harness import DOMAIN, EnvTestCase

USER = "alice@" + DOMAIN
PASSWORD = "Fetch-Me-If-You-Can"

MDA = """import os, sys, uuid
data = sys.stdin.buffer.read()
with open(os.path.join(sys.argv[1], uuid.uuid4().hex), "wb") as f:
    f.write(data)
"""


class FetchmailTest(EnvTestCase):
    def setUp(self):
        sections = ("[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n"
                    "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\ntls = stls\n")
        self.env = harness.Env("fetchmail", sections=sections)
        self.env.add_user(USER, PASSWORD)
        self.env.start("smtpd", wait=["smtp"])
        self.env.start("pop3d", wait=["pop"])
        self.home = os.path.join(self.env.dir, "home")
        self.out = os.path.join(self.env.dir, "fetched")
        os.makedirs(self.home)
        os.makedirs(self.out)
        mda = os.path.join(self.env.dir, "mda.py")
        with open(mda, "w") as f:
            f.write(MDA)
        self.rc = os.path.join(self.home, ".fetchmailrc")
        with open(self.rc, "w") as f:
            f.write('set no syslog\n'
                    'poll 127.0.0.1 with service %d protocol POP3 uidl\n'
                    '  user "%s" there with password "%s" is "root" here\n'
                    '  sslproto "TLS1.2+" no sslcertck\n'
                    '  mda "%s %s %s"\n'
                    % (self.env.ports["pop"], USER, PASSWORD, sys.executable, mda, self.out))
        os.chmod(self.rc, 0o600)

    def fetch(self):
        env = dict(os.environ, HOME=self.home)
        return subprocess.run(["fetchmail", "-f", self.rc, "--nodetach", "-v"],
                              capture_output=True, text=True, timeout=60, env=env)

    def send(self, subject):
        s = self.env.smtp("smtp")
        s.sendmail("bob@" + DOMAIN, [USER], "Subject: %s\n\nbody of %s\n" % (subject, subject))
        s.quit()

    def test_fetchmail_collects_over_stls_and_deletes(self):
        self.send("one")
        self.send("two")
        r = self.fetch()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("STLS", r.stdout + r.stderr)
        got = []
        for name in os.listdir(self.out):
            with open(os.path.join(self.out, name), "rb") as f:
                got.append(f.read())
        self.assertEqual(len(got), 2)
        subjects = sorted(b"Subject: one" in m and "one" or "two" for m in got)
        self.assertEqual(subjects, ["one", "two"])
        for m in got:
            self.assertIn(b"Received: from client.test", m.replace(b"\r\n", b"\n"))
        # fetchmail deleted what it fetched (DELE + QUIT): the Maildir is empty now
        self.assertEqual(self.env.messages(USER), [])
        r2 = self.fetch()
        self.assertEqual(r2.returncode, 1, r2.stdout + r2.stderr)   # 1 = no mail

    def test_fetchmail_wrong_password_fails(self):
        with open(self.rc) as f:
            text = f.read()
        with open(self.rc, "w") as f:
            f.write(text.replace(PASSWORD, "not-the-password"))
        self.send("kept")
        r = self.fetch()
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)      # 3 = authentication failed
        self.assertEqual(len(self.env.messages(USER)), 1)


if __name__ == "__main__":
    unittest.main()
