"""Nodes of a replicated store ([cluster]) for the cluster e2e tests (test_cluster.py,
test_cluster_ops.py): each node one harness.Env (its own data_dir, config, smtpd and
pop3d), optionally run inside a network namespace (Env.wrap: `ip netns exec NS`)."""
import os
import pwd
import shutil
import signal
import threading
import time

from tests.e2e import harness


def poll(fn, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)


def shared_mail_dir(tag):
    """A fresh directory owned by run_as_user (mail), standing for the shared file
    system (NFS) every node mounts as mail_dir."""
    path = os.path.join(harness.WORK, "%s-%d" % (tag, os.getpid()))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, 0o700)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("mail")
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def cluster_section(sites, i, priority=None, extra=""):
    """[cluster] of node I among SITES ("HOST:PORT" each); priority 100, 90, 80 ..."""
    peers = ", ".join(s for j, s in enumerate(sites) if j != i)
    return ("[cluster]\nnode = %s\npeers = %s\npriority = %d\n%s"
            % (sites[i], peers, 100 - 10 * i if priority is None else priority, extra))


def node_sections(listen="127.0.0.1"):
    """The [smtp in] and [pop3 main] sections every test node runs."""
    return ("[smtp in]\nlisten = %s:{port:smtp}\nrelay_pop_before_smtp = yes\n"
            "auth_mechanisms = PLAIN\nplaintext_auth = always\n\n"
            "[pop3 main]\nlisten = %s:{port:pop}\nplaintext_auth = always\n\n" % (listen, listen))


class Node:
    """Node I of a cluster whose replication sites are 127.0.0.1:REP_PORTS[i] (or SITES,
    "HOST:PORT" each); mail_dir shared; relayed mail goes to 127.0.0.1:SINK."""

    def __init__(self, name, rep_ports, i, mail_dir, sink, extra="", server_conf="",
                 sites=None, netns=None):
        sites = sites or ["127.0.0.1:%d" % p for p in rep_ports]
        self.name = name
        self.site = sites[i]
        self.rep_port = int(sites[i].rsplit(":", 1)[1])
        self.netns = netns
        self.env = harness.Env(
            "cluster-" + name,
            server_conf=server_conf + "mail_dir = %s\n" % mail_dir,
            routes="example.net = 127.0.0.1:%d" % sink,
            sections=node_sections() + cluster_section(sites, i, extra=extra))
        if netns is not None:
            self.env.wrap = ["ip", "netns", "exec", netns]

    def start(self):
        self.env.start("smtpd", wait=[])
        # pop3d once smtpd made data_dir's tree (both at once race for its owner)
        poll(lambda: os.path.isdir(os.path.join(self.env.data, "db")), 10)
        self.env.start("pop3d", wait=[])

    def wait(self):
        if self.netns is not None:     # its ports are in its namespace: the store is up
            ok = poll(lambda: self.env.userdb("list", check=False).returncode == 0, 60, 0.2)
            assert ok, "node %s: userdb cannot open its store" % self.name
            return
        harness.wait_port(self.env.ports["smtp"], timeout=60, proc=self.env.procs["smtpd"])
        harness.wait_port(self.env.ports["pop"], timeout=60, proc=self.env.procs["pop3d"])

    def signal(self, sig):
        for p in self.env.procs.values():
            os.kill(p.pid, sig)

    def kill9(self):
        for d in list(self.env.procs):
            self.env.kill9(d)

    def has_user(self, address):
        return self.env.userdb("show", address, check=False).returncode == 0

    def status(self):
        return self.env.userdb("cluster", "status", check=False)

    def role(self):
        for line in self.status().stdout.splitlines():
            if line.endswith("(this node)"):
                return line.split()[1]
        return None


def stop_nodes(nodes):
    """Stop every node's daemons at once (no node is left alone without a master, which
    would make its writes wait); raises with what the harness found."""
    errors = []

    def stop(n):
        try:
            n.signal(signal.SIGCONT)
            n.env.stop_all()
        except (AssertionError, ProcessLookupError) as e:
            errors.append(str(e))

    threads = [threading.Thread(target=stop, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError("\n".join(errors))


def master_of(nodes):
    """The one node that says it is master, or None."""
    roles = [n.role() for n in nodes]
    masters = [n for n, r in zip(nodes, roles) if r == "master"]
    return masters[0] if len(masters) == 1 else None
