"""userdb backup / restore end to end: a hot backup taken while both daemons are under
load (POP3 logins writing the POP-auth cache, SMTP deliveries, userdb adding users),
restored into a fresh data_dir; the restored server logs the old users in with their
old passwords over POP3 and SMTP AUTH, and knows nothing written after the backup.
Also: restore refused while a daemon has the store open, a directory that is neither
empty nor a backup refused, DIR created for run_as_user when userdb runs as root."""
import os
import pwd
import shutil
import smtplib
import subprocess
import threading
import time
import unittest

from tests.e2e.harness import DOMAIN, Env, EnvTestCase

SECTIONS = ("[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\nplaintext_auth = always\n"
            "[pop3 main]\nlisten = 127.0.0.1:{port:pop3}\nplaintext_auth = always\n")
USERS = {"u%02d" % i: "Backup-pass-%02d-x9" % i for i in range(8)}


class Load:
    """POP3 logins and SMTP deliveries in a loop until stopped; counts the successes."""

    def __init__(self, env):
        self.env, self.stop, self.done, self.errors = env, threading.Event(), 0, []
        self.threads = [threading.Thread(target=self.pop_loop), threading.Thread(target=self.smtp_loop)]

    def pop_loop(self):
        names = sorted(USERS)
        i = 0
        while not self.stop.is_set():
            name = names[i % len(names)]
            i += 1
            try:
                p = self.env.pop3("pop3")
                p.user("%s@%s" % (name, DOMAIN))
                p.pass_(USERS[name])
                p.quit()
                self.done += 1
            except Exception as e:   # noqa: BLE001 - reported by the test
                self.errors.append("pop3: %r" % e)

    def smtp_loop(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                s = self.env.smtp("smtp")
                s.sendmail("load@example.net", ["u00@" + DOMAIN], "Subject: load %d\r\n\r\nbody\r\n" % i)
                s.quit()
                self.done += 1
            except Exception as e:   # noqa: BLE001
                self.errors.append("smtp: %r" % e)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


class BackupTest(EnvTestCase):
    def setUp(self):
        self.env = Env("backup", sections=SECTIONS)
        for name, pw in USERS.items():
            self.env.add_user(name, pw, relay=True)
        self.bk = os.path.join(self.env.dir, "bk")

    def test_hot_backup_restore_round_trip(self):
        env = self.env
        env.start("smtpd", wait=["smtp"])
        env.start("pop3d", wait=["pop3"])
        with Load(env) as load:
            time.sleep(1.0)
            # a user written during the backup window: before the backup, so it is in it
            env.add_user("during", "During-pass-77x", relay=False)
            r = env.userdb("backup", self.bk)
            self.assertIn("backed up the user store", r.stdout)
            self.assertIn("rsync -a %s/mail" % env.data, r.stdout)
            time.sleep(0.5)
        self.assertEqual(load.errors, [])
        self.assertGreater(load.done, 5)
        env.add_user("after", "After-backup-pass-1")     # not in the backup
        # restore onto a running server is refused, and nothing is touched
        r = env.userdb("restore", self.bk, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stop smtpd and pop3d", r.stderr)
        self.assertIn("after@" + DOMAIN, env.userdb("list").stdout)
        env.stop_all()
        st = os.stat(self.bk)
        self.assertEqual(st.st_uid, pwd.getpwnam("mail").pw_uid)   # userdb as root made it
        self.assertEqual(st.st_mode & 0o777, 0o700)
        self.assertTrue(any(n.startswith("log.") for n in os.listdir(self.bk)))

        # a fresh server: new data_dir, the Maildirs copied as the hint says, store restored
        new = Env("backup-new", sections=SECTIONS)
        os.makedirs(new.data)
        subprocess.run(["cp", "-a", os.path.join(env.data, "mail"), new.data + "/"], check=True)
        os.chown(new.data, pwd.getpwnam("mail").pw_uid, -1)
        r = new.userdb("restore", self.bk)
        self.assertIn("%d users" % (len(USERS) + 1), r.stdout)
        listed = new.userdb("list").stdout
        self.assertIn("during@" + DOMAIN, listed)
        self.assertNotIn("after@" + DOMAIN, listed)
        self.env = new
        new.start("smtpd", wait=["smtp"])
        new.start("pop3d", wait=["pop3"])
        for name, pw in USERS.items():
            p = new.pop3("pop3")
            p.user(name)
            p.pass_(pw)
            if name == "u00":
                self.assertGreater(p.stat()[0], 0)   # the copied Maildir serves
            p.quit()
        s = new.smtp("smtp")
        s.login("u03@" + DOMAIN, USERS["u03"])
        s.quit()
        p = new.pop3("pop3")
        p.user("u01")
        with self.assertRaises(Exception):
            p.pass_(USERS["u02"])             # a wrong password still fails
        s = new.smtp("smtp")
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            s.login("after@" + DOMAIN, "After-backup-pass-1")

    def test_restore_moves_old_store_aside(self):
        self.env.userdb("backup", self.bk)
        self.env.userdb("del", "u07")
        r = self.env.userdb("restore", self.bk)
        self.assertIn("is now %s/db.before-restore-" % self.env.data, r.stdout)
        self.assertIn("u07@" + DOMAIN, self.env.userdb("list").stdout)
        # a second backup into the same directory replaces the first
        self.env.userdb("del", "u06")
        self.env.userdb("backup", self.bk)
        self.env.userdb("restore", self.bk)
        self.assertNotIn("u06@" + DOMAIN, self.env.userdb("list").stdout)

    def test_refusals(self):
        other = os.path.join(self.env.dir, "other")
        os.makedirs(other)
        with open(os.path.join(other, "precious"), "w") as f:
            f.write("x")
        shutil.chown(other, "mail")
        r = self.env.userdb("backup", other, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("neither empty nor an earlier backup", r.stderr)
        self.assertEqual(os.listdir(other), ["precious"])
        r = self.env.userdb("restore", other, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a backup made by userdb backup", r.stderr)
        self.assertIn("u00@" + DOMAIN, self.env.userdb("list").stdout)


if __name__ == "__main__":
    unittest.main()
