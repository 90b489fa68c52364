"""`userdb status` against known activity (issue 17 item 5): the real daemons make two
local deliveries, refuse one relay attempt from a remote client, count one failed
AUTH (which locks that client out: auth_fail_limit = 1), serve one POP3 login and
keep one message deferred for a dead next hop; the status lines, the --prometheus
exposition (parsed line by line), the metrics_textfile the queue runner writes, and
the verdict and exit code with pop3d stopped (down, 2) are checked against that."""
import base64
import calendar
import os
import re
import subprocess
import time
import unittest

from tests.e2e.harness import Env, EnvTestCase, DOMAIN, LAN_IP, REMOTE_IP, free_port, test_cert

ALICE = "alice@" + DOMAIN
ALICE_PW = "Correct-Horse-7"
SENDER = "postmaster@" + DOMAIN

PROM_LINE = re.compile(r'^(mailserver_[a-z0-9_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
                       r'(-?[0-9]+(\.[0-9]+)?)$')


def wait_for(pred, timeout, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def parse_prom(text):
    """{(name, labels-text): value}, checking the format line by line: HELP and TYPE
    before a family's samples, counters named *_total, every sample a mailserver_ name."""
    samples, types, helped = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            if name not in helped:
                raise AssertionError("TYPE before HELP: " + line)
            if typ == "counter" and not name.endswith("_total"):
                raise AssertionError("a counter not named _total: " + line)
            if typ not in ("counter", "gauge"):
                raise AssertionError("unknown type: " + line)
            types[name] = typ
            continue
        m = PROM_LINE.match(line)
        if not m:
            raise AssertionError("not an exposition line: %r" % line)
        if m.group(1) not in types:
            raise AssertionError("a sample before its HELP/TYPE: " + line)
        samples[(m.group(1), m.group(2) or "")] = float(m.group(4))
    return samples, types


def cert_not_after():
    cert, _ = test_cert()
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert],
                         capture_output=True, text=True, check=True).stdout
    when = out.strip().split("=", 1)[1]
    return calendar.timegm(time.strptime(when, "%b %d %H:%M:%S %Y %Z"))


class StatusTest(EnvTestCase):
    def setUp(self):
        self.dead = free_port()          # the next hop for example.net: nothing listens
        self.prom = None
        env = Env("status",
                  server_conf="auth_fail_limit = 1\nqueue_retry = 1h\n"
                              "metrics_textfile = {prom}\nmetrics_interval = 1s\n",
                  routes="example.net = 127.0.0.1:%d" % self.dead,
                  sections="[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n"
                           "auth_mechanisms = PLAIN LOGIN\nplaintext_auth = always\n\n"
                           "[pop3 main]\nlisten = 127.0.0.1:{port:pop}\n"
                           "plaintext_auth = always\n")
        self.prom = os.path.join(env.dir, "textfile", "mailserver.prom")
        os.makedirs(os.path.dirname(self.prom))
        os.chmod(os.path.dirname(self.prom), 0o777)   # run_as_user writes there
        with open(env.conf) as f:
            text = f.read().replace("{prom}", self.prom)
        env.write_conf(text)
        self.env = env
        env.add_user(ALICE, ALICE_PW, relay=True)
        env.start("smtpd", wait=["smtp"])
        env.start("pop3d", wait=["pop"])

    def status(self, *args):
        return self.env.userdb("status", *args, check=False)

    def activity(self):
        """The known activity; returns the time the deferred message was queued."""
        s = self.env.smtp("smtp", LAN_IP)
        for i in range(2):                                         # 2 local deliveries
            s.sendmail("someone@elsewhere.test", [ALICE],
                       b"Subject: local %d\r\n\r\nhello\r\n" % i)
        queued = time.time()
        s.sendmail(SENDER, ["bob@example.net"], b"Subject: out\r\n\r\nto a dead hop\r\n")
        s.quit()
        s = self.env.smtp("smtp", REMOTE_IP)                       # relay denied
        s.mail("someone@elsewhere.test")
        code, _ = s.rcpt("friend@example.org")
        self.assertEqual(code // 100, 5)
        s.quit()
        s = self.env.smtp("smtp", REMOTE_IP)                       # 1 failed AUTH
        cred = base64.b64encode(b"\0" + ALICE.encode() + b"\0wrong-password-1").decode()
        code, _ = s.docmd("AUTH", "PLAIN " + cred)                 # (smtplib.login would
        self.assertEqual(code, 535)                                #  try LOGIN as well)
        s.quit()
        p = self.env.pop3("pop", LAN_IP)                           # a POP3 login
        p.user(ALICE)
        p.pass_(ALICE_PW)
        p.quit()
        listing = wait_for(lambda: "attempts=1" in self.env.smtpd_cmd("--queue", "list").stdout, 20)
        self.assertTrue(listing, self.env.smtpd_cmd("--queue", "list").stdout)
        return queued

    def test_status_counts_known_activity(self):
        queued = self.activity()
        want = ["deliveries, last hour: local 2, relayed (queued) 1, delivered by the queue 0, "
                "bounced 0, deferred attempts 1", "pop3 logins, last hour: 1",
                "rejections, last hour: relay denied 1, auth failed 1, dnsbl 0, greylist 0, "
                "spf/dmarc 0, content filter 0, other 0"]
        # each daemon rewrites its numbers every 5 s
        r = wait_for(lambda: (lambda r: r if all(w in r.stdout for w in want) else None)(
            self.status()), 20)
        self.assertTrue(r, self.status().stdout)
        out = r.stdout
        self.assertEqual(r.returncode, 0, out)
        lines = out.splitlines()
        self.assertEqual(lines[0], "status: healthy", out)
        smtpd_pid = self.env.procs["smtpd"].pid
        pop3d_pid = self.env.procs["pop3d"].pid
        self.assertRegex(out, r"(?m)^smtpd: up, pid %d, up \d+s, version 1\.0; connections: lan 0$"
                         % smtpd_pid)
        self.assertRegex(out, r"(?m)^pop3d: up, pid %d, up \d+s, version 1\.0; connections: main 0$"
                         % pop3d_pid)
        self.assertRegex(out, r"(?m)^queue runner: up, pid \d+, up \d+s, version 1\.0$")
        m = re.search(r"(?m)^queue: 1 message\(s\), 1 deferred, the oldest for (\d+)s$", out)
        self.assertTrue(m, out)
        age = time.time() - queued
        self.assertLessEqual(abs(int(m.group(1)) - age), 3, out)
        self.assertIn("lockouts: 1 locked IP(s)", out)             # 127.0.0.9
        self.assertIn("store: ok", out)
        days = int((cert_not_after() - time.time()) // 86400)
        m = re.search(r"(?m)^tls_cert: .*cert\.pem: expires (\d{4}-\d\d-\d\d) \((\d+) days left\)$", out)
        self.assertTrue(m, out)
        self.assertLessEqual(abs(int(m.group(2)) - days), 1, out)

        # the same numbers for Prometheus
        r = self.status("--prometheus")
        self.assertEqual(r.returncode, 0, r.stderr)
        samples, types = parse_prom(r.stdout)
        for key, value in [
                (("mailserver_health", ""), 0),
                (("mailserver_up", '{daemon="smtpd"}'), 1),
                (("mailserver_up", '{daemon="pop3d"}'), 1),
                (("mailserver_up", '{daemon="queue"}'), 1),
                (("mailserver_deliveries_total", '{daemon="smtpd",kind="local"}'), 2),
                (("mailserver_deliveries_total", '{daemon="smtpd",kind="queued"}'), 1),
                (("mailserver_deliveries_total", '{daemon="queue",kind="deferred"}'), 1),
                (("mailserver_deliveries_last_hour", '{daemon="smtpd",kind="local"}'), 2),
                (("mailserver_rejections_total", '{daemon="smtpd",reason="relay"}'), 1),
                (("mailserver_rejections_total", '{daemon="smtpd",reason="auth"}'), 1),
                (("mailserver_rejections_total", '{daemon="smtpd",reason="dnsbl"}'), 0),
                (("mailserver_rejections_last_hour", '{daemon="smtpd",reason="relay"}'), 1),
                (("mailserver_pop3_logins_total", ""), 1),
                (("mailserver_connections", '{daemon="smtpd",instance="lan"}'), 0),
                (("mailserver_queue_messages", ""), 1),
                (("mailserver_queue_deferred_messages", ""), 1),
                (("mailserver_lockouts", ""), 1),
                (("mailserver_store_healthy", ""), 1),
                (("mailserver_tls_cert_expiry_timestamp_seconds", ""), cert_not_after())]:
            self.assertEqual(samples.get(key), value, "%s in\n%s" % (key, r.stdout))
        self.assertEqual(types["mailserver_rejections_total"], "counter")
        self.assertEqual(types["mailserver_queue_messages"], "gauge")
        age = samples[("mailserver_queue_oldest_deferred_age_seconds", "")]
        self.assertLessEqual(abs(age - (time.time() - queued)), 3)

        # the textfile for node_exporter, rewritten by the queue runner
        def textfile():
            try:
                with open(self.prom) as f:
                    s, _ = parse_prom(f.read())
            except FileNotFoundError:
                return None
            return s if s.get(("mailserver_deliveries_total",
                               '{daemon="smtpd",kind="local"}')) == 2 else None
        s = wait_for(textfile, 15)
        self.assertTrue(s, "no textfile with the numbers at " + self.prom)
        self.assertEqual(s[("mailserver_queue_messages", "")], 1)
        self.assertEqual(s[("mailserver_rejections_total", '{daemon="smtpd",reason="relay"}')], 1)
        self.assertEqual(os.stat(self.prom).st_mode & 0o777, 0o644)
        self.assertFalse(os.path.exists(self.prom + ".tmp"))

    def test_pop3d_down(self):
        r = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(self.status()), 15)
        self.assertTrue(r, self.status().stdout)
        self.env.stop("pop3d")
        r = self.status()
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertRegex(r.stdout, r"^status: down \(pop3d is down\)\n")
        self.assertRegex(r.stdout, r"(?m)^pop3d: down \(stopped at \d{4}-\d\d-\d\d ")
        self.assertRegex(r.stdout, r"(?m)^smtpd: up, ")
        samples, _ = parse_prom(self.status("--prometheus").stdout)
        self.assertEqual(samples[("mailserver_up", '{daemon="pop3d"}')], 0)
        self.assertEqual(samples[("mailserver_health", "")], 2)
        # killed, not stopped: the pid is gone, the file stays
        self.env.start("pop3d", wait=["pop"])
        wait_for(lambda: self.status().returncode == 0, 15)
        self.env.kill9("pop3d")
        r = self.status()
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^pop3d: down \(last seen ")


class StatusCertTest(EnvTestCase):
    def test_certificate_expiring_soon_is_degraded(self):
        """A tls_cert with 5 days left: degraded, exit 1, the warning on its line."""
        env = Env("status-cert", sections="[smtp lan]\nlisten = 127.0.0.1:{port:smtp}\n")
        self.env = env
        cert, key = os.path.join(env.dir, "soon.pem"), os.path.join(env.dir, "soon.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "5", "-subj", "/CN=mail.example.test"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o644)
        with open(env.conf) as f:
            text = re.sub(r"(?m)^tls_cert = .*$", "tls_cert = " + cert, f.read())
            text = re.sub(r"(?m)^tls_key = .*$", "tls_key = " + key, text)
        env.write_conf(text)
        env.start("smtpd")
        r = wait_for(lambda: (lambda r: r if "queue runner: up" in r.stdout else None)(
            env.userdb("status", check=False)), 15)
        self.assertTrue(r, env.userdb("status", check=False).stdout)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stdout, r"^status: degraded \(tls_cert expires in [45] days\)\n")
        self.assertRegex(r.stdout, r"(?m)^tls_cert: .*soon\.pem: expires \S+ \([45] days left\) WARNING$")
        self.assertNotIn("pop3d", r.stdout)            # no [pop3] instance: not expected
        samples, _ = parse_prom(env.userdb("status", "--prometheus", check=False).stdout)
        self.assertEqual(samples[("mailserver_health", "")], 1)


if __name__ == "__main__":
    unittest.main()
