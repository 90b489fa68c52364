"""End-to-end: a client of an implicit-TLS instance (pop3s, smtps) that finishes the
TLS handshake and hangs up at once, with or without close_notify, is noticed at once:
its session ends ("disconnect: ... reason=peer closed") well within a second, not at
the idle timeout or at shutdown, and SIGTERM afterwards exits promptly."""
import re
import signal
import socket
import ssl
import time
import unittest

from tests.e2e.harness import EnvTestCase, Env

SECTIONS = ("[smtp smtps]\nlisten = 127.0.0.1:{port:smtps}\ntls = implicit\ntimeout = 5m\n\n"
            "[pop3 pop3s]\nlisten = 127.0.0.1:{port:pop3s}\ntls = implicit\ntimeout = 10m\n")


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TlsClose(EnvTestCase):
    def setUp(self):
        self.env = Env("tls-close", sections=SECTIONS)

    def tls_ids(self, daemon):
        return set(re.findall(r"tls: id=(\d+) TLSv", self.env.log(daemon)))

    def wait_gone(self, daemon, cid, limit=1.0):
        """Seconds until the log says connection CID is gone (fails after LIMIT)."""
        t0 = time.time()
        pat = re.compile(r"disconnect: id=%s ip=\S+ duration=\d+s reason=(.*)" % cid)
        while time.time() - t0 < limit:
            m = pat.search(self.env.log(daemon))
            if m:
                return m.group(1)
            time.sleep(0.02)
        self.fail("%s: connection %s still open %.1f s after the client hung up"
                  % (daemon, cid, limit))

    def handshake_and_close(self, daemon, port, notify, wait):
        before = self.tls_ids(daemon)
        raw = socket.create_connection(("127.0.0.1", self.env.ports[port]), 10)
        t = client_ctx().wrap_socket(raw)
        # wait: until the server logged the handshake (TLS 1.3: the server sees the
        # handshake end only after the client's Finished); else the FIN comes with it
        end = time.time() + 5
        while wait and not self.tls_ids(daemon) - before and time.time() < end:
            time.sleep(0.02)
        if notify:
            try:
                t.unwrap()          # close_notify, then the TCP close
            except (ssl.SSLError, OSError):
                pass
            raw.close()
        else:
            t.close()               # no close_notify: a bare FIN
        end = time.time() + 5
        while not self.tls_ids(daemon) - before and time.time() < end:
            time.sleep(0.02)
        new = self.tls_ids(daemon) - before
        self.assertEqual(len(new), 1, "%s logged no handshake" % daemon)
        return new.pop()

    def check(self, daemon, port):
        self.env.start(daemon, wait=[port])
        for notify, wait in ((False, True), (True, True), (False, False), (True, False)):
            cid = self.handshake_and_close(daemon, port, notify, wait)
            reason = self.wait_gone(daemon, cid)
            self.assertIn("peer closed", reason)
        # and the daemon is idle: SIGTERM ends it at once (no session waits for grace)
        p = self.env.procs[daemon]
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
        self.assertLess(time.time() - t0, 2.0, "%s took long to exit" % daemon)
        self.assertEqual(p.returncode, 0, self.env.log(daemon)[-2000:])
        self.env.stop(daemon)

    def test_pop3s(self):
        self.check("pop3d", "pop3s")

    def test_smtps(self):
        self.check("smtpd", "smtps")


if __name__ == "__main__":
    unittest.main()
