"""A real rspamd (Debian's rspamd) for the e2e tests: started in the foreground with a
minimal config of the test's own (one normal worker on a free loopback port, its own
dbdir and rundir, no controller, no Redis, DNS pointed at a dead port so the scan is
fast and offline), Debian's rules and rspamd's built-in GTUBE pattern, plus two
multimap rules: MSTESTADDHEADER in the text forces "add header", MSTESTSOFTREJECT
forces "soft reject", client BAD_IP and envelope senders @BAD_SENDER_DOMAIN are
rejected (the request's IP and From headers reach rspamd). As root it drops to nobody (rspamd refuses root workers)."""
import os
import shutil
import socket
import subprocess
import time

from tests.e2e import harness

RSPAMD = "/usr/bin/rspamd"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
ADD_HEADER = "MSTESTADDHEADER"
SOFT_REJECT = "MSTESTSOFTREJECT"
BAD_IP = "127.0.0.12"                 # rejected by an ip map: the IP header arrives
BAD_SENDER_DOMAIN = "spammer.test"    # rejected by a from map: the From header arrives

CONF = """.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    dns { nameserver = ["127.0.0.1:1"]; timeout = 1s; retransmits = 1; }
}
logging { type = "console"; level = "error"; }
worker "normal" {
    bind_socket = "127.0.0.1:%d";
    count = 1;
    .include "$CONFDIR/worker-normal.inc"
}
"""
MULTIMAP = """MS_TEST_ADDHDR { type = "content"; filter = "text"; regexp = true; score = 0.0;
  map = "${LOCAL_CONFDIR}/local.d/addhdr.map"; action = "add header"; }
MS_TEST_SOFT { type = "content"; filter = "text"; regexp = true; score = 0.0;
  map = "${LOCAL_CONFDIR}/local.d/soft.map"; action = "soft reject"; }
MS_TEST_IP { type = "ip"; score = 0.0; map = "${LOCAL_CONFDIR}/local.d/ip.map";
  action = "reject"; }
MS_TEST_FROM { type = "from"; filter = "email:domain"; score = 0.0;
  map = "${LOCAL_CONFDIR}/local.d/from.map"; action = "reject"; }
"""


class Rspamd:
    def __init__(self, workdir, timeout=30.0):
        self.dir = os.path.join(workdir, "rspamd")
        shutil.rmtree(self.dir, ignore_errors=True)
        for sub in ("db", "run", "local.d"):
            os.makedirs(os.path.join(self.dir, sub))
        self.port = harness.free_port()
        self._write("rspamd.conf", CONF % self.port)
        self._write("local.d/multimap.conf", MULTIMAP)
        self._write("local.d/addhdr.map", "/%s/\n" % ADD_HEADER)
        self._write("local.d/soft.map", "/%s/\n" % SOFT_REJECT)
        self._write("local.d/ip.map", "%s\n" % BAD_IP)
        self._write("local.d/from.map", "%s\n" % BAD_SENDER_DOMAIN)
        cmd = [RSPAMD, "-f", "-c", os.path.join(self.dir, "rspamd.conf"),
               "--var=CONFDIR=/etc/rspamd", "--var=LOCAL_CONFDIR=" + self.dir,
               "--var=DBDIR=" + os.path.join(self.dir, "db"),
               "--var=RUNDIR=" + os.path.join(self.dir, "run")]
        if os.geteuid() == 0:
            for sub in ("db", "run"):
                shutil.chown(os.path.join(self.dir, sub), "nobody", "nogroup")
            cmd += ["-u", "nobody", "-g", "nogroup"]
        self.log = os.path.join(self.dir, "rspamd.log")
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        end = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("rspamd exited:\n" + self._logtext())
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                    s.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
                    if b"pong" in s.recv(4096):
                        break
            except OSError:
                pass
            if time.time() > end:
                self.stop()
                raise RuntimeError("rspamd did not answer /ping:\n" + self._logtext())
            time.sleep(0.1)
        self.server = "127.0.0.1:%d" % self.port

    def _write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def _logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SilentServer:
    """A TCP socket that takes connections (the kernel's backlog) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.server = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def stop(self):
        self.sock.close()
