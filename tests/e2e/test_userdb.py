"""userdb end to end: every command and error path, exit codes, weak passwords,
the postmaster alias, list/show formats, no plaintext on disk, file modes and owner."""
import os
import pwd
import subprocess
import unittest

from tests.e2e.harness import BIN, DOMAIN, Env

GOOD = "Tr0ub4dor-horse-staple"


class UserdbTest(unittest.TestCase):
    def setUp(self):
        self.env = Env("userdb", server_conf="domain_aliases = example.org\n")

    def u(self, *args, password=None):
        return self.env.userdb(*args, password=password, check=False)

    def assertFails(self, r, code, text):
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertIn(text, r.stderr)
        self.assertTrue(r.stderr.startswith("userdb: "), r.stderr)

    def test_add_list_show(self):
        r = self.env.add_user("alice", GOOD, relay=True)
        self.assertIn("postmaster@%s is now an alias of alice@%s" % (DOMAIN, DOMAIN), r.stdout)
        self.env.add_user("bob@" + DOMAIN, GOOD)
        r = self.u("list")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.splitlines(), [
            "alice@%s relay=yes enabled=yes" % DOMAIN,
            "bob@%s relay=no enabled=yes" % DOMAIN])
        r = self.u("show", "alice")
        lines = dict(l.split(": ", 1) for l in r.stdout.splitlines())
        self.assertEqual(lines["address"], "alice@" + DOMAIN)
        self.assertEqual(lines["relay"], "yes")
        self.assertEqual(lines["enabled"], "yes")
        self.assertRegex(lines["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(lines["mechanisms"].split(),
                         ["PLAIN", "LOGIN", "USER", "CRAM-MD5", "SCRAM-SHA-256"])
        self.assertEqual(lines["aliases"], "postmaster@" + DOMAIN)
        self.assertNotIn(GOOD, r.stdout)
        self.assertNotIn("$y$", r.stdout)
        # the second user does not get postmaster
        self.assertIn("aliases: none", self.u("show", "bob").stdout)

    def test_no_cram_secret_unless_offered(self):
        """The CRAM-MD5 secret is password-equivalent: userdb stores it only when
        some instance offers CRAM-MD5 (README, Security)."""
        env = Env("userdb-nocram", sections=(
            "[smtp mx]\nlisten = 127.0.0.1:{port:mx}\nauth_mechanisms = SCRAM-SHA-256 PLAIN\n"
            "[pop3 p]\nlisten = 127.0.0.1:{port:pop3}\nauth_mechanisms = PLAIN\n"))
        env.add_user("alice", GOOD)
        r = env.userdb("show", "alice")
        lines = dict(l.split(": ", 1) for l in r.stdout.splitlines())
        self.assertEqual(lines["mechanisms"].split(), ["PLAIN", "LOGIN", "USER", "SCRAM-SHA-256"])
        # the default configuration offers CRAM-MD5: there the secret is stored
        self.assertEqual(self.u("add", "bob", password=GOOD).returncode, 0)
        self.assertIn("CRAM-MD5", self.u("show", "bob").stdout)

    def test_postmaster_kept_when_set(self):
        self.env.add_user("alice", GOOD)
        self.u("alias", "del", "postmaster")
        self.u("del", "alice")
        self.env.add_user("carol", GOOD)           # first user again: gets postmaster
        self.assertIn("postmaster@%s carol@%s" % (DOMAIN, DOMAIN), self.u("alias", "list").stdout)
        r = self.env.add_user("dave", GOOD)
        self.assertNotIn("postmaster", r.stdout)

    def test_domain_alias_and_foreign(self):
        r = self.env.add_user("bob@example.org", GOOD)
        self.assertIn("example.org", r.stdout)
        self.assertIn("bob@" + DOMAIN, r.stdout)
        self.assertIn("bob@%s relay=no" % DOMAIN, self.u("list").stdout)
        self.assertFails(self.u("add", "x@other.test", password=GOOD), 1, "not in a local domain")
        self.assertFails(self.u("show", "x@other.test"), 1, "not in a local domain")

    def test_weak_passwords(self):
        for pw in ("short1", "alice", "ALICE@" + DOMAIN, "password", "123456", "password1"):
            self.assertFails(self.u("add", "alice", password=pw), 1, "weak password")
        self.assertEqual(self.u("list").stdout, "")
        r = self.u("add", "alice", "--force", password="password")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFails(self.u("passwd", "alice", password="alice"), 1, "weak password")
        self.assertEqual(self.u("passwd", "alice", "--force", password="alice").returncode, 0)
        self.assertEqual(self.u("passwd", "alice", password=GOOD).returncode, 0)

    def test_errors_and_usage(self):
        self.env.add_user("alice", GOOD)
        self.assertFails(self.u("add", "alice", password=GOOD), 1, "user exists")
        for cmd in (("del", "nobody"), ("show", "nobody"), ("passwd", "nobody"),
                    ("set", "nobody", "relay=yes")):
            pw = GOOD if cmd[0] == "passwd" else None
            self.assertFails(self.u(*cmd, password=pw), 1, "no such user: nobody@" + DOMAIN)
        for args in ((), ("bogus",), ("add",), ("list", "x"), ("del", "alice", "--relay"),
                     ("set", "alice"), ("alias",), ("alias", "frob"), ("popauth", "x"),
                     ("lockout", "frob"), ("add", "a", "--nope")):
            r = self.u(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn("usage:", r.stderr)
        self.assertFails(self.u("set", "alice", "relay=maybe"), 2, "bad setting")
        # no terminal and no --password-stdin
        r = subprocess.run([os.path.join(BIN, "userdb"), "-c", self.env.conf, "add", "zed"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--password-stdin", r.stderr)
        self.assertFails(self.u("-x"), 2, "unknown command")

    def test_set_del(self):
        self.env.add_user("alice", GOOD)
        r = self.u("set", "alice", "relay=yes", "enabled=no")
        self.assertEqual(r.returncode, 0)
        self.assertIn("alice@%s relay=yes enabled=no" % DOMAIN, self.u("list").stdout)
        self.u("set", "alice", "enabled=yes")
        self.assertIn("alice@%s relay=yes enabled=yes" % DOMAIN, self.u("list").stdout)
        self.u("alias", "add", "info", "alice")
        r = self.u("del", "alice")
        self.assertEqual(r.returncode, 0)
        self.assertIn("deleted alias info@" + DOMAIN, r.stdout)
        self.assertEqual(self.u("list").stdout, "")
        self.assertNotIn("info@", self.u("alias", "list").stdout)
        self.assertFails(self.u("del", "alice"), 1, "no such user")

    def test_aliases(self):
        self.env.add_user("alice", GOOD)
        self.assertEqual(self.u("alias", "add", "info", "alice").returncode, 0)
        self.assertEqual(self.u("alias", "add", "sales@example.org", "info").returncode, 0)
        self.assertEqual(self.u("alias", "add", "ext", "someone@outside.test").returncode, 0)
        r = self.u("alias", "list")
        self.assertEqual(r.stdout.splitlines(), [
            "ext@%s someone@outside.test" % DOMAIN,
            "info@%s alice@%s" % (DOMAIN, DOMAIN),
            "postmaster@%s alice@%s" % (DOMAIN, DOMAIN),
            "sales@%s info@%s" % (DOMAIN, DOMAIN)])
        self.assertFails(self.u("alias", "add", "info", "alice"), 1, "alias exists")
        self.assertFails(self.u("alias", "add", "alice", "info"), 1, "is a user")
        self.assertFails(self.u("alias", "add", "x@other.test", "alice"), 1, "not in a local domain")
        self.assertFails(self.u("alias", "add", "y", "ghost"), 1, "no such user or alias")
        self.assertFails(self.u("alias", "add", "loop", "loop"), 1, "")
        self.assertIn("info@", self.u("show", "alice").stdout)
        self.assertEqual(self.u("alias", "del", "info").returncode, 0)
        self.assertFails(self.u("alias", "del", "info"), 1, "no such alias")
        self.assertEqual(self.u("add", "info", password=GOOD).returncode, 0)
        self.assertFails(self.u("add", "ext", password=GOOD), 1, "is an alias")

    def test_popauth_lockout(self):
        r = self.u("popauth", "list")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertEqual(self.u("popauth", "flush").returncode, 0)
        r = self.u("lockout", "list")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertFails(self.u("lockout", "clear", "192.0.2.1"), 1, "no failures recorded")
        self.assertFails(self.u("lockout", "clear", "not-an-ip"), 1, "not an IP address")

    def test_no_plaintext_and_modes(self):
        self.env.add_user("alice", GOOD)
        self.env.add_user("bob", "An0ther-l0ng-secret")
        r = subprocess.run(["grep", "-r", "-a", "-l", "-e", GOOD, "-e", "An0ther-l0ng-secret",
                            self.env.data], capture_output=True, text=True)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.returncode, 1)
        want_owner = pwd.getpwnam("mail").pw_uid if os.geteuid() == 0 else os.geteuid()
        for root, dirs, files in os.walk(self.env.data):
            for d in dirs:
                st = os.stat(os.path.join(root, d))
                self.assertEqual(st.st_mode & 0o777, 0o700, d)
                self.assertEqual(st.st_uid, want_owner, d)
            for f in files:
                st = os.stat(os.path.join(root, f))
                self.assertEqual(st.st_mode & 0o777, 0o600, f)
                self.assertEqual(st.st_uid, want_owner, f)
        st = os.stat(self.env.data)
        self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o700, want_owner))
        self.assertTrue(os.path.exists(os.path.join(self.env.data, "db", "users.db")))

    def test_bad_config(self):
        self.env.write_conf("[server]\nbogus_key = 1\n")
        r = self.u("list")
        self.assertEqual(r.returncode, 1)
        self.assertIn("bogus_key", r.stderr)


if __name__ == "__main__":
    unittest.main()
