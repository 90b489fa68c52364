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
                        lines[0].endswith(" auth_source=fixed checks=-"), lines)
        self.assertTrue(lines[1].endswith(" auth_source=store checks=-"), lines)
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


PAM_DIR = "/etc/pam.d"


def run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@unittest.skipUnless(os.geteuid() == 0, "needs root: a PAM service file, a user and a group")
class SystemSourceTest(EnvTestCase):
    """auth_source = system through a PAM service file of the test's own: pam_userdb over
    a Berkeley DB file made with db5.3_load (the passwords), two system users made with
    useradd, one of them in a relay group made with groupadd."""

    def setUp(self):
        tag = "%d" % (os.getpid() % 100000)
        self.inuser, self.outuser = "msain" + tag, "msaout" + tag
        self.group = "msarelay" + tag
        self.svc, self.slow = "mailserver-test-" + tag, "mailserver-test-slow-" + tag
        self.env = Env("authsrc-system", server_conf="auth_fail_limit = 4\n", sections=(
            "[smtp sys]\nlisten = 127.0.0.1:{port:sys}\nplaintext_auth = always\n"
            "auth_source = system\nauth_mechanisms = PLAIN LOGIN\n"
            "pam_service = %s\nsystem_relay_group = %s\nsender_login_match = yes\n"
            "[smtp slow]\nlisten = 127.0.0.1:{port:slow}\nplaintext_auth = always\n"
            "auth_source = system\nauth_mechanisms = PLAIN\npam_service = %s\n"
            "system_relay_group = %s\n"
            "[smtp lan]\nlisten = 127.0.0.1:{port:lan}\nplaintext_auth = always\n"
            % (self.svc, self.group, self.slow, self.group)))
        run("groupadd", "--system", self.group)
        self.addCleanup(subprocess.run, ["groupdel", self.group], capture_output=True)
        for u in (self.inuser, self.outuser):
            run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", u)
            self.addCleanup(subprocess.run, ["userdel", u], capture_output=True)
        run("usermod", "-a", "-G", self.group, self.inuser)
        db = os.path.join(self.env.dir, "pamusers")
        src = db + ".txt"
        with open(src, "w") as f:
            f.write("%s\n%s\n%s\n%s\n" % (self.inuser, GOOD, self.outuser, SCAN))
        run("db5.3_load", "-T", "-t", "hash", "-f", src, db + ".db")
        os.chmod(db + ".db", 0o644)              # read by the daemon as run_as_user
        for name, text in ((self.svc, "auth required pam_userdb.so db=%s\n" % db),
                           (self.slow, "auth required pam_exec.so quiet /bin/sleep 2\n"
                                       "auth required pam_userdb.so db=%s\n" % db)):
            path = os.path.join(PAM_DIR, name)
            with open(path, "w") as f:
                f.write(text + "account required pam_permit.so\n")
            self.addCleanup(os.unlink, path)

    def test_check_config(self):
        env = self.env
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertTrue(r.stdout.splitlines()[0].endswith(" auth_source=system checks=-"), r.stdout)
        # --test-relay gives a system user the relay right of his group membership
        for user, want in ((self.inuser, "ACCEPT rule=auth"),
                           (self.outuser, "REJECT 550 5.7.1 rule=auth_no_privilege")):
            r = env.smtpd_cmd("--test-relay", "sys", "--client", REMOTE_IP, "--auth", user,
                              "--from", user + "@" + DOMAIN, "--to", "friend@remote.test")
            self.assertTrue(r.stdout.startswith(want), r.stdout + r.stderr)
        with open(env.conf) as f:
            text = f.read()
        env.write_conf(text.replace("auth_mechanisms = PLAIN LOGIN\n", ""))
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("instance sys: auth_source = system can check only PLAIN and LOGIN, but "
                      "auth_mechanisms has SCRAM-SHA-256 CRAM-MD5", r.stdout)

    def test_system_logins(self):
        env = self.env
        env.add_user("alice", GOOD, relay=True)
        env.start("smtpd")
        s = env.smtp("sys", source=REMOTE_IP)
        self.assertEqual(s.esmtp_features["auth"].split(), ["LOGIN", "PLAIN"])
        s.quit()
        dom = "@" + DOMAIN
        # in the relay group: relays, as name@primary domain (sender_login_match)
        for mech, login in (("PLAIN", self.inuser), ("LOGIN", self.inuser + dom)):
            code, s = smtp_auth(env, "sys", mech, login, GOOD)
            self.assertEqual(code, 235, mech)
            self.assertEqual(s.mail("someone@" + DOMAIN)[0], 553)
            s.rset()
            self.assertEqual(s.mail(self.inuser + dom)[0], 250)
            self.assertEqual(s.rcpt("friend@remote.test")[0], 250)
            s.quit()
        self.assertIn("auth: ip=%s user=%s%s mech=LOGIN result=ok" % (REMOTE_IP, self.inuser, dom),
                      env.log("smtpd"))
        # not in the group: logs in, may not relay
        code, s = smtp_auth(env, "sys", "PLAIN", self.outuser, SCAN)
        self.assertEqual(code, 235)
        s.mail(self.outuser + dom)
        code, msg = s.rcpt("friend@remote.test")
        self.assertEqual((code, msg[:5]), (550, b"5.7.1"))
        s.quit()
        # unknown user, bad password, a store user: the same reply
        fail = (535, b"5.7.8 Error: authentication failed")
        self.assertEqual(smtp_auth(env, "sys", "PLAIN", "nosuchuser", GOOD, "127.0.0.15"), fail)
        self.assertEqual(smtp_auth(env, "sys", "LOGIN", self.inuser, "Wrong-pass-77", "127.0.0.15"),
                         fail)
        self.assertEqual(smtp_auth(env, "sys", "PLAIN", "alice", GOOD, "127.0.0.15"), fail)
        self.assertIn("auth failed: service=smtp ip=127.0.0.15 user=nosuchuser", env.log("smtpd"))
        # the lockout counts across sources: one more failure on the store instance locks
        self.assertEqual(smtp_auth(env, "lan", "PLAIN", "alice", "Wrong-pass-78", "127.0.0.15"),
                         fail)
        self.assertEqual(smtp_auth(env, "sys", "PLAIN", self.inuser, GOOD, "127.0.0.15")[0], 454)
        self.assertEqual(smtp_auth(env, "lan", "PLAIN", "alice", GOOD, "127.0.0.15")[0], 454)
        # many logins: ASan's leak check at the stop (harness) sees no PAM handle left
        for i in range(20):
            code, s = smtp_auth(env, "sys", "PLAIN", self.outuser, SCAN if i % 2 else "Bad-pw-%d" % i,
                                source="127.0.0.%d" % (16 + i))
            self.assertEqual(code, 235 if i % 2 else 535)
            if i % 2:
                s.quit()
        env.stop("smtpd")                     # sanitizer reports fail here

    def test_slow_pam_holds_only_its_worker(self):
        env = self.env
        env.start("smtpd")
        result = {}

        def slow_login():
            t = time.time()
            result["code"] = smtp_auth(env, "slow", "PLAIN", self.inuser, GOOD)[0]
            result["took"] = time.time() - t

        th = threading.Thread(target=slow_login)
        th.start()
        time.sleep(0.3)                       # the PAM conversation now sleeps in pam_exec
        t = time.time()
        r = Raw(env.ports["slow"])
        self.assertEqual(r.cmd("EHLO c.test")[0], 250)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r.close()
        code, s = smtp_auth(env, "sys", "PLAIN", self.inuser, GOOD)   # another PAM login
        self.assertEqual(code, 235)
        s.quit()
        self.assertLess(time.time() - t, 1.0)
        th.join(15)
        self.assertEqual(result.get("code"), 235)
        self.assertGreaterEqual(result["took"], 2.0)


if __name__ == "__main__":
    unittest.main()
