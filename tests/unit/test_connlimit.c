/* test_connlimit: allow/deny decisions and the live counts behind max_connections and
 * max_connections_per_ip (per instance name, per client address). */
#include <stdio.h>
#include <string.h>

#include "connlimit.h"
#include "cu.h"
#include "ipmatch.h"

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    CU_ASSERT_FATAL(ipaddr_parse(s, &a) == 0);
    return a;
}

static struct iplist *list(const char *s)
{
    char err[128];
    struct iplist *l = iplist_parse(s, err, sizeof err);
    CU_ASSERT_FATAL(l != NULL);
    return l;
}

static void test_allow_deny(void)
{
    struct connlimit *cl = connlimit_new();
    struct iplist *allow = list("127.0.0.0/8, 10.0.0.0/8");
    struct iplist *deny = list("127.0.0.9, 2001:db8::/32");
    struct iplist *none = list("");
    struct instance_common si = { .name = "a", .allow_clients = allow, .deny_clients = deny };
    struct ipaddr lan = ip("127.0.0.1"), bad = ip("127.0.0.9"), out = ip("192.0.2.1");
    struct ipaddr v6 = ip("2001:db8::5"), mapped = ip("::ffff:10.1.2.3");

    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &lan), -1);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &bad), REFUSE_DENIED);     /* deny wins */
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &out), REFUSE_DENIED);     /* not allowed */
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &v6), REFUSE_DENIED);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &mapped), -1);             /* v4-mapped = v4 */
    CU_ASSERT_TRUE(connlimit_allowed(&si, &lan) && connlimit_allowed(&si, &mapped));
    CU_ASSERT_FALSE(connlimit_allowed(&si, &bad) || connlimit_allowed(&si, &out));
    si.allow_clients = none;                                           /* empty allow = all */
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &out), -1);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &bad), REFUSE_DENIED);
    si.allow_clients = NULL;
    si.deny_clients = NULL;
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &bad), -1);
    iplist_free(allow);
    iplist_free(deny);
    iplist_free(none);
    connlimit_free(cl);
}

static void test_limits(void)
{
    struct connlimit *cl = connlimit_new();
    struct instance_common si = { .name = "smtp", .max_connections = 3,
                                  .max_connections_per_ip = 2 };
    struct ipaddr a = ip("192.0.2.1"), b = ip("192.0.2.2"), c = ip("2001:db8::1");

    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &a), -1);
    connlimit_add(cl, "smtp", &a);
    connlimit_add(cl, "smtp", &a);
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "smtp", &a), 2);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &a), REFUSE_TOO_MANY_IP);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &b), -1);
    connlimit_add(cl, "smtp", &b);
    CU_ASSERT_EQUAL(connlimit_count(cl, "smtp"), 3);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &c), REFUSE_TOO_MANY);    /* total first */
    /* another instance name counts apart */
    struct instance_common other = si;
    other.name = "submission";
    CU_ASSERT_EQUAL(connlimit_admit(cl, &other, &a), -1);
    CU_ASSERT_EQUAL(connlimit_count(cl, "submission"), 0);
    /* going out frees the slots */
    connlimit_del(cl, "smtp", &a);
    CU_ASSERT_EQUAL(connlimit_count(cl, "smtp"), 2);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &a), -1);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &c), -1);
    connlimit_del(cl, "smtp", &a);
    connlimit_del(cl, "smtp", &b);
    CU_ASSERT_EQUAL(connlimit_count(cl, "smtp"), 0);
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "smtp", &a), 0);
    connlimit_del(cl, "smtp", &b);                       /* extra del: harmless */
    CU_ASSERT_EQUAL(connlimit_count(cl, "smtp"), 0);
    /* 0 = no limit */
    struct instance_common open = { .name = "x" };
    for (int i = 0; i < 1000; i++)
        connlimit_add(cl, "x", &a);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &open, &a), -1);
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "x", &a), 1000);
    connlimit_free(cl);                                  /* frees what is still counted */
}

static void test_many_addresses(void)
{
    struct connlimit *cl = connlimit_new();
    char buf[64];
    struct ipaddr addrs[3000];

    for (int i = 0; i < 3000; i++) {
        snprintf(buf, sizeof buf, "10.%d.%d.1", i / 256, i % 256);
        addrs[i] = ip(buf);
        connlimit_add(cl, "i", &addrs[i]);
    }
    CU_ASSERT_EQUAL(connlimit_count(cl, "i"), 3000);
    int ones = 0;
    for (int i = 0; i < 3000; i++)
        ones += connlimit_count_ip(cl, "i", &addrs[i]) == 1;
    CU_ASSERT_EQUAL(ones, 3000);
    for (int i = 0; i < 3000; i += 2)
        connlimit_del(cl, "i", &addrs[i]);
    CU_ASSERT_EQUAL(connlimit_count(cl, "i"), 1500);
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "i", &addrs[0]), 0);
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "i", &addrs[1]), 1);
    connlimit_free(cl);
}

/* One IPv6 client holds a /64: its addresses share the per-IP limit; another /64
 * and IPv4 addresses count apart. */
static void test_ipv6_per_64(void)
{
    struct connlimit *cl = connlimit_new();
    struct instance_common si = { .name = "s", .max_connections_per_ip = 2 };
    struct ipaddr a1 = ip("2001:db8:1:2::1"), a2 = ip("2001:db8:1:2:ffff::9");
    struct ipaddr a3 = ip("2001:db8:1:2:1234:5678:9abc:def0"), other = ip("2001:db8:1:3::1");
    struct ipaddr v4a = ip("192.0.2.1"), v4b = ip("192.0.2.2");

    connlimit_add(cl, "s", &a1);
    connlimit_add(cl, "s", &a2);
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "s", &a3), 2);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &a3), REFUSE_TOO_MANY_IP);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &other), -1);
    connlimit_add(cl, "s", &v4a);
    connlimit_add(cl, "s", &v4a);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &v4a), REFUSE_TOO_MANY_IP);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &v4b), -1);      /* IPv4: per address */
    connlimit_del(cl, "s", &a3);                              /* any address of the /64 */
    CU_ASSERT_EQUAL(connlimit_count_ip(cl, "s", &a1), 1);
    CU_ASSERT_EQUAL(connlimit_admit(cl, &si, &a2), -1);
    connlimit_free(cl);
}

static CU_TestInfo tests[] = {
    { "IPv6 clients per /64", test_ipv6_per_64 },
    { "allow and deny lists", test_allow_deny },
    { "total and per-IP limits", test_limits },
    { "many addresses", test_many_addresses },
    CU_TEST_INFO_NULL,
};

CU_MAIN("connlimit", tests)
