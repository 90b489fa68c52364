"""Mail loops and alias forwarding (issue 12): more than max_hops Received: headers get
554 5.4.6 at DATA (nothing stored); two servers whose aliases forward to each other end
the loop with a 5.4.6 bounce after about max_hops rounds instead of passing the message
back and forth; mail forwarded to an outside address leaves with an SRS envelope
sender, a bounce to that address reaches the original sender, a forged one gets
550 5.1.1, and the null sender stays null."""
import os
import smtplib
import time
import unittest

from tests.e2e.harness import Env, DOMAIN, LAN_IP, REMOTE_IP, free_port, test_cert
from tests.e2e.test_outbound import Sink, wait_for

ALICE = "alice@" + DOMAIN


def message(hops, body_received=0):
    head = "".join("Received: from hop%d.test by relay%d.test; Mon, 1 Jan 2024 00:00:%02d "
                   "+0000\r\n" % (i, i, i % 60) for i in range(hops))
    body = "Received: not a header, just text\r\n" * body_received
    return (head + "Subject: loop test\r\nMessage-ID: <loop-%d@client.test>\r\n\r\n"
            "hello\r\n" % hops + body).encode()


class MaxHops(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        cls.env = Env("loops-hops", sections="[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n")
        cls.env.add_user(ALICE, "Secret-pass-123")
        cls.env.start("smtpd")

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_all()

    def send(self, msg):
        s = self.env.smtp("smtp")
        try:
            s.sendmail("bob@remote.test", [ALICE], msg)
            return 250, b""
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error
        finally:
            s.quit()

    def test_51_received_refused_50_accepted(self):
        before = len(self.env.messages(ALICE))
        code, text = self.send(message(51))
        self.assertEqual(code, 554)
        self.assertIn(b"5.4.6", text)
        self.assertIn(b"Too many hops", text)
        self.assertEqual(len(self.env.messages(ALICE)), before, "nothing stored")
        self.assertEqual(self.send(message(50))[0], 250)
        msgs = self.env.messages(ALICE)
        self.assertEqual(len(msgs), before + 1)
        self.assertIn(b"Message-ID: <loop-50@client.test>", msgs[-1])
        self.assertIn("rejected:", self.env.log("smtpd"))

    def test_received_in_body_not_counted(self):
        self.assertEqual(self.send(message(10, body_received=100))[0], 250)


def conf(data, domain, port, routes, max_hops=5):
    cert, key = test_cert()
    return ("[server]\nhostname = mail.%s\ndomain = %s\ndata_dir = %s\nrun_as_user = mail\n"
            "tls_cert = %s\ntls_key = %s\nmax_hops = %d\nqueue_retry = 1h\n"
            "[routes]\n%s\n[smtp lan]\nlisten = 127.0.0.1:%d\nmax_connections_per_ip = 50\n"
            % (domain, domain, data, cert, key, max_hops, routes, port))


class Forwarding(unittest.TestCase):
    envs = ()
    sinks = ()

    def tearDown(self):
        for s in self.sinks:
            s.stop()
        errors = []
        for e in self.envs:
            try:
                e.stop_all()
            except AssertionError as x:
                errors.append(str(x))
        if errors:
            raise AssertionError("\n".join(errors))

    def make_env(self, name, domain, port, routes, max_hops=5):
        env = Env(name)
        env.write_conf(conf(env.data, domain, port, routes, max_hops))
        env.ports = {"smtp": port}
        return env

    def test_two_servers_forwarding_to_each_other(self):
        """fwd@example.test -> x@b.test -> fwd@example.test -> ...: max_hops (5) ends it
        with a 5.4.6 bounce that goes, through the SRS addresses, to the original
        sender; not hundreds of rounds."""
        pa, pb, ps = free_port(), free_port(), free_port()
        sink = Sink(ps)
        self.sinks = [sink]
        a = self.make_env("loops-a", DOMAIN, pa,
                          "b.test = 127.0.0.1:%d\nsender.test = 127.0.0.1:%d" % (pb, ps))
        b = self.make_env("loops-b", "b.test", pb, "%s = 127.0.0.1:%d" % (DOMAIN, pa))
        self.envs = [a, b]
        a.userdb("alias", "add", "fwd@" + DOMAIN, "x@b.test")
        b.userdb("alias", "add", "x@b.test", "fwd@" + DOMAIN)
        a.start("smtpd")
        b.start("smtpd")
        s = a.smtp("smtp")
        s.sendmail("bob@sender.test", ["fwd@" + DOMAIN], message(0))
        s.quit()
        got = wait_for(lambda: sink.messages, 60)
        self.assertTrue(got, "no bounce reached the original sender")
        time.sleep(1.0)                          # nothing more is on its way
        got = sink.messages
        self.assertEqual(len(got), 1, [m[0] for m in got])
        mail_from, rcpts, content = got[0]
        self.assertIn(mail_from, ("", "<>"))
        self.assertEqual(rcpts, ["bob@sender.test"])
        self.assertIn(b"multipart/report", content)
        self.assertIn(b"Status: 5.4.6", content)
        self.assertIn(b"Too many hops", content)
        self.assertIn(b"Message-ID: <loop-0@client.test>", content)
        # it went round: the message carried max_hops + 1 Received: lines when refused
        log = a.log("smtpd") + b.log("smtpd")
        self.assertGreaterEqual(log.count("forwarded via the queue"), 4)
        self.assertLess(log.count("forwarded via the queue"), 10)
        for env in (a, b):
            self.assertTrue(wait_for(lambda: "queue is empty" in
                                     env.smtpd_cmd("--queue", "list").stdout, 20))

    def test_queue_does_not_pass_on_over_the_limit(self):
        """Relayed mail that arrives with max_hops (5) Received: lines is accepted, but
        with ours it carries 6: the next hop would refuse it, so the queue bounces it
        (5.4.6) to the sender instead of sending it; 4 go out."""
        ps, pa = free_port(), free_port()
        sink = Sink(ps)
        self.sinks = [sink]
        a = self.make_env("loops-queue", DOMAIN, pa, "remote.test = 127.0.0.1:%d" % ps)
        self.envs = [a]
        a.start("smtpd")
        sender = "postmaster@" + DOMAIN
        s = a.smtp("smtp")
        s.sendmail(sender, ["x@remote.test"], message(5))
        s.sendmail(sender, ["y@remote.test"], message(4))
        s.quit()
        dsn = wait_for(lambda: [m for m in a.messages(sender) if b"multipart/report" in m], 30)
        self.assertTrue(dsn, "no bounce to the sender")
        self.assertIn(b"Final-Recipient: rfc822; x@remote.test", dsn[0])
        self.assertIn(b"Status: 5.4.6", dsn[0])
        got = wait_for(lambda: sink.messages, 20)
        self.assertEqual([m[1] for m in got], [["y@remote.test"]])

    def test_forward_refused_bounce_reaches_original_sender(self):
        """The outside address refuses the forwarded mail (550): our own bounce goes to
        the SRS sender, which is ours, and on to the original sender."""
        pbad, pok, pa = free_port(), free_port(), free_port()
        bad, ok = Sink(pbad, mode="perm"), Sink(pok)
        self.sinks = [bad, ok]
        a = self.make_env("loops-refused", DOMAIN, pa, "remote.test = 127.0.0.1:%d\n"
                          "sender.test = 127.0.0.1:%d" % (pbad, pok), max_hops=50)
        self.envs = [a]
        a.userdb("alias", "add", "fwd@" + DOMAIN, "gone@remote.test")
        a.start("smtpd")
        s = a.smtp("smtp")
        s.sendmail("carol@sender.test", ["fwd@" + DOMAIN], message(0))
        s.quit()
        got = wait_for(lambda: ok.messages, 30)
        self.assertTrue(got, "the bounce did not reach the original sender")
        mail_from, rcpts, content = got[0]
        self.assertIn(mail_from, ("", "<>"))
        self.assertEqual(rcpts, ["carol@sender.test"])
        self.assertIn(b"Final-Recipient: rfc822; gone@remote.test", content)
        self.assertIn(b"Status: 5.1.1", content)

    def test_srs_forward_and_bounce_back(self):
        ps = free_port()
        sink = Sink(ps)
        self.sinks = [sink]
        pa = free_port()
        a = self.make_env("loops-srs", DOMAIN, pa,
                          "remote.test = 127.0.0.1:%d\nsender.test = 127.0.0.1:%d" % (ps, ps),
                          max_hops=50)
        self.envs = [a]
        a.userdb("alias", "add", "fwd@" + DOMAIN, "Friend@remote.test")
        a.start("smtpd")
        s = a.smtp("smtp")
        s.sendmail("Bob@sender.test", ["fwd@" + DOMAIN], message(0))
        s.sendmail("", ["fwd@" + DOMAIN], message(1))          # a bounce being forwarded
        s.quit()
        got = wait_for(lambda: len(sink.messages) >= 2 and sink.messages, 30)
        self.assertTrue(got, "the forwards did not arrive")
        by_id = {(b"loop-0" in m[2]): m for m in got}
        srs, rcpts, _ = by_id[True]
        self.assertEqual(rcpts, ["Friend@remote.test"])
        self.assertTrue(srs.startswith("SRS0="), srs)
        self.assertTrue(srs.endswith("=sender.test=Bob@" + DOMAIN), srs)
        self.assertIn(by_id[False][0], ("", "<>"), "the null sender stays null")
        self.assertTrue(os.path.exists(os.path.join(a.data, "srs_secret")))
        self.assertEqual(os.stat(os.path.join(a.data, "srs_secret")).st_mode & 0o777, 0o600)

        # the remote side bounces: from outside, to the SRS address, with <>
        r = smtplib.SMTP(timeout=15, source_address=(REMOTE_IP, 0))
        r.connect("127.0.0.1", pa)
        r.ehlo("mx.remote.test")
        self.assertEqual(r.mail("<>")[0], 250)
        self.assertEqual(r.rcpt(srs)[0], 250)
        self.assertEqual(r.rcpt(srs.lower())[0], 250, "the hash is case-insensitive")
        forged = srs[:5] + ("x" if srs[5].lower() != "x" else "y") + srs[6:]
        code, text = r.rcpt(forged)
        self.assertEqual((code, text[:5]), (550, b"5.1.1"))
        code, text = r.rcpt(srs.replace("=Bob@", "=Eve@"))
        self.assertEqual((code, text[:5]), (550, b"5.1.1"))
        # without SRS this outside client may not relay at all
        self.assertEqual(r.rcpt("someone@sender.test")[0], 550)
        self.assertEqual(r.data(b"Subject: bounce\r\n\r\nyour mail bounced\r\n")[0], 250)
        r.quit()
        back = wait_for(lambda: [m for m in sink.messages if b"your mail bounced" in m[2]], 30)
        self.assertTrue(back, "the bounce did not reach the original sender")
        # both spellings of the SRS address lead to the original sender
        self.assertEqual([x.lower() for x in back[0][1]], ["bob@sender.test"] * 2)
        self.assertIn("Bob@sender.test", back[0][1])


if __name__ == "__main__":
    unittest.main()
