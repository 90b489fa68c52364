/* test_dane: TLSA record parsing and the usability filter of RFC 7672 3.1.3 (DANE-TA
 * and DANE-EE only; digests of the right length), collecting an answer's records into a
 * set, the TLSA owner name, and the trust anchor setting of dns.h (the default anchor
 * may be absent, another unreadable one is an error; both mean no validation), and which
 * static next hops may get DANE. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "dane.h"
#include "dns.h"
#include "mx.h"

/* A TLSA RDATA: usage, selector, matching type, then n octets of data (0xab...). */
static size_t rdata(unsigned char *out, int usage, int selector, int mtype, size_t n)
{
    out[0] = (unsigned char)usage;
    out[1] = (unsigned char)selector;
    out[2] = (unsigned char)mtype;
    for (size_t i = 0; i < n; i++)
        out[3 + i] = (unsigned char)(0xab + i);
    return 3 + n;
}

static void test_parse_usable(void)
{
    unsigned char rd[2048];
    struct dane_tlsa t;
    size_t n = rdata(rd, 3, 1, 1, 32);
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, n, &t), 1);
    CU_ASSERT_EQUAL(t.usage, 3);
    CU_ASSERT_EQUAL(t.selector, 1);
    CU_ASSERT_EQUAL(t.mtype, 1);
    CU_ASSERT_EQUAL(t.len, 32);
    CU_ASSERT_EQUAL(memcmp(t.data, rd + 3, 32), 0);
    n = rdata(rd, 2, 0, 2, 64);                     /* DANE-TA, full cert, SHA-512 */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, n, &t), 1);
    CU_ASSERT_EQUAL(t.usage, 2);
    CU_ASSERT_EQUAL(t.len, 64);
    n = rdata(rd, 3, 1, 0, 91);                     /* the SPKI itself */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, n, &t), 1);
    CU_ASSERT_EQUAL(t.mtype, 0);
    CU_ASSERT_EQUAL(t.len, 91);
}

static void test_parse_unusable(void)
{
    unsigned char rd[2048];
    struct dane_tlsa t;
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 0, 1, 1, 32), &t), 0);  /* PKIX-TA */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 1, 1, 1, 32), &t), 0);  /* PKIX-EE */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 4, 1, 1, 32), &t), 0);  /* unknown usage */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 3, 2, 1, 32), &t), 0);  /* selector */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 3, 1, 3, 32), &t), 0);  /* matching type */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 3, 1, 1, 31), &t), 0);  /* short SHA-256 */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 3, 1, 1, 64), &t), 0);
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 2, 1, 2, 32), &t), 0);  /* short SHA-512 */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 3, 0, 0, DANE_DATA_MAX + 1), &t), 0);
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, rdata(rd, 3, 1, 0, 0), &t), 0);   /* no data */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, 3, &t), 0);
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, 2, &t), -1);                      /* malformed */
    CU_ASSERT_EQUAL(dane_tlsa_parse(rd, 0, &t), -1);
}

static void test_collect(void)
{
    unsigned char rd[12][80];
    struct dns_answer a;
    memset(&a, 0, sizeof a);
    a.status = DNS_OK;
    a.rdlen[0] = rdata(rd[0], 1, 1, 1, 32);        /* PKIX-EE: skipped */
    a.rdlen[1] = rdata(rd[1], 3, 1, 1, 32);
    a.rdlen[2] = rdata(rd[2], 2, 1, 1, 32);
    a.rdlen[3] = 2;                                 /* malformed: skipped */
    for (int i = 0; i < 4; i++)
        a.rdata[i] = rd[i];
    a.n = 4;
    struct dane_tlsa_set set;
    memset(&set, 0, sizeof set);
    dane_tlsa_collect(&a, &set);
    CU_ASSERT_EQUAL(set.state, DANE_USABLE);
    CU_ASSERT_EQUAL(set.n, 2);
    CU_ASSERT_EQUAL(set.unusable, 2);
    CU_ASSERT_EQUAL(set.r[0].usage, 3);
    CU_ASSERT_EQUAL(set.r[1].usage, 2);
    /* only unusable records: TLS required, no authentication (RFC 7672 2.2) */
    a.n = 1;
    dane_tlsa_collect(&a, &set);
    CU_ASSERT_EQUAL(set.state, DANE_TLS_ONLY);
    CU_ASSERT_EQUAL(set.n, 0);
    /* more usable records than kept: the first DANE_TLSA_MAX, the rest counted */
    for (int i = 0; i < 12; i++) {
        a.rdlen[i] = rdata(rd[i], 3, 1, 1, 32);
        a.rdata[i] = rd[i];
    }
    a.n = 12;
    dane_tlsa_collect(&a, &set);
    CU_ASSERT_EQUAL(set.state, DANE_USABLE);
    CU_ASSERT_EQUAL(set.n, DANE_TLSA_MAX);
    CU_ASSERT_EQUAL(set.unusable, 12 - DANE_TLSA_MAX);
}

static void test_name(void)
{
    char out[DNS_NAME_MAX + 16];
    CU_ASSERT_EQUAL(dane_tlsa_name("mx.example.net", 25, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "_25._tcp.mx.example.net");
    CU_ASSERT_EQUAL(dane_tlsa_name("mx.example.net", 2525, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "_2525._tcp.mx.example.net");
    CU_ASSERT_EQUAL(dane_tlsa_name("mx.example.net", 25, out, 23), -1);
    CU_ASSERT_EQUAL(dane_tlsa_name("mx.example.net", 25, out, 24), 0);
}

static void test_trust_anchor(void)
{
    CU_ASSERT_EQUAL(dns_set_trust_anchor(NULL), 0);
    CU_ASSERT_FALSE(dns_validating());
    CU_ASSERT_EQUAL(dns_set_trust_anchor(""), 0);
    CU_ASSERT_FALSE(dns_validating());
    CU_ASSERT_EQUAL(dns_set_trust_anchor("/nonexistent/anchor.ds"), -1);
    CU_ASSERT_FALSE(dns_validating());
    char path[] = "/tmp/test_dane_anchor.XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    static const char ds[] = "dane.example. IN DS 12345 13 2 "
                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
    CU_ASSERT_EQUAL(write(fd, ds, sizeof ds - 1), (ssize_t)(sizeof ds - 1));
    close(fd);
    CU_ASSERT_EQUAL(dns_set_trust_anchor(path), 0);
    CU_ASSERT_TRUE(dns_validating());
    /* the default anchor: used when Debian's dns-root-data is installed, else silently none */
    int present = access(DNS_ROOT_ANCHOR, R_OK) == 0;
    CU_ASSERT_EQUAL(dns_set_trust_anchor(DNS_ROOT_ANCHOR), 0);
    CU_ASSERT_EQUAL(dns_validating(), present);
    CU_ASSERT_EQUAL(dns_set_trust_anchor(NULL), 0);
    unlink(path);
}

/* RFC 7672 2.2: which next hops may be DANE reference identifiers before any DNS */
static void test_static_hops(void)
{
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct route routes[] = { { "example.net", "smtp.example.net", 25 },
                              { "example.org", "192.0.2.5", 25 } };
    cfg.routes = routes;
    cfg.nroutes = 2;
    struct nexthop nh;
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "example.net", &nh), 1);
    CU_ASSERT_TRUE(nh.secure);                   /* a name: its addresses decide */
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "example.org", &nh), 1);
    CU_ASSERT_FALSE(nh.secure);                  /* an address: no TLSA base domain */
    CU_ASSERT_EQUAL(nexthop_static(&cfg, "[192.0.2.7]", &nh), 1);
    CU_ASSERT_FALSE(nh.secure);
}

static CU_TestInfo tests[] = {
    { "TLSA: DANE-EE and DANE-TA records parsed", test_parse_usable },
    { "TLSA: PKIX usages, bad selectors, digests of the wrong length unusable",
      test_parse_unusable },
    { "TLSA answer: usable ones kept, the rest counted; none usable is TLS-only",
      test_collect },
    { "TLSA owner name _PORT._tcp.HOST, bounded", test_name },
    { "trust anchor: none, unreadable, a file, the default root anchor", test_trust_anchor },
    { "[routes]: a host name may get DANE, an address never", test_static_hops },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dane", tests)
