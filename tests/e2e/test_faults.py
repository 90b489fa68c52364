"""Crash and fault tests (issue 7, point 3) against the real daemons:
- kill -9 of pop3d in the middle of a session loses nothing (deletions happen only at
  QUIT) and the mailbox is usable at once after a restart (no stale lock);
- kill -9 of BOTH daemons while they write to the Berkeley DB environment: it recovers by
  itself at restart (logins, the POP-auth cache and userdb work);
- a full disk (data_dir on a small tmpfs): a message that does not fit gets 452 4.3.1,
  everything acknowledged before is intact, and the server works again once there is room;
- a corrupt or unreadable users.db: a clear error at startup or a clean temporary failure,
  never a crash (no signal death, no sanitizer report)."""
import os
import pwd
import shutil
import smtplib
import subprocess
import threading
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import Env, SANITIZER_MARKS

SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
auth_mechanisms = PLAIN LOGIN
plaintext_auth = always
[pop3 p]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
"""
PW = "Alice-Secret-42"
ALICE = "alice@example.test"


def have(*binaries):
    return all(os.path.exists(os.path.join(harness.BIN, b)) for b in binaries)


def message(n, size=0):
    body = ("filler line for padding the message out to size %d\r\n" % n) * (size // 50 + 1)
    return ("From: <x@sender.test>\r\nTo: <%s>\r\nSubject: fault test %d\r\n\r\nbody %d\r\n%s"
            % (ALICE, n, n, body if size else ""))


class FaultBase(unittest.TestCase):
    env = None

    def setUp(self):
        if not have("smtpd", "pop3d", "userdb"):
            self.skipTest("daemons not built yet")

    def tearDown(self):
        if self.env is not None:
            self.env.stop_all()

    def make_env(self, name, server_conf=""):
        self.env = Env(name, server_conf=server_conf, sections=SECTIONS)
        return self.env

    def deliver(self, n, size=0):
        s = self.env.smtp("mx")
        try:
            s.sendmail("x@sender.test", [ALICE], message(n, size))
        finally:
            s.quit()

    def pop_login(self):
        p = self.env.pop3("pop3")
        p.user(ALICE)
        p.pass_(PW)
        return p

    def assert_no_crash(self, proc, daemon):
        text = self.env.log(daemon)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, text, "%s crashed:\n%s" % (daemon, text[-3000:]))
        if proc.returncode is not None:
            self.assertGreaterEqual(proc.returncode, 0, "%s died of signal %d:\n%s"
                                    % (daemon, -proc.returncode, text[-3000:]))


class PopKill(FaultBase):
    def test_kill9_pop3d_mid_session_loses_nothing(self):
        env = self.make_env("fault-pop")
        env.add_user(ALICE, PW)
        env.start("smtpd", wait=["mx"])
        env.start("pop3d", wait=["pop3"])
        for i in range(3):
            self.deliver(i)
        p = self.pop_login()
        self.assertEqual(p.stat()[0], 3)
        p.dele(1)
        p.dele(2)
        self.assertIn(b"body 2", b"\n".join(p.retr(3)[1]))
        env.kill9("pop3d")          # no QUIT: the deletions must not happen
        p.sock.close()
        self.assertEqual(len(env.messages(ALICE)), 3)
        env.start("pop3d", wait=["pop3"])
        p = self.pop_login()        # no [IN-USE] from a stale lock
        self.assertEqual(p.stat()[0], 3)
        bodies = [b"\n".join(p.retr(i)[1]) for i in (1, 2, 3)]
        for i in range(3):
            self.assertIn(b"body %d" % i, b"".join(bodies))
        p.dele(1)
        p.quit()
        p = self.pop_login()
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.assertEqual(len(env.messages(ALICE)), 2)


class DbRecovery(FaultBase):
    def hammer(self, stop, errors, done):
        """POP3 logins (POP-auth cache writes) and failed SMTP AUTHs (auth-fail table
        writes, from an address that never reaches the limit) until stop is set."""
        while not stop.is_set():
            try:
                p = self.pop_login()
                p.quit()
                s = self.env.smtp("mx")
                try:
                    s.login(ALICE, PW)
                finally:
                    s.close()
                done.append(1)
            except Exception as e:   # pylint: disable=broad-except
                errors.append(e)     # expected once the daemons are killed
                time.sleep(0.05)

    def test_kill9_both_daemons_db_recovers(self):
        env = self.make_env("fault-db", server_conf="auth_fail_limit = 1000\n")
        env.add_user(ALICE, PW, relay=True)
        env.start("smtpd", wait=["mx"])
        env.start("pop3d", wait=["pop3"])
        self.deliver(1)
        stop, errors, done = threading.Event(), [], []
        threads = [threading.Thread(target=self.hammer, args=(stop, errors, done))
                   for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        env.kill9("smtpd")
        env.kill9("pop3d")
        stop.set()
        for t in threads:
            t.join(30)
        self.assertGreater(len(done), 3, "no logins before the kill: %r" % errors[:3])
        # userdb works on the environment the daemons left behind
        env.add_user("bob@example.test", "Bob-Secret-4242")
        listing = env.userdb("list").stdout
        self.assertIn(ALICE, listing)
        self.assertIn("bob@example.test", listing)
        env.start("smtpd", wait=["mx"])
        env.start("pop3d", wait=["pop3"])
        p = self.pop_login()
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        s = env.smtp("mx")
        s.login("bob@example.test", "Bob-Secret-4242")
        s.quit()
        self.deliver(2)
        self.assertEqual(len(env.messages(ALICE)), 2)
        self.assertIn("127.0.0.1", env.userdb("popauth", "list").stdout)


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


class FullDisk(FaultBase):
    def mount_small(self, path):
        os.makedirs(path, exist_ok=True)
        pw = pwd.getpwnam("mail")
        r = run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700,uid=%d,gid=%d"
                % (pw.pw_uid, pw.pw_gid), "tmpfs", path)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs: " + r.stderr.strip())
        self.addCleanup(run, "umount", "-l", path)

    def resize(self, path, extra):
        st = os.statvfs(path)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        size_k = (used + extra) // 1024 + 1
        r = run("mount", "-o", "remount,size=%dk" % size_k, path)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_full_disk_452_and_nothing_lost(self):
        env = self.make_env("fault-disk")
        self.mount_small(env.data)
        env.add_user(ALICE, PW)
        env.start("smtpd", wait=["mx"])
        self.deliver(1, size=20000)      # warm up: DB pages, Maildir, queue dirs exist
        self.resize(env.data, 400 * 1024)
        self.deliver(2, size=20000)      # fits: must be acknowledged and kept
        before = env.messages(ALICE)
        self.assertEqual(len(before), 2)
        s = env.smtp("mx")
        try:
            code, msg = s.mail("x@sender.test")
            if code == 250:
                code, msg = s.rcpt(ALICE)
            if code == 250:
                code, msg = s.data(message(3, size=1024 * 1024).encode())
            s.quit()
        except smtplib.SMTPServerDisconnected:
            code, msg = 0, b"disconnected"
        finally:
            s.close()
        self.assertEqual(code, 452, "a message that does not fit: %d %r" % (code, msg))
        self.assertTrue(msg.startswith(b"4.3.1"), msg)
        self.assertEqual(env.messages(ALICE), before, "acknowledged mail changed")
        tmp = os.path.join(env.maildir(ALICE), "tmp")
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [],
                         "partial file left in tmp/")
        self.resize(env.data, 4 * 1024 * 1024)   # room again: the server recovers
        self.deliver(4, size=1024 * 1024)
        self.assertEqual(len(env.messages(ALICE)), 3)
        env.stop_all()


class BadDatabase(FaultBase):
    def start_and_settle(self, daemon, port):
        """Start DAEMON and give it a few seconds to open the store. Returns the process,
        removed from the harness's list if it exited (so teardown does not count it)."""
        try:
            p = self.env.start(daemon, wait=[port])
        except RuntimeError:
            p = self.env.procs[daemon]
        end = time.time() + 5
        while time.time() < end and p.poll() is None:
            time.sleep(0.1)
        if p.poll() is not None:
            self.env.procs.pop(daemon)
        return p

    def check_clean(self, broken):
        env = self.env
        for daemon, port in (("smtpd", "mx"), ("pop3d", "pop3")):
            p = self.start_and_settle(daemon, port)
            self.assert_no_crash(p, daemon)
            if p.returncode is not None:    # refused to start: it must say why
                self.assertGreater(p.returncode, 0)
                self.assertRegex(env.log(daemon), r"(?i)(users\.db|database|store)",
                                 "%s: no clear error for a %s users.db" % (daemon, broken))
                continue
            if daemon == "smtpd":   # running: a local recipient needs the store: 4xx
                s = env.smtp("mx")
                try:
                    s.mail("x@sender.test")
                    code, msg = s.rcpt(ALICE)
                    s.quit()
                except smtplib.SMTPServerDisconnected:
                    code, msg = 421, b"disconnected"
                self.assertTrue(400 <= code < 500, "%s users.db: RCPT got %d %r"
                                % (broken, code, msg))
            else:
                p3 = env.pop3("pop3")
                p3.user(ALICE)
                with self.assertRaises(Exception) as cm:
                    p3.pass_(PW)
                self.assertIn(b"[SYS/TEMP]", str(cm.exception).encode())
            self.assertIsNone(p.poll(), "%s died" % daemon)
            env.stop(daemon)

    def setup_broken(self, name):
        env = self.make_env(name)
        env.add_user(ALICE, PW)
        return os.path.join(env.data, "db", "users.db")

    def test_truncated_users_db(self):
        path = self.setup_broken("fault-trunc")
        with open(path, "r+b") as f:
            f.truncate(100)
        self.check_clean("truncated")

    def test_garbage_users_db(self):
        path = self.setup_broken("fault-garbage")
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.write(os.urandom(min(size, 8192)))
        self.check_clean("garbage")

    def test_unreadable_users_db(self):
        path = self.setup_broken("fault-chmod")
        os.chmod(path, 0)
        self.check_clean("unreadable")
        os.chmod(path, 0o600)


if __name__ == "__main__":
    unittest.main()
