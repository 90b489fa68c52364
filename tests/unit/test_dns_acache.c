/* test_dns_acache: a thread's kept answers (common/dns_acache.c): answered until the TTL
 * runs out, negative answers too, errors and TTL 0 never, none after the settings'
 * generation changed, names without regard to case, packets that do not fit the
 * caller's buffer not answered, the least recently used replaced when full. */
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "dns_acache.h"

#define T_TXT 16

static struct dns_acache c;

static void test_ttl(void)
{
    memset(&c, 0, sizeof c);
    unsigned char pkt[100], buf[200];
    memset(pkt, 'p', sizeof pkt);
    size_t len = 0;
    enum dns_status st = DNS_ERROR;
    CU_ASSERT_EQUAL(dns_acache_get(&c, "a.example", T_TXT, 1, 100, buf, sizeof buf, &len, &st), 0);
    dns_acache_put(&c, "a.example", T_TXT, 1, 100, DNS_OK, 60, pkt, sizeof pkt);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "A.Example", T_TXT, 1, 159, buf, sizeof buf, &len, &st), 1);
    CU_ASSERT_EQUAL(st, DNS_OK);
    CU_ASSERT_EQUAL(len, sizeof pkt);
    CU_ASSERT_EQUAL(memcmp(buf, pkt, sizeof pkt), 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "a.example", 1, 1, 159, buf, sizeof buf, &len, &st), 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "a.example", T_TXT, 1, 159, buf, 50, &len, &st), 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "a.example", T_TXT, 2, 159, buf, sizeof buf, &len, &st), 0);
    dns_acache_put(&c, "a.example", T_TXT, 1, 100, DNS_OK, 60, pkt, sizeof pkt);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "a.example", T_TXT, 1, 160, buf, sizeof buf, &len, &st), 0);
    /* negative answers; errors and TTL 0 are not kept; TTLs capped */
    dns_acache_put(&c, "n.example", T_TXT, 1, 100, DNS_NXDOMAIN, 30, NULL, 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "n.example", T_TXT, 1, 110, buf, sizeof buf, &len, &st), 1);
    CU_ASSERT_EQUAL(st, DNS_NXDOMAIN);
    CU_ASSERT_EQUAL(len, 0);
    dns_acache_put(&c, "e.example", T_TXT, 1, 100, DNS_ERROR, 30, NULL, 0);
    dns_acache_put(&c, "z.example", T_TXT, 1, 100, DNS_OK, 0, pkt, sizeof pkt);
    dns_acache_put(&c, "l.example", T_TXT, 1, 100, DNS_OK, 30, pkt, DNS_ACACHE_PKT + 1);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "e.example", T_TXT, 1, 100, buf, sizeof buf, &len, &st), 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "z.example", T_TXT, 1, 100, buf, sizeof buf, &len, &st), 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "l.example", T_TXT, 1, 100, buf, sizeof buf, &len, &st), 0);
    dns_acache_put(&c, "x.example", T_TXT, 1, 0, DNS_NODATA, 86400 * 7, NULL, 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "x.example", T_TXT, 1, DNS_ACACHE_MAX_TTL - 1, buf,
                                   sizeof buf, &len, &st), 1);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "x.example", T_TXT, 1, DNS_ACACHE_MAX_TTL, buf,
                                   sizeof buf, &len, &st), 0);
}

static void test_full(void)
{
    memset(&c, 0, sizeof c);
    unsigned char pkt[4] = { 1, 2, 3, 4 }, buf[8];
    size_t len = 0;
    enum dns_status st;
    char name[32];
    for (int i = 0; i < DNS_ACACHE_SLOTS; i++) {
        snprintf(name, sizeof name, "h%d.example", i);
        dns_acache_put(&c, name, T_TXT, 1, 10 + i, DNS_OK, 300, pkt, sizeof pkt);
    }
    /* h0 used again: h1 is now the least recently used */
    CU_ASSERT_EQUAL(dns_acache_get(&c, "h0.example", T_TXT, 1, 100, buf, sizeof buf, &len, &st), 1);
    dns_acache_put(&c, "new.example", T_TXT, 1, 101, DNS_OK, 300, pkt, sizeof pkt);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "h1.example", T_TXT, 1, 102, buf, sizeof buf, &len, &st), 0);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "h0.example", T_TXT, 1, 102, buf, sizeof buf, &len, &st), 1);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "new.example", T_TXT, 1, 102, buf, sizeof buf, &len, &st), 1);
    CU_ASSERT_EQUAL(dns_acache_get(&c, "h2.example", T_TXT, 1, 102, buf, sizeof buf, &len, &st), 1);
}

static CU_TestInfo tests[] = {
    { "kept for the TTL", test_ttl },
    { "least recently used replaced", test_full },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dns_acache", tests)
