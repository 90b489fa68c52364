"""Real DNS counterparts for the e2e tests: NSD (Debian's nsd, an authoritative
server) started in the foreground on a free loopback port, serving zone files the
test writes (DNSSEC-signed with ldnsutils' ldns-keygen and ldns-signzone when asked,
their DS records gathered as a trust anchor file); a "dead" server, a UDP socket
that reads queries and never answers; and dns_env, the DNS tests' shared fixture: one
of those and the installation whose [server] section names it."""
import os
import socket
import subprocess
import threading
import time

from tests.e2e import harness

NSD = "/usr/sbin/nsd"


class Nsd:
    """zones: {"bl.test": ["9.0.0.127 A 127.0.0.2", ...]} (owner names relative).
    signed: zones to sign (each with its own key, NSEC); self.trust_anchor then names a
    file of their DS records (libunbound's ub_ctx_add_ta_file: dns_trust_anchor).
    tamper: {zone: fn(text) -> text} applied to a signed zone after signing (bogus)."""

    def __init__(self, workdir, zones, ttl=300, signed=(), tamper=None):
        self.dir = os.path.join(workdir, "nsd")
        os.makedirs(self.dir, exist_ok=True)
        self.files = {}
        anchors = []
        for zone, records in zones.items():
            path = os.path.join(self.dir, zone + ".zone")
            with open(path, "w") as f:
                f.write("$TTL %d\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 %d\n"
                        "@ IN NS ns.%s.\nns IN A 127.0.0.1\n" % (ttl, zone, zone, ttl, zone))
                for r in records:
                    owner, rtype, data = r.split(None, 2)
                    f.write("%s IN %s %s\n" % (owner, rtype, data))
            self.files[zone] = zone + ".zone"
            if zone in signed:
                anchors.append(self._sign(zone, path, (tamper or {}).get(zone)))
        self.trust_anchor = None
        if anchors:
            self.trust_anchor = os.path.join(self.dir, "anchors.ds")
            with open(self.trust_anchor, "w") as f:
                f.write("".join(anchors))
        self.log = os.path.join(self.dir, "nsd.log")
        for _ in range(3):          # a port another test took meanwhile: another one
            if self._start(zones):
                return
        with open(self.log, errors="replace") as f:
            raise RuntimeError("nsd did not start:\n" + f.read())

    def _sign(self, zone, path, tamper):
        """Sign the zone file at path into path.signed; its DS records (text)."""
        key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone],
                             cwd=self.dir, check=True, capture_output=True,
                             text=True).stdout.strip()
        subprocess.run(["ldns-signzone", "-o", zone, path, key], cwd=self.dir, check=True,
                       capture_output=True)
        if tamper:
            with open(path + ".signed") as f:
                text = tamper(f.read())
            with open(path + ".signed", "w") as f:
                f.write(text)
        self.files[zone] = zone + ".zone.signed"
        with open(os.path.join(self.dir, key + ".ds")) as f:
            return f.read()

    def _start(self, zones):
        self.port = harness.free_port()
        conf = ["server:", "    ip-address: 127.0.0.1", "    port: %d" % self.port,
                '    username: ""', '    chroot: ""', '    zonesdir: "%s"' % self.dir,
                '    database: ""', '    pidfile: "%s/nsd.pid"' % self.dir,
                '    xfrdfile: "%s/xfrd.state"' % self.dir,
                '    zonelistfile: "%s/zone.list"' % self.dir,
                "    server-count: 1", "    do-ip6: no", "    verbosity: 1",
                "remote-control:", "    control-enable: no"]
        for zone in zones:
            conf += ["zone:", "    name: %s" % zone, "    zonefile: %s" % self.files[zone]]
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        out = open(self.log, "wb")
        self.proc = subprocess.Popen([NSD, "-d", "-c", os.path.join(self.dir, "nsd.conf")],
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        end = time.time() + 10
        while time.time() < end:
            with open(self.log, errors="replace") as f:
                if "nsd started" in f.read():
                    return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        return False

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class DeadDns:
    """A UDP and TCP port on 127.0.0.1 that take DNS queries and never answer."""

    def __init__(self):
        for _ in range(50):                 # one port free for both UDP and TCP
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket()
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.tcp.close()
                self.udp.close()
        self.tcp.listen(16)                 # accepted by the kernel, never read
        self.queries = 0
        self.udp.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._drop, daemon=True)
        self.thread.start()

    def _drop(self):
        while self.running:
            try:
                self.udp.recvfrom(4096)
                self.queries += 1
            except socket.timeout:
                continue
            except OSError:
                return

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.running = False
        self.thread.join()
        self.udp.close()
        self.tcp.close()


def dns_conf(dns, timeout=None):
    """The [server] lines that send the daemons' lookups to dns (an Nsd or a DeadDns):
    dns_servers, dns_timeout when given, dns_trust_anchor when the zones are signed."""
    text = "dns_servers = %s\n" % dns.server
    if timeout:
        text += "dns_timeout = %s\n" % timeout
    if getattr(dns, "trust_anchor", None):
        text += "dns_trust_anchor = %s\n" % dns.trust_anchor
    return text


def dns_env(owner, zones=None, timeout=None, server_conf="", env_class=None, nsd_args=None,
            **env_args):
    """Start the DNS counterpart (NSD serving zones, see Nsd; a DeadDns when zones is None)
    and then the installation (env_class, harness.Env by default, given env_args) whose
    [server] has dns_conf(dns, timeout) and server_conf; they become owner.dns and
    owner.env. owner is the TestCase in setUp, or its class in setUpClass: it is given
    the cleanups that stop the installation (which checks for sanitizer reports) and
    then the DNS server, also when the set-up fails halfway."""
    in_class = isinstance(owner, type)
    cleanup = owner.addClassCleanup if in_class else owner.addCleanup
    name = owner.__name__.lower() if in_class else owner.id().split(".")[-1]
    if zones is None:
        owner.dns = DeadDns()
    else:
        owner.dns = Nsd(os.path.join(harness.WORK, "%s-%d-dns" % (name, os.getpid())), zones,
                        **(nsd_args or {}))
    cleanup(owner.dns.stop)
    owner.env = (env_class or harness.Env)(name, server_conf=dns_conf(owner.dns, timeout)
                                           + server_conf, **env_args)
    cleanup(owner.env.stop_all)
    return owner.env
