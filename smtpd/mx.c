/* mx: next-hop selection for outbound mail: [routes], relayhost, MX (RFC 5321 section 5,
 * RFC 7505 null MX). Answer parsing and ordering are pure; nexthop_lookup does the DNS. */
#include "mx.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "util.h"

static void strip_dot(char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.')
        name[n - 1] = '\0';
}

/* Keep the max lowest-preference hosts in out. */
static void keep_host(struct mx_host *out, size_t max, size_t *n, const char *name, int pref)
{
    size_t slot = *n;
    if (*n >= max) {
        size_t worst = 0;
        for (size_t i = 1; i < *n; i++)
            if (out[i].pref > out[worst].pref)
                worst = i;
        if (out[worst].pref <= pref)
            return;
        slot = worst;
    } else {
        (*n)++;
    }
    str_copy(out[slot].name, name, sizeof out[slot].name);
    out[slot].pref = pref;
    out[slot].port = 25;
}

enum mx_parse mx_parse_answer(const unsigned char *ans, int len, struct mx_host *out,
                              size_t max, size_t *n)
{
    ns_msg msg;
    *n = 0;
    if (ns_initparse(ans, len, &msg) < 0)
        return MXP_BAD;
    int count = ns_msg_count(msg, ns_s_an);
    int nulls = 0, total = 0;
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            return MXP_BAD;
        if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in)
            continue;                       /* a CNAME in front, for instance */
        if (ns_rr_rdlen(rr) < 3)
            return MXP_BAD;
        const unsigned char *rd = ns_rr_rdata(rr);
        int pref = (rd[0] << 8) | rd[1];
        char name[NS_MAXDNAME];
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 2, name, sizeof name) < 0)
            return MXP_BAD;
        total++;
        if (name[0] == '\0' || strcmp(name, ".") == 0) {
            nulls++;                        /* RFC 7505: "." */
            continue;
        }
        if (strlen(name) >= MX_NAME_MAX)
            continue;
        strip_dot(name);
        keep_host(out, max, n, name, pref);
    }
    /* A domain publishing only the null MX accepts no mail. A null MX mixed with real
     * ones is a misconfiguration: RFC 7505 says it must not be; we use the real ones. */
    if (nulls > 0 && total == nulls)
        return MXP_NULL;
    return MXP_OK;
}

static int cmp_pref(const void *a, const void *b)
{
    const struct mx_host *x = a, *y = b;
    return (x->pref > y->pref) - (x->pref < y->pref);
}

void mx_sort(struct mx_host *h, size_t *n, unsigned (*rnd)(void *ctx), void *ctx)
{
    /* qsort is not stable: sort on (pref, original index) via insertion (n is small) */
    for (size_t i = 1; i < *n; i++) {
        struct mx_host t = h[i];
        size_t j = i;
        while (j > 0 && cmp_pref(&h[j - 1], &t) > 0) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = t;
    }
    /* remove duplicate names (keep the best preference) */
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        int dup = 0;
        for (size_t k = 0; k < w; k++)
            if (str_ieq(h[k].name, h[i].name))
                dup = 1;
        if (!dup)
            h[w++] = h[i];
    }
    *n = w;
    if (!rnd)
        return;
    for (size_t start = 0; start < *n;) {   /* Fisher-Yates within each equal group */
        size_t end = start + 1;
        while (end < *n && h[end].pref == h[start].pref)
            end++;
        for (size_t i = end - 1; i > start; i--) {
            size_t j = start + rnd(ctx) % (i - start + 1);
            struct mx_host t = h[i];
            h[i] = h[j];
            h[j] = t;
        }
        start = end;
    }
}

static void one_host(struct nexthop *out, const char *kind, const char *host, int port)
{
    out->n = 1;
    str_copy(out->host[0].name, host, sizeof out->host[0].name);
    out->host[0].pref = 0;
    out->host[0].port = port > 0 ? port : 25;
    snprintf(out->key, sizeof out->key, "%s:%.*s:%d", kind, MX_NAME_MAX - 1, host,
             out->host[0].port);
    /* a name the admin configured (not an address): DANE when its addresses are secure */
    struct ipaddr ip;
    out->secure = ipaddr_parse(host, &ip) != 0;
}

int nexthop_static(const struct config *cfg, const char *domain, struct nexthop *out)
{
    memset(out, 0, sizeof *out);
    const struct route *r = config_route(cfg, domain);
    if (r) {
        one_host(out, "route", r->host, r->port);
        return 1;
    }
    if (cfg->relayhost && cfg->relayhost[0]) {
        one_host(out, "relay", cfg->relayhost, cfg->relayhost_port);
        return 1;
    }
    size_t len = strlen(domain);
    if (domain[0] == '[' && len > 2 && domain[len - 1] == ']') {
        char lit[MX_NAME_MAX];
        const char *p = domain + 1;
        if (strncasecmp(p, "IPv6:", 5) == 0)
            p += 5;
        snprintf(lit, sizeof lit, "%.*s", (int)(domain + len - 1 - p), p);
        one_host(out, "literal", lit, 25);
        return 1;
    }
    return 0;
}

static unsigned rnd_libc(void *ctx)
{
    (void)ctx;
    return (unsigned)random();
}

static enum nexthop_result fail(struct nexthop *out, enum nexthop_result r, const char *status,
                                const char *domain, const char *what)
{
    str_copy(out->status, status, sizeof out->status);
    snprintf(out->diag, sizeof out->diag, "%.200s: %s", domain, what);
    return r;
}

enum nexthop_result nexthop_lookup(const struct config *cfg, const char *domain,
                                   struct nexthop *out)
{
    if (nexthop_static(cfg, domain, out))
        return NH_OK;
    return nexthop_dns(domain, out);
}

enum nexthop_result nexthop_dns(const char *domain, struct nexthop *out)
{
    memset(out, 0, sizeof *out);
    if (domain[0] == '\0' || strlen(domain) >= MX_NAME_MAX)
        return fail(out, NH_BOUNCE, "5.1.2", domain, "bad domain name");
    snprintf(out->key, sizeof out->key, "mx:%s", domain);
    str_lower(out->key);
    unsigned char ans[8192];
    enum dns_status st;
    enum dns_sec sec = DNS_SEC_INSECURE;     /* validated when a trust anchor is set */
    int len = dns_sync_query_sec(domain, ns_t_mx, ans, sizeof ans, &st, &sec);
    out->secure = sec == DNS_SEC_SECURE;     /* RFC 7672 2.2.1: DANE for its hosts */
    if (len < 0) {
        if (sec == DNS_SEC_BOGUS)
            return fail(out, NH_DEFER, "4.4.3", domain, "DNSSEC validation of MX failed (bogus)");
        if (st == DNS_NXDOMAIN)
            return fail(out, NH_BOUNCE, "5.1.2", domain, "Host or domain name not found");
        if (st != DNS_NODATA)
            return fail(out, NH_DEFER, "4.4.3", domain, "DNS lookup of MX failed (temporary)");
        len = 0;
    }
    enum mx_parse p = MXP_OK;
    if (len > 0)
        p = mx_parse_answer(ans, len, out->host, MX_MAX_HOSTS, &out->n);
    if (p == MXP_BAD)
        return fail(out, NH_DEFER, "4.4.3", domain, "malformed DNS answer");
    if (p == MXP_NULL)
        return fail(out, NH_BOUNCE, "5.1.10", domain, "Domain does not accept mail (null MX)");
    if (out->n == 0) {          /* implicit MX: the domain's own A/AAAA */
        str_copy(out->host[0].name, domain, sizeof out->host[0].name);
        out->host[0].pref = 0;
        out->host[0].port = 25;
        out->n = 1;
        return NH_OK;
    }
    mx_sort(out->host, &out->n, rnd_libc, NULL);
    return NH_OK;
}
