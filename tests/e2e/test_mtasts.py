"""MTA-STS on the way out (RFC 8461; SPEC "Signing and publishing (outbound)"), with
real parts: NSD serves the recipient domains' _mta-sts TXT records and the A records of
their MX and mta-sts hosts; a Python HTTPS server (http.server + ssl, a certificate of a
test CA made here with openssl) serves their policies; aiosmtpd sinks offer STARTTLS
with a certificate of that CA for their name, with a self-signed one, or no STARTTLS.
[routes] send each domain to its sink by host name (mx.DOMAIN:PORT), and the queue
applies the recipient domain's policy to the route's host as to an MX (a route to an
address is the admin's explicit choice and exempt).

enforce: delivered over verified TLS to the matching sink; a self-signed certificate,
a certificate for another name, a host not in the policy's mx list and a sink without
STARTTLS are deferred, with the reason in `--queue list`, and nothing reaches those
sinks. testing: delivered to a failing sink and logged. No policy: STARTTLS
unverified, as before. Every delivery logs tls= and verified=. The policy is cached in
data_dir: with the HTTPS server gone, across a restart and with a changed TXT id whose
refetch fails, the cached enforce policy still defers; without a cached policy the
same failed fetch means no policy (the RFC's rule)."""
import http.server
import os
import re
import shutil
import ssl
import subprocess
import threading
import unittest

from aiosmtpd.controller import Controller

from tests.e2e import harness
from tests.e2e.dnsserver import dns_env
from tests.e2e.harness import free_port
from tests.e2e.test_outbound import BODY, OutboundCase, SinkHandler, relay_env, wait_for

os.environ.setdefault("MS_SMTPC_TIMEOUT", "10")

POLICIES = {        # domain: (mode, mx patterns)
    "good.example": ("enforce", ["mx.good.example"]),
    "bad.example": ("enforce", ["mx.bad.example"]),
    "wrong.example": ("enforce", ["*.wrong.example"]),
    "nomx.example": ("enforce", ["mx.nomx.example"]),
    "plain.example": ("enforce", ["mx.plain.example"]),
    "testing.example": ("testing", ["mx.testing.example"]),
    "addr.example": ("enforce", ["mx.addr.example"]),    # routed to an address: exempt
}
NO_POLICY = "none.example"     # no _mta-sts record
BROKEN = {"big.example": "a 70 KB policy", "redir.example": "a redirect"}   # not taken


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certs(d):
    """A test CA; leaf certificates it signs; a self-signed one. {name: (cert, key)}."""
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    openssl("req", "-x509", *ec, "-keyout", cakey, "-out", ca, "-days", "2",
            "-subj", "/CN=mailserver test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    out = {"ca": (ca, cakey)}

    def leaf(name, sans):
        key, csr, cert = (os.path.join(d, name + s) for s in (".key", ".csr", ".pem"))
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                    % ",".join("DNS:" + s for s in sans))
        openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=" + sans[0])
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial",
                "-out", cert, "-days", "2", "-extfile", ext)
        out[name] = (cert, key)

    leaf("https", ["mta-sts." + dom for dom in list(POLICIES) + list(BROKEN)])
    leaf("good", ["mx.good.example"])
    key, cert = os.path.join(d, "self.key"), os.path.join(d, "self.pem")
    openssl("req", "-x509", *ec, "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=mx.bad.example", "-addext", "subjectAltName=DNS:mx.bad.example")
    out["self"] = (cert, key)
    for path in os.listdir(d):
        os.chmod(os.path.join(d, path), 0o644)     # the runner reads ca.pem as `mail`
    return out


class PolicyServer:
    """https://mta-sts.DOMAIN:PORT/.well-known/mta-sts.txt for the domains of POLICIES."""

    def __init__(self, cert):
        self.fetches = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else ""
                outer.fetches.append(domain)
                if domain == "redir.example":
                    self.send_response(301)
                    self.send_header("Location", "https://mta-sts.good.example:%d%s"
                                     % (outer.port, self.path))
                    self.end_headers()
                    return
                if domain == "big.example":
                    body = ("version: STSv1\r\nmode: enforce\r\nmx: mx.big.example\r\n"
                            "max_age: 86400\r\n" + "x: y\r\n" * 14000).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()       # no length: read until the limit
                    try:
                        self.wfile.write(body)
                    except OSError:
                        pass
                    return
                if self.path != "/.well-known/mta-sts.txt" or domain not in POLICIES:
                    self.send_error(404)
                    return
                mode, mx = POLICIES[domain]
                body = ("version: STSv1\r\nmode: %s\r\n%smax_age: 86400\r\n"
                        % (mode, "".join("mx: %s\r\n" % m for m in mx))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*cert)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class TlsSink:
    """An aiosmtpd sink; cert=(cert, key) offers STARTTLS (required before MAIL)."""

    def __init__(self, cert=None):
        self.port = free_port()
        self.handler = SinkHandler()
        kw = {}
        if cert:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*cert)
            kw = {"tls_context": ctx, "require_starttls": True}
        self.ctl = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                              data_size_limit=0, decode_data=False, **kw)
        self.ctl.start()

    def rcpts(self):
        with self.handler.lock:
            return [r for m in self.handler.messages for r in m[1]]

    def stop(self):
        self.ctl.stop()


def zones():
    z = {}
    for dom in list(POLICIES) + list(BROKEN) + [NO_POLICY]:
        recs = ["mx A 127.0.0.1", "other A 127.0.0.1", "mta-sts A 127.0.0.1"]
        if dom != NO_POLICY:
            recs.append('_mta-sts TXT "v=STSv1; id=20261207a;"')
        recs.append('_mta-sts TXT "some other record"')
        z[dom] = recs
    return z


class MtaSts(OutboundCase):
    def setUp(self):
        name = self.id().split(".")[-1]
        self.work = os.path.join(harness.WORK, "%s-%d-sts" % (name, os.getpid()))
        shutil.rmtree(self.work, ignore_errors=True)
        self.certs = make_certs(os.path.join(self.work, "certs"))
        self.https = PolicyServer(self.certs["https"])
        self.good = TlsSink(self.certs["good"])      # CA-signed for mx.good.example
        self.bad = TlsSink(self.certs["self"])       # self-signed
        self.plain = TlsSink()                       # no STARTTLS
        self.sinks = [self.good, self.bad, self.plain, self.https]
        routes = {"good.example": ("mx", self.good), "bad.example": ("mx", self.bad),
                  "wrong.example": ("mx", self.good), "nomx.example": ("other", self.good),
                  "plain.example": ("mx", self.plain), "testing.example": ("mx", self.bad),
                  NO_POLICY: ("mx", self.bad), "big.example": ("mx", self.bad),
                  "redir.example": ("mx", self.bad)}
        dns_env(
            self, zones(), timeout="3s", env_class=relay_env,
            server_conf="tls_ca_file = %s\nmta_sts_fetch_port = %d\nqueue_retry = 1h\n"
            % (self.certs["ca"][0], self.https.port),
            routes="\n".join(["%s = %s.%s:%d" % (d, h, d, s.port) for d, (h, s) in routes.items()] +
                             ["addr.example = 127.0.0.1:%d" % self.bad.port]))

    def listing(self):
        return {ln.split(" to=<")[1].split(">")[0].split("@")[1]: ln
                for ln in self.queue().splitlines() if " to=<" in ln}

    def deferred_with(self, want):
        """Wait until each domain of want is listed with its reason; the listing."""
        def ok():
            got = self.listing()
            return got if all(w in got.get(d, "") for d, w in want.items()) else None
        got = wait_for(ok, 30)
        self.assertTrue(got, self.queue() + self.env.log("smtpd")[-3000:])
        return got

    def test_enforce_testing_none_and_cache(self):
        self.env.start("smtpd")
        for dom in list(POLICIES) + list(BROKEN) + [NO_POLICY]:
            self.send(["bob@" + dom])
        want = {
            "bad.example": "MTA-STS enforce: certificate not verified for mx.bad.example",
            "wrong.example": "MTA-STS enforce: certificate not verified for mx.wrong.example",
            "nomx.example": "MTA-STS enforce: MX other.nomx.example is not in the policy's mx list",
            "plain.example": "MTA-STS enforce: no STARTTLS at mx.plain.example",
        }
        self.deferred_with(want)
        self.assertTrue(wait_for(lambda: len(self.bad.rcpts()) == 5 and self.good.rcpts(), 30),
                        self.queue())
        # enforce: only the verified sink got mail; nothing in clear, nothing unverified
        self.assertEqual(self.good.rcpts(), ["bob@good.example"])
        # a policy over 64 KB, a redirect: no policy (opportunistic), the reason logged
        self.assertEqual(sorted(self.bad.rcpts()),
                         ["bob@addr.example", "bob@big.example", "bob@none.example",
                          "bob@redir.example", "bob@testing.example"])
        self.assertEqual(self.plain.rcpts(), [])
        self.assertEqual(self.good.handler.tls, [True])
        log = self.env.log("smtpd")
        self.assertRegex(log, r"to=<bob@good\.example> relay=mx\.good\.example\[127\.0\.0\.1\]:\d+ "
                              r"tls=TLSv1\.[23] verified=mta-sts status=sent")
        self.assertRegex(log, r"to=<bob@testing\.example> .* tls=TLSv1\.[23] verified=none status=sent")
        self.assertRegex(log, r"to=<bob@none\.example> .* tls=TLSv1\.[23] verified=none status=sent")
        self.assertRegex(log, r"to=<bob@bad\.example> relay= tls=none verified=none status=deferred")
        self.assertRegex(log, r"tls policy: MTA-STS testing for testing\.example: certificate not "
                              r"verified for mx\.testing\.example: .*; delivering anyway")
        self.assertNotIn("none.example: policy", log)
        self.assertRegex(log, r"mta-sts: big\.example: policy fetch failed: .*larger than 65536")
        self.assertRegex(log, r"mta-sts: redir\.example: policy fetch failed: HTTP status 301")
        self.assertEqual(self.https.fetches.count("good.example"), 1)    # not followed
        cache = os.path.join(self.env.data, "mta-sts")
        self.assertEqual(sorted(os.listdir(cache)), sorted(set(POLICIES) - {"addr.example"}))
        self.assertNotIn("addr.example", self.https.fetches)
        self.assertEqual(self.https.fetches.count("bad.example"), 1)

        # the cached policy: HTTPS server gone, smtpd restarted, still enforced
        self.https.stop()
        self.env.stop("smtpd")
        self.env.start("smtpd")
        self.queue("flush")
        self.assertTrue(wait_for(lambda: "attempts=2" in self.listing().get("bad.example", ""), 30),
                        self.queue())
        self.assertIn(want["bad.example"], self.listing()["bad.example"])
        # a new TXT id (the cache says another): the refetch fails, the cached policy stays
        path = os.path.join(cache, "bad.example")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(re.sub(r"^id=\w+", "id=older", text))
        # and without a cached policy a failed fetch means no policy (RFC 8461 5.1)
        os.unlink(os.path.join(cache, "plain.example"))
        self.queue("flush")
        self.assertTrue(wait_for(lambda: self.plain.rcpts(), 30), self.queue())
        self.assertTrue(wait_for(lambda: "attempts=3" in self.listing().get("bad.example", ""), 30),
                        self.queue())
        self.assertIn(want["bad.example"], self.listing()["bad.example"])
        log = self.env.log("smtpd")
        self.assertIn("mta-sts: bad.example: the cached policy (id=older, mode enforce) stays in force", log)
        self.assertRegex(log, r"mta-sts: bad\.example: policy fetch failed")
        self.assertNotIn("bob@bad.example", self.bad.rcpts())
        self.assertTrue(self.plain.handler.messages[0][2].endswith(BODY))


class Publish(unittest.TestCase):
    """`userdb dns` prints the _mta-sts TXT of mta_sts_policy (its id follows the
    policy file), `userdb dns --mta-sts-policy` the file; off prints neither."""

    def dns(self, env, *args):
        r = env.userdb("dns", *args, check=False)
        return r.returncode, r.stdout

    def test_userdb_dns(self):
        env = harness.Env("mtasts-publish")
        try:
            rc, out = self.dns(env)
            self.assertEqual(rc, 0)
            self.assertNotIn("_mta-sts", out)
            self.assertNotEqual(self.dns(env, "--mta-sts-policy")[0], 0)
            ids = []
            for mode in ("enforce", "testing"):
                with open(env.conf) as f:
                    text = re.sub(r"mta_sts_(policy|max_age) = \w+\n", "", f.read())
                env.write_conf(text.replace("[server]\n", "[server]\nmta_sts_policy = %s\n"
                                            "mta_sts_max_age = 2d\n" % mode, 1))
                rc, out = self.dns(env)
                self.assertEqual(rc, 0, out)
                m = re.search(r"^_mta-sts\.%s\.\t3600\tIN\tTXT\t\"v=STSv1; id=([0-9a-f]{16})\"$"
                              % re.escape(harness.DOMAIN), out, re.M)
                self.assertTrue(m, out)
                ids.append(m.group(1))
                self.assertIn("https://mta-sts.%s/.well-known/mta-sts.txt" % harness.DOMAIN, out)
                rc, pol = self.dns(env, "--mta-sts-policy")
                self.assertEqual(rc, 0)
                self.assertEqual(pol, "version: STSv1\nmode: %s\nmx: mail.example.test\n"
                                      "max_age: 172800\n" % mode)     # (text mode: CRLF read as LF)
            self.assertNotEqual(ids[0], ids[1])
        finally:
            env.stop_all()

    def test_check_config(self):
        env = harness.Env("mtasts-check", server_conf="mta_sts_policy = enforce\n"
                                                      "tls_ca_file = /nonexistent/ca.pem\n",
                          sections="[smtp mx]\nlisten = 127.0.0.1:{port:mx}\n")
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^error: .*: tls_ca_file: cannot load the CA "
                                   r"certificates /nonexistent/ca\.pem")
        self.assertRegex(r.stdout, r"(?m)^warning: .*: mta_sts_policy = enforce but no \[smtp\] "
                                   r"instance offers STARTTLS")
        with open(env.conf) as f:
            text = f.read()
        env.write_conf(text.replace("tls_ca_file = /nonexistent/ca.pem\n", "")
                       .replace("listen = 127.0.0.1:", "tls = starttls\nlisten = 127.0.0.1:"))
        r = env.smtpd_cmd("--check-config")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("tls_ca_file", r.stdout)
        self.assertNotIn("mta_sts_policy", r.stdout)


if __name__ == "__main__":
    unittest.main()
