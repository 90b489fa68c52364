"""Authentication sources (SPEC "Authentication source"): relay-only accounts
(userdb add --no-mailbox), auth_source = fixed, auth_source = system through PAM
(a PAM service file of the test's own over pam_userdb and a Berkeley DB file made
with db_load), each against the real daemons with real clients."""
import base64
import os
import signal
import smtplib
import poplib
import subprocess
import threading
import time
import unittest

from tests.e2e.harness import DOMAIN, REMOTE_IP, EnvTestCase, Env
from tests.e2e.test_smtp_auth import scram_login
from tests.e2e.test_smtp_proto import Raw

GOOD = "Tr0ub4dor-horse-staple"
SCAN = "Sc4nner-copier-secret"


def plain(user, pw):
    return base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()


class RelayOnlyTest(EnvTestCase):
    def setUp(self):
        self.env = Env("authsrc-relayonly", sections=(
            "[smtp sub]\nlisten = 127.0.0.1:{port:sub}\nplaintext_auth = always\n"
            "[pop3 p]\nlisten = 127.0.0.1:{port:pop3}\nplaintext_auth = always\n"))

    def test_relay_only_account(self):
        env = self.env
        r = env.userdb("add", "scanner", "--relay", "--no-mailbox", password=SCAN)
        self.assertIn("mailbox=no", r.stdout)
        self.assertNotIn("postmaster", r.stdout)      # never the postmaster
        env.add_user("alice", GOOD)
        self.assertEqual(env.userdb("list").stdout.splitlines(), [
            "alice@%s relay=no enabled=yes" % DOMAIN,
            "scanner@%s relay=yes enabled=yes mailbox=no" % DOMAIN])
        show = dict(l.split(": ", 1) for l in env.userdb("show", "scanner").stdout.splitlines())
        self.assertTrue(show["mailbox"].startswith("no"), show)
        self.assertEqual(dict(l.split(": ", 1) for l in
                              env.userdb("show", "alice").stdout.splitlines())["mailbox"], "yes")
        env.userdb("alias", "add", "copier", "scanner")
        env.start("smtpd", wait=["sub"])
        env.start("pop3d", wait=["pop3"])
        # receives nothing, also through an alias
        s = env.smtp("sub", source=REMOTE_IP)
        s.mail("x@remote.test")
        for rcpt in ("scanner@" + DOMAIN, "copier@" + DOMAIN):
            code, msg = s.rcpt(rcpt)
            self.assertEqual(code, 550, msg)
            self.assertIn(b"5.1.1", msg)
        self.assertEqual(s.rcpt("alice@" + DOMAIN)[0], 250)
        s.quit()
        # authenticates (every mechanism) and relays
        for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
            s = env.smtp("sub", source=REMOTE_IP)
            s.user, s.password = "scanner@" + DOMAIN, SCAN
            code = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")))[0]
            self.assertEqual(code, 235, mech)
            s.mail("scanner@" + DOMAIN)
            self.assertEqual(s.rcpt("friend@remote.test")[0], 250, mech)
            s.rset()
            s.quit()
        # POP3 refuses it after the password, not as a failure; no Maildir appears
        p = env.pop3("pop3")
        p.user("scanner")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_(SCAN)
        self.assertIn(b"-ERR [AUTH] This account has no mailbox", cm.exception.args[0])
        p.quit()
        p = env.pop3("pop3")
        p.user("scanner")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong-password-1")
        self.assertIn(b"Authentication failed", cm.exception.args[0])
        p.quit()
        self.assertFalse(os.path.exists(env.maildir("scanner@" + DOMAIN)))
        self.assertIn("reason=no-mailbox", env.log("pop3d"))
        self.assertEqual(env.userdb("popauth", "list").stdout.strip(), "")


def smtp_auth(env, port, mech, user, pw, source=REMOTE_IP):
    """Log in with smtplib; (code, the open session or None)."""
    s = env.smtp(port, source=source)
    s.user, s.password = user, pw
    try:
        code = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")),
                      initial_response_ok=(mech == "PLAIN"))[0]
    except smtplib.SMTPAuthenticationError as e:
        s.close()
        return e.smtp_code, e.smtp_error
    return code, s


class FixedSourceTest(EnvTestCase):
    def setUp(self):
        self.env = Env("authsrc-fixed", server_conf="auth_fail_limit = 3\n", sections=(
            "[smtp scan]\nlisten = 127.0.0.1:{port:scan}\nplaintext_auth = always\n"
            "auth_source = fixed\nauth_fixed_user = scanner\n"
            "[smtp lan]\nlisten = 127.0.0.1:{port:lan}\nplaintext_auth = always\n"))

    def test_fixed_account_missing_refused(self):
        env = self.env
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("error: %s:" % env.conf, r.stdout)
        self.assertIn("instance scan: auth_fixed_user scanner@%s is not in the user store"
                      % DOMAIN, r.stdout)
        p = env.start("smtpd", wait=[])
        self.assertNotEqual(p.wait(timeout=20), 0)
        env.procs.pop("smtpd")
        self.assertIn("is not in the user store", env.log("smtpd"))

    def test_fixed_source(self):
        env = self.env
        env.userdb("add", "scanner", "--relay", "--no-mailbox", password=SCAN)
        env.add_user("alice", GOOD, relay=True)
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 0, r.stdout)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("smtp scan: ") and
                        lines[0].endswith(" auth_source=fixed"), lines)
        self.assertTrue(lines[1].endswith(" auth_source=store"), lines)
        env.start("smtpd")
        # every mechanism works for the fixed account, and it relays
        for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
            code, s = smtp_auth(env, "scan", mech, "scanner@" + DOMAIN, SCAN)
            self.assertEqual(code, 235, mech)
            s.mail("scanner@" + DOMAIN)
            self.assertEqual(s.rcpt("friend@remote.test")[0], 250)
            s.quit()
        r = Raw(env.ports["scan"], source=REMOTE_IP)
        self.assertEqual(r.cmd("EHLO c.test")[0], 250)
        self.assertEqual(scram_login(r, "scanner", SCAN)[0], 235)
        r.close()
        # nobody else, not even a store user with the right password; same reply as a
        # wrong password, and counted
        for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
            code, msg = smtp_auth(env, "scan", mech, "alice@" + DOMAIN, GOOD, source="127.0.0.12")
            self.assertEqual((code, msg), (535, b"5.7.8 Error: authentication failed"), mech)
            if mech == "PLAIN":
                self.assertEqual(smtp_auth(env, "scan", mech, "scanner", "Wrong-password-9",
                                           source="127.0.0.13")[:2],
                                 (535, b"5.7.8 Error: authentication failed"))
        self.assertIn("auth failed: service=smtp ip=127.0.0.12 user=alice@%s" % DOMAIN,
                      env.log("smtpd"))
        r = Raw(env.ports["scan"], source="127.0.0.14")
        self.assertEqual(r.cmd("EHLO c.test")[0], 250)
        self.assertEqual(scram_login(r, "alice", GOOD)[0], 535)
        r.close()
        # the other instance still takes every store user
        code, s = smtp_auth(env, "lan", "PLAIN", "alice", GOOD)
        self.assertEqual(code, 235)
        s.quit()
        # the lockout counts across instances and sources: 127.0.0.12 has 3 failures
        code, _ = smtp_auth(env, "scan", "PLAIN", "scanner", SCAN, source="127.0.0.12")
        self.assertEqual(code, 454)
        code, _ = smtp_auth(env, "lan", "PLAIN", "alice", GOOD, source="127.0.0.12")
        self.assertEqual(code, 454)
        # a reload whose fixed account is gone is refused (checked on a worker: no store
        # call on the loop), and the old configuration stays
        env.userdb("del", "scanner")
        env.procs["smtpd"].send_signal(signal.SIGHUP)
        end = time.time() + 10
        while "reload refused" not in env.log("smtpd") and time.time() < end:
            time.sleep(0.05)
        log = env.log("smtpd")
        self.assertIn("reload refused: %s:" % env.conf, log)
        self.assertIn("auth_fixed_user scanner@%s is not in the user store" % DOMAIN, log)
        self.assertNotIn("store: call on an event-loop thread", log)
        code, s = smtp_auth(env, "lan", "PLAIN", "alice", GOOD)
        self.assertEqual(code, 235)
        s.quit()


if __name__ == "__main__":
    unittest.main()
