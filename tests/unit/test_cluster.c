/* test_cluster: the pure parts of the replicated store: the [cluster] section
 * (cluster_conf.c), the replication channel's messages (cluster_req.c), the master's
 * side of a forwarded write (cluster_apply.c) on a single-node store (the replication
 * connections' socket options: test_cluster_net.c). */
#include <string.h>
#include <sys/socket.h>

#include "cluster_apply.h"
#include "cluster_conf.h"
#include "cluster_req.h"
#include "config.h"
#include "cu.h"
#include "greylist.h"
#include "store.h"
#include "store_rec.h"
#include "tutil.h"

static void test_conf_parse(void)
{
    struct cluster_conf c;
    char why[300];
    CU_ASSERT_EQUAL(cluster_conf_parse("", "", 100, "quorum", &c, why, sizeof why), 0);
    CU_ASSERT_FALSE(c.on);
    CU_ASSERT_EQUAL(cluster_conf_parse("10.0.0.1:7400", "10.0.0.2:7400, 10.0.0.3:7401 [2001:db8::1]:7400",
                                       50, "ALL", &c, why, sizeof why), 0);
    CU_ASSERT_TRUE(c.on);
    CU_ASSERT_EQUAL(c.npeers, 3);
    CU_ASSERT_STRING_EQUAL(c.peers[1].host, "10.0.0.3");
    CU_ASSERT_EQUAL(c.peers[1].port, 7401);
    CU_ASSERT_STRING_EQUAL(c.peers[2].host, "2001:db8::1");
    CU_ASSERT_EQUAL(c.priority, 50);
    CU_ASSERT_EQUAL(c.acks, CLUSTER_ACKS_ALL);
    char buf[300];
    CU_ASSERT_STRING_EQUAL(cluster_site_str(&c.peers[2], buf, sizeof buf), "[2001:db8::1]:7400");
    static const struct { const char *node, *peers, *acks, *word; } bad[] = {
        { "", "10.0.0.2:7400", "quorum", "without key 'node'" },
        { "10.0.0.1:7400", "", "quorum", "at least one other node" },
        { "10.0.0.1", "10.0.0.2:7400", "quorum", "key 'node'" },
        { "10.0.0.1:0", "10.0.0.2:7400", "quorum", "port" },
        { "10.0.0.1:70000", "10.0.0.2:7400", "quorum", "port" },
        { "10.0.0.1:7400", "10.0.0.1:7400", "quorum", "is this node" },
        { "10.0.0.1:7400", "a:1, A:1", "quorum", "given twice" },
        { "10.0.0.1:7400", "10.0.0.2:x", "quorum", "key 'peers'" },
        { "10.0.0.1:7400", "10.0.0.2:7400", "most", "key 'ack_policy'" },
        { "2001:db8::1:7400", "10.0.0.2:7400", "quorum", "HOST:PORT" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        CU_ASSERT_EQUAL(cluster_conf_parse(bad[i].node, bad[i].peers, 100, bad[i].acks, &c, why,
                                           sizeof why), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].word));
    }
    CU_ASSERT_EQUAL(cluster_conf_parse("h:1", "p1:1 p2:1 p3:1 p4:1 p5:1 p6:1 p7:1 p8:1 p9:1", 1,
                                       "none", &c, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(cluster_acks_name(CLUSTER_ACKS_QUORUM), "quorum");
}

static void test_conf_file(void)
{
    char dir[256], path[300], err[512] = "";
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "cluster"), 0);
    snprintf(path, sizeof path, "%s/m.conf", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("[server]\ndomain = example.test\nmail_dir = /srv/mail\n[cluster]\nnode = 127.0.0.1:7400\n"
          "peers = 127.0.0.1:7401\npriority = 10\n", f);
    CU_ASSERT_EQUAL(fclose(f), 0);
    struct config *c = config_load(path, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->cluster_node, "127.0.0.1:7400");
    CU_ASSERT_STRING_EQUAL(c->cluster_ack_policy, "quorum");
    CU_ASSERT_EQUAL(c->cluster_priority, 10);
    CU_ASSERT_STRING_EQUAL(c->mail_dir, "/srv/mail");
    config_free(c);
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("[server]\ndomain = example.test\n[cluster]\nnode = 127.0.0.1:7400\n", f);
    CU_ASSERT_EQUAL(fclose(f), 0);
    CU_ASSERT_PTR_NULL(config_load(path, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "[cluster] key 'peers'"));
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("[server]\ndomain = example.test\n[cluster]\nnodes = 127.0.0.1:7400\n", f);
    CU_ASSERT_EQUAL(fclose(f), 0);
    CU_ASSERT_PTR_NULL(config_load(path, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown in [cluster]"));
    tu_rmtree(dir);
}

static void test_req_roundtrip(void)
{
    struct creq q, d;
    memset(&q, 0, sizeof q);
    q.op = CREQ_AUTHFAIL;
    q.sub = CREQ_AF_RELEASE_FAIL;
    q.flag = true;
    CU_ASSERT_EQUAL(ipaddr_parse("2001:db8::7", &q.ip), 0);
    q.t = -5;
    q.u[0] = 1, q.u[1] = 0xffffffffu, q.u[2] = 3;
    memcpy(q.s1, "abc", 3);
    q.s1len = 3;
    q.s2len = CREQ_DATA_MAX;
    memset(q.s2, 0x5a, q.s2len);
    uint8_t buf[CREQ_WIRE_MAX];
    size_t n = creq_encode(&q, buf, sizeof buf);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(creq_decode(buf, n, &d), 0);
    CU_ASSERT_TRUE(d.op == q.op && d.sub == q.sub && d.flag && d.t == -5 && d.u[1] == 0xffffffffu);
    CU_ASSERT_TRUE(d.ip.family == AF_INET6 && memcmp(d.ip.b, q.ip.b, 16) == 0);
    CU_ASSERT_TRUE(d.s1len == 3 && memcmp(d.s1, "abc", 3) == 0 && d.s2len == CREQ_DATA_MAX);
    /* every truncation and a trailing byte are refused, as are bad versions and ops */
    for (size_t cut = 0; cut < n; cut++)
        CU_ASSERT_EQUAL(creq_decode(buf, cut, &d), -1);
    buf[n] = 0;
    CU_ASSERT_EQUAL(creq_decode(buf, n + 1, &d), -1);
    buf[0] = 9;
    CU_ASSERT_EQUAL(creq_decode(buf, n, &d), -1);
    buf[0] = CREQ_VERSION;
    buf[1] = CREQ_OP_END;
    CU_ASSERT_EQUAL(creq_decode(buf, n, &d), -1);
    CU_ASSERT_EQUAL(creq_encode(&q, buf, 100), 0);           /* does not fit */
    q.s1len = CREQ_DATA_MAX + 1;
    CU_ASSERT_EQUAL(creq_encode(&q, buf, sizeof buf), 0);

    struct crep p = { .code = -3, .outcome = 4, .flag = true, .unacked = true, .dlen = 2 }, e;
    p.data[0] = 1, p.data[1] = 2;
    n = crep_encode(&p, buf, sizeof buf);
    CU_ASSERT_EQUAL(crep_decode(buf, n, &e), 0);
    CU_ASSERT_TRUE(e.code == -3 && e.outcome == 4 && e.flag && e.unacked && e.dlen == 2 && e.data[1] == 2);
    CU_ASSERT_EQUAL(crep_decode(buf, n - 1, &e), -1);
    CU_ASSERT_FALSE(e.has_token);
    p.has_token = true;                                      /* with the commit token */
    for (size_t i = 0; i < CREQ_TOKEN_LEN; i++)
        p.token[i] = (uint8_t)(0xa0 + i);
    size_t m = crep_encode(&p, buf, sizeof buf);
    CU_ASSERT_EQUAL(m, n + CREQ_TOKEN_LEN);
    CU_ASSERT_EQUAL(crep_decode(buf, m, &e), 0);
    CU_ASSERT_TRUE(e.has_token && e.token[0] == 0xa0 && e.token[CREQ_TOKEN_LEN - 1] == 0xa0 + 19 &&
                   e.dlen == 2 && e.unacked);
    CU_ASSERT_EQUAL(crep_decode(buf, m - 1, &e), -1);        /* a token cut short */
    CU_ASSERT_EQUAL(crep_decode(buf, n, &e), -1);            /* flagged, missing */
    buf[9] = 8;                                              /* an unknown flag */
    CU_ASSERT_EQUAL(crep_decode(buf, m, &e), -1);

    struct creq_status s = { 1, 7, 123456, 1700000000, 90 }, t;
    n = creq_status_encode(&s, buf, sizeof buf);
    CU_ASSERT_EQUAL(creq_status_decode(buf, n, &t), 0);
    CU_ASSERT_TRUE(t.role == 1 && t.lsn_file == 7 && t.lsn_offset == 123456 &&
                   t.last_election == 1700000000 && t.priority == 90);
    CU_ASSERT_STRING_EQUAL(creq_op_name(CREQ_USER_PUT), "user put");
    CU_ASSERT_STRING_EQUAL(creq_op_name(200), "?");
}

/* The master's side, on a single-node store: each request does what the store call
 * it stands for does. */
static void test_apply(void)
{
    char dir[256];
    struct store *st = NULL;
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "cluster-apply"), 0);
    CU_ASSERT_EQUAL_FATAL(store_open(dir, &st), STORE_OK);
    struct creq q;
    struct crep p;
    struct user_rec u = { .address = "ann@example.test", .enabled = true, .relay = true,
                          .pwhash = "$y$hash", .created = 42 };
    memset(&q, 0, sizeof q);
    q.op = CREQ_USER_PUT;
    q.s1len = strlen(u.address);
    memcpy(q.s1, u.address, q.s1len);
    q.s2len = rec_enc_user(&u, q.s2, sizeof q.s2);
    cluster_apply(st, &q, &p);
    CU_ASSERT_EQUAL(p.code, STORE_OK);
    cluster_apply(st, &q, &p);
    CU_ASSERT_EQUAL(p.code, STORE_EXISTS);                  /* !replace, as store_user_put */
    struct user_rec got;
    CU_ASSERT_EQUAL(store_user_get(st, "ann@example.test", &got), STORE_OK);
    CU_ASSERT_TRUE(got.relay && got.created == 42);

    memset(&q, 0, sizeof q);
    q.op = CREQ_POPAUTH_PUT;
    CU_ASSERT_EQUAL(ipaddr_parse("192.0.2.5", &q.ip), 0);
    q.t = 1000;
    q.s1len = 16;
    memcpy(q.s1, "ann@example.test", 16);
    cluster_apply(st, &q, &p);
    CU_ASSERT_EQUAL(p.code, STORE_OK);
    struct popauth_rec pa;
    CU_ASSERT_EQUAL(store_popauth_get(st, &q.ip, &pa), STORE_OK);
    CU_ASSERT_TRUE(pa.time == 1000 && strcmp(pa.user, "ann@example.test") == 0);

    memset(&q, 0, sizeof q);
    q.op = CREQ_AUTHFAIL;
    q.sub = CREQ_AF_RECORD;
    CU_ASSERT_EQUAL(ipaddr_parse("192.0.2.9", &q.ip), 0);
    q.t = 5000;
    q.u[0] = 2, q.u[1] = 900, q.u[2] = 600;
    cluster_apply(st, &q, &p);
    cluster_apply(st, &q, &p);
    CU_ASSERT_EQUAL(p.code, STORE_OK);
    struct authfail_rec af;
    CU_ASSERT_EQUAL(rec_dec_authfail(p.data, p.dlen, &af), 0);
    CU_ASSERT_TRUE(af.failures == 2 && af.locked_until == 5600);   /* the answer carries it */
    q.sub = CREQ_AF_RESERVE;
    cluster_apply(st, &q, &p);
    CU_ASSERT_TRUE(p.code == STORE_OK && !p.flag);          /* locked: not granted */

    struct greylist_rec g;
    struct ipaddr gip;
    CU_ASSERT_EQUAL(ipaddr_parse("198.51.100.7", &gip), 0);
    CU_ASSERT_EQUAL(greylist_triplet(&gip, "s@x.test", "ann@example.test", &g), 0);
    memset(&q, 0, sizeof q);
    q.op = CREQ_GREYLIST_CHECK;
    q.t = 7000;
    q.u[0] = 300, q.u[1] = 86400, q.u[2] = 86400;
    q.s1len = greylist_key_enc(&g, q.s1, sizeof q.s1);
    cluster_apply(st, &q, &p);
    CU_ASSERT_TRUE(p.code == STORE_OK && p.outcome == GREYLIST_NEW);
    q.t = 7400;
    cluster_apply(st, &q, &p);
    CU_ASSERT_TRUE(p.code == STORE_OK && p.outcome == GREYLIST_PASSED_NOW);

    memset(&q, 0, sizeof q);
    q.op = CREQ_USER_DEL;
    q.s1len = 16;
    memcpy(q.s1, "ann@example.test", 16);
    cluster_apply(st, &q, &p);
    CU_ASSERT_EQUAL(p.code, STORE_OK);
    CU_ASSERT_EQUAL(store_user_get(st, "ann@example.test", &got), STORE_NOTFOUND);
    q.s1[3] = '\0';                                        /* a NUL inside: refused */
    cluster_apply(st, &q, &p);
    CU_ASSERT_EQUAL(p.code, STORE_ERROR);
    store_close(st);
    tu_rmtree(dir);
}

static CU_TestInfo tests[] = {
    { "[cluster]: node, peers, priority, ack_policy", test_conf_parse },
    { "[cluster] and mail_dir in a configuration file", test_conf_file },
    { "channel messages: round trips, malformed input refused", test_req_roundtrip },
    { "a forwarded write applied at the master", test_apply },
    CU_TEST_INFO_NULL,
};

CU_MAIN("cluster", tests)
