#!/usr/bin/env python3
"""bench_cluster: what replication ([cluster], README "Several nodes") costs.

Starts a single node and a three-node cluster on loopback with the release build
(bin/, `make all`; MS_BIN overrides), through the e2e harness, and measures:
- userdb writes/s: `userdb alias add` (one store write, no password hashing) run N
  times one after the other: single node; cluster, run on the master; cluster, run on
  a replica (each write forwarded to the master over the replication channel);
- the cost of a forwarded write: per-write time on a replica minus on the master; and,
  without a process start in the figure, one write's latency (median, p99) as a process
  of the node sees it, on the master and on a replica (bench/fwdlat.c, built here
  against build/rel/libcommon.a);
- POP3 logins/s (USER/PASS/QUIT, C clients in parallel for S seconds): single node;
  cluster replica (each login's lockout reservation, release and POP-auth record go to
  the master).
Run as root (the daemons drop to `mail`):  python3 bench/bench_cluster.py [--quick]
Prints one table; nothing is written elsewhere. Not part of `make bench`."""
import os
import pwd
import re
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
os.environ.setdefault("MS_BIN", os.path.join(ROOT, "bin"))
from tests.e2e import harness  # noqa: E402
from tests.e2e.test_cluster import Node, poll  # noqa: E402

QUICK = "--quick" in sys.argv
N_WRITES = 20 if QUICK else 200
LOGIN_SECS = 3 if QUICK else 10
CLIENTS = 4
N_LAT = 50 if QUICK else 500
USER, PW = "bench@" + harness.DOMAIN, "Bench-Pass-4711"


def writes_per_s(env, tag):
    t0 = time.time()
    for i in range(N_WRITES):
        env.userdb("alias", "add", "w%s%d@%s" % (tag, i, harness.DOMAIN), USER)
    dt = time.time() - t0
    return N_WRITES / dt, dt / N_WRITES


def logins_per_s(port):
    done, stop = [0], time.time() + LOGIN_SECS

    def client(k):
        src = "127.0.0.%d" % (40 + k)
        user = USER.replace("bench@", "bench%d@" % k)
        while time.time() < stop:
            s = socket.create_connection(("127.0.0.1", port), 10, source_address=(src, 0))
            f = s.makefile("rb")
            f.readline()
            for c in ("USER " + user, "PASS " + PW, "QUIT"):
                s.sendall(c.encode() + b"\r\n")
                r = f.readline()
                if c.startswith("PASS") and not r.startswith(b"+OK"):
                    raise RuntimeError("login failed: %r" % r)
            s.close()
            done[0] += 1

    ts = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return done[0] / (time.time() - t0)


def build_fwdlat():
    with open(os.path.join(ROOT, "Makefile")) as f:
        libs = re.search(r"^LIBS\s*:=\s*(.*)$", f.read(), re.M).group(1).split()
    out = os.path.join(harness.WORK, "fwdlat")
    subprocess.run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
                    "-I" + os.path.join(ROOT, "common"), "-o", out,
                    os.path.join(ROOT, "bench", "fwdlat.c"),
                    os.path.join(ROOT, "build", "rel", "libcommon.a")] + libs, check=True)
    return out


def latency(fwdlat, env):
    r = subprocess.run([fwdlat, env.conf, str(N_LAT)], capture_output=True, text=True,
                       timeout=600, check=True)
    m = re.search(r"median_us=(\d+) p99_us=(\d+)", r.stdout)
    return int(m.group(1)) / 1000.0, int(m.group(2)) / 1000.0


def main():
    rows = []
    fwdlat = build_fwdlat()
    single = harness.Env("bench-single", sections="[pop3 main]\nlisten = 127.0.0.1:{port:pop}\n"
                         "plaintext_auth = always\n")
    single.start("pop3d", wait=["pop"])
    for k in range(CLIENTS):
        single.add_user(USER.replace("bench@", "bench%d@" % k), PW)
    single.add_user(USER, PW)
    ws, wt = writes_per_s(single, "s")
    ls = logins_per_s(single.ports["pop"])
    single.stop_all()

    mail = os.path.join(harness.WORK, "bench-cluster-mail")
    os.makedirs(mail, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("mail")
        os.chown(mail, pw.pw_uid, pw.pw_gid)
    ports = [harness.free_port() for _ in range(3)]
    extra = "ack_policy = %s\n" % os.environ["BENCH_ACK"] if os.environ.get("BENCH_ACK") else ""
    nodes = [Node(n, ports, i, mail, harness.free_port(), extra) for i, n in enumerate("abc")]
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            n.wait()
        master = poll(lambda: next((n for n in nodes if n.role() == "master"), None), 20)
        replica = next(n for n in nodes if n is not master)
        for k in range(CLIENTS):
            master.env.add_user(USER.replace("bench@", "bench%d@" % k), PW)
        master.env.add_user(USER, PW)
        poll(lambda: replica.has_user(USER), 5)
        wm, tm = writes_per_s(master.env, "m")
        wr, tr = writes_per_s(replica.env, "r")
        lat_m = latency(fwdlat, master.env)
        lat_r = latency(fwdlat, replica.env)
        lr = logins_per_s(replica.env.ports["pop"])
        lm = logins_per_s(master.env.ports["pop"])
    finally:
        for n in nodes:
            n.env.stop_all()
    rows += [("userdb writes/s, single node", "%.1f" % ws),
             ("userdb writes/s, cluster, on the master", "%.1f" % wm),
             ("userdb writes/s, cluster, on a replica (forwarded)", "%.1f" % wr),
             ("a forwarded write's extra time (ms, replica - master)", "%.1f" % ((tr - tm) * 1000)),
             ("per-write time single / master / replica (ms)", "%.1f / %.1f / %.1f" % (wt * 1000, tm * 1000, tr * 1000)),
             ("one write in a running process, master: median / p99 (ms, %d)" % N_LAT,
              "%.2f / %.2f" % lat_m),
             ("one forwarded write in a running process, replica: median / p99 (ms)",
              "%.2f / %.2f" % lat_r),
             ("POP3 logins/s, single node (%d clients)" % CLIENTS, "%.0f" % ls),
             ("POP3 logins/s, cluster master", "%.0f" % lm),
             ("POP3 logins/s, cluster replica (writes forwarded)", "%.0f" % lr)]
    print("\n| figure%s | value |" % (" (quick)" if QUICK else ""))
    print("|---|---|")
    for k, v in rows:
        print("| %s | %s |" % (k, v))


if __name__ == "__main__":
    main()
