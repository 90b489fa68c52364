"""smtpd --check-config (policy lines, open-relay errors/warnings, other warnings, exit
codes), the daemon's refusal to start an open relay, and smtpd --test-relay output and
exit codes against the live store."""
import os
import subprocess
import unittest

from tests.e2e import harness
from tests.e2e.harness import Env, EnvTestCase


def have(binary):
    return os.path.exists(os.path.join(harness.BIN, binary))


class CheckConfig(EnvTestCase):
    def check(self, sections, server_conf=""):
        self.env = Env("checkconf", server_conf=server_conf, sections=sections)
        r = self.env.smtpd_cmd("--check-config")
        for mark in harness.SANITIZER_MARKS:
            self.assertNotIn(mark, r.stderr)
        lines = r.stdout.splitlines()
        return r.returncode, lines

    @staticmethod
    def findings(lines, kind):
        return [l for l in lines if l.startswith(kind + ":")]

    def test_safe_config(self):
        rc, lines = self.check("[smtp mx]\nlisten = 0.0.0.0:{port:mx}\ndnsbl = bl.example\n"
                               "[smtp sub]\nlisten = 127.0.0.1:{port:sub}\nrequire_auth = yes\n")
        self.assertEqual(rc, 0, lines)
        inst = [l for l in lines if l.startswith("smtp ")]
        self.assertEqual(len(inst), 2, lines)
        self.assertTrue(inst[0].startswith("smtp mx:"))
        self.assertIn("relay=yes", inst[0])
        self.assertIn("relay_outside_lan=no", inst[0])
        self.assertIn("reject_local_spoof=yes", inst[0])
        self.assertIn("open_relay=no", inst[0])
        self.assertIn("require_auth=yes", inst[1])
        self.assertEqual(self.findings(lines, "error"), [])
        self.assertEqual(self.findings(lines, "warning"), [])
        # the instance lines come before the findings
        self.assertTrue(all(l.startswith(("smtp ", "warning:", "error:")) for l in lines), lines)

    def test_antispam_checks_and_warnings(self):
        """Each instance's checks on its policy line; a warning for anti-spam on a
        require_auth (submission) instance and for none on a public port-25 one."""
        rc, lines = self.check(
            "[smtp mx]\nlisten = 0.0.0.0:{port:mx}\ndnsbl = bl.example, bl2.example\n"
            "dnswl = wl.example\ngreylist = yes\ncontent_filter = rspamd:[::1]:11333\n"
            "content_filter_fail = tempfail\n"
            "[smtp bare]\nlisten = 0.0.0.0:{port:bare}\n"
            "[smtp sub]\nlisten = 0.0.0.0:{port:sub}\nrequire_auth = yes\ngreylist = yes\n"
            "[smtp local]\nlisten = 127.0.0.1:{port:local}\n")
        self.assertEqual(rc, 0, lines)
        inst = {l.split(":")[0]: l for l in lines if l.startswith("smtp ")}
        self.assertTrue(inst["smtp mx"].endswith(
            " checks=dnsbl(bl.example+bl2.example),dnswl(wl.example),greylist,"
            "content_filter(rspamd:[::1]:11333,tempfail)"), inst["smtp mx"])
        self.assertTrue(inst["smtp bare"].endswith(" checks=-"), inst["smtp bare"])
        self.assertTrue(inst["smtp sub"].endswith(" checks=greylist"), inst["smtp sub"])
        w = self.findings(lines, "warning")
        self.assertEqual(len(w), 2, lines)
        self.assertIn("instance bare listens outside loopback without require_auth", w[0])
        self.assertIn("no anti-spam check", w[0])
        self.assertIn("instance sub has require_auth = yes (submission) and anti-spam checks on",
                      w[1])

    def test_content_filter_values(self):
        for value in ("rspamd:localhost:11333", "spamassassin:127.0.0.1:783", "rspamd:127.0.0.1"):
            with self.subTest(value=value):
                rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n"
                                       "content_filter = %s\n" % value)
                self.assertEqual(rc, 1, lines)
                self.assertIn("rspamd:ADDRESS:PORT", lines[-1])
        rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n"
                               "content_filter_fail = maybe\n")
        self.assertEqual(rc, 1, lines)
        self.assertIn("expected accept or tempfail", lines[-1])

    def test_open_relay_forms(self):
        forms = [
            "relay_outside_lan = yes\n",                                    # nonlocal senders
            "relay_outside_lan = yes\nrelay_nonlocal_senders = no\nreject_local_spoof = no\n",
            "relay_local_senders = yes\nreject_local_spoof = no\n",
        ]
        for form in forms:
            with self.subTest(form=form):
                rc, lines = self.check("[smtp mx]\nlisten = 0.0.0.0:{port:mx}\n" + form)
                self.assertEqual(rc, 1, lines)
                errs = self.findings(lines, "error")
                self.assertEqual(len(errs), 1, lines)
                self.assertIn("open relay", errs[0])
                self.assertIn("mx", errs[0])
                self.assertIn("open_relay=yes", lines[0])
                # allowed explicitly: a warning, exit 0
                rc, lines = self.check("[smtp mx]\nlisten = 0.0.0.0:{port:mx}\n" + form +
                                       "allow_open_relay = yes\n")
                self.assertEqual(rc, 0, lines)
                self.assertEqual(self.findings(lines, "error"), [])
                self.assertTrue(any("open relay" in l for l in self.findings(lines, "warning")),
                                lines)
                self.env.stop_all()

    def test_not_open(self):
        closed = [
            ("0.0.0.0", "relay_outside_lan = yes\nrequire_auth = yes\n"),
            ("0.0.0.0", "relay_outside_lan = yes\nrelay = no\n"),
            ("0.0.0.0", "relay_outside_lan = yes\nrelay_nonlocal_senders = no\n"),
            ("0.0.0.0", "relay_local_senders = yes\nreject_local_spoof = no\nrequire_auth = yes\n"),
            ("127.0.0.1", "relay_outside_lan = yes\n"),          # loopback only
            ("127.0.0.2", "relay_local_senders = yes\nreject_local_spoof = no\n"),
        ]
        for host, form in closed:
            with self.subTest(host=host, form=form):
                rc, lines = self.check("[smtp mx]\nlisten = %s:{port:mx}\n%s" % (host, form))
                self.assertEqual(self.findings(lines, "error"), [], lines)
                self.assertEqual(rc, 0, lines)
                self.assertIn("open_relay=no", lines[0])

    def test_open_by_lan_or_always_relay_from(self):
        """SPEC: lan or always_relay_from covering every address (alone or together) on
        a public listener with require_auth = no is an open relay; the error names the
        key. (Before: exit 0 and open_relay=no, and the daemon relayed for the world.)"""
        cases = [   # (server_conf, instance lines, key named, listen host)
            ("lan = 0.0.0.0/0\n", "", "lan = 0.0.0.0/0", "0.0.0.0"),
            ("lan = *\n", "", "lan = *", "0.0.0.0"),
            ("lan = *.*.*.*\n", "", "lan = *.*.*.*", "0.0.0.0"),
            ("lan = 0.0.0.0/1, 128.0.0.0/1\n", "relay_nonlocal_senders = no\n",
             "lan = 0.0.0.0/1, 128.0.0.0/1", "0.0.0.0"),
            ("lan = ::/0\n", "", "lan = ::/0", "::"),
            ("", "always_relay_from = 0.0.0.0-127.255.255.255 128.0.0.0/1\n",
             "always_relay_from = 0.0.0.0-127.255.255.255 128.0.0.0/1", "0.0.0.0"),
            ("", "always_relay_from = 0.0.0.0/0\nrequire_auth = yes\n",   # rule 2 before 5
             "always_relay_from = 0.0.0.0/0", "0.0.0.0"),
        ]
        for server, form, key, host in cases:
            with self.subTest(server=server, form=form):
                listen = "[%s]" % host if ":" in host else host
                sect = "[smtp mx]\nlisten = %s:{port:mx}\n%s" % (listen, form)
                rc, lines = self.check(sect, server_conf=server)
                self.assertEqual(rc, 1, lines)
                errs = self.findings(lines, "error")
                self.assertEqual(len(errs), 1, lines)
                self.assertIn("instance mx is an open relay", errs[0])
                self.assertIn(key + " ", errs[0])
                self.assertIn("covers every", errs[0])
                self.assertIn("open_relay=yes", lines[0])
                rc, lines = self.check(sect + "allow_open_relay = yes\n", server_conf=server)
                self.assertEqual(rc, 0, lines)
                self.assertEqual(self.findings(lines, "error"), [])
                self.assertTrue(any(key in l for l in self.findings(lines, "warning")), lines)
                self.env.stop_all()
        closed = [   # not every address, not reachable, or relaying closed another way
            ("lan = 0.0.0.0/1\n", "", "0.0.0.0"),
            ("lan = 0.0.0.0-255.255.255.254\n", "", "0.0.0.0"),
            ("lan = 0.0.0.0/0\n", "", "127.0.0.1"),
            ("lan = 0.0.0.0/0\n", "require_auth = yes\n", "0.0.0.0"),
            ("lan = 0.0.0.0/0\n", "relay = no\n", "0.0.0.0"),
            ("lan = 0.0.0.0/0\n", "", "::"),          # IPv6 listeners are V6ONLY
            ("lan = 2000::/3\n", "", "::"),
            ("", "always_relay_from = 0.0.0.0/0\nrelay = no\n", "0.0.0.0"),
        ]
        for server, form, host in closed:
            with self.subTest(server=server, form=form, host=host):
                listen = "[%s]" % host if ":" in host else host
                rc, lines = self.check("[smtp mx]\nlisten = %s:{port:mx}\n%s" % (listen, form),
                                       server_conf=server)
                self.assertEqual(self.findings(lines, "error"), [], lines)
                self.assertEqual(rc, 0, lines)
                self.assertIn("open_relay=no", lines[0])
                self.env.stop_all()

    def test_daemon_refuses_lan_covering_everything(self):
        self.env = Env("openlan", server_conf="lan = 127.0.0.1, 0.0.0.0/0\n",
                       sections="[smtp mx]\nlisten = 0.0.0.0:{port:mx}\n")
        p = subprocess.run([os.path.join(harness.BIN, "smtpd"), "-c", self.env.conf, "-f"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("open relay", p.stderr + p.stdout)
        self.assertIn("lan = 127.0.0.1, 0.0.0.0/0 ([server]) covers every IPv4 address",
                      p.stderr + p.stdout)
        for mark in harness.SANITIZER_MARKS:
            self.assertNotIn(mark, p.stderr)

    def test_warnings(self):
        rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n"
                               "always_relay_from = 192.0.2.0/24\n")
        self.assertEqual(rc, 0)
        w = self.findings(lines, "warning")
        self.assertEqual(len(w), 1, lines)
        self.assertIn("always_relay_from", w[0])
        rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n"
                               "always_relay_from = 192.0.2.0/24\nallow_clients = 192.0.2.0/24\n")
        self.assertEqual(self.findings(lines, "warning"), [], lines)
        rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n"
                               "relay_local_senders = yes\n")
        self.assertEqual(rc, 0)
        w = self.findings(lines, "warning")
        self.assertEqual(len(w), 1, lines)
        self.assertIn("relay_local_senders", w[0])
        self.assertIn("reject_local_spoof", w[0])

    def test_bad_config(self):
        rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\nrelay = maybe\n")
        self.assertEqual(rc, 1)
        errs = self.findings(lines, "error")
        self.assertEqual(len(errs), 1, lines)
        self.assertIn("relay", errs[0])
        with open(self.env.conf) as f:
            lineno = f.read().splitlines().index("relay = maybe") + 1
        self.assertIn("%s:%d:" % (self.env.conf, lineno), errs[0])   # names file and line
        rc, lines = self.check("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\nno_such_key = 1\n")
        self.assertEqual(rc, 1)
        self.assertIn("no_such_key", " ".join(self.findings(lines, "error")))

    def test_protocol_kinds(self):
        """[smtp NAME] and [pop3 NAME] each take the common keys and their own; a key
        of the other kind, the other kind's STARTTLS word or an unknown kind is an
        error naming file, line and key."""
        ok = ("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\ntls = starttls\ntimeout = 2m\n"
              "[pop3 box]\nlisten = 127.0.0.1:{port:box}\ntls = stls\ntimeout = 20m\n"
              "allow_clients = 127.0.0.0/8\nmax_connections_per_ip = 3\n")
        rc, lines = self.check(ok)
        self.assertEqual(rc, 0, lines)
        self.assertEqual([l.split(":")[0] for l in lines], ["smtp mx"], lines)
        self.assertIn("tls=starttls", lines[0])
        bad = [
            ("[pop3 box]\nlisten = 127.0.0.1:{port:box}\nrelay = no\n", "relay = no",
             "key 'relay': unknown in [pop3 box]"),
            ("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\ntls = stls\n", "tls = stls",
             "key 'tls': 'stls' is not a TLS mode (expected off, starttls, required or implicit)"),
            ("[pop3 box]\nlisten = 127.0.0.1:{port:box}\ntls = starttls\n", "tls = starttls",
             "key 'tls': 'starttls' is not a TLS mode (expected off, stls, required or implicit)"),
            ("[imap box]\nlisten = 127.0.0.1:{port:box}\n", "[imap box]",
             "unknown section '[imap box]' (expected [server], [routes], [cluster], [smtp NAME] or [pop3 NAME])"),
            ("[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n[pop3 box]\nlisten = 127.0.0.1:{port:mx}\n",
             None, "key 'listen': 127.0.0.1:%s is used twice (in [smtp mx] and [pop3 box])"),
        ]
        for sections, at, what in bad:
            with self.subTest(sections=sections):
                rc, lines = self.check(sections)
                self.assertEqual(rc, 1, lines)
                with open(self.env.conf) as f:
                    text = f.read().splitlines()
                lineno = text.index(at) + 1 if at else len(text)
                if "%s" in what:
                    what = what % self.env.ports["mx"]
                self.assertEqual(lines, ["error: %s:%d: %s" % (self.env.conf, lineno, what)])
                self.env.stop_all()

    def test_daemon_refuses_open_relay(self):
        self.env = Env("openrelay", sections="[smtp mx]\nlisten = 0.0.0.0:{port:mx}\n"
                                             "relay_outside_lan = yes\n")
        p = subprocess.run([os.path.join(harness.BIN, "smtpd"), "-c", self.env.conf, "-f"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("open relay", p.stderr + p.stdout)
        for mark in harness.SANITIZER_MARKS:
            self.assertNotIn(mark, p.stderr)


SECTIONS = """[smtp mx]
listen = 127.0.0.1:{port:mx}
always_relay_from = 127.0.0.5
always_relay_to = partner.test, *.partner.test
deny_clients = 127.0.0.66
[smtp norelay]
listen = 127.0.0.1:{port:norelay}
relay = no
[smtp sub]
listen = 127.0.0.1:{port:sub}
require_auth = yes
sender_login_match = yes
"""


class TestRelay(EnvTestCase):
    def setUp(self):
        self.env = Env("testrelay", server_conf="domain_aliases = alias.test\n",
                       sections=SECTIONS)

    def tr(self, *args):
        r = self.env.smtpd_cmd("--test-relay", *args)
        for mark in harness.SANITIZER_MARKS:
            self.assertNotIn(mark, r.stderr)
        return r.returncode, r.stdout.strip()

    def test_table_without_users(self):
        cases = [
            (("mx", "--client", "127.0.0.1", "--to", "y@remote.test"),
             0, "ACCEPT rule=lan_and_sender"),
            (("mx", "--client", "127.0.0.9", "--to", "y@remote.test"),
             1, "REJECT 550 5.7.1 rule=denied Relaying denied"),
            (("mx", "--client", "127.0.0.9", "--from", "<>", "--to", "<y@remote.test>"),
             1, "REJECT 550 5.7.1 rule=denied Relaying denied"),
            (("mx", "--client", "127.0.0.9", "--to", "y@a.partner.test"),
             0, "ACCEPT rule=always_relay_to"),
            (("mx", "--client", "127.0.0.9", "--to", "y@partner.test"),
             0, "ACCEPT rule=always_relay_to"),
            (("mx", "--client", "127.0.0.5", "--to", "y@remote.test"),
             0, "ACCEPT rule=always_relay_from"),
            (("norelay", "--client", "127.0.0.1", "--to", "y@remote.test"),
             1, "REJECT 550 5.7.1 rule=relay_disabled Relaying disabled"),
            (("sub", "--client", "127.0.0.1", "--to", "y@remote.test"),
             1, "REJECT 530 5.7.0 rule=auth_required Authentication required"),
            (("mx", "--client", "127.0.0.9", "--to", "user%remote.test@example.test"),
             1, "REJECT 550 5.7.1 rule=denied Relaying denied"),
            (("mx", "--client", "127.0.0.9", "--to", '"user@remote.test"@example.test'),
             1, "REJECT 550 5.7.1 rule=denied Relaying denied"),
            (("mx", "--client", "127.0.0.9", "--to", "nobody@example.test"),
             1, "REJECT 550 5.1.1 rule=unknown_user User unknown"),
            (("mx", "--client", "127.0.0.9", "--to", "postmaster"), 0, "ACCEPT rule=local"),
            (("mx", "--client", "127.0.0.9", "--to", "Postmaster@Alias.Test."),
             0, "ACCEPT rule=local"),
        ]
        for args, rc, out in cases:
            with self.subTest(args=args):
                self.assertEqual(self.tr(*args), (rc, out))
        rc, out = self.tr("mx", "--client", "127.0.0.9", "--from", "someone@example.test",
                          "--to", "y@remote.test")
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith("REJECT 550 5.7.1 rule=local_spoof "), out)
        rc, out = self.tr("mx", "--client", "127.0.0.66", "--to", "postmaster")
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith("REJECT 554 5.7.1"), out)

    def test_usage_errors(self):
        for args in [("mx", "--client", "127.0.0.1"),                      # no --to
                     ("mx", "--to", "a@b.test"),                            # no --client
                     ("nosuch", "--client", "127.0.0.1", "--to", "a@b.test"),
                     ("mx", "--client", "not-an-ip", "--to", "a@b.test"),
                     ("mx", "--client", "127.0.0.1", "--to", "a@b.test", "--bogus", "x")]:
            with self.subTest(args=args):
                rc, out = self.tr(*args)
                self.assertEqual(rc, 2)
                self.assertEqual(out, "")

    def test_with_users(self):
        if not have("userdb"):
            self.skipTest("userdb not built yet")
        self.env.add_user("alice@example.test", "Secret-alice-1", relay=True)
        self.env.add_user("bob@example.test", "Secret-bob-1")
        self.env.userdb("alias", "add", "info@example.test", "alice@example.test")
        cases = [
            (("mx", "--client", "127.0.0.9", "--to", "alice@example.test"), 0, "ACCEPT rule=local"),
            (("mx", "--client", "127.0.0.9", "--to", "INFO@alias.test"), 0, "ACCEPT rule=local"),
            (("mx", "--client", "127.0.0.9", "--auth", "alice", "--to", "y@remote.test"),
             0, "ACCEPT rule=auth"),
            (("mx", "--client", "127.0.0.1", "--auth", "bob@example.test", "--to",
              "y@remote.test"), 1, "REJECT 550 5.7.1 rule=auth_no_privilege User may not relay"),
            (("sub", "--client", "127.0.0.9", "--auth", "alice", "--from", "info@example.test",
              "--to", "y@remote.test"), 0, "ACCEPT rule=auth"),
        ]
        for args, rc, out in cases:
            with self.subTest(args=args):
                self.assertEqual(self.tr(*args), (rc, out))
        rc, out = self.tr("sub", "--client", "127.0.0.9", "--auth", "bob", "--from",
                          "alice@example.test", "--to", "y@remote.test")
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith("REJECT 553 5.7.1 rule=sender_login_match "), out)
        # userdb set applies at once
        self.env.userdb("set", "bob@example.test", "relay=yes")
        self.assertEqual(self.tr("mx", "--client", "127.0.0.1", "--auth", "bob", "--to",
                                 "y@remote.test"), (0, "ACCEPT rule=auth"))


if __name__ == "__main__":
    unittest.main()
