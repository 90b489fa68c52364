"""smtpd abuse limits and the relay-loop guard against the real daemon:
- directory harvesting: unknown local recipients (550 5.1.1) 1-3 are answered at once,
  later ones after a growing delay on a timer (other sessions are served meanwhile), the
  10th gets 421 4.7.0 and the session is closed; a pending delay does not keep SIGTERM
  or a client hang-up from ending the session cleanly;
- error limit: the 20th error reply in a session is followed by 421 4.7.0 and close; a
  delivery forgives earlier errors but not RCPTs refused by policy (a relay prober);
- loop guard: user%remote.test@example.test (percent hack) and remote.test!user@... from
  the LAN are bounced to the local sender at once, nothing is sent anywhere.
Real delays (0.5 s steps): the harvesting scenario takes about 10 s."""
import os
import re
import socket
import time
import unittest

from tests.e2e import harness
from tests.e2e.harness import Env, DOMAIN, LAN_IP, REMOTE_IP, free_port

ALICE = "alice@" + DOMAIN
SENDER = "postmaster@" + DOMAIN   # userdb makes it an alias of alice, the first user
SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
timeout = 30s
max_connections_per_ip = 50
"""


def have(*binaries):
    return all(os.path.exists(os.path.join(harness.BIN, b)) for b in binaries)


class Client:
    """A raw SMTP client: send lines (pipelined if wanted) and read replies one by one."""

    def __init__(self, port, source, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                             source_address=(source, 0))
        self.buf = b""
        assert self.reply()[0] == 220

    def send(self, *lines):
        self.sock.sendall(b"".join(ln.encode() + b"\r\n" for ln in lines))

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                raise EOFError("connection closed; pending %r" % self.buf)
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r")

    def reply(self):
        """(code, last line) of one possibly multi-line reply."""
        while True:
            ln = self.line()
            if ln[3:4] != b"-":
                return int(ln[:3]), ln

    def cmd(self, line):
        self.send(line)
        return self.reply()

    def closed(self):
        """True when the server has closed (EOF after anything still buffered)."""
        try:
            return self.sock.recv(4096) == b"" and True
        except OSError:
            return True

    def close(self):
        self.sock.close()


class Limits(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        if not have("smtpd", "userdb"):
            raise unittest.SkipTest("daemons not built yet")

    def setUp(self):
        self.sink = None
        self.env = Env("limits", sections=SECTIONS,
                       routes="remote.test = 127.0.0.1:%d" % self.sink_port())
        self.env.add_user(ALICE, "Alice-Secret-42")
        self.env.start("smtpd", wait=["mx"])

    def tearDown(self):
        if self.sink is not None:
            self.sink.close()
        if self.env is not None:
            self.env.stop_all()

    def sink_port(self):
        """A listening socket standing for remote.test's server: nobody may connect."""
        self.sink = socket.socket()
        self.sink.bind(("127.0.0.1", 0))
        self.sink.listen(5)
        self.sink.setblocking(False)
        return self.sink.getsockname()[1]

    def sink_contacted(self):
        try:
            c, _ = self.sink.accept()
            c.close()
            return True
        except BlockingIOError:
            return False

    def client(self, source=REMOTE_IP):
        c = Client(self.env.ports["mx"], source)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        return c

    # ---- directory harvesting -------------------------------------------------
    def test_harvesting_delays_grow_then_421(self):
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<x@sender.test>")[0], 250)
        times, codes, last = [], [], b""
        for i in range(10):
            if i == 8:        # the 9th waits 3 s: meanwhile a LAN session is served
                t = time.time()
                c.send("RCPT TO:<nobody%d@%s>" % (i, DOMAIN))
                time.sleep(0.3)
                t_lan = time.time()
                lan = self.client(LAN_IP)
                self.assertEqual(lan.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
                self.assertEqual(lan.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
                self.assertEqual(lan.cmd("RCPT TO:<nobody@%s>" % DOMAIN)[0], 550)
                self.assertEqual(lan.cmd("QUIT")[0], 221)
                lan.close()
                self.assertLess(time.time() - t_lan, 1.5, "the event loop was blocked")
                code, last = c.reply()
            else:
                t = time.time()
                code, last = c.cmd("RCPT TO:<nobody%d@%s>" % (i, DOMAIN))
            times.append(time.time() - t)
            codes.append(code)
        self.assertEqual(codes[:9], [550] * 9, codes)
        self.assertEqual(codes[9], 421, last)
        self.assertTrue(last.startswith(b"421 4.7.0 mail.example.test "), last)
        self.assertIn(b"too many unknown recipients", last)
        self.assertTrue(c.closed(), "session left open after the 421")
        self.assertLess(max(times[:3]), 0.4, times)           # 1-3: at once
        for k in range(3, 9):                                   # the k+1-th: (k-2) * 0.5 s
            self.assertGreater(times[k], (k - 2) * 0.5 - 0.1, (k, times))
            self.assertLess(times[k], (k - 2) * 0.5 + 1.0, (k, times))
        self.assertLess(times[9], 0.5, "the 10th is answered at once")
        log = self.env.log("smtpd")
        self.assertIn("harvest: ip=%s unknown_rcpts=4 action=delay" % REMOTE_IP, log)
        self.assertIn("harvest: ip=%s unknown_rcpts=10 action=disconnect" % REMOTE_IP, log)
        self.assertNotIn("unknown_rcpts=3 ", log)
        # a new session starts with a clean count
        c2 = self.client()
        self.assertEqual(c2.cmd("MAIL FROM:<x@sender.test>")[0], 250)
        t = time.time()
        self.assertEqual(c2.cmd("RCPT TO:<nobody@%s>" % DOMAIN)[0], 550)
        self.assertLess(time.time() - t, 0.4)
        c2.close()

    def test_known_recipients_and_other_errors_do_not_count(self):
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<x@sender.test>")[0], 250)
        for _ in range(12):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<x@elsewhere.test>")[0], 550)   # relay denied
        t = time.time()
        for i in range(3):
            self.assertEqual(c.cmd("RCPT TO:<nobody%d@%s>" % (i, DOMAIN))[0], 550)
        self.assertLess(time.time() - t, 0.5)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()

    def test_pipelined_harvest_then_sigterm(self):
        c = self.client()
        c.send("MAIL FROM:<x@sender.test>",
               *["RCPT TO:<nobody%d@%s>" % (i, DOMAIN) for i in range(9)])
        self.assertEqual(c.reply()[0], 250)
        for _ in range(3):
            self.assertEqual(c.reply()[0], 550)
        time.sleep(0.2)               # the 4th is now waiting on its timer
        t = time.time()
        self.env.procs["smtpd"].send_signal(15)
        code, last = c.reply()
        self.assertEqual(code, 421, last)
        self.assertTrue(last.startswith(b"421 4.3.2"), last)
        self.assertTrue(c.closed())
        self.env.procs["smtpd"].wait(timeout=10)
        self.assertLess(time.time() - t, 3, "shutdown waited for the delays")
        self.env.stop("smtpd")        # exit status 0, no sanitizer report

    def test_hangup_during_delay(self):
        c = self.client()
        c.send("MAIL FROM:<x@sender.test>",
               *["RCPT TO:<nobody%d@%s>" % (i, DOMAIN) for i in range(8)])
        for _ in range(4):
            c.reply()
        c.close()                     # gone while the 4th waits
        time.sleep(1.5)
        lan = self.client(LAN_IP)     # the daemon still serves
        self.assertEqual(lan.cmd("NOOP")[0], 250)
        lan.close()
        gone = r"disconnect: id=\d+ ip=%s" % re.escape(REMOTE_IP)
        deadline = time.time() + 15
        while time.time() < deadline and not re.search(gone, self.env.log("smtpd")):
            time.sleep(0.2)
        self.assertRegex(self.env.log("smtpd"), gone)

    # ---- error limit --------------------------------------------------------------
    def test_error_limit(self):
        c = self.client()
        for i in range(19):
            code, _ = c.cmd("XYZZY %d" % i)
            self.assertEqual(code, 500)
        self.assertEqual(c.cmd("NOOP")[0], 250)            # still served after 19
        c.send("RCPT TO:<%s>" % ALICE, "NOOP")             # the 20th error, pipelined
        self.assertEqual(c.reply()[0], 503)
        code, last = c.reply()
        self.assertEqual(code, 421, last)
        self.assertEqual(last, b"421 4.7.0 mail.example.test Error: too many errors")
        self.assertTrue(c.closed(), "the pipelined NOOP was executed / session left open")
        self.assertIn("error_limit: ip=%s errors=20 action=disconnect" % REMOTE_IP,
                      self.env.log("smtpd"))

    def test_delivery_resets_error_count(self):
        c = self.client(LAN_IP)
        for i in range(15):
            self.assertEqual(c.cmd("XYZZY %d" % i)[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        self.assertEqual(c.cmd("Subject: t\r\n\r\nhello\r\n.")[0], 250)
        for i in range(15):
            self.assertEqual(c.cmd("XYZZY %d" % i)[0], 500)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()
        self.assertEqual(len(self.env.messages(ALICE)), 1)

    def test_delivery_does_not_forgive_refused_rcpts(self):
        """A relay prober from outside that slips a local delivery in between its probes
        still reaches the error limit (before: every delivery reset the count, and it
        could probe forever in one session)."""
        c = self.client(REMOTE_IP)
        codes, delivered = [], 0
        code, last = 0, b""
        while len(codes) < 60:                            # 3 probes, then a local message
            code, last = c.cmd("MAIL FROM:<prober@remote.test>")
            if code != 250:
                break
            for _ in range(3):
                code, last = c.cmd("RCPT TO:<victim%d@elsewhere.test>" % len(codes))
                codes.append(code)
                if code != 550:
                    break
            if code != 550:
                break
            code, last = c.cmd("RCPT TO:<%s>" % ALICE)
            if code != 250:
                break
            self.assertEqual(c.cmd("DATA")[0], 354)
            code, last = c.cmd("Subject: t%d\r\n\r\nhello\r\n." % delivered)
            if code != 250:
                break
            delivered += 1
        self.assertEqual(codes, [550] * 20 + [421], last)  # the 20th refusal, then 421
        self.assertEqual(last, b"421 4.7.0 mail.example.test Error: too many errors")
        self.assertTrue(c.closed())
        self.assertEqual(delivered, 6)                    # 6 messages got through
        self.assertEqual(len(self.env.messages(ALICE)), 6)
        self.assertIn("error_limit: ip=%s errors=20 action=disconnect refused_rcpts=20"
                      % REMOTE_IP, self.env.log("smtpd"))

    # ---- relay loop guard -----------------------------------------------------------
    def wait_dsns(self, n, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            d = [m for m in self.env.messages(ALICE) if b"multipart/report" in m]
            if len(d) >= n:
                return d
            time.sleep(0.2)
        return [m for m in self.env.messages(ALICE) if b"multipart/report" in m]

    def test_percent_and_bang_routing_bounced(self):
        c = self.client(LAN_IP)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<bob%%remote.test@%s>" % DOMAIN)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<remote.test!carol@%s>" % DOMAIN)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        self.assertEqual(c.cmd("Subject: loop\r\n\r\nloop test\r\n.")[0], 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()
        dsns = self.wait_dsns(1)
        self.assertEqual(len(dsns), 1, "expected one bounce to the local sender")
        d = dsns[0]
        self.assertIn(b"bob%remote.test@" + DOMAIN.encode(), d)
        self.assertIn(b"remote.test!carol@" + DOMAIN.encode(), d)
        self.assertIn(b"5.1.1", d)
        self.assertIn(b"percent/bang routing to a local domain is not supported", d)
        self.assertFalse(self.sink_contacted(), "the message left the server")
        end = time.time() + 10
        while time.time() < end and "queue is empty" not in self.env.smtpd_cmd(
                "--queue", "list").stdout:
            time.sleep(0.2)
        self.assertIn("queue is empty", self.env.smtpd_cmd("--queue", "list").stdout)
        self.assertIn("routes on through our own domain", self.env.log("smtpd"))


if __name__ == "__main__":
    unittest.main()
