"""The store's recovery after a daemon died, as the other daemon logs it: smtpd killed
with SIGKILL and started again while pop3d runs. The new smtpd's open runs Berkeley DB's
recovery (DB_REGISTER: a registrant died); pop3d's environment is then panicked and it
reopens the store. Its log must say so once, plainly, at warning level, with none of
Berkeley DB's "PANIC" lines, and pop3d must go on serving logins.
smtpd stopped cleanly (SIGTERM) and started again: no recovery at all. Every process of
it, the queue runner too, closes the store before it exits, so pop3d never reopens."""
import time
import unittest

from tests.e2e.harness import EnvTestCase, Env

SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
[pop3 p]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
"""
ALICE = "alice@example.test"
PW = "Alice-Secret-42"
PLAIN = "another process left the store uncleanly; recovered, reopening the store (nothing lost)"


class StoreRecoveryLog(EnvTestCase):
    def pop_login(self):
        p = self.env.pop3("pop3")
        p.user(ALICE)
        p.pass_(PW)
        n = p.stat()[0]
        p.quit()
        return n

    def start_both(self, name):
        """Both daemons on one store, alice with an empty mailbox; the Env."""
        env = self.env = Env(name, sections=SECTIONS)
        env.add_user(ALICE, PW)
        env.start("smtpd", wait=["mx"])
        env.start("pop3d", wait=["pop3"])
        self.assertEqual(self.pop_login(), 0)
        return env

    def send_one(self, text):
        """One message to alice through the (new) smtpd: it works on the store too."""
        s = self.env.smtp("mx")
        s.sendmail("x@sender.test", [ALICE], "Subject: after\r\n\r\n%s\r\n" % text)
        s.quit()
        self.assertEqual(self.pop_login(), 1)

    def runners_started(self, n):
        """Whether smtpd's log shows N queue runners started (a runner starts once the
        one before it has let the queue's lock go)."""
        deadline = time.time() + 10
        while self.env.log("smtpd").count("runner: started") < n and time.time() < deadline:
            time.sleep(0.1)
        return self.env.log("smtpd").count("runner: started") >= n

    def test_smtpd_killed_and_restarted_pop3d_logs_plainly(self):
        env = self.start_both("store-recovery")
        self.assertTrue(self.runners_started(1))
        env.kill9("smtpd")
        env.start("smtpd", wait=["mx"])      # its open recovers the environment
        # pop3d notices at its next store call: a login (retried: the first may be the
        # one that meets the panicked environment and answers a temporary failure)
        deadline = time.time() + 15
        while True:
            try:
                self.assertEqual(self.pop_login(), 0)
                break
            except Exception:   # pylint: disable=broad-except
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.send_one("after recovery")
        # the killed smtpd's runner ended on its parent's death without closing the
        # store (that death calls for recovery anyway), so the new runner took the queue
        self.assertTrue(self.runners_started(2), env.log("smtpd")[-3000:])
        log = env.log("pop3d")
        self.assertEqual(log.count(PLAIN), 1, log[-3000:])
        self.assertNotIn("PANIC", log, log[-3000:])
        self.assertNotIn("run recovery", log, log[-3000:])

    def test_smtpd_stopped_and_restarted_no_recovery(self):
        env = self.start_both("store-restart")
        self.assertTrue(self.runners_started(1))
        env.stop("smtpd")                    # SIGTERM: the daemon stops its runner
        env.start("smtpd", wait=["mx"])
        self.send_one("after a restart")
        self.assertTrue(self.runners_started(2), env.log("smtpd")[-3000:])
        log = env.log("pop3d")
        self.assertNotIn("uncleanly", log, log[-3000:])
        self.assertNotIn("reopening", log, log[-3000:])

if __name__ == "__main__":
    unittest.main()
