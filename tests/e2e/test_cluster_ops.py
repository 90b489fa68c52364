"""Operating a cluster ([cluster], README "Several nodes"), with real processes:
- Conversion: a running single server (users, an alias, a message in a Maildir, a
  POP-auth record, a failed login) turned into a three-node cluster by README's steps
  (stop it, move its Maildirs to the shared mail_dir, add [cluster], start it and two
  empty nodes): every record on the new nodes, the old server the master (priority),
  a POP3 login on a new node with the old password sees the old message, nothing lost.
- Partition: three nodes, each in its own network namespace, joined by veth pairs to a
  bridge in a fourth; the master's link set down: the two replicas elect a master and
  acknowledge writes, a write on the isolated old master is not reported acknowledged
  (ack_policy quorum: userdb exits 1); the link up again: the old master steps down and
  rejoins as a replica, every acknowledged write on all three, the unacknowledged one
  on all or none (rolled back: none, as Berkeley DB syncs the old master to the new
  master's log). Needs root (ip netns); without it the test fails saying so."""
import os
import re
import shutil
import subprocess
import time
import unittest

from tests.e2e import harness
from tests.e2e.clusternodes import Node, master_of, poll, shared_mail_dir, stop_nodes
from tests.e2e.harness import DOMAIN, REMOTE_IP
from tests.e2e.test_lockout import Pop

ALICE, ALICE_PW = "alice@" + DOMAIN, "Old-Server-Pass-41"
BOB = "bob@" + DOMAIN
PW = "Cluster-Ops-Pass-58"


def relay_code(env, source):
    s = env.smtp("smtp", source)
    s.mail("someone@elsewhere.test")
    code, _ = s.rcpt("friend@example.net")
    s.quit()
    return code


def pop_messages(env, address, password):
    p = env.pop3("pop")
    p.user(address)
    p.pass_(password)
    out = [b"\r\n".join(p.retr(i + 1)[1]) for i in range(p.stat()[0])]
    p.quit()
    return out


class Conversion(unittest.TestCase):
    def test_single_server_becomes_three_nodes(self):
        mail = shared_mail_dir("convert-mail")
        self.addCleanup(shutil.rmtree, mail, True)
        ports = [harness.free_port() for _ in range(3)]
        sink = harness.free_port()
        nodes = [Node("convert-" + n, ports, i, mail, sink) for i, n in enumerate("abc")]
        self.addCleanup(stop_nodes, nodes)
        a = nodes[0]
        with open(a.env.conf) as f:
            cluster_conf = f.read()
        # the server as it ran before: no [cluster], its Maildirs in DATA_DIR/mail
        single = re.sub(r"^mail_dir = .*\n", "", cluster_conf.split("[cluster]")[0], flags=re.M)
        a.env.write_conf(single)
        a.start()
        a.wait()
        a.env.add_user(ALICE, ALICE_PW)
        a.env.add_user(BOB, PW, relay=True)
        a.env.userdb("alias", "add", "sales@" + DOMAIN, ALICE)
        s = a.env.smtp("smtp")
        s.sendmail("x@elsewhere.test", [ALICE], b"Subject: before\r\n\r\nfrom the single server\r\n")
        s.quit()
        self.assertEqual(len(a.env.messages(ALICE)), 1)
        p = a.env.pop3("pop", REMOTE_IP)          # a POP-auth record for 127.0.0.9
        p.user(BOB)
        p.pass_(PW)
        p.quit()
        c = Pop(a.env.ports["pop"], "127.0.0.23")  # a failed login: the lockout table
        c.cmd("USER " + ALICE)
        self.assertTrue(c.cmd("PASS wrong-password").startswith("-ERR"))
        c.close()
        before = {what: a.env.userdb(*what).stdout for what in
                  (("list",), ("alias", "list"), ("popauth", "list"), ("lockout", "list"))}
        self.assertIn(REMOTE_IP, before[("popauth", "list")])
        self.assertIn("127.0.0.23", before[("lockout", "list")])

        # README "Several nodes", turning a single server into a cluster:
        a.env.stop_all()                                          # 1. stop it
        old_mail = os.path.join(a.env.data, "mail")               # 2. Maildirs to mail_dir
        for entry in os.listdir(old_mail):
            shutil.move(os.path.join(old_mail, entry), os.path.join(mail, entry))
        a.env.write_conf(cluster_conf)                            # 3. mail_dir, [cluster]
        for n in nodes:                                           # 4. start it and the new ones
            n.start()
        for n in nodes:
            n.wait()

        self.assertIs(poll(lambda: master_of(nodes), 30), a, a.status().stdout)
        r = a.status()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(re.findall(r" replica ", r.stdout)), 2, r.stdout)
        for n in nodes[1:]:
            for what, text in before.items():
                got = poll(lambda: n.env.userdb(*what, check=False).stdout == text, 20)
                self.assertTrue(got, "node %s, userdb %s:\n%s\nexpected:\n%s"
                                % (n.name, " ".join(what), n.env.userdb(*what, check=False).stdout, text))
        b, c3 = nodes[1], nodes[2]
        self.assertEqual(relay_code(c3.env, REMOTE_IP), 250)     # the POP-auth record on C
        msgs = pop_messages(b.env, ALICE, ALICE_PW)               # the old password on B
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"from the single server", msgs[0])
        c3.env.add_user("carol@" + DOMAIN, PW)                    # forwarded to A
        self.assertTrue(poll(lambda: a.has_user("carol@" + DOMAIN), 5))
        for what, text in before.items():                        # nothing lost on A
            now = a.env.userdb(*what).stdout.splitlines()
            for line in text.splitlines():
                self.assertIn(line, now, "userdb %s on A" % " ".join(what))
        self.assertEqual(len(pop_messages(a.env, ALICE, ALICE_PW)), 1)
        self.assertTrue(a.has_user(BOB))


def ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


class Network:
    """A bridge in namespace NET; each node a namespace with eth0 (10.77.0.N/24) on a
    veth pair whose other end (v-NAME, in NET) is on the bridge."""

    def __init__(self, tag, names):
        self.net = tag + "net"
        self.ns = {n: tag + n for n in names}
        self.made = []

    def create(self):
        for ns in [self.net] + list(self.ns.values()):   # left by a dead process of our pid
            ip("netns", "del", ns, check=False)
        ip("netns", "add", self.net)
        self.made.append(self.net)
        ip("-n", self.net, "link", "add", "br0", "type", "bridge")
        ip("-n", self.net, "link", "set", "br0", "up")
        for i, (name, ns) in enumerate(sorted(self.ns.items())):
            ip("netns", "add", ns)
            self.made.append(ns)
            ip("-n", self.net, "link", "add", "v-" + name, "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            ip("-n", self.net, "link", "set", "v-" + name, "master", "br0", "up")
            ip("-n", ns, "addr", "add", "10.77.0.%d/24" % (i + 1), "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def link(self, name, state):
        ip("-n", self.net, "link", "set", "v-" + name, state)

    def destroy(self):
        for ns in reversed(self.made):
            ip("netns", "del", ns, check=False)


def users(node):
    """The addresses `userdb list` shows on NODE."""
    return {line.split()[0] for line in node.env.userdb("list").stdout.splitlines() if line.strip()}


def log_end(node):
    """The (file, offset) of NODE's log end, as its `userdb cluster status` shows it."""
    m = re.search(r" log=(\d+)/(\d+) .*\(this node\)$", node.status().stdout, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


class Partition(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("test_cluster_ops.Partition needs root: it makes network namespaces "
                      "(ip netns add); run the e2e tests as root (CI does)")
        self.netw = Network("ms%d" % os.getpid(), "abc")
        self.addCleanup(self.netw.destroy)
        try:
            self.netw.create()
        except AssertionError as e:
            self.fail("cannot make the test's network namespaces (%s): this test needs "
                      "ip netns and veth/bridge links" % e)

    def test_master_cut_off(self):
        mail = shared_mail_dir("partition-mail")
        self.addCleanup(shutil.rmtree, mail, True)
        sites = ["10.77.0.%d:7400" % (i + 1) for i in range(3)]
        nodes = [Node("part-" + n, None, i, mail, harness.free_port(), sites=sites,
                      netns=self.netw.ns[n]) for i, n in enumerate("abc")]
        self.addCleanup(stop_nodes, nodes)
        for n in nodes:
            n.start()
        for n in nodes:
            n.wait()
        a, b, c = nodes
        self.assertIs(poll(lambda: master_of(nodes), 30), a, a.status().stdout)
        a.env.add_user("before@" + DOMAIN, PW)
        self.assertTrue(poll(lambda: b.has_user("before@" + DOMAIN) and c.has_user("before@" + DOMAIN)))

        self.netw.link("a", "down")                   # the master cut off from both replicas
        new = poll(lambda: next((n for n in (b, c) if n.role() == "master"), None), 20)
        if new is None:
            self.fail("no new master among the replicas: " + b.status().stdout)
        acked = ["before@" + DOMAIN]
        for n in (b, c):                              # one of them forwards to the other
            addr = "during-%s@%s" % (n.name[-1], DOMAIN)
            n.env.add_user(addr, PW)                  # exit 0: acknowledged
            acked.append(addr)
        # more writes on the isolated side than on the majority: its log is the longer one
        lone = ["isolated-%d@%s" % (i, DOMAIN) for i in range(3)]
        for addr in lone:
            r = a.env.userdb("add", addr, password=PW, check=False)
            self.assertNotEqual(r.returncode, 0, "a write on the isolated master reported acknowledged")
            self.assertIn("not acknowledged", r.stderr)
        print("\nuserdb add on the isolated old master: exit %d\nstdout: %sstderr (last line): %s"
              % (r.returncode, r.stdout, r.stderr.strip().splitlines()[-1]))
        self.assertGreater(log_end(a), log_end(new), "the isolated master's log is not the longer one")

        self.netw.link("a", "up")                     # heal
        self.assertTrue(poll(lambda: a.role() == "replica" and master_of(nodes) is new, 30),
                        a.status().stdout)
        self.assertIn("two masters met; this one steps down", a.env.log("smtpd"))
        for n in nodes:
            self.assertTrue(poll(lambda: set(acked) <= users(n), 15),
                            "acknowledged writes missing on %s" % n.name)
        where = [n.name for n in nodes if set(lone) & users(n)]
        print("the unacknowledged writes are on: %s" % (", ".join(where) or "no node"))
        self.assertIn(len(where), (0, 3), "the unacknowledged writes are on some nodes only: %s" % where)
        a.env.add_user("after@" + DOMAIN, PW)          # the old master, a replica, forwards
        self.assertTrue(poll(lambda: all("after@" + DOMAIN in users(n) for n in nodes), 5))


if __name__ == "__main__":
    unittest.main()
