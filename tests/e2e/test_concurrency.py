"""End-to-end tests of many sessions at once. Each daemon runs one event loop per CPU
and hands connections to the least loaded one, so parallel clients land on different
loops (and worker pools): concurrent sessions of different users must never see each
other's state (a shared buffer once mixed up POP3 logins)."""
import os
import pwd
import smtplib
import subprocess
import threading

from tests.e2e import harness
from tests.e2e.harness import DOMAIN, LAN_IP, EnvTestCase

MAIL_UID = pwd.getpwnam("mail").pw_uid
MAIL_GID = pwd.getpwnam("mail").pw_gid
NUSERS = 6
ROUNDS = 25


def user(i):
    return "user%d@%s" % (i, DOMAIN)


def password(i):
    return "Quiet-Harbor-%d-Lamp" % i


def run_threads(fn, n):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:   # noqa: BLE001 - reported by the test below
            errors.append("thread %d: %r" % (i, e))

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return errors


class ConcurrencyCase(EnvTestCase):
    def make_env(self, sections):
        self.env = harness.Env(self.id().split(".")[-1], sections=sections)
        for i in range(NUSERS):
            self.env.add_user(user(i), password(i))
        return self.env

    def fill(self, i, count):
        """Give user i a Maildir holding `count` messages."""
        base = self.env.maildir(user(i))
        for d in (os.path.dirname(os.path.dirname(base)), os.path.dirname(base), base,
                  base + "/tmp", base + "/new", base + "/cur"):
            if not os.path.isdir(d):
                os.mkdir(d, 0o700)
                os.chown(d, MAIL_UID, MAIL_GID)
        for k in range(count):
            path = os.path.join(base, "new", "17000000%02d.M%dP1.mx" % (k, i))
            with open(path, "wb") as f:
                f.write(b"Subject: for user %d\n\nmessage %d\n" % (i, k))
            os.chown(path, MAIL_UID, MAIL_GID)


class TestPop3Parallel(ConcurrencyCase):
    def test_parallel_logins_see_their_own_mailbox(self):
        self.make_env("[pop3 main]\nlisten = 127.0.0.1:{port:pop}\n")
        for i in range(NUSERS):
            self.fill(i, i + 1)          # user i has i+1 messages: a mix-up shows in STAT
        self.env.start("pop3d")

        def client(i):
            for _ in range(ROUNDS):
                p = self.env.pop3("pop", LAN_IP)
                p.user(user(i))
                p.pass_(password(i))
                count, _ = p.stat()
                if count != i + 1:
                    raise AssertionError("user %d saw %d messages" % (i, count))
                p.quit()

        self.assertEqual(run_threads(client, NUSERS), [])
        self.assertNotIn("auth failed", self.env.log("pop3d"))


class TestSmtpParallel(ConcurrencyCase):
    def test_parallel_sessions_deliver_to_the_right_maildirs(self):
        env = self.make_env("[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n")
        env.start("smtpd")

        def client(i):
            for k in range(ROUNDS):
                with smtp_session(env) as s:
                    s.sendmail("sender@" + DOMAIN, [user(i)],
                               "Subject: to %d number %d\r\n\r\nbody %d/%d\r\n" % (i, k, i, k))

        self.assertEqual(run_threads(client, NUSERS), [])
        for i in range(NUSERS):
            new = os.path.join(env.maildir(user(i)), "new")
            subjects = set()
            for name in os.listdir(new):
                with open(os.path.join(new, name), "rb") as f:
                    text = f.read().decode()
                self.assertIn("Subject: to %d number " % i, text)
                subjects.add(text.split("Subject: ", 1)[1].split("\r\n", 1)[0])
            self.assertEqual(len(subjects), ROUNDS, "user %d" % i)


class TestBacklog(ConcurrencyCase):
    def test_listen_backlog_takes_a_burst_of_connections(self):
        """200 clients connecting at once must not overflow the accept queue (a SYN
        dropped there costs its client a 1 s retransmit): listen() with 1024, not
        libevent's default of 128."""
        env = self.make_env("[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n")
        env.start("smtpd")
        out = subprocess.run(["ss", "-Hltn", "sport = :%d" % env.ports["smtp"]],
                             capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(out[0], "LISTEN")
        self.assertEqual(int(out[2]), 1024, out)


class TestLoopCount(ConcurrencyCase):
    """One event loop per CPU; MAILSERVER_LOOPS overrides it, a bad value is named."""

    def deliver_one(self, env, i):
        with smtp_session(env) as s:
            s.sendmail("sender@" + DOMAIN, [user(i)], "Subject: loops %d\r\n\r\nx\r\n" % i)
        self.assertEqual(len(os.listdir(os.path.join(env.maildir(user(i)), "new"))), 1)

    def test_default_override_and_bad_value(self):
        env = self.make_env("[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n")
        cpus = min(os.cpu_count() or 1, 17)
        env.start("smtpd")
        self.assertIn("instance(s), %d event loop(s)," % cpus, env.log("smtpd"))
        self.deliver_one(env, 0)
        env.stop("smtpd")
        env.start("smtpd", env={"MAILSERVER_LOOPS": "1"})
        self.assertIn("instance(s), 1 event loop(s),", env.log("smtpd").split("started:")[-1])
        self.deliver_one(env, 1)
        env.stop("smtpd")
        env.start("smtpd", env={"MAILSERVER_LOOPS": "two"})
        log = env.log("smtpd")
        self.assertIn("MAILSERVER_LOOPS=two ignored: not a number from 1 to 17; using %d" % cpus,
                      log)
        self.assertIn("instance(s), %d event loop(s)," % cpus, log.split("started:")[-1])
        self.deliver_one(env, 2)


def smtp_session(env):
    return smtplib.SMTP("127.0.0.1", env.ports["smtp"], timeout=30, source_address=(LAN_IP, 0))
