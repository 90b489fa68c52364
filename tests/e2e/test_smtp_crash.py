"""Durability end to end (SPEC.md "SMTP": durable before the 250; SIGTERM): smtpd is
killed with SIGKILL in the middle of a concurrent load; after a restart every message
that got its 250 is in the Maildirs, and no partial file is in new/. SIGTERM says 421
to open sessions and keeps nothing unacknowledged."""
import os
import re
import signal
import smtplib
import threading
import time
import unittest

from tests.e2e.harness import Env, LAN_IP, DOMAIN
from tests.e2e.test_smtp_proto import Raw

ALICE, BOB = "alice@" + DOMAIN, "bob@" + DOMAIN
TRAILER = b"END-OF-MESSAGE\n"


def message(tag):
    body = b"".join(b"line %d of %s, some filler text to make it longer\r\n" % (i, tag.encode())
                    for i in range(200))
    return (b"Subject: %s\r\nMessage-ID: <%s@client.test>\r\n\r\n" % (tag.encode(), tag.encode())
            + body + TRAILER.replace(b"\n", b"\r\n"))


def stored_tags(env, addr):
    tags = []
    for m in env.messages(addr):
        s = re.search(rb"\nSubject: (\S+)\n", m)
        if s:
            tags.append(s.group(1).decode())
    return tags


def check_complete(testcase, env, addr):
    """Every file in new/ is a whole message whose name carries its real size."""
    new = os.path.join(env.maildir(addr), "new")
    for n in os.listdir(new):
        with open(os.path.join(new, n), "rb") as f:
            data = f.read()
        testcase.assertTrue(data.startswith(b"Return-Path: <"), n)
        testcase.assertTrue(data.endswith(TRAILER), n)
        testcase.assertNotIn(b"\r", data)
        size, wire = map(int, re.search(r",S=(\d+),W=(\d+)$", n).groups())
        testcase.assertEqual(size, len(data), n)
        testcase.assertEqual(wire, len(data) + data.count(b"\n"), n)


class SmtpCrash(unittest.TestCase):
    def setUp(self):
        self.env = Env("smtp-crash-" + self._testMethodName[5:], sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\n"
                                              "max_connections_per_ip = 50\n")
        self.env.add_user(ALICE, "Correct-Horse-42")
        self.env.add_user(BOB, "Battery-Staple-43")
        self.env.start("smtpd")

    def tearDown(self):
        self.env.stop_all()

    def sender(self, tid, acked, stop):
        i = 0
        while not stop.is_set():
            try:
                s = smtplib.SMTP("127.0.0.1", self.env.ports["smtp"], timeout=10,
                                 source_address=(LAN_IP, 0))
            except OSError:
                return
            try:
                while not stop.is_set():
                    i += 1
                    tag = "crash-%d-%d" % (tid, i)
                    rcpts = [ALICE, BOB] if i % 3 == 0 else [ALICE]
                    s.sendmail("load@remote.test", rcpts, message(tag))
                    acked.append((tag, rcpts))          # only after the 250
            except (smtplib.SMTPException, OSError):
                return
            finally:
                try:
                    s.close()
                except OSError:
                    pass

    def wait_started(self, n, timeout=60):
        """The port is bound before the store is opened (and recovered): wait for the
        N-th "started:" line of the log."""
        end = time.time() + timeout
        while self.env.log("smtpd").count("smtpd: started:") < n:
            self.assertLess(time.time(), end, "smtpd did not finish starting")
            time.sleep(0.1)

    def test_kill9_under_load(self):
        acked, stop = [], threading.Event()
        threads = [threading.Thread(target=self.sender, args=(t, acked, stop)) for t in range(6)]
        for t in threads:
            t.start()
        time.sleep(2.5)
        self.env.kill9("smtpd")
        stop.set()
        for t in threads:
            t.join(30)
        self.assertGreater(len(acked), 10, "the load did not get going")
        self.env.start("smtpd")                         # restart on the same data
        self.wait_started(2)
        s = smtplib.SMTP("127.0.0.1", self.env.ports["smtp"], timeout=10)
        s.sendmail("after@remote.test", [ALICE], message("after-restart"))
        s.quit()
        alice, bob = stored_tags(self.env, ALICE), stored_tags(self.env, BOB)
        for tag, rcpts in acked:
            self.assertIn(tag, alice)
            if BOB in rcpts:
                self.assertIn(tag, bob)
        self.assertIn("after-restart", alice)
        self.assertEqual(len(alice), len(set(alice)))   # nothing stored twice
        check_complete(self, self.env, ALICE)
        check_complete(self, self.env, BOB)

    def test_sigterm_421_and_nothing_unacknowledged(self):
        idle = Raw(self.env.ports["smtp"])
        self.addCleanup(idle.close)
        self.assertEqual(idle.cmd("EHLO client.test")[0], 250)
        busy = Raw(self.env.ports["smtp"])
        self.addCleanup(busy.close)
        self.assertEqual(busy.cmd("EHLO client.test")[0], 250)
        self.assertEqual(busy.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        self.assertEqual(busy.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
        self.assertEqual(busy.cmd("DATA")[0], 354)
        busy.send(b"Subject: unfinished\r\n\r\nhalf a message\r\n")   # no final dot
        time.sleep(0.3)
        p = self.env.procs["smtpd"]
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        for r in (idle, busy):
            code, text = r.reply()
            self.assertEqual(code, 421)
            self.assertIn("4.3.2", text)
            self.assertTrue(r.closed())
        p.wait(15)
        self.assertLess(time.time() - t0, 10)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(stored_tags(self.env, ALICE), [])
        tmp = os.path.join(self.env.maildir(ALICE), "tmp")
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])


if __name__ == "__main__":
    unittest.main()
