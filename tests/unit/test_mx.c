/* test_mx: MX answer parsing on hand-built DNS wire answers (compression, CNAME in
 * front, null MX), preference ordering with shuffling of equal ones, and the static
 * next hops ([routes], relayhost, address literals). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cu.h"
#include "mx.h"
#include "twire.h"

/* Header + question "example.net MX IN"; the question name sits at offset 12. */
static void start(struct wire *w, unsigned ancount)
{
    tw_start(w, "example.net", ns_t_mx, 0, ancount, 0);
}

/* An MX answer for the question name (pointer 0xc00c); exchange given as labels, or as
 * "label" + pointer to the question name when compress is set. */
static void add_mx(struct wire *w, unsigned pref, const char *exchange, int compress)
{
    tw_put16(w, 0xc00c);
    tw_put16(w, 15);
    tw_put16(w, 1);
    tw_put32(w, 300);
    size_t rdlen_at = w->n;
    tw_put16(w, 0);
    size_t rd_start = w->n;
    tw_put16(w, pref);
    if (compress) {
        tw_put8(w, (unsigned)strlen(exchange));
        tw_putn(w, exchange, strlen(exchange));
        tw_put16(w, 0xc00c);
    } else {
        tw_name(w, exchange);
    }
    size_t rdlen = w->n - rd_start;
    w->b[rdlen_at] = (unsigned char)(rdlen >> 8);
    w->b[rdlen_at + 1] = (unsigned char)(rdlen & 0xff);
}

static void test_parse_basic(void)
{
    struct wire w;
    start(&w, 3);
    add_mx(&w, 20, "mx2.example.net", 0);
    add_mx(&w, 10, "mx1", 1);                 /* mx1 + pointer: mx1.example.net */
    add_mx(&w, 30, "backup.example.org", 0);
    struct mx_host h[MX_MAX_HOSTS];
    size_t n;
    CU_ASSERT_EQUAL_FATAL(mx_parse_answer(w.b, w.n, h, MX_MAX_HOSTS, &n), MXP_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    mx_sort(h, &n, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(h[0].name, "mx1.example.net");
    CU_ASSERT_EQUAL(h[0].pref, 10);
    CU_ASSERT_EQUAL(h[0].port, 25);
    CU_ASSERT_STRING_EQUAL(h[1].name, "mx2.example.net");
    CU_ASSERT_STRING_EQUAL(h[2].name, "backup.example.org");
}

static void test_parse_cname_and_limit(void)
{
    struct wire w;
    start(&w, 4);
    /* a CNAME record first: example.net CNAME alias.example.net */
    tw_put16(&w, 0xc00c);
    tw_put16(&w, 5);
    tw_put16(&w, 1);
    tw_put32(&w, 300);
    tw_put16(&w, 19);
    tw_name(&w, "alias.example.net");
    add_mx(&w, 5, "c.example.net", 0);
    add_mx(&w, 1, "a.example.net", 0);
    add_mx(&w, 3, "b.example.net", 0);
    struct mx_host h[2];
    size_t n;
    CU_ASSERT_EQUAL_FATAL(mx_parse_answer(w.b, w.n, h, 2, &n), MXP_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);       /* the two best kept: a and b */
    mx_sort(h, &n, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(h[0].name, "a.example.net");
    CU_ASSERT_STRING_EQUAL(h[1].name, "b.example.net");
}

static void test_null_mx(void)
{
    struct wire w;
    start(&w, 1);
    add_mx(&w, 0, "", 0);
    struct mx_host h[MX_MAX_HOSTS];
    size_t n;
    CU_ASSERT_EQUAL(mx_parse_answer(w.b, w.n, h, MX_MAX_HOSTS, &n), MXP_NULL);
    CU_ASSERT_EQUAL(n, 0);
    /* null MX next to a real one: the real one is used */
    start(&w, 2);
    add_mx(&w, 0, "", 0);
    add_mx(&w, 10, "mx.example.net", 0);
    CU_ASSERT_EQUAL(mx_parse_answer(w.b, w.n, h, MX_MAX_HOSTS, &n), MXP_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(h[0].name, "mx.example.net");
    /* no answer at all: OK with no hosts (the caller falls back to A/AAAA) */
    start(&w, 0);
    CU_ASSERT_EQUAL(mx_parse_answer(w.b, w.n, h, MX_MAX_HOSTS, &n), MXP_OK);
    CU_ASSERT_EQUAL(n, 0);
}

static void test_malformed(void)
{
    struct wire w;
    start(&w, 1);
    add_mx(&w, 10, "mx.example.net", 0);
    struct mx_host h[MX_MAX_HOSTS];
    size_t n;
    CU_ASSERT_EQUAL(mx_parse_answer(w.b, w.n - 5, h, MX_MAX_HOSTS, &n), MXP_BAD);  /* cut */
    CU_ASSERT_EQUAL(mx_parse_answer(w.b, 6, h, MX_MAX_HOSTS, &n), MXP_BAD);
    /* a compression pointer pointing forward, out of the message */
    start(&w, 1);
    add_mx(&w, 10, "x", 1);
    w.b[w.n - 1] = 0xff;
    CU_ASSERT_EQUAL(mx_parse_answer(w.b, w.n, h, MX_MAX_HOSTS, &n), MXP_BAD);
}

static unsigned seq_rnd(void *ctx)
{
    unsigned *s = ctx;
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void test_sort_shuffle(void)
{
    int first_seen[3] = { 0, 0, 0 };
    unsigned seed = 42;
    for (int round = 0; round < 60; round++) {
        struct mx_host h[6] = {
            { "z.example", 50, 25 }, { "a.example", 10, 25 }, { "b.example", 10, 25 },
            { "c.example", 10, 25 }, { "A.EXAMPLE", 40, 25 }, { "y.example", 5, 25 },
        };
        size_t n = 6;
        mx_sort(h, &n, seq_rnd, &seed);
        CU_ASSERT_EQUAL_FATAL(n, 5);    /* A.EXAMPLE is a duplicate of a.example */
        CU_ASSERT_STRING_EQUAL(h[0].name, "y.example");
        for (int i = 1; i <= 3; i++)
            CU_ASSERT_EQUAL(h[i].pref, 10);
        CU_ASSERT_STRING_EQUAL(h[4].name, "z.example");
        first_seen[h[1].name[0] - 'a']++;
    }
    /* every member of the equal-preference group came first at least once */
    CU_ASSERT(first_seen[0] > 0 && first_seen[1] > 0 && first_seen[2] > 0);
}

static void test_static_hops(void)
{
    struct route routes[] = { { "example.net", "127.0.0.1", 2626 } };
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.routes = routes;
    cfg.nroutes = 1;
    cfg.relayhost = "";
    struct nexthop nh;
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "example.net", &nh), 1);
    CU_ASSERT_STRING_EQUAL(nh.host[0].name, "127.0.0.1");
    CU_ASSERT_EQUAL(nh.host[0].port, 2626);
    CU_ASSERT_STRING_EQUAL(nh.key, "route:127.0.0.1:2626");
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "other.org", &nh), 0);
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "[192.0.2.7]", &nh), 1);
    CU_ASSERT_STRING_EQUAL(nh.host[0].name, "192.0.2.7");
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "[IPv6:2001:db8::1]", &nh), 1);
    CU_ASSERT_STRING_EQUAL(nh.host[0].name, "2001:db8::1");
    cfg.relayhost = "smarthost.example";
    cfg.relayhost_port = 587;
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "other.org", &nh), 1);
    CU_ASSERT_STRING_EQUAL(nh.host[0].name, "smarthost.example");
    CU_ASSERT_EQUAL(nh.host[0].port, 587);
    CU_ASSERT_STRING_EQUAL(nh.key, "relay:smarthost.example:587");
    /* routes win over relayhost */
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "EXAMPLE.NET", &nh), 1);
    CU_ASSERT_EQUAL(nh.host[0].port, 2626);
}

static CU_TestInfo tests[] = {
    { "MX answer, compression, order", test_parse_basic },
    { "CNAME skipped, best hosts kept", test_parse_cname_and_limit },
    { "null MX (RFC 7505)", test_null_mx },
    { "malformed answers", test_malformed },
    { "equal preferences shuffled, duplicates removed", test_sort_shuffle },
    { "routes, relayhost, address literals", test_static_hops },
    CU_TEST_INFO_NULL,
};

CU_MAIN("mx", tests)
