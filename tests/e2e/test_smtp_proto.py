"""SMTP protocol end to end (RFC 5321, SPEC.md "SMTP"): banner, EHLO, sequencing,
pipelining, line limits, smuggling, dot-unstuffing, sizes, recipients limit, the simple
commands, idle timeout, trace headers and domain aliases."""
import os
import re
import socket
import time
import unittest

from tests.e2e.harness import Env, LAN_IP, REMOTE_IP, DOMAIN

HOST = "mail.example.test"


class Raw:
    """A byte-exact SMTP client on a plain socket."""

    def __init__(self, port, source=LAN_IP, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                             source_address=(source, 0))
        self.buf = b""
        self.banner = self.reply()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed; pending %r" % self.buf)
            self.buf += d
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode("latin1")

    def reply(self):
        """(code, full text of all lines)."""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return int(ln[:3]), "".join(lines)

    def cmd(self, text):
        self.send(text.encode("latin1") + b"\r\n")
        return self.reply()

    def closed(self, wait=5):
        """True if the server closes the connection (reads until EOF)."""
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def body_of(stored):
    """A stored message without its Return-Path and Received: header."""
    m = re.match(rb"Return-Path: <[^>]*>\nReceived: [^\n]*\n(\t[^\n]*\n)*", stored)
    assert m, stored[:300]
    return stored[m.end():]


class SmtpProto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = Env("smtp-proto", server_conf="domain_aliases = alias.test\nmax_message_size = 100K\n",
                  sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\ntls = starttls\n"
                           "max_recipients = 3\n\n"
                           "[smtp short]\nlisten = 127.0.0.1:{port:short}\ntimeout = 2s\n"
                           "max_connections_per_ip = 1\ndeny_clients = 127.0.0.9\n")
        cls.env = env
        env.add_user("alice@" + DOMAIN, "Correct-Horse-42")
        env.add_user("bob@" + DOMAIN, "Battery-Staple-43")
        env.start("smtpd")
        cls.port = env.ports["smtp"]

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_all()

    def raw(self, ehlo=True, source=LAN_IP):
        r = Raw(self.port, source=source)
        self.addCleanup(r.close)
        if ehlo:
            self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        return r

    def count(self, addr):
        return len(self.env.messages(addr))

    # ---- greeting and EHLO --------------------------------------------------
    def test_banner(self):
        r = self.raw(ehlo=False)
        self.assertEqual(r.banner, (220, "220 %s ESMTP mailserver\r\n" % HOST))

    def test_ehlo_keywords(self):
        r = self.raw(ehlo=False)
        code, text = r.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        lines = text.split("\r\n")[:-1]
        self.assertEqual(lines[0], "250-" + HOST)
        kw = [l[4:] for l in lines[1:]]
        for want in ("PIPELINING", "SIZE 102400", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS"):
            self.assertIn(want, kw)
        self.assertTrue(lines[-1].startswith("250 "))
        self.assertTrue(all(l.startswith("250-") for l in lines[:-1]))
        # from the LAN (secure_networks) the plaintext mechanisms are offered
        self.assertIn("AUTH SCRAM-SHA-256 CRAM-MD5 LOGIN PLAIN", kw)

    def test_ehlo_reply_in_one_segment(self):
        r = self.raw(ehlo=False)
        r.send(b"EHLO client.test\r\n")
        time.sleep(0.3)
        data = r.sock.recv(65536)
        self.assertTrue(data.startswith(b"250-"), data)
        self.assertRegex(data.decode(), r"\r\n250 [^\r\n]+\r\n$")

    def test_helo(self):
        r = self.raw(ehlo=False)
        self.assertEqual(r.cmd("HELO client.test"), (250, "250 %s\r\n" % HOST))
        self.assertEqual(r.cmd("HELO")[0], 501)

    # ---- sequencing -----------------------------------------------------------
    def test_sequencing_503(self):
        r = self.raw(ehlo=False)
        code, text = r.cmd("MAIL FROM:<a@remote.test>")
        self.assertEqual(code, 503)
        self.assertIn("5.5.1", text)
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 503)
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 503)
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.test>")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.test>")[0], 503)   # nested
        self.assertEqual(r.cmd("DATA")[0], 503)                        # no RCPT yet
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)

    def test_unknown_and_unimplemented(self):
        r = self.raw()
        code, text = r.cmd("FROB x")
        self.assertEqual(code, 500)
        self.assertIn("5.5.2", text)
        self.assertEqual(r.cmd("EXPN staff")[0], 502)
        self.assertEqual(r.cmd("NOOP")[0], 250)

    # ---- pipelining -------------------------------------------------------------
    def test_pipelining(self):
        r = self.raw()
        before = self.count("alice@" + DOMAIN)
        r.send(b"MAIL FROM:<p@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
               b"RCPT TO:<nobody@example.test>\r\nDATA\r\n")
        time.sleep(0.5)
        data = r.sock.recv(65536).decode()
        codes = [l[:3] for l in data.split("\r\n") if l]
        self.assertEqual(codes, ["250", "250", "550", "354"], data)   # together, in order
        self.assertIn("550 5.1.1", data)
        r.send(b"Subject: pipelined\r\n\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 221)
        self.assertEqual(self.count("alice@" + DOMAIN), before + 1)

    # ---- line length ------------------------------------------------------------
    def test_long_line_tail_not_executed(self):
        r = self.raw()
        ok = "NOOP " + "x" * 505               # 510 octets + CRLF = 512: allowed
        self.assertEqual(r.cmd(ok)[0], 250)
        r.send(b"NOOP " + b"x" * 507 + b"QUIT\r\n")   # 516 octets: the QUIT must not run
        code, text = r.reply()
        self.assertEqual(code, 500)
        self.assertIn("5.5.2", text)
        self.assertEqual(r.cmd("NOOP")[0], 250)      # still connected: QUIT was not executed
        self.assertEqual(r.cmd("MAIL FROM:<l@remote.test>")[0], 250)
        r.send(b"NOOP " + b"y" * 600 + b"RSET\r\n")
        self.assertEqual(r.reply()[0], 500)
        # the transaction survived (RSET not executed): RCPT is still in sequence
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        r.send(b"NOOP " + b"z" * 20000 + b"QUIT\r\n")  # beyond any buffer
        self.assertEqual(r.reply()[0], 500)
        self.assertEqual(r.cmd("RSET")[0], 250)

    # ---- DATA ---------------------------------------------------------------------
    def send_raw_message(self, r, rcpt, data):
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<%s>" % rcpt)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(data)
        return r.reply()

    def test_smuggling_variants(self):
        for bad in (b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n", b"\r\n.\r"):
            with self.subTest(bad=bad):
                r = self.raw()
                a0, b0 = self.count("alice@" + DOMAIN), self.count("bob@" + DOMAIN)
                data = (b"Subject: smuggle\r\n\r\nhello" + bad +
                        b"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
                        b"DATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
                code, text = self.send_raw_message(r, "alice@" + DOMAIN, data)
                self.assertEqual(code, 550, text)
                self.assertIn("5.6.0", text)
                # nothing else was answered: the next reply is the one for NOOP
                self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 Ok\r\n"))
                time.sleep(0.2)
                self.assertEqual(self.count("alice@" + DOMAIN), a0)
                self.assertEqual(self.count("bob@" + DOMAIN), b0)

    def test_dot_unstuffing_byte_exact(self):
        r = self.raw()
        data = (b"Subject: dots\r\n\r\n..one\r\n...two\r\n.\t.three\r\nplain\r\n\r\n"
                b"\xc3\xa9 8bit\r\n.\r\n")
        code, text = self.send_raw_message(r, "bob@" + DOMAIN, data)
        self.assertEqual(code, 250, text)
        stored = self.env.messages("bob@" + DOMAIN)
        match = [m for m in stored if b"Subject: dots" in m]
        self.assertEqual(len(match), 1)
        # RFC 5321 4.5.2: a leading period is removed whatever follows it
        self.assertEqual(body_of(match[0]),
                         b"Subject: dots\n\n.one\n..two\n\t.three\nplain\n\n\xc3\xa9 8bit\n")
        self.assertNotIn(b"\r", match[0])

    def test_empty_message(self):
        r = self.raw()
        code, _ = self.send_raw_message(r, "bob@" + DOMAIN, b".\r\n")
        self.assertEqual(code, 250)

    def test_long_text_lines_kept(self):
        r = self.raw()
        a, b = b"a" * 998, b"b" * 3000
        data = b"Subject: long\r\n\r\n" + a + b"\r\n" + b + b"\r\n.\r\n"
        code, text = self.send_raw_message(r, "bob@" + DOMAIN, data)
        self.assertEqual(code, 250, text)
        match = [m for m in self.env.messages("bob@" + DOMAIN) if b"Subject: long" in m]
        self.assertEqual(len(match), 1)
        self.assertEqual(body_of(match[0]), b"Subject: long\n\n" + a + b"\n" + b + b"\n")

    def test_size_limits(self):
        r = self.raw()
        code, text = r.cmd("MAIL FROM:<s@remote.test> SIZE=200000")
        self.assertEqual(code, 552)
        self.assertIn("5.3.4", text)
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test> SIZE=1000")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        before = self.count("bob@" + DOMAIN)
        big = b"Subject: big\r\n\r\n" + (b"z" * 99 + b"\r\n") * 1100 + b".\r\n"
        code, text = self.send_raw_message(r, "bob@" + DOMAIN, big)
        self.assertEqual(code, 552, text)
        self.assertIn("5.3.4", text)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(self.count("bob@" + DOMAIN), before)

    def test_max_recipients(self):
        r = self.raw()
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        for i in range(3):
            self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        code, text = r.cmd("RCPT TO:<bob@%s>" % DOMAIN)
        self.assertEqual(code, 452)
        self.assertIn("4.5.3", text)

    def test_rset_vrfy_help_noop_quit(self):
        r = self.raw()
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("RSET"), (250, "250 2.0.0 Ok\r\n"))
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 503)   # transaction gone
        code, text = r.cmd("VRFY alice")
        self.assertEqual(code, 252)
        self.assertIn("2.0.0", text)
        self.assertEqual(r.cmd("HELP")[0], 214)
        self.assertEqual(r.cmd("NOOP anything")[0], 250)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        self.assertTrue(r.closed())

    def test_null_sender_and_source_route(self):
        r = self.raw()
        self.assertEqual(r.cmd("MAIL FROM:<>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<@relay.test,@other.test:alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: bounce\r\n\r\nx\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        m = [x for x in self.env.messages("alice@" + DOMAIN) if b"Subject: bounce" in x]
        self.assertEqual(len(m), 1)
        self.assertTrue(m[0].startswith(b"Return-Path: <>\n"))

    def test_idle_timeout(self):
        r = Raw(self.env.ports["short"])
        self.addCleanup(r.close)
        r.cmd("EHLO client.test")
        r.sock.settimeout(10)
        code, text = r.reply()
        self.assertEqual((code, text), (421, "421 4.4.2 %s Error: timeout exceeded\r\n" % HOST))
        self.assertTrue(r.closed())

    def test_refusals_at_connect(self):
        s = socket.create_connection(("127.0.0.1", self.env.ports["short"]), 10,
                                     source_address=(REMOTE_IP, 0))
        self.addCleanup(s.close)
        self.assertTrue(s.makefile("rb").readline().startswith(b"554 5.7.1 "))
        first = Raw(self.env.ports["short"])           # the one allowed connection
        self.addCleanup(first.close)
        s2 = socket.create_connection(("127.0.0.1", self.env.ports["short"]), 10)
        self.addCleanup(s2.close)
        self.assertTrue(s2.makefile("rb").readline().startswith(b"421 4.7.0 "))

    # ---- what is stored -------------------------------------------------------------
    def test_trace_headers(self):
        r = self.raw()
        self.assertEqual(r.cmd("MAIL FROM:<Trace@Remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: trace\r\n\r\nx\r\n.\r\n")
        code, text = r.reply()
        self.assertEqual(code, 250)
        qid = re.search(r"queued as (\S+)", text).group(1)
        m = [x for x in self.env.messages("alice@" + DOMAIN) if b"Subject: trace" in x][0]
        head = m.decode()
        self.assertRegex(head, r"^Return-Path: <Trace@Remote.test>\nReceived: from client\.test "
                               r"\(unknown \[127\.0\.0\.1\]\)\n\tby mail\.example\.test with ESMTP "
                               r"id %s\n\tfor <alice@example\.test>; \w{3}, \d\d \w{3} \d{4} "
                               r"\d\d:\d\d:\d\d [+-]\d{4}\nSubject: trace\n" % re.escape(qid))
        self.assertIn("accepted: id=%s" % qid, self.env.log("smtpd"))

    def test_helo_received_says_smtp(self):
        r = self.raw(ehlo=False)
        self.assertEqual(r.cmd("HELO old.client")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<h@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<bob@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: helo-trace\r\n\r\nx\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        m = [x for x in self.env.messages("bob@" + DOMAIN) if b"Subject: helo-trace" in x][0]
        self.assertIn(b"Received: from old.client (unknown [127.0.0.1])\n\tby mail.example.test"
                      b" with SMTP id ", m)
        self.assertNotIn(b"\tfor <", m)   # several recipients: not named

    def test_domain_alias_same_maildir(self):
        r = self.raw()
        before = self.count("alice@" + DOMAIN)
        self.assertEqual(r.cmd("MAIL FROM:<d@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@alias.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<ALICE@example.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: alias\r\n\r\nx\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(self.count("alice@" + DOMAIN), before + 1)   # one copy, same Maildir
        self.assertFalse(os.path.exists(os.path.join(self.env.data, "mail", "alias.test")))
        new = os.path.join(self.env.maildir("alice@" + DOMAIN), "new")
        for n in os.listdir(new):
            self.assertRegex(n, r"^\d+\.M\d+P\d+Q\d+\.mail\.example\.test,S=\d+,W=\d+$")
            st = os.stat(os.path.join(new, n))
            size, wire = map(int, re.search(r",S=(\d+),W=(\d+)", n).groups())
            self.assertEqual(st.st_size, size)
            with open(os.path.join(new, n), "rb") as f:
                self.assertEqual(wire, size + f.read().count(b"\n"))

    def test_unknown_user(self):
        r = self.raw()
        self.assertEqual(r.cmd("MAIL FROM:<u@remote.test>")[0], 250)
        code, text = r.cmd("RCPT TO:<nobody@%s>" % DOMAIN)
        self.assertEqual(code, 550)
        self.assertIn("5.1.1", text)

    def test_smtplib_and_swaks(self):
        import smtplib
        import subprocess
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=10, source_address=(LAN_IP, 0))
        s.sendmail("lib@remote.test", ["bob@" + DOMAIN], b"Subject: via smtplib\r\n\r\nbody\r\n")
        s.quit()
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.port),
                            "--from", "sw@remote.test", "--to", "bob@" + DOMAIN,
                            "--header", "Subject: via swaks", "--body", "hello"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        subjects = b"".join(self.env.messages("bob@" + DOMAIN))
        self.assertIn(b"Subject: via smtplib", subjects)
        self.assertIn(b"Subject: via swaks", subjects)


class SmtpRelayHandoff(unittest.TestCase):
    """A message with local and relayed recipients: the local copy has Return-Path, the
    relayed one goes through the queue (tried at once) to the [routes] next hop."""

    def test_mixed_recipients(self):
        from aiosmtpd.controller import Controller
        got = []

        class Sink:
            async def handle_DATA(self, server, session, envelope):
                got.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                return "250 2.0.0 Ok"

        from tests.e2e.harness import free_port
        sink_port = free_port()
        env = Env("smtp-relay", sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\n",
                  routes="far.test = 127.0.0.1:%d" % sink_port)
        self.addCleanup(env.stop_all)
        sink = Controller(Sink(), hostname="127.0.0.1", port=sink_port)
        sink.start()
        self.addCleanup(sink.stop)
        env.add_user("alice@" + DOMAIN, "Correct-Horse-42")
        env.start("smtpd", wait=["smtp"])
        r = Raw(env.ports["smtp"])
        self.addCleanup(r.close)
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<y@far.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: mixed\r\n\r\nx\r\n..y\r\n.\r\n")
        code, text = r.reply()
        self.assertEqual(code, 250, text)
        qid = re.search(r"queued as (\S+)", text).group(1)
        self.assertIn("accepted: id=%s size=" % qid, env.log("smtpd"))
        self.assertRegex(env.log("smtpd"), r"accepted: id=%s size=\d+ from=<alice@%s> rcpts=2 "
                                           r"local=1 relay=1" % (qid, DOMAIN))
        local = env.messages("alice@" + DOMAIN)
        self.assertEqual(len(local), 1)
        self.assertTrue(local[0].startswith(b"Return-Path: <alice@example.test>\nReceived: "))
        end = time.time() + 20
        while not got and time.time() < end:
            time.sleep(0.1)
        self.assertEqual(len(got), 1, "the relayed copy did not reach the next hop")
        sender, rcpts, content = got[0]
        self.assertEqual((sender, rcpts), ("alice@" + DOMAIN, ["y@far.test"]))
        self.assertTrue(content.startswith(b"Received: from client.test"), content[:200])
        self.assertNotIn(b"Return-Path", content)
        self.assertTrue(content.endswith(b"Subject: mixed\r\n\r\nx\r\n.y\r\n"), content)


class SmtpdCommandLine(unittest.TestCase):
    """main.c: the open-relay refusal at start, --check-config and --test-relay."""

    def test_open_relay_refused_at_start(self):
        import subprocess
        from tests.e2e.harness import BIN
        env = Env("smtp-openrelay", sections="[smtp open]\nlisten = 0.0.0.0:{port:open}\n"
                                             "relay_outside_lan = yes\n")
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("error:", r.stdout + r.stderr)
        p = subprocess.run([os.path.join(BIN, "smtpd"), "-c", env.conf, "-f"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("open relay", p.stdout + p.stderr)
        with open(env.conf, "a") as f:
            f.write("allow_open_relay = yes\n")
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("warning:", r.stdout)

    def test_test_relay(self):
        env = Env("smtp-testrelay", sections="[smtp main]\nlisten = 127.0.0.1:{port:smtp}\n")
        r = env.smtpd_cmd("--test-relay", "main", "--client", REMOTE_IP, "--from",
                          "x@remote.test", "--to", "y@far.test")
        self.assertEqual((r.returncode, r.stdout.strip()),
                         (1, "REJECT 550 5.7.1 rule=denied Relaying denied"))
        r = env.smtpd_cmd("--test-relay", "main", "--client", LAN_IP, "--to", "y@far.test")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ACCEPT rule=lan_and_sender"))


if __name__ == "__main__":
    unittest.main()
