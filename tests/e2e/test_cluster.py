"""Three nodes replicating the store with Berkeley DB's replication manager ([cluster]),
each its own data_dir, replication port, smtpd and pop3d on loopback, started here:
- a user added with userdb on any node (a replica forwards the write to the master over
  the replication channel) appears on every node; `userdb cluster status` shows one
  master and two replicas;
- POP-before-SMTP across nodes: a POP3 login on B lets that IP relay through A within a
  second; mail delivered by A is collected from B (mail_dir on a shared directory);
- the lockout counts failures made against any node;
- a partition (a replica's processes stopped with SIGSTOP) and its healing: the replica
  catches up;
- kill -9 of the master under a userdb write load: an election, every acknowledged write
  present afterwards on the survivors, and the old master restarted rejoins as a replica;
- one writer per node (common/store_writer.h): writes of pop3d and userdb on the master
  and on a replica go through the node's listener, counted in `userdb cluster status`;
  kill -9 of a replica's writer (whichever daemon listens) leaves the others writing,
  and the daemon restarted serves the channel again.
- an idle listener through another process's recovery (a replica's pop3d killed and
  restarted): it reopens on its own and the node keeps replicating;
- the same while the old listener is slow to let its port go (stopped with SIGSTOP):
  the recovering process claims the listener's role, waits for the port and listens.
The tests run in order on one cluster (names test_1_... to test_8_...)."""
import os
import re
import shutil
import signal
import threading
import time
import unittest

from tests.e2e.clusternodes import Node, master_of, poll, shared_mail_dir, stop_nodes
from tests.e2e import harness
from tests.e2e.harness import DOMAIN, REMOTE_IP
from tests.e2e.test_lockout import Pop

ALICE, ALICE_PW = "alice@" + DOMAIN, "Tr1cky-Walrus-Lamp"
LIMIT = 4
NAMES = ("a", "b", "c")


class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = harness.free_port()
        cls.mail = shared_mail_dir("cluster-mail")
        ports = [harness.free_port() for _ in NAMES]
        cls.nodes = [Node(n, ports, i, cls.mail, cls.sink, server_conf="auth_fail_limit = %d\n" % LIMIT)
                     for i, n in enumerate(NAMES)]
        for n in cls.nodes:
            n.start()
        for n in cls.nodes:
            n.wait()

    @classmethod
    def tearDownClass(cls):
        try:
            stop_nodes(cls.nodes)
        finally:
            shutil.rmtree(cls.mail, ignore_errors=True)

    def master(self):
        return master_of(self.nodes)

    def test_1_users_replicate(self):
        m = poll(self.master, 20)
        self.assertIsNotNone(m, "no master elected")
        r = m.status()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(re.findall(r" master ", r.stdout)), 1, r.stdout)
        self.assertEqual(len(re.findall(r" replica ", r.stdout)), 2, r.stdout)
        replica = next(n for n in self.nodes if n is not m)
        # on a replica: forwarded to the master, then replicated to every node
        replica.env.add_user(ALICE, ALICE_PW, relay=True)
        m.env.add_user("bob@" + DOMAIN, "Quiet-Otter-Stone-9")
        for n in self.nodes:
            self.assertTrue(poll(lambda: n.has_user(ALICE) and n.has_user("bob@" + DOMAIN), 5),
                            "users missing on node %s" % n.name)
        replica.env.userdb("alias", "add", "al@" + DOMAIN, ALICE)
        self.assertTrue(poll(lambda: "al@" in m.env.userdb("alias", "list").stdout, 5))
        replica.env.userdb("del", "bob@" + DOMAIN)
        for n in self.nodes:
            self.assertTrue(poll(lambda: not n.has_user("bob@" + DOMAIN), 5))

    def test_2_pop_before_smtp_across_nodes(self):
        a, b = self.nodes[0], self.nodes[1]
        self.assertTrue(poll(lambda: a.has_user(ALICE), 5))

        def rcpt():
            s = a.env.smtp("smtp", REMOTE_IP)
            s.mail("someone@elsewhere.test")
            code, _ = s.rcpt("friend@example.net")
            s.quit()
            return code

        self.assertEqual(rcpt(), 550)
        p = b.env.pop3("pop", REMOTE_IP)
        p.user(ALICE)
        p.pass_(ALICE_PW)
        p.quit()
        t0 = time.time()
        self.assertTrue(poll(lambda: rcpt() == 250, 1.0, 0.05), "no relay through A within 1 s")
        self.assertLess(time.time() - t0, 1.5)
        # mail delivered by A is collected from B: Maildirs on the shared mail_dir
        s = a.env.smtp("smtp")
        s.sendmail("x@elsewhere.test", [ALICE], b"Subject: across\r\n\r\nshared maildir\r\n")
        s.quit()
        p = b.env.pop3("pop")
        p.user(ALICE)
        p.pass_(ALICE_PW)
        self.assertEqual(p.stat()[0], 1)
        self.assertIn(b"shared maildir", b"\r\n".join(p.retr(1)[1]))
        p.dele(1)
        p.quit()

    def test_3_lockout_across_nodes(self):
        ip = "127.0.0.23"
        for node in (self.nodes[0], self.nodes[1], self.nodes[0], self.nodes[2]):
            c = Pop(node.env.ports["pop"], ip)
            c.cmd("USER " + ALICE)
            self.assertTrue(c.cmd("PASS wrong-password").startswith("-ERR"))
            c.close()
        for n in self.nodes:
            self.assertTrue(poll(lambda: re.search(r"^%s failures=%d .*locked=yes" % (ip, LIMIT),
                                                    n.env.userdb("lockout", "list").stdout, re.M), 5),
                            n.env.userdb("lockout", "list").stdout)
        c = Pop(self.nodes[1].env.ports["pop"], ip)    # the right password: locked out
        c.cmd("USER " + ALICE)
        self.assertTrue(c.cmd("PASS " + ALICE_PW).startswith("-ERR"))
        c.close()

    def test_4_partition_heals(self):
        m = poll(self.master, 10)
        self.assertIsNotNone(m)
        cut = next(n for n in self.nodes if n is not m)
        cut.signal(signal.SIGSTOP)
        try:
            m.env.add_user("during-partition@" + DOMAIN, "Partition-Pass-77")   # acked by the third
            self.assertFalse(cut.has_user("during-partition@" + DOMAIN))
        finally:
            cut.signal(signal.SIGCONT)
        self.assertTrue(poll(lambda: cut.has_user("during-partition@" + DOMAIN), 10),
                        "the stopped replica did not catch up")

    def test_5_master_killed_under_load(self):
        m = poll(self.master, 10)
        self.assertIsNotNone(m)
        others = [n for n in self.nodes if n is not m]
        acked, stop = [], threading.Event()

        def writer(node, tag):
            i = 0
            while not stop.is_set():
                addr = "load-%s-%d@%s" % (tag, i, DOMAIN)
                r = node.env.userdb("add", addr, "--no-mailbox", password="Load-Pass-%d-x" % i,
                                    check=False)
                if r.returncode == 0:
                    acked.append(addr)
                i += 1

        threads = [threading.Thread(target=writer, args=(n, n.name)) for n in others]
        for t in threads:
            t.start()
        time.sleep(2.0)
        m.kill9()
        t_kill = time.time()
        new = poll(lambda: next((n for n in others if n.role() == "master"), None), 20)
        self.assertIsNotNone(new, "no new master after the kill")
        n_before = len(acked)
        self.assertTrue(poll(lambda: len(acked) > n_before, 15), "no write acknowledged after the election")
        stop.set()
        for t in threads:
            t.join(60)
        self.assertLess(time.time() - t_kill, 40)
        self.assertGreater(len(acked), 5)
        logs = new.env.log("smtpd") + new.env.log("pop3d")
        self.assertIn("store: cluster: the master is gone", logs)
        self.assertIn("this node is now the replication master", logs)
        for n in others:
            self.assertTrue(poll(lambda: all(a in n.env.userdb("list").stdout for a in acked), 10),
                            "acknowledged writes missing on %s" % n.name)
        # the old master comes back as a replica and catches up
        m.start()
        m.wait()
        self.assertTrue(poll(lambda: m.role() == "replica", 20), m.status().stdout)
        self.assertTrue(poll(lambda: all(a in m.env.userdb("list").stdout for a in acked), 15))
        r = new.status()
        self.assertEqual(r.returncode, 0, r.stdout)

    def writer(self, node):
        """(pid, writes applied) of the node's writer from cluster status, None if none."""
        m = re.search(r"^writer: pid (\d+), (\d+) writes applied", node.status().stdout, re.M)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def login(self, node):
        p = node.env.pop3("pop", REMOTE_IP)
        p.user(ALICE)
        p.pass_(ALICE_PW)
        p.quit()

    @staticmethod
    def daemon_of(pid):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read()
        return next((d for d in ("smtpd", "pop3d") if ("bin/" + d).encode() in cmd), None)

    def test_6_node_writer(self):
        m = poll(self.master, 20)
        self.assertIsNotNone(m)
        for n in self.nodes:
            w0 = poll(lambda: self.writer(n), 10)
            self.assertIsNotNone(w0, n.status().stdout)
            daemon = self.daemon_of(w0[0])      # the listener daemon serves it
            self.assertIsNotNone(daemon)
            n.env.userdb("alias", "add", "w-%s@%s" % (n.name, DOMAIN), ALICE)
            self.login(n)                  # the lockout's reservation and release, POP-auth
            w1 = self.writer(n)            # (pop3d's own when it is the writer)
            self.assertGreaterEqual(w1[1] - w0[1], 4 if daemon == "smtpd" else 1,
                                    "node %s: %r -> %r" % (n.name, w0, w1))
        # a replica's writer killed (whichever daemon started listening first): writes go
        # on (userdb's open runs the recovery the dead process calls for; pop3d's own
        # writes, saying so at most once), and the killed daemon restarted serves the
        # node's channel again (or finds the other daemon serving it)
        r = next(n for n in self.nodes if n is not m)
        gone = self.daemon_of(self.writer(r)[0])
        r.env.kill9(gone)
        r.env.userdb("alias", "add", "w-gone@" + DOMAIN, ALICE)
        if gone == "smtpd":
            self.login(r)
        self.assertTrue(poll(lambda: "w-gone@" in m.env.userdb("alias", "list").stdout, 10))
        self.assertLessEqual(r.env.log("pop3d").count(
            "the node's writer (%s/run/store-writer.sock) does not answer" % r.env.data), 1)
        r.env.start(gone, wait=[])
        harness.wait_port(r.env.ports["smtp" if gone == "smtpd" else "pop"], timeout=60,
                          proc=r.env.procs[gone])
        w = poll(lambda: self.writer(r), 20)
        self.assertIsNotNone(w, r.status().stdout)
        self.login(r)
        r.env.userdb("alias", "add", "w-back@" + DOMAIN, ALICE)
        self.assertGreater(self.writer(r)[1], w[1], r.status().stdout)
        self.assertTrue(poll(lambda: "w-back@" in m.env.userdb("alias", "list").stdout, 10))
        # after the recoveries the killed processes called for (here and in test_5), every
        # node still takes a login and lets its IP relay (POP-before-SMTP)
        for n in self.nodes:
            self.login(n)
            s = n.env.smtp("smtp", REMOTE_IP)
            s.mail("someone@elsewhere.test")
            self.assertEqual(s.rcpt("friend@example.net")[0], 250)   # POP-before-SMTP
            s.quit()
    def test_7_idle_listener_through_recovery(self):
        """A replica's pop3d killed and started again: its open runs recovery, which
        panics the environment of the node's idle smtpd (its listener, whose threads
        take the master's log). Nothing calls that smtpd's store, yet the node keeps
        replicating: it reopens on its own."""
        m = poll(self.master, 20)
        self.assertIsNotNone(m)
        r = next(n for n in self.nodes if n is not m)
        before = r.env.log("smtpd").count("another process left the store uncleanly")
        r.env.kill9("pop3d")
        r.env.start("pop3d", wait=["pop"])
        self.assertTrue(poll(lambda: r.env.log("smtpd").count(
            "another process left the store uncleanly") > before, 10), r.env.log("smtpd")[-3000:])
        time.sleep(1.0)
        addr = "after-recovery@" + DOMAIN
        m.env.add_user(addr, "Recovered-Pass-77")
        self.assertTrue(poll(lambda: r.has_user(addr), 10),
                        "the replica stopped taking the master's log after the recovery:\n" +
                        r.status().stdout)

    def test_8_old_listener_slow_to_let_go(self):
        """A replica's listener W stopped (SIGSTOP) while the node's other daemon O is
        killed and started again: O's open runs recovery and claims the listener's role
        in the new regions, but W, still in the old ones, holds the replication port.
        O waits for the port (cluster_net.c's bind()); W, continued, reopens on its own
        and lets it go; O listens and the node replicates again. Berkeley DB 5.3 keeps
        the role with a live process whose bind() failed: without the wait the node had
        no listener and stayed "electing" for good."""
        m = poll(self.master, 20)
        self.assertIsNotNone(m)
        r = next(n for n in self.nodes if n is not m)
        w = poll(lambda: self.writer(r), 10)
        self.assertIsNotNone(w, r.status().stdout)
        held = self.daemon_of(w[0])
        other = "pop3d" if held == "smtpd" else "smtpd"
        waited = "the replication port %d is still in use" % r.rep_port
        os.kill(w[0], signal.SIGSTOP)
        try:
            r.env.kill9(other)
            r.env.start(other, wait=[])
            # O, or smtpd's queue runner (W's child) should its reopen come first
            self.assertTrue(poll(lambda: waited in r.env.log("smtpd") + r.env.log("pop3d"), 20),
                            "%s did not wait for the port:\n%s" % (other, r.env.log(other)[-3000:]))
        finally:
            os.kill(w[0], signal.SIGCONT)
        harness.wait_port(r.env.ports["smtp" if other == "smtpd" else "pop"], timeout=60,
                          proc=r.env.procs[other])
        self.assertNotIn("stayed in use", r.env.log(other))
        addr = "after-slow-listener@" + DOMAIN
        m.env.add_user(addr, "Slow-Listener-Pass-78")
        self.assertTrue(poll(lambda: r.has_user(addr), 15),
                        "the replica has no listener after the recovery:\n" + r.status().stdout)
        w2 = poll(lambda: self.writer(r), 10)     # O (or smtpd's queue runner, if O is
        self.assertIsNotNone(w2, r.status().stdout)   # pop3d and the runner's reopen won)
        self.assertNotEqual(w2[0], w[0], r.status().stdout)
        self.login(r)                  # its writes go through the new writer
        s = r.env.smtp("smtp", REMOTE_IP)
        s.mail("someone@elsewhere.test")
        self.assertEqual(s.rcpt("friend@example.net")[0], 250)       # POP-before-SMTP
        s.quit()


if __name__ == "__main__":
    unittest.main()
