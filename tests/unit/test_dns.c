/* test_dns: the DNSBL names (IPv4 reversed octets, IPv6 reversed nibbles), the answer
 * parser on hand-built wire answers (records, minimum TTL, NXDOMAIN with the SOA's TTL,
 * NODATA, SERVFAIL, truncation), what counts as listed, the bounded per-zone cache
 * (hits, zones apart, expiry, TTL clamps, eviction within a set), dns_servers parsing,
 * and the timeout path: a query to a real UDP socket that never answers is answered
 * DNS_TIMEOUT on the loop after dns_timeout, a cancelled one never. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "confval.h"
#include "cu.h"
#include "dns.h"
#include "dnsbl_cache.h"
#include "twire.h"

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse(s, &a), 0);
    return a;
}

/* ---- names ----------------------------------------------------------------- */

static void test_reverse_names(void)
{
    char out[DNS_NAME_MAX];
    struct ipaddr a = ip("127.0.0.9");
    CU_ASSERT_EQUAL(dns_reverse_name(&a, "bl.example", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "9.0.0.127.bl.example");
    a = ip("192.0.2.200");
    CU_ASSERT_EQUAL(dns_reverse_name(&a, "zen.spamhaus.org", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "200.2.0.192.zen.spamhaus.org");
    a = ip("2001:db8::1:abcd");
    CU_ASSERT_EQUAL(dns_reverse_name(&a, "bl.example", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "d.c.b.a.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                                "8.b.d.0.1.0.0.2.bl.example");
    a = ip("::ffff:192.0.2.1");                 /* v4-mapped: the IPv4 name */
    CU_ASSERT_EQUAL(dns_reverse_name(&a, "z", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "1.2.0.192.z");
    char small[20];
    a = ip("2001:db8::1");
    CU_ASSERT_EQUAL(dns_reverse_name(&a, "z", small, sizeof small), -1);
    a = ip("127.0.0.9");
    CU_ASSERT_EQUAL(dns_reverse_name(&a, "a.long.zone.name", small, sizeof small), -1);
}

/* ---- answers ----------------------------------------------------------------- */

/* Header (rcode, counts) and the question "9.0.0.127.bl.example A IN" at offset 12. */
static void start(struct wire *w, unsigned rcode, unsigned an, unsigned ns)
{
    tw_start(w, "9.0.0.127.bl.example", ns_t_a, rcode, an, ns);
}

static void add_a(struct wire *w, unsigned ttl, unsigned a, unsigned b, unsigned c, unsigned d)
{
    const unsigned char addr[4] = { (unsigned char)a, (unsigned char)b, (unsigned char)c,
                                    (unsigned char)d };
    tw_rr(w, ns_t_a, ttl, addr, sizeof addr);
}

static void add_soa(struct wire *w, unsigned ttl)
{
    tw_put16(w, 0xc00c + 10);                      /* "bl.example" inside the question */
    tw_put16(w, ns_t_soa);
    tw_put16(w, ns_c_in);
    tw_put32(w, ttl);
    tw_put16(w, 2 + 2 + 20);
    tw_put16(w, 0xc00c + 10);                      /* mname */
    tw_put16(w, 0xc00c + 10);                      /* rname */
    for (int i = 0; i < 5; i++)
        tw_put32(w, 100);
}

static void test_parse_answer(void)
{
    struct wire w;
    struct dns_answer a;
    start(&w, 0, 2, 0);
    add_a(&w, 300, 127, 0, 0, 2);
    add_a(&w, 200, 127, 0, 0, 4);
    CU_ASSERT_EQUAL_FATAL(dns_parse_answer(w.b, w.n, ns_t_a, &a), 0);
    CU_ASSERT_EQUAL(a.status, DNS_OK);
    CU_ASSERT_EQUAL(a.n, 2);
    CU_ASSERT_EQUAL(a.ttl, 200);
    CU_ASSERT_EQUAL(a.rdlen[1], 4);
    CU_ASSERT_EQUAL(a.rdata[1][3], 4);
    CU_ASSERT_TRUE(dnsbl_answer_lists(&a));
    CU_ASSERT_EQUAL(dns_parse_answer(w.b, w.n, ns_t_txt, &a), 0);   /* none of that type */
    CU_ASSERT_EQUAL(a.status, DNS_NODATA);
    CU_ASSERT_EQUAL(a.n, 0);

    start(&w, ns_r_nxdomain, 0, 1);
    add_soa(&w, 900);
    CU_ASSERT_EQUAL_FATAL(dns_parse_answer(w.b, w.n, ns_t_a, &a), 0);
    CU_ASSERT_EQUAL(a.status, DNS_NXDOMAIN);
    CU_ASSERT_EQUAL(a.rcode, ns_r_nxdomain);
    CU_ASSERT_EQUAL(a.ttl, 900);
    CU_ASSERT_FALSE(dnsbl_answer_lists(&a));

    start(&w, ns_r_servfail, 0, 0);
    CU_ASSERT_EQUAL_FATAL(dns_parse_answer(w.b, w.n, ns_t_a, &a), 0);
    CU_ASSERT_EQUAL(a.status, DNS_ERROR);

    start(&w, 0, 1, 0);
    add_a(&w, 300, 127, 0, 0, 2);
    for (size_t cut = 0; cut < w.n; cut++)       /* every truncation: bad or fewer records */
        if (dns_parse_answer(w.b, cut, ns_t_a, &a) == 0)
            CU_ASSERT_TRUE(a.n == 0 || cut == w.n);
    CU_ASSERT_EQUAL(dns_parse_answer(w.b, 70000, ns_t_a, &a), -1);
}

static void test_txt_join(void)
{
    const unsigned char rd[] = { 8, 'v', '=', 'S', 'T', 'S', 'v', '1', ';', 5, ' ', 'i', 'd', '=', '7' };
    char out[64];
    CU_ASSERT_EQUAL(dns_txt_join(rd, sizeof rd, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "v=STSv1; id=7");
    CU_ASSERT_EQUAL(dns_txt_join(rd, sizeof rd - 1, out, sizeof out), -1);   /* cut */
    CU_ASSERT_EQUAL(dns_txt_join(rd, sizeof rd, out, 14), 0);              /* just fits */
    CU_ASSERT_EQUAL(dns_txt_join(rd, sizeof rd, out, 13), -1);             /* too long */
    CU_ASSERT_EQUAL(dns_txt_join(rd, sizeof rd, out, 0), -1);
    const unsigned char empty[] = { 0 };
    CU_ASSERT_EQUAL(dns_txt_join(empty, sizeof empty, out, 1), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    const unsigned char nul[] = { 2, 'a', 0 };
    CU_ASSERT_EQUAL(dns_txt_join(nul, sizeof nul, out, sizeof out), -1);
}

static void test_listed(void)
{
    struct wire w;
    struct dns_answer a;
    start(&w, 0, 1, 0);
    add_a(&w, 60, 127, 255, 255, 254);          /* the lists' "public resolver" error */
    CU_ASSERT_EQUAL_FATAL(dns_parse_answer(w.b, w.n, ns_t_a, &a), 0);
    CU_ASSERT_FALSE(dnsbl_answer_lists(&a));
    start(&w, 0, 1, 0);
    add_a(&w, 60, 10, 0, 0, 2);                 /* outside 127/8: not a listing */
    CU_ASSERT_EQUAL_FATAL(dns_parse_answer(w.b, w.n, ns_t_a, &a), 0);
    CU_ASSERT_FALSE(dnsbl_answer_lists(&a));
    start(&w, 0, 1, 0);
    add_a(&w, 60, 127, 0, 10, 1);               /* a dnswl answer */
    CU_ASSERT_EQUAL_FATAL(dns_parse_answer(w.b, w.n, ns_t_a, &a), 0);
    CU_ASSERT_TRUE(dnsbl_answer_lists(&a));
}

/* ---- cache --------------------------------------------------------------------- */

static struct dnsbl_cache cache;

static void test_cache(void)
{
    memset(&cache, 0, sizeof cache);
    struct ipaddr a = ip("127.0.0.9"), b = ip("2001:db8::9");
    bool listed = false;
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &a, 1000, &listed), 0);
    dnsbl_cache_put(&cache, "bl.example", &a, true, 300, 1000);
    dnsbl_cache_put(&cache, "wl.example", &a, false, 300, 1000);
    dnsbl_cache_put(&cache, "bl.example", &b, false, 10, 1000);    /* clamped up to 60 */
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &a, 1299, &listed), 1);
    CU_ASSERT_TRUE(listed);
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "BL.Example", &a, 1000, &listed), 1);
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "wl.example", &a, 1000, &listed), 1);
    CU_ASSERT_FALSE(listed);                                        /* zones apart */
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &a, 1300, &listed), 0);   /* expired */
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &b, 1059, &listed), 1);
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &b, 1060, &listed), 0);
    dnsbl_cache_put(&cache, "bl.example", &a, false, 999999, 2000);  /* clamped down */
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &a, 2000 + DNSBL_TTL_MAX - 1, &listed), 1);
    CU_ASSERT_FALSE(listed);                                        /* replaced */
    CU_ASSERT_EQUAL(dnsbl_cache_get(&cache, "bl.example", &a, 2000 + DNSBL_TTL_MAX, &listed), 0);
}

/* The table never grows: many more addresses than entries, the newest ones are found
 * and at most SETS x WAYS are. */
static void test_cache_bounded(void)
{
    memset(&cache, 0, sizeof cache);
    const unsigned total = DNSBL_CACHE_SETS * DNSBL_CACHE_WAYS * 4;
    for (unsigned i = 0; i < total; i++) {
        struct ipaddr a = { AF_INET, { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
        dnsbl_cache_put(&cache, "bl.example", &a, true, 60 + i, 0);
    }
    unsigned found = 0, recent = 0;
    bool listed;
    for (unsigned i = 0; i < total; i++) {
        struct ipaddr a = { AF_INET, { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
        if (dnsbl_cache_get(&cache, "bl.example", &a, 1, &listed) == 1) {
            found++;
            recent += i >= total - 64;
        }
    }
    CU_ASSERT(found <= DNSBL_CACHE_SETS * DNSBL_CACHE_WAYS);
    CU_ASSERT(found >= DNSBL_CACHE_SETS * DNSBL_CACHE_WAYS / 2);
    CU_ASSERT_EQUAL(recent, 64);               /* the longest-lived ones stay */
}

/* ---- dns_servers ------------------------------------------------------------- */

static void test_dns_servers(void)
{
    struct strlist l = { NULL, 0 };
    char why[200];
    CU_ASSERT_EQUAL_FATAL(cv_dns_servers("127.0.0.1, 192.0.2.1:5353 [::1]:54 2001:db8::53",
                                         &l, why, sizeof why), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    CU_ASSERT_STRING_EQUAL(l.v[0], "127.0.0.1@53");
    CU_ASSERT_STRING_EQUAL(l.v[1], "192.0.2.1@5353");
    CU_ASSERT_STRING_EQUAL(l.v[2], "::1@54");
    CU_ASSERT_STRING_EQUAL(l.v[3], "2001:db8::53@53");
    CU_ASSERT_EQUAL(cv_dns_servers("ns.example.net", &l, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "ns.example.net"));
    CU_ASSERT_EQUAL(cv_dns_servers("127.0.0.1:0", &l, why, sizeof why), -1);
    CU_ASSERT_EQUAL(l.n, 4);                    /* unchanged on error */
    CU_ASSERT_EQUAL(cv_dns_servers("", &l, why, sizeof why), 0);
    CU_ASSERT_EQUAL(l.n, 0);                    /* empty: resolv.conf */
    cv_strlist_free(&l);
}

/* ---- timeout --------------------------------------------------------------------- */

struct got {
    int calls;
    enum dns_status status;
    struct timeval at;
};

static void on_answer(void *arg, const struct dns_answer *a)
{
    struct got *g = arg;
    g->calls++;
    g->status = a->status;
    gettimeofday(&g->at, NULL);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void test_timeout(void)
{
    /* a DNS server that takes queries and never answers */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1@%u", ntohs(sin.sin_port));
    char *v[] = { server };
    struct strlist servers = { v, 1 };
    CU_ASSERT_EQUAL_FATAL(dns_configure(&servers, 1), 0);

    struct event_base *base = event_base_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    struct got g = { 0 }, cancelled = { 0 };
    struct timeval t0;
    gettimeofday(&t0, NULL);
    struct dns_query *q = dns_query(base, "9.0.0.127.bl.example", ns_t_a, on_answer, &g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    struct dns_query *q2 = dns_query(base, "10.0.0.127.bl.example", ns_t_a, on_answer,
                                     &cancelled);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q2);
    dns_cancel(q2);
    struct event *stop = evtimer_new(base, stop_loop, base);
    struct timeval limit = { 3, 0 };
    evtimer_add(stop, &limit);
    while (g.calls == 0 && event_base_got_break(base) == 0)
        event_base_loop(base, EVLOOP_ONCE);
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.status, DNS_TIMEOUT);
    double secs = (double)(g.at.tv_sec - t0.tv_sec) + (g.at.tv_usec - t0.tv_usec) / 1e6;
    CU_ASSERT(secs >= 0.9 && secs < 2.5);
    CU_ASSERT_EQUAL(cancelled.calls, 0);
    /* the loop ends with a query waiting: it is answered "error", once */
    struct got late = { 0 };
    CU_ASSERT_PTR_NOT_NULL_FATAL(dns_query(base, "11.0.0.127.bl.example", ns_t_a, on_answer,
                                           &late));
    event_free(stop);
    dns_thread_end();
    CU_ASSERT_EQUAL(late.calls, 1);
    CU_ASSERT_EQUAL(late.status, DNS_ERROR);
    event_base_free(base);
    close(fd);
    struct strlist none = { NULL, 0 };
    CU_ASSERT_EQUAL(dns_configure(&none, 5), 0);
}

static CU_TestInfo tests[] = {
    { "DNSBL names: IPv4 octets, IPv6 nibbles, too long", test_reverse_names },
    { "answers: records, TTL, NXDOMAIN, NODATA, SERVFAIL, truncation", test_parse_answer },
    { "TXT character-strings joined: cut, too long, NUL", test_txt_join },
    { "what counts as listed", test_listed },
    { "cache: hits, zones apart, expiry, TTL clamps", test_cache },
    { "cache: bounded, the newest stay", test_cache_bounded },
    { "dns_servers parsing", test_dns_servers },
    { "a server that never answers: DNS_TIMEOUT after dns_timeout; cancel; loop end",
      test_timeout },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dns", tests)
