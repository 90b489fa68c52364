"""Outbound delivery end to end (issue 5): relayed mail goes from smtpd's queue to a real
SMTP sink on loopback (aiosmtpd) through [routes] and through relayhost, byte-exact;
with the sink down it is deferred (and listed with its error) and delivered by a flush
once the sink is up; a 5xx and lifetime expiry bounce an RFC 3464 DSN into the local
sender's Maildir (never to <>); kill -9 of smtpd during deliveries loses nothing."""
import os
import re
import ssl
import threading
import time
import unittest

from aiosmtpd.controller import Controller

from tests.e2e.harness import Env, DOMAIN, free_port, test_cert

SENDER = "postmaster@" + DOMAIN     # always a local mailbox, even without userdb users
os.environ.setdefault("MS_SMTPC_TIMEOUT", "10")


class SinkHandler:
    """Answers RCPT and DATA according to mode: 'ok', 'temp' (451) or 'perm' (550)."""

    def __init__(self, mode="ok", delay=0.0):
        self.mode = mode
        self.delay = delay
        self.messages = []          # (mail_from, [rcpts], content bytes)
        self.tls = []               # per message: did it arrive over STARTTLS?
        self.ehlos = 0              # EHLO commands seen
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "temp":
            return "451 4.3.0 try again later"
        if self.mode == "perm":
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.ehlos += 1          # one per connection when there is no STARTTLS
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)  # a slow remote: keeps deliveries in flight
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
            self.tls.append(session.ssl is not None)
        return "250 2.0.0 OK queued"


class Sink:
    def __init__(self, port, mode="ok", delay=0.0, tls=False):
        self.handler = SinkHandler(mode, delay)
        kw = {}
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*test_cert())
            kw = {"tls_context": ctx, "require_starttls": True}
        self.ctl = Controller(self.handler, hostname="127.0.0.1", port=port,
                              data_size_limit=0, decode_data=False, **kw)
        self.ctl.start()

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def stop(self):
        self.ctl.stop()


def wait_for(pred, timeout=30.0, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def relay_env(name, routes="", server_conf=""):
    return Env(name, server_conf=server_conf, routes=routes,
               sections="[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n"
                        "max_connections_per_ip = 50\n")


BODY = (b"Subject: outbound test\r\nMessage-ID: <out-1@client.test>\r\n\r\n"
        b"first line\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\n"
        b"trailing spaces   \r\n" + b"x" * 990 + b"\r\n\r\nlast line\r\n")


class OutboundCase(unittest.TestCase):
    """An env with smtpd relaying to sinks (self.sinks: anything with stop())."""
    env = None
    sinks = ()

    def tearDown(self):
        for s in self.sinks:
            try:
                s.stop()
            except Exception:
                pass
        if self.env is not None:
            self.env.stop_all()

    # ---- helpers ------------------------------------------------------------
    def send(self, rcpts, body=BODY, sender=SENDER):
        s = self.env.smtp("smtp")
        try:
            s.sendmail(sender, rcpts, body)
        finally:
            s.quit()

    def queue(self, what="list"):
        r = self.env.smtpd_cmd("--queue", what)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def queue_empty(self):
        return "queue is empty" in self.queue()

    def dsns(self, addr=SENDER):
        return [m for m in self.env.messages(addr) if b"multipart/report" in m]


class Outbound(OutboundCase):
    # ---- tests --------------------------------------------------------------
    def test_routes_byte_exact(self):
        port = free_port()
        sink = Sink(port)
        self.sinks = [sink]
        self.env = relay_env("out-routes", routes="example.net = 127.0.0.1:%d" % port)
        self.env.start("smtpd")
        self.send(["bob@example.net", "carol@example.net"])
        got = wait_for(lambda: sink.messages, 20)
        self.assertTrue(got, "nothing arrived at the sink")
        self.assertEqual(len(got), 1, "both recipients in one transaction")
        mail_from, rcpts, content = got[0]
        self.assertEqual(mail_from, SENDER)
        self.assertEqual(sorted(rcpts), ["bob@example.net", "carol@example.net"])
        self.assertTrue(content.startswith(b"Received: "), content[:200])
        self.assertTrue(content.endswith(BODY), content[-300:])
        self.assertNotIn(b"Return-Path", content)
        # CRLF everywhere on the wire: no bare LF survived
        self.assertEqual(content.count(b"\n"), content.count(b"\r\n"))
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())

    def test_starttls_when_offered(self):
        port = free_port()
        sink = Sink(port, tls=True)     # refuses MAIL before STARTTLS
        self.sinks = [sink]
        self.env = relay_env("out-tls", routes="example.net = 127.0.0.1:%d" % port)
        self.env.start("smtpd")
        self.send(["bob@example.net"])
        got = wait_for(lambda: sink.messages, 20)
        self.assertTrue(got, "not delivered over STARTTLS: " + self.queue())
        self.assertEqual(sink.handler.tls, [True])
        self.assertTrue(got[0][2].endswith(BODY))

    def test_relayhost(self):
        port = free_port()
        sink = Sink(port)
        self.sinks = [sink]
        self.env = relay_env("out-relayhost", server_conf="relayhost = 127.0.0.1:%d" % port)
        self.env.start("smtpd")
        self.send(["someone@elsewhere.example"])
        got = wait_for(lambda: sink.messages, 20)
        self.assertTrue(got, "nothing arrived at the relayhost")
        self.assertEqual(got[0][1], ["someone@elsewhere.example"])
        self.assertTrue(got[0][2].endswith(BODY))
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())

    def test_deferred_then_flush(self):
        port = free_port()          # nothing listens there yet
        self.env = relay_env("out-defer", routes="example.net = 127.0.0.1:%d" % port,
                             server_conf="queue_retry = 1h")
        self.env.start("smtpd")
        self.send(["bob@example.net"])
        listing = wait_for(lambda: (lambda t: t if "refused" in t.lower() else None)(self.queue()), 20)
        self.assertTrue(listing, self.queue())
        line = [ln for ln in listing.splitlines() if "bob@example.net" in ln][0]
        self.assertIn("from=<%s>" % SENDER, line)
        self.assertIn("to=<bob@example.net>:pending(attempts=1", line)
        self.assertRegex(line, r"age=\d+s size=\d+ ")
        time.sleep(1.5)
        self.assertIn("bob@example.net", self.queue(), "retried although queue_retry is 1h")
        sink = Sink(port)
        self.sinks = [sink]
        out = self.queue("flush")
        self.assertIn("flush requested", out)
        got = wait_for(lambda: sink.messages, 20)
        self.assertTrue(got, "not delivered after the flush: " + self.queue())
        self.assertTrue(got[0][2].endswith(BODY))
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())

    def test_one_connection_for_several_messages(self):
        """Three deferred messages for one next hop leave over one connection
        (EHLO once, RSET between messages), each to its own recipient."""
        port = free_port()
        self.env = relay_env("out-reuse", routes="example.net = 127.0.0.1:%d" % port,
                             server_conf="queue_retry = 1h")
        self.env.start("smtpd")
        rcpts = ["r%d@example.net" % i for i in range(3)]
        for r in rcpts:
            self.send([r])
        self.assertTrue(wait_for(lambda: self.queue().lower().count("refused") >= 3, 20),
                        self.queue())
        sink = Sink(port)
        self.sinks = [sink]
        self.queue("flush")
        got = wait_for(lambda: len(sink.messages) >= 3 and sink.messages, 20)
        self.assertTrue(got, "not all delivered: " + self.queue())
        self.assertEqual(sorted(m[1][0] for m in got), rcpts)
        self.assertEqual(sink.handler.ehlos, 1, "one connection per message, not reused")
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())

    def test_5xx_bounces_to_local_sender(self):
        port = free_port()
        sink = Sink(port, mode="perm")
        self.sinks = [sink]
        self.env = relay_env("out-5xx", routes="example.net = 127.0.0.1:%d" % port)
        self.env.start("smtpd")
        self.send(["nobody@example.net"])
        dsn = wait_for(self.dsns, 20)
        self.assertTrue(dsn, "no DSN in the sender's Maildir")
        m = dsn[0]
        self.assertTrue(m.startswith(b"Return-Path: <>\n"), m[:100])
        self.assertIn(b"From: Mail Delivery System <MAILER-DAEMON@mail.example.test>", m)
        self.assertIn(b"Content-Type: multipart/report; report-type=delivery-status", m)
        self.assertIn(b"Final-Recipient: rfc822; nobody@example.net\nAction: failed\nStatus: 5.1.1", m)
        self.assertIn(b"Diagnostic-Code: smtp; 550 5.1.1", m)
        self.assertIn(b"Content-Type: text/rfc822-headers", m)
        self.assertIn(b"Subject: outbound test", m)          # the original headers
        self.assertNotIn(b"last line", m)                    # not the body
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())
        self.assertEqual(sink.messages, [])

    def test_null_sender_never_bounced(self):
        port = free_port()
        sink = Sink(port, mode="perm")
        self.sinks = [sink]
        self.env = relay_env("out-null", routes="example.net = 127.0.0.1:%d" % port)
        self.env.start("smtpd")
        self.send(["nobody@example.net"], sender="")
        self.assertTrue(wait_for(self.queue_empty, 20), self.queue())
        time.sleep(1)
        self.assertEqual(self.dsns(), [])
        self.assertIn("null sender: no DSN", self.env.log("smtpd"))

    def test_lifetime_expiry_bounces(self):
        port = free_port()          # never up
        self.env = relay_env("out-expire", routes="example.net = 127.0.0.1:%d" % port,
                             server_conf="queue_retry = 1s\nqueue_lifetime = 3s")
        self.env.start("smtpd")
        self.send(["late@example.net"])
        dsn = wait_for(self.dsns, 30)
        self.assertTrue(dsn, "no bounce after the lifetime: " + self.queue())
        m = dsn[0]
        self.assertIn(b"Final-Recipient: rfc822; late@example.net\nAction: failed", m)
        self.assertIn(b"delivery time expired", m)
        self.assertIn(b"refused", m.lower())
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())

    def test_kill9_loses_nothing(self):
        port = free_port()
        sink = Sink(port, delay=0.3)
        self.sinks = [sink]
        self.env = relay_env("out-kill9", routes="example.net = 127.0.0.1:%d" % port,
                             server_conf="queue_retry = 1s")
        self.env.start("smtpd")
        tags = ["k9-%02d" % i for i in range(12)]
        for t in tags:
            body = b"Subject: %s\r\n\r\nbody of %s\r\n" % (t.encode(), t.encode())
            self.send(["r1@example.net", "r2@example.net"], body=body)
        wait_for(lambda: len(sink.messages) >= 2, 20, 0.05)
        self.env.kill9("smtpd")        # in the middle of the deliveries
        time.sleep(0.5)
        self.env.start("smtpd")

        def all_arrived():
            seen = set()
            for _, rcpts, content in sink.messages:
                s = re.search(rb"Subject: (\S+)", content)
                if s:
                    for r in rcpts:
                        seen.add((s.group(1).decode(), r))
            return all((t, r) in seen for t in tags for r in ("r1@example.net", "r2@example.net"))
        self.assertTrue(wait_for(all_arrived, 60), "lost: %s" % self.queue())
        self.assertTrue(wait_for(self.queue_empty, 10), self.queue())


if __name__ == "__main__":
    unittest.main()
