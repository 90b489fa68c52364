"""Outbound deliveries in parallel (issue 12, item 6; SPEC "The outbound queue"): a next
hop that accepts TCP and never answers delays no mail for other destinations; at most
queue_destination_concurrency connections to one next hop and queue_concurrency in all
(counted by a threaded sink that sees the simultaneous connections); a retry is
scheduled from the end of the failed attempt, not from its start."""
import socket
import threading
import time
import unittest

from tests.e2e.harness import free_port
from tests.e2e.test_outbound import OutboundCase, Sink, relay_env, wait_for

BODY = b"Subject: parallel\r\n\r\nbody\r\n"


class SilentHop:
    """Accepts TCP connections and never says a word; notes when each was accepted and
    when the client closed it."""

    def __init__(self, port):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(50)
        self.conns = []             # [accepted, closed or None]
        self.socks = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            rec = [time.time(), None]
            with self.lock:
                self.conns.append(rec)
                self.socks.append(c)
            threading.Thread(target=self._hold, args=(c, rec), daemon=True).start()

    def _hold(self, c, rec):
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
        with self.lock:
            rec[1] = time.time()

    def records(self):
        with self.lock:
            return [list(r) for r in self.conns]

    def stop(self):
        self.lsock.close()
        with self.lock:
            for c in self.socks:
                try:
                    c.close()
                except OSError:
                    pass


class CountingSink:
    """A minimal SMTP server, one thread per connection, on one or more ports: counts
    the connections open at once (max_open) and keeps each message's recipients; DATA
    is answered after `delay` seconds (a slow remote keeps the connections busy)."""

    def __init__(self, ports, delay=0.3):
        self.delay = delay
        self.lock = threading.Lock()
        self.open = 0
        self.max_open = 0
        self.rcpts = []             # one list per message
        self.lsocks = []
        for p in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            s.listen(50)
            self.lsocks.append(s)
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, c):
        with self.lock:
            self.open += 1
            self.max_open = max(self.max_open, self.open)
        counted = True
        try:
            f = c.makefile("rb")
            c.sendall(b"220 sink.test ESMTP\r\n")
            rcpts = []
            while True:
                line = f.readline()
                if not line:
                    break
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    c.sendall(b"250 sink.test\r\n")
                elif cmd == b"MAIL":
                    rcpts = []
                    c.sendall(b"250 2.1.0 ok\r\n")
                elif cmd == b"RCPT":
                    rcpts.append(line.split(b"<", 1)[1].split(b">", 1)[0].decode())
                    c.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go on\r\n")
                    while f.readline() not in (b".\r\n", b""):
                        pass
                    time.sleep(self.delay)
                    with self.lock:
                        self.rcpts.append(rcpts)
                    c.sendall(b"250 2.0.0 queued\r\n")
                elif cmd == b"QUIT":
                    with self.lock:     # over for the client once it sent QUIT, before
                        self.open -= 1  # the 221 lets it open the next connection
                        counted = False
                    c.sendall(b"221 2.0.0 bye\r\n")
                    break
                else:                    # RSET, NOOP
                    c.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()
            if counted:
                with self.lock:
                    self.open -= 1

    def delivered(self):
        with self.lock:
            return sorted(r for m in self.rcpts for r in m)

    def stop(self):
        for s in self.lsocks:
            s.close()


class OutboundParallel(OutboundCase):
    def test_silent_hop_delays_no_other(self):
        """The runner is busy with a next hop that never answers (its banner timeout is
        30 s here): mail for another domain still leaves within seconds."""
        silent_port, sink_port = free_port(), free_port()
        silent, sink = SilentHop(silent_port), Sink(sink_port)
        self.sinks = [silent, sink]
        self.env = relay_env("par-silent",
                             routes="slow.example = 127.0.0.1:%d\nfast.example = 127.0.0.1:%d"
                                    % (silent_port, sink_port))
        self.env.start("smtpd", env={"MS_SMTPC_TIMEOUT": "30"})
        self.send(["someone@slow.example"], BODY)
        self.assertTrue(wait_for(lambda: silent.records(), 15), "the silent hop was not tried")
        t0 = time.time()
        self.send(["someone@fast.example"], BODY)
        got = wait_for(lambda: sink.messages, 8, 0.1)
        took = time.time() - t0
        self.assertTrue(got, "mail for a healthy domain waited for the silent hop: "
                        + self.queue())
        self.assertLess(took, 8)
        self.assertEqual(got[0][1], ["someone@fast.example"])
        self.assertIn("someone@slow.example", self.queue())   # still hanging there
        self.assertIsNone(silent.records()[0][1], "the silent hop was given up early")

    def _flush_many(self, name, server_conf, domains, n_per_domain):
        """Queue n messages per domain while their next hops are down, then bring up a
        counting sink on every hop's port and flush. Returns (sink, expected rcpts)."""
        ports = [free_port() for _ in domains]
        routes = "\n".join("%s = 127.0.0.1:%d" % (d, p) for d, p in zip(domains, ports))
        self.env = relay_env(name, routes=routes, server_conf="queue_retry = 1h\n" + server_conf)
        self.env.start("smtpd")
        rcpts = ["r%02d@%s" % (i, d) for d in domains for i in range(n_per_domain)]
        for r in rcpts:
            self.send([r], BODY)
        self.assertTrue(wait_for(lambda: self.queue().lower().count("refused") >= len(rcpts), 30),
                        self.queue())
        sink = CountingSink(ports)
        self.sinks = [sink]
        self.queue("flush")
        self.assertTrue(wait_for(lambda: sink.delivered() == sorted(rcpts), 60),
                        "not all delivered: %d of %d\n%s" % (len(sink.delivered()), len(rcpts),
                                                             self.queue()))
        return sink

    def test_destination_concurrency(self):
        """30 messages for one next hop with queue_destination_concurrency = 2: two
        connections at once, never more."""
        sink = self._flush_many("par-dest", "queue_destination_concurrency = 2",
                                ["one.example"], 30)
        self.assertEqual(sink.max_open, 2, "simultaneous connections to one next hop")

    def test_total_concurrency(self):
        """Three next hops with 30 messages each, queue_concurrency = 2: two connections
        at once in all, never more."""
        sink = self._flush_many("par-total", "queue_concurrency = 2",
                                ["a.example", "b.example", "c.example"], 30)
        self.assertEqual(sink.max_open, 2, "simultaneous connections in all")

    def test_retry_from_end_of_attempt(self):
        """An attempt that times out after 4 s with queue_retry = 3s: the next attempt
        comes about 3 s after the first one ENDED (counted from its start it would be due
        before the first attempt was over, and retried at once)."""
        port = free_port()
        silent = SilentHop(port)
        self.sinks = [silent]
        self.env = relay_env("par-retry", routes="slow.example = 127.0.0.1:%d" % port,
                             server_conf="queue_retry = 3s")
        self.env.start("smtpd", env={"MS_SMTPC_TIMEOUT": "4"})
        self.send(["someone@slow.example"], BODY)
        recs = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(silent.records()), 30)
        self.assertTrue(recs, "no second attempt: %s" % silent.records())
        first_end, second_start = recs[0][1], recs[1][0]
        self.assertIsNotNone(first_end, recs)
        self.assertGreaterEqual(first_end - recs[0][0], 3.5, "the banner timeout is 4 s")
        gap = second_start - first_end
        # whole seconds: the attempt's end is rounded down, so the gap is 2 to 3 s
        self.assertGreater(gap, 1.5, "retried %.2f s after the failed attempt ended" % gap)
        self.assertLess(gap, 8.0, "retry much later than queue_retry after the attempt")


if __name__ == "__main__":
    unittest.main()
