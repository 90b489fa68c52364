"""valgrind (memcheck) run of the real daemons through a small end-to-end scenario, for
`make check` (tests/check.mk): userdb, smtpd and pop3d from MS_BIN (a build without
sanitizers) each run under valgrind --leak-check=full; mail is sent, relayed-denied,
authenticated (good and bad), fetched and deleted; then SIGTERM. Fails on any memcheck
error or a definite leak in any process (forked children included)."""
import glob
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.e2e import harness  # noqa: E402
from tests.e2e.harness import Env, REMOTE_IP  # noqa: E402

VG = ["valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite",
      "--show-leak-kinds=definite", "--error-exitcode=99", "--trace-children=no",
      "--child-silent-after-fork=no", "--num-callers=30",
      "--suppressions=" + os.path.join(os.path.dirname(__file__), "valgrind.supp")]
SECTIONS = """
[smtp mx]
listen = 127.0.0.1:{port:mx}
auth_mechanisms = PLAIN LOGIN CRAM-MD5
plaintext_auth = always
[pop3 p]
listen = 127.0.0.1:{port:pop3}
plaintext_auth = always
"""
PW = "Alice-Secret-42"


class VgEnv(Env):
    def vg(self, name):
        return VG + ["--log-file=" + os.path.join(self.dir, "vg-%s.%%p.log" % name)]

    def userdb(self, *args, password=None, check=True):
        cmd = self.vg("userdb") + [os.path.join(harness.BIN, "userdb"), "-c", self.conf]
        cmd += list(args)
        inp = None
        if password is not None:
            cmd.append("--password-stdin")
            inp = password + "\n"
        r = subprocess.run(cmd, input=inp, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError("userdb %s failed (%d): %s" % (args, r.returncode, r.stderr))
        return r

    def start(self, daemon, wait=None):
        log = os.path.join(self.dir, daemon + ".log")
        self.logs[daemon] = log
        with open(log, "ab") as f:
            p = subprocess.Popen(self.vg(daemon) + [os.path.join(harness.BIN, daemon), "-c",
                                                    self.conf, "-f"],
                                 stdout=f, stderr=subprocess.STDOUT)
        self.procs[daemon] = p
        for name in (wait if wait is not None else list(self.ports)):
            harness.wait_port(self.ports[name], timeout=120, proc=p)
        return p

    def vg_reports(self):
        bad = []
        for path in sorted(glob.glob(os.path.join(self.dir, "vg-*.log"))):
            with open(path, errors="replace") as f:
                text = f.read()
            m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            if m is None or m.group(1) != "0":
                bad.append("%s:\n%s" % (path, text[-6000:]))
        return bad


class Valgrind(unittest.TestCase):
    def test_daemons_under_valgrind(self):
        env = VgEnv("valgrind", sections=SECTIONS)
        try:
            env.add_user("alice@example.test", PW, relay=True)
            env.userdb("list")
            env.start("smtpd", wait=["mx"])
            env.start("pop3d", wait=["pop3"])
            s = env.smtp("mx")
            s.login("alice@example.test", PW)
            s.sendmail("alice@example.test", ["alice@example.test"],
                       "Subject: vg\r\n\r\nhello\r\n.. dot\r\n")
            s.quit()
            s = env.smtp("mx", source=REMOTE_IP)
            self.assertEqual(s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==")[0], 535)
            s.mail("x@sender.test")
            self.assertEqual(s.rcpt("x@remote.test")[0], 550)
            self.assertEqual(s.rcpt("nobody@example.test")[0], 550)
            s.quit()
            p = env.pop3("pop3")
            p.user("alice@example.test")
            p.pass_(PW)
            self.assertEqual(p.stat()[0], 1)
            p.uidl()
            p.retr(1)
            p.dele(1)
            p.quit()
            env.stop_all()
        finally:
            for d in list(env.procs):
                env.procs[d].kill()
        for name in ("userdb", "smtpd", "pop3d"):   # valgrind really ran each of them
            self.assertTrue(glob.glob(os.path.join(env.dir, "vg-%s.*.log" % name)), name)
        self.assertEqual(env.vg_reports(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
