/* test_greylist: the pure greylisting rule (common/greylist.c): the triplet's network
 * (/24, /64) and normalisation, delay, window and keep, expiry, the store key. */
#include <string.h>
#include <sys/socket.h>

#include "cu.h"
#include "greylist.h"

static const struct greylist_params P = { 300, 86400, 35 * 86400 };

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    memset(&a, 0, sizeof a);
    CU_ASSERT_EQUAL(ipaddr_parse(s, &a), 0);
    return a;
}

static void test_net(void)
{
    char buf[GREYLIST_NET_MAX];
    struct ipaddr a = ip("192.0.2.77");
    CU_ASSERT_STRING_EQUAL(greylist_net(&a, buf, sizeof buf), "192.0.2.0/24");
    a = ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
    CU_ASSERT_STRING_EQUAL(greylist_net(&a, buf, sizeof buf), "2001:db8:1:2::/64");
    a = ip("::ffff:198.51.100.9");                     /* mapped: an IPv4 client */
    CU_ASSERT_STRING_EQUAL(greylist_net(&a, buf, sizeof buf), "198.51.100.0/24");
}

static void test_triplet_aggregation(void)
{
    struct greylist_rec a, b, c;
    struct ipaddr x = ip("203.0.113.9"), y = ip("203.0.113.200"), z = ip("203.0.114.9");
    CU_ASSERT_EQUAL(greylist_triplet(&x, "Alice@Example.NET", "Bob@Example.TEST", &a), 0);
    CU_ASSERT_EQUAL(greylist_triplet(&y, "alice@example.net", "bob@example.test", &b), 0);
    CU_ASSERT_STRING_EQUAL(a.sender, "alice@example.net");
    CU_ASSERT_STRING_EQUAL(a.rcpt, "bob@example.test");
    uint8_t ka[1024], kb[1024];
    size_t la = greylist_key_enc(&a, ka, sizeof ka), lb = greylist_key_enc(&b, kb, sizeof kb);
    CU_ASSERT_TRUE(la > 0 && la == lb && memcmp(ka, kb, la) == 0);   /* one /24: one key */
    CU_ASSERT_EQUAL(greylist_triplet(&z, "alice@example.net", "bob@example.test", &c), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a.net, c.net);
    /* IPv6: one /64 */
    struct ipaddr v1 = ip("2001:db8::1"), v2 = ip("2001:db8::ffff:1"), v3 = ip("2001:db8:0:1::1");
    CU_ASSERT_EQUAL(greylist_triplet(&v1, "", "bob@example.test", &a), 0);
    CU_ASSERT_EQUAL(greylist_triplet(&v2, NULL, "bob@example.test", &b), 0);
    CU_ASSERT_EQUAL(greylist_triplet(&v3, "", "bob@example.test", &c), 0);
    CU_ASSERT_STRING_EQUAL(a.net, b.net);
    CU_ASSERT_STRING_NOT_EQUAL(a.net, c.net);
    CU_ASSERT_STRING_EQUAL(b.sender, "");                 /* the null sender */
    /* the key round trip, the null sender included */
    struct greylist_rec d;
    memset(&d, 0, sizeof d);
    la = greylist_key_enc(&b, ka, sizeof ka);
    CU_ASSERT_EQUAL(greylist_key_dec(ka, la, &d), 0);
    CU_ASSERT_STRING_EQUAL(d.net, b.net);
    CU_ASSERT_STRING_EQUAL(d.sender, "");
    CU_ASSERT_STRING_EQUAL(d.rcpt, "bob@example.test");
    CU_ASSERT_EQUAL(greylist_key_dec(ka, strlen(b.net), &d), -1);    /* fields missing */
    CU_ASSERT_EQUAL(greylist_key_enc(&b, ka, 10), 0);                /* no room */
    CU_ASSERT_EQUAL(greylist_triplet(&v1, "", "", &a), -1);          /* no recipient */
}

static void test_delay_window(void)
{
    struct greylist_rec r;
    struct ipaddr a = ip("192.0.2.1");
    CU_ASSERT_EQUAL(greylist_triplet(&a, "s@x.test", "r@y.test", &r), 0);
    int64_t t0 = 1000000;
    CU_ASSERT_EQUAL(greylist_decide(&r, false, t0, &P), GREYLIST_NEW);
    CU_ASSERT_FALSE(greylist_passes(GREYLIST_NEW));
    CU_ASSERT_EQUAL(r.first_seen, t0);
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 299, &P), GREYLIST_EARLY);  /* too early */
    CU_ASSERT_FALSE(r.passed);
    CU_ASSERT_EQUAL(r.first_seen, t0);                    /* the clock is not reset */
    CU_ASSERT_EQUAL(r.last_seen, t0 + 299);
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 300, &P), GREYLIST_PASSED_NOW);
    CU_ASSERT_TRUE(r.passed);
    CU_ASSERT_TRUE(greylist_passes(GREYLIST_PASSED_NOW));
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 400, &P), GREYLIST_KNOWN);
    /* a retry after the window: it starts over */
    CU_ASSERT_EQUAL(greylist_triplet(&a, "s@x.test", "r@y.test", &r), 0);
    CU_ASSERT_EQUAL(greylist_decide(&r, false, t0, &P), GREYLIST_NEW);
    CU_ASSERT_FALSE(greylist_expired(&r, t0 + 86400, &P));
    CU_ASSERT_TRUE(greylist_expired(&r, t0 + 86401, &P));
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 86401, &P), GREYLIST_NEW);
    CU_ASSERT_EQUAL(r.first_seen, t0 + 86401);
    /* a clock that went backwards does not pass a triplet early */
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0, &P), GREYLIST_NEW);
    /* delay 0: the second attempt passes */
    struct greylist_params z = { 0, 60, 600 };
    CU_ASSERT_EQUAL(greylist_decide(&r, false, t0, &z), GREYLIST_NEW);
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0, &z), GREYLIST_PASSED_NOW);
}

static void test_keep(void)
{
    struct greylist_rec r;
    struct ipaddr a = ip("192.0.2.1");
    int64_t t0 = 5000000, keep = 35 * 86400;
    CU_ASSERT_EQUAL(greylist_triplet(&a, "s@x.test", "r@y.test", &r), 0);
    (void)greylist_decide(&r, false, t0, &P);
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 600, &P), GREYLIST_PASSED_NOW);
    /* passed: kept KEEP after its last use, each use extends it */
    CU_ASSERT_FALSE(greylist_expired(&r, t0 + 600 + keep, &P));
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 600 + keep, &P), GREYLIST_KNOWN);
    CU_ASSERT_EQUAL(r.last_seen, t0 + 600 + keep);
    CU_ASSERT_FALSE(greylist_expired(&r, t0 + 600 + 2 * keep, &P));
    CU_ASSERT_TRUE(greylist_expired(&r, t0 + 601 + 2 * keep, &P));
    /* unused for longer than KEEP: greylisted again */
    CU_ASSERT_EQUAL(greylist_decide(&r, true, t0 + 601 + 2 * keep, &P), GREYLIST_NEW);
    CU_ASSERT_FALSE(r.passed);
    CU_ASSERT_STRING_EQUAL(greylist_outcome_name(GREYLIST_KNOWN), "known");
}

static CU_TestInfo tests[] = {
    { "the network of a client: /24, /64", test_net },
    { "triplets: normalised, aggregated, the key", test_triplet_aggregation },
    { "delay and window", test_delay_window },
    { "keep after the last use", test_keep },
    CU_TEST_INFO_NULL,
};

CU_MAIN("greylist", tests)
