"""Admin commands and daemons started as root (SPEC "Admin commands run as root",
"Binaries"): what run_as_user plants under data_dir (a symlink at the flush file, a
pid file naming a root process, a directory root did not create) gives him nothing
more; the daemons run with no_new_privs and a bounding set of CAP_NET_BIND_SERVICE
only. Every test needs root (the suite runs as root)."""
import fcntl
import os
import pwd
import re
import signal
import subprocess
import time
import unittest

from tests.e2e.harness import Env, EnvTestCase

SECTIONS = """
[smtp main]
listen = 127.0.0.1:{port:main}

[pop3 main]
listen = 127.0.0.1:{port:pop3}
"""
BIND_ONLY = "%016x" % (1 << 10)          # CAP_NET_BIND_SERVICE


def status(pid):
    """/proc/PID/status as a dict of its fields."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            out[k] = v.strip()
    return out


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class AdminRoot(EnvTestCase):
    def setUp(self):
        self.env = Env("admin-root", sections=SECTIONS)
        self.mail = pwd.getpwnam("mail")
        self.env.userdb("list")              # the data_dir tree, owned by mail
        self.qdir = os.path.join(self.env.data, "queue")

    def plant_symlink(self, path, target):
        """What run_as_user can do: a symlink of his own in his directory."""
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)
        os.lchown(path, self.mail.pw_uid, self.mail.pw_gid)

    def test_flush_symlink_to_root_file(self):
        """The flush file planted as a symlink to a root-owned file: that file keeps its
        owner and content; a symlink to a path only root may create creates nothing."""
        victim = os.path.join(self.env.dir, "root-owned")
        with open(victim, "w") as f:
            f.write("root's\n")
        os.chmod(victim, 0o600)
        flush = os.path.join(self.qdir, "flush")
        self.plant_symlink(flush, victim)
        r = self.env.smtpd_cmd("--queue", "flush")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(victim)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (0, 0, 0o600))
        with open(victim) as f:
            self.assertEqual(f.read(), "root's\n")

        rootonly = os.path.join(self.env.dir, "rootonly")
        os.mkdir(rootonly, 0o700)
        made = os.path.join(rootonly, "made-by-root")
        self.plant_symlink(flush, made)
        r = self.env.smtpd_cmd("--queue", "flush")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.lexists(made), "created through the planted symlink")

    def test_flush_pid_file_naming_root_process(self):
        """A runner.pid naming a root process (locked, as a live runner's is): the admin
        command signals with run_as_user's rights, so the root process lives on."""
        victim = subprocess.Popen(["sleep", "60"])
        self.addCleanup(victim.wait)
        self.addCleanup(victim.kill)
        pidfile = os.path.join(self.qdir, "runner.pid")
        with open(pidfile, "w") as f:
            f.write("%d\n" % victim.pid)
        os.chown(pidfile, self.mail.pw_uid, self.mail.pw_gid)
        with open(pidfile) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)          # "held: alive"
            r = self.env.smtpd_cmd("--queue", "flush")
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(0.3)
            self.assertIsNone(victim.poll(), "the root process was signalled:\n" + r.stdout)
            self.assertIn("not signalled", r.stdout)

    def test_queue_list_runs_as_user(self):
        """--queue list reads the queue as run_as_user: an entry only root can read is
        not shown (it was, when the listing ran as root)."""
        r = self.env.smtpd_cmd("--queue", "list")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "queue is empty"), r.stderr)
        env_dir = os.path.join(self.qdir, "env")
        self.assertTrue(self.queue_one(), "nothing queued")
        self.assertIn("to=<bob@example.net>", self.env.smtpd_cmd("--queue", "list").stdout)
        for name in os.listdir(env_dir):
            os.chown(os.path.join(env_dir, name), 0, 0)
        r = self.env.smtpd_cmd("--queue", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("to=<bob@example.net>", r.stdout, "read with root's rights")

    def queue_one(self):
        """Queue one relayed message (nothing listens at the next hop), wait until the
        runner has tried it, stop smtpd; the queue entry ids."""
        with open(self.env.conf, "a") as f:
            f.write("[routes]\nexample.net = 127.0.0.1:9\n")
        self.env.start("smtpd", wait=["main"])
        s = self.env.smtp("main")
        s.sendmail("postmaster@example.test", ["bob@example.net"], "Subject: x\r\n\r\nbody\r\n")
        s.quit()
        end = time.time() + 20
        while time.time() < end and "attempts=" not in self.env.smtpd_cmd("--queue", "list").stdout:
            time.sleep(0.1)
        self.env.stop("smtpd")
        return os.listdir(os.path.join(self.qdir, "env"))

    def test_userdb_keeps_foreign_directories(self):
        """A directory under data_dir that root did not create (here a root-owned
        queue/) is not handed to run_as_user; a symlinked mail/ is not followed."""
        os.rmdir(self.qdir)
        os.mkdir(self.qdir, 0o755)
        r = self.env.userdb("list", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("queue belongs to uid 0", r.stderr)
        st = os.stat(self.qdir)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o755))
        os.rmdir(self.qdir)

        target = os.path.join(self.env.dir, "root-dir")
        os.mkdir(target, 0o755)
        maildir = os.path.join(self.env.data, "mail")
        os.rmdir(maildir)
        self.plant_symlink(maildir, target)
        r = self.env.userdb("list", check=False)
        self.assertNotEqual(r.returncode, 0)
        st = os.stat(target)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o755))

    def test_userdb_takes_over_empty_root_data_dir(self):
        """An admin's `mkdir data_dir` (empty, root-owned) is handed to run_as_user."""
        env = Env("admin-root-empty", sections=SECTIONS)
        os.mkdir(env.data, 0o755)
        env.userdb("list")
        st = os.stat(env.data)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (self.mail.pw_uid, 0o700))

    def test_daemons_no_new_privs_and_bounding_set(self):
        """smtpd (and its queue runner) and pop3d after the drop: run_as_user, no_new_privs,
        nothing in the bounding set or the effective set but CAP_NET_BIND_SERVICE."""
        procs = [self.env.start("smtpd", wait=["main"]), self.env.start("pop3d", wait=["pop3"])]
        pids = [p.pid for p in procs]
        # the certificate keepers stay root (test_certs checks them)
        keepers = [int(k) for d in ("smtpd", "pop3d")
                   for k in re.findall(r"certificate keeper: pid (\d+)", self.env.log(d))]
        self.assertEqual(len(keepers), 2)
        end = time.time() + 10
        while time.time() < end and not [c for c in children(pids[0]) if c not in keepers]:
            time.sleep(0.05)
        pids += [c for c in children(pids[0]) if c not in keepers]
        self.assertEqual(len(pids), 3, "no queue runner child")
        for pid in pids:
            st = status(pid)
            self.assertEqual(st["Uid"].split(), [str(self.mail.pw_uid)] * 4, pid)
            self.assertEqual(st["NoNewPrivs"], "1", pid)
            self.assertEqual(st["CapBnd"], BIND_ONLY, pid)
            self.assertIn(st["CapEff"], (BIND_ONLY, "0" * 16), pid)
            self.assertEqual(st["CapInh"], "0" * 16, pid)
        os.kill(pids[0], signal.SIGHUP)           # a reload still works (binds as before)
        time.sleep(0.5)
        self.assertIsNone(procs[0].poll())


if __name__ == "__main__":
    unittest.main()
