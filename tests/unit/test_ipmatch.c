/* test_ipmatch: IP address literals and pattern lists (common/ipmatch.c):
 * exact, CIDR, wildcards, ranges, v4-mapped IPv6 both ways, bad input, and whether
 * a list covers every address of a family. */
#include "cu.h"
#include "ipmatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Does the pattern list TEXT match address ADDR? The list must parse. */
static bool m(const char *text, const char *addr)
{
    char err[256] = "";
    struct ipaddr ip;
    struct iplist *l = iplist_parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse(addr, &ip), 0);
    bool r = iplist_match(l, &ip);
    iplist_free(l);
    return r;
}

/* The list must be refused, with a message naming WHAT (the bad pattern). */
static void bad(const char *text, const char *what)
{
    char err[256] = "";
    struct iplist *l = iplist_parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NULL(l);
    iplist_free(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
    if (!strstr(err, what))
        fprintf(stderr, "\n  '%s' gave '%s'\n", text, err);
}

static void test_addr_parse(void)
{
    struct ipaddr a;
    char buf[64];
    CU_ASSERT_EQUAL(ipaddr_parse("192.0.2.1", &a), 0);
    CU_ASSERT_EQUAL(a.family, AF_INET);
    CU_ASSERT_STRING_EQUAL(ipaddr_format(&a, buf, sizeof(buf)), "192.0.2.1");
    CU_ASSERT_EQUAL(ipaddr_parse("2001:DB8::1", &a), 0);
    CU_ASSERT_EQUAL(a.family, AF_INET6);
    CU_ASSERT_STRING_EQUAL(ipaddr_format(&a, buf, sizeof(buf)), "2001:db8::1");
    CU_ASSERT_EQUAL(ipaddr_parse("[2001:db8::2]", &a), 0);
    CU_ASSERT_STRING_EQUAL(ipaddr_format(&a, buf, sizeof(buf)), "2001:db8::2");
    /* v4-mapped becomes IPv4 */
    CU_ASSERT_EQUAL(ipaddr_parse("::ffff:10.1.2.3", &a), 0);
    CU_ASSERT_EQUAL(a.family, AF_INET);
    CU_ASSERT_STRING_EQUAL(ipaddr_format(&a, buf, sizeof(buf)), "10.1.2.3");
    const char *bads[] = { "", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", "[1.2.3.4]",
                           "2001:db8::g", "2001:db8:::1", "[2001:db8::1", "example.com", "fe80::1%eth0",
                           "1.2.3.-4" };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        CU_ASSERT_EQUAL(ipaddr_parse(bads[i], &a), -1);
        if (ipaddr_parse(bads[i], &a) != -1)
            fprintf(stderr, "\n  accepted '%s'\n", bads[i]);
    }
    CU_ASSERT_EQUAL(ipaddr_parse(NULL, &a), -1);
}

static void test_addr_misc(void)
{
    struct ipaddr a, b;
    CU_ASSERT_EQUAL(ipaddr_parse("127.9.9.9", &a), 0);
    CU_ASSERT_TRUE(ipaddr_is_loopback(&a));
    CU_ASSERT_EQUAL(ipaddr_parse("::1", &a), 0);
    CU_ASSERT_TRUE(ipaddr_is_loopback(&a));
    CU_ASSERT_EQUAL(ipaddr_parse("::2", &a), 0);
    CU_ASSERT_FALSE(ipaddr_is_loopback(&a));
    CU_ASSERT_EQUAL(ipaddr_parse("128.0.0.1", &a), 0);
    CU_ASSERT_FALSE(ipaddr_is_loopback(&a));
    CU_ASSERT_EQUAL(ipaddr_parse("::ffff:127.0.0.1", &a), 0);
    CU_ASSERT_TRUE(ipaddr_is_loopback(&a));
    CU_ASSERT_EQUAL(ipaddr_parse("10.0.0.1", &a), 0);
    CU_ASSERT_EQUAL(ipaddr_parse("::ffff:10.0.0.1", &b), 0);
    CU_ASSERT_TRUE(ipaddr_equal(&a, &b));
    CU_ASSERT_EQUAL(ipaddr_parse("10.0.0.2", &b), 0);
    CU_ASSERT_FALSE(ipaddr_equal(&a, &b));
    CU_ASSERT_EQUAL(ipaddr_parse("::a00:1", &b), 0);   /* v4-compatible is not v4 */
    CU_ASSERT_FALSE(ipaddr_equal(&a, &b));
}

static void test_from_sockaddr(void)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct ipaddr a;
    char buf[64];
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    CU_ASSERT_EQUAL(inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr), 1);
    CU_ASSERT_EQUAL(ipaddr_from_sockaddr((struct sockaddr *)&sin, &a), 0);
    CU_ASSERT_STRING_EQUAL(ipaddr_format(&a, buf, sizeof(buf)), "198.51.100.7");
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    CU_ASSERT_EQUAL(inet_pton(AF_INET6, "::ffff:198.51.100.8", &sin6.sin6_addr), 1);
    CU_ASSERT_EQUAL(ipaddr_from_sockaddr((struct sockaddr *)&sin6, &a), 0);
    CU_ASSERT_EQUAL(a.family, AF_INET);
    CU_ASSERT_STRING_EQUAL(ipaddr_format(&a, buf, sizeof(buf)), "198.51.100.8");
    CU_ASSERT_EQUAL(inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr), 1);
    CU_ASSERT_EQUAL(ipaddr_from_sockaddr((struct sockaddr *)&sin6, &a), 0);
    CU_ASSERT_EQUAL(a.family, AF_INET6);
    struct sockaddr other = { .sa_family = AF_UNIX };
    CU_ASSERT_EQUAL(ipaddr_from_sockaddr(&other, &a), -1);
}

static void test_exact(void)
{
    CU_ASSERT_TRUE(m("192.0.2.1", "192.0.2.1"));
    CU_ASSERT_FALSE(m("192.0.2.1", "192.0.2.2"));
    CU_ASSERT_TRUE(m("2001:db8::1", "2001:db8:0::1"));
    CU_ASSERT_FALSE(m("2001:db8::1", "2001:db8::2"));
    CU_ASSERT_TRUE(m("[2001:db8::1]", "2001:db8::1"));
    /* the default lan */
    CU_ASSERT_TRUE(m("127.0.0.1, ::1", "::1"));
    CU_ASSERT_TRUE(m("127.0.0.1, ::1", "127.0.0.1"));
    CU_ASSERT_FALSE(m("127.0.0.1, ::1", "127.0.0.2"));
    /* separators: commas, spaces, tabs, mixed, leading/trailing */
    CU_ASSERT_TRUE(m(" ,10.0.0.1,,10.0.0.2\t10.0.0.3 , ", "10.0.0.3"));
    CU_ASSERT_TRUE(m("10.0.0.1 10.0.0.2", "10.0.0.2"));
}

static void test_empty(void)
{
    char err[128];
    struct ipaddr ip;
    CU_ASSERT_EQUAL(ipaddr_parse("10.0.0.1", &ip), 0);
    const char *blanks[] = { "", "   ", " , ,\t" };
    for (int i = 0; i < 3; i++) {
        struct iplist *l = iplist_parse(blanks[i], err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(l);
        CU_ASSERT_TRUE(iplist_empty(l));
        CU_ASSERT_FALSE(iplist_match(l, &ip));
        iplist_free(l);
    }
    CU_ASSERT_TRUE(iplist_empty(NULL));
    CU_ASSERT_FALSE(iplist_match(NULL, &ip));
    struct iplist *l = iplist_parse("10.0.0.1", err, sizeof(err));
    CU_ASSERT_FALSE(iplist_empty(l));
    iplist_free(l);
    iplist_free(NULL);
}

static void test_cidr(void)
{
    CU_ASSERT_TRUE(m("10.0.0.0/8", "10.255.255.255"));
    CU_ASSERT_TRUE(m("10.0.0.0/8", "10.0.0.0"));
    CU_ASSERT_FALSE(m("10.0.0.0/8", "11.0.0.0"));
    CU_ASSERT_FALSE(m("10.0.0.0/8", "9.255.255.255"));
    CU_ASSERT_TRUE(m("192.168.4.0/22", "192.168.7.200"));
    CU_ASSERT_FALSE(m("192.168.4.0/22", "192.168.8.0"));
    CU_ASSERT_TRUE(m("0.0.0.0/0", "1.2.3.4"));
    CU_ASSERT_TRUE(m("0.0.0.0/0", "255.255.255.255"));
    CU_ASSERT_FALSE(m("0.0.0.0/0", "2001:db8::1"));
    CU_ASSERT_TRUE(m("192.0.2.7/32", "192.0.2.7"));
    CU_ASSERT_FALSE(m("192.0.2.7/32", "192.0.2.6"));
    CU_ASSERT_TRUE(m("2001:db8::/32", "2001:db8:ffff::1"));
    CU_ASSERT_FALSE(m("2001:db8::/32", "2001:db9::1"));
    CU_ASSERT_TRUE(m("2001:db8::/33", "2001:db8:7fff::1"));
    CU_ASSERT_FALSE(m("2001:db8::/33", "2001:db8:8000::1"));
    CU_ASSERT_TRUE(m("2001:db8::5/128", "2001:db8::5"));
    CU_ASSERT_FALSE(m("2001:db8::5/128", "2001:db8::4"));
    CU_ASSERT_TRUE(m("::/0", "2001:db8::1"));
    CU_ASSERT_TRUE(m("::/0", "::"));
    CU_ASSERT_TRUE(m("[2001:db8::]/32", "2001:db8::9"));
    /* host bits set: accepted and masked, like Postfix */
    CU_ASSERT_TRUE(m("10.1.2.3/8", "10.200.0.1"));
    CU_ASSERT_FALSE(m("10.1.2.3/8", "11.1.2.3"));
    CU_ASSERT_TRUE(m("2001:db8::1/32", "2001:db8:1::"));
}

static void test_wildcards(void)
{
    CU_ASSERT_TRUE(m("192.168.1.*", "192.168.1.0"));
    CU_ASSERT_TRUE(m("192.168.1.*", "192.168.1.255"));
    CU_ASSERT_FALSE(m("192.168.1.*", "192.168.2.1"));
    CU_ASSERT_TRUE(m("192.168.*.*", "192.168.77.3"));
    CU_ASSERT_FALSE(m("192.168.*.*", "192.169.0.1"));
    CU_ASSERT_TRUE(m("10.*", "10.9.8.7"));
    CU_ASSERT_FALSE(m("10.*", "100.9.8.7"));
    CU_ASSERT_TRUE(m("10.*.*.*", "10.0.0.1"));
    CU_ASSERT_TRUE(m("172.16.*", "172.16.3.4"));
    CU_ASSERT_FALSE(m("172.16.*", "172.17.3.4"));
    CU_ASSERT_TRUE(m("192.168.1.*", "::ffff:192.168.1.9"));
    /* every IPv4 address; "*" alone is every address of both families */
    CU_ASSERT_TRUE(m("*.*.*.*", "0.0.0.0"));
    CU_ASSERT_TRUE(m("*.*.*.*", "255.255.255.255"));
    CU_ASSERT_FALSE(m("*.*.*.*", "2001:db8::1"));
    CU_ASSERT_TRUE(m("*", "192.0.2.1"));
    CU_ASSERT_TRUE(m("*", "2001:db8::1"));
    CU_ASSERT_TRUE(m("*", "::"));
}

/* Does the list TEXT cover every address of FAMILY? The list must parse. */
static bool cov(const char *text, int family)
{
    char err[256] = "";
    struct iplist *l = iplist_parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    bool r = iplist_covers_all(l, family);
    iplist_free(l);
    return r;
}

static void test_covers_all(void)
{
    static const char *all4[] = {
        "0.0.0.0/0", "*", "*.*.*.*", "*.*", "0.0.0.0-255.255.255.255", "::/0",
        "::ffff:0.0.0.0/96", "0.0.0.0/1, 128.0.0.0/1", "128.0.0.0/1 0.0.0.0/1",
        "0.0.0.0-127.255.255.255, 128.0.0.0-255.255.255.255",
        "0.0.0.0-200.0.0.0, 100.0.0.0-255.255.255.255",         /* overlapping */
        "10.0.0.0/8, 0.0.0.0/0, 10.0.0.1", "255.*, 0.0.0.0-254.255.255.255",
        "0.0.0.0, 0.0.0.1-255.255.255.255", "::/1",             /* ::/1 holds ::ffff:0:0/96 */
    };
    for (size_t i = 0; i < sizeof all4 / sizeof all4[0]; i++)
        CU_ASSERT_TRUE(cov(all4[i], AF_INET));
    static const char *not4[] = {
        "", "127.0.0.1, ::1", "0.0.0.0/1", "128.0.0.0/1", "1.0.0.0-255.255.255.255",
        "0.0.0.0-255.255.255.254", "0.0.0.0/1, 128.0.0.1-255.255.255.255",
        "0.0.0.0-9.255.255.255, 10.0.0.1-255.255.255.255", "2000::/3", "8000::/1",
        "::ffff:0.0.0.0/97", "10.*.*.*", "0.0.0.0/1 ::ffff:128.0.0.0/98",
    };
    for (size_t i = 0; i < sizeof not4 / sizeof not4[0]; i++)
        CU_ASSERT_FALSE(cov(not4[i], AF_INET));
    static const char *all6[] = {
        "::/0", "*", "::/1, 8000::/1",
        "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        /* the IPv4-mapped block need not be covered: those clients are IPv4 */
        "::-::fffe:ffff:ffff, ::1:0:0:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    };
    for (size_t i = 0; i < sizeof all6 / sizeof all6[0]; i++)
        CU_ASSERT_TRUE(cov(all6[i], AF_INET6));
    static const char *not6[] = {
        "", "0.0.0.0/0", "*.*.*.*", "::/1", "2000::/3", "::1", "::/1, 8000::/2",
        "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        "::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "::-::fffe:ffff:fffe, ::1:0:0:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    };
    for (size_t i = 0; i < sizeof not6 / sizeof not6[0]; i++)
        CU_ASSERT_FALSE(cov(not6[i], AF_INET6));
    CU_ASSERT_FALSE(iplist_covers_all(NULL, AF_INET));
    char err[64];
    struct iplist *l = iplist_parse("0.0.0.0/0", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_FALSE(iplist_covers_all(l, AF_UNIX));
    CU_ASSERT_STRING_EQUAL(iplist_text(l), "0.0.0.0/0");
    CU_ASSERT_STRING_EQUAL(iplist_text(NULL), "");
    iplist_free(l);
}

static void test_ranges(void)
{
    CU_ASSERT_TRUE(m("192.168.1.10-192.168.1.50", "192.168.1.10"));
    CU_ASSERT_TRUE(m("192.168.1.10-192.168.1.50", "192.168.1.50"));
    CU_ASSERT_TRUE(m("192.168.1.10-192.168.1.50", "192.168.1.30"));
    CU_ASSERT_FALSE(m("192.168.1.10-192.168.1.50", "192.168.1.9"));
    CU_ASSERT_FALSE(m("192.168.1.10-192.168.1.50", "192.168.1.51"));
    CU_ASSERT_TRUE(m("10.0.255.250-10.1.0.5", "10.1.0.0"));   /* crosses an octet */
    CU_ASSERT_TRUE(m("1.2.3.4-1.2.3.4", "1.2.3.4"));
    CU_ASSERT_TRUE(m("2001:db8::10-2001:db8::20", "2001:db8::1a"));
    CU_ASSERT_FALSE(m("2001:db8::10-2001:db8::20", "2001:db8::21"));
    CU_ASSERT_TRUE(m("::ffff:10.0.0.1-10.0.0.9", "10.0.0.5"));
}

static void test_v4mapped(void)
{
    /* pattern in mapped form matches plain IPv4 clients */
    CU_ASSERT_TRUE(m("::ffff:10.0.0.0/104", "10.1.2.3"));
    CU_ASSERT_FALSE(m("::ffff:10.0.0.0/104", "11.1.2.3"));
    CU_ASSERT_TRUE(m("::ffff:192.0.2.1", "192.0.2.1"));
    CU_ASSERT_TRUE(m("::ffff:0.0.0.0/96", "8.8.8.8"));
    /* mapped client matches an IPv4 pattern */
    CU_ASSERT_TRUE(m("10.0.0.0/8", "::ffff:10.1.2.3"));
    CU_ASSERT_FALSE(m("10.0.0.0/8", "::ffff:11.1.2.3"));
    CU_ASSERT_TRUE(m("127.0.0.1", "::ffff:127.0.0.1"));
    /* an unnormalised mapped address passed directly still matches */
    struct ipaddr raw = { .family = AF_INET6 };
    CU_ASSERT_EQUAL(inet_pton(AF_INET6, "::ffff:10.1.2.3", raw.b), 1);
    char err[128];
    struct iplist *l = iplist_parse("10.0.0.0/8", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_TRUE(iplist_match(l, &raw));
    iplist_free(l);
    /* a v6 pattern that covers ::ffff:0:0/96 covers IPv4 clients */
    CU_ASSERT_TRUE(m("::/0", "192.0.2.1"));
    CU_ASSERT_FALSE(m("2001:db8::/32", "192.0.2.1"));
    CU_ASSERT_FALSE(m("::1", "0.0.0.1"));
}

static void test_bad(void)
{
    bad("256.1.1.1", "'256.1.1.1'");
    bad("1.2.3", "'1.2.3'");
    bad("10.0.0.1, 1.2.3", "'1.2.3'");
    bad("1.2.3.4/33", "'1.2.3.4/33'");
    bad("1.2.3.4/33", "0 to 32");
    bad("2001:db8::/129", "'2001:db8::/129'");
    bad("2001:db8::/129", "0 to 128");
    bad("10.0.0.0/", "'10.0.0.0/'");
    bad("10.0.0.0/-1", "'10.0.0.0/-1'");
    bad("10.0.0.0/8x", "'10.0.0.0/8x'");
    bad("10.0.0.0/0008", "'10.0.0.0/0008'");
    bad("nothost/8", "'nothost/8'");
    bad("192.168.1.50-192.168.1.10", "reversed");
    bad("10.0.0.1-2001:db8::1", "mixes");
    bad("2001:db8::1-10.0.0.1", "mixes");
    bad("10.0.0.1-", "'10.0.0.1-'");
    bad("10.0.0.1-10.0.0.2-10.0.0.3", "'10.0.0.1-10.0.0.2-10.0.0.3'");
    bad("192.*.1.1", "'192.*.1.1'");
    bad("192.168.1*", "'192.168.1*'");
    bad("*.10", "'*.10'");
    bad("*.*.*.*.*", "'*.*.*.*.*'");
    bad("**", "'**'");
    bad("10.*.*.*.*", "'10.*.*.*.*'");
    bad("10..*", "'10..*'");
    bad("300.*", "'300.*'");
    bad("2001:db8::*", "'2001:db8::*'");
    bad("example.com", "'example.com'");
    bad("10.0.0.1;10.0.0.2", "'10.0.0.1;10.0.0.2'");
}

static void test_long_token(void)
{
    char text[400], err[128];
    memset(text, '1', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    struct iplist *l = iplist_parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad IP pattern"));
    /* a tiny error buffer is still NUL-terminated and nothing overflows */
    char small[8];
    CU_ASSERT_PTR_NULL(iplist_parse("1.2.3", small, sizeof(small)));
    CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
}

static void test_many(void)
{
    char text[4000] = "", err[128];
    size_t used = 0;
    for (int i = 0; i < 200; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used, "10.0.%d.%d, ", i / 250, i % 250);
    struct iplist *l = iplist_parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    struct ipaddr ip;
    CU_ASSERT_EQUAL(ipaddr_parse("10.0.0.199", &ip), 0);
    CU_ASSERT_TRUE(iplist_match(l, &ip));
    CU_ASSERT_EQUAL(ipaddr_parse("10.0.0.200", &ip), 0);
    CU_ASSERT_FALSE(iplist_match(l, &ip));
    iplist_free(l);
}

static CU_TestInfo tests[] = {
    { "address parse", test_addr_parse },
    { "address equal/loopback", test_addr_misc },
    { "from sockaddr", test_from_sockaddr },
    { "exact", test_exact },
    { "empty lists", test_empty },
    { "cidr", test_cidr },
    { "wildcards", test_wildcards },
    { "ranges", test_ranges },
    { "v4-mapped both ways", test_v4mapped },
    { "bad patterns", test_bad },
    { "covers every address of a family", test_covers_all },
    { "long token, small buffer", test_long_token },
    { "many patterns", test_many },
    CU_TEST_INFO_NULL,
};

CU_MAIN("ipmatch", tests)
