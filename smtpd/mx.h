/* mx: the next hop for a recipient domain: a [routes] entry, else relayhost, else the
 * domain's MX hosts (RFC 5321 section 5: preference order, equal preferences shuffled,
 * the domain itself (A/AAAA) when it has no MX, null MX per RFC 7505 bounces).
 * DNS answer parsing and ordering are pure functions, tested on canned answers. */
#ifndef MS_MX_H
#define MS_MX_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define MX_MAX_HOSTS 16
#define MX_NAME_MAX 256

struct mx_host {
    char name[MX_NAME_MAX];   /* host name or address literal, no trailing dot */
    int pref;
    int port;
};

enum mx_parse {
    MXP_OK = 0,          /* n hosts (n may be 0: no MX record in the answer) */
    MXP_NULL = 1,        /* the null MX of RFC 7505: the domain accepts no mail */
    MXP_BAD = -1,        /* malformed answer */
};

/* Parse a DNS response to an MX query (wire format). At most max hosts are kept
 * (lowest preferences first); port is set to 25. */
enum mx_parse mx_parse_answer(const unsigned char *ans, int len, struct mx_host *out,
                              size_t max, size_t *n);
/* Sort by preference; hosts with equal preference are shuffled with rnd(ctx)
 * (rnd returns any unsigned; NULL keeps their order). Duplicates are removed. */
void mx_sort(struct mx_host *h, size_t *n, unsigned (*rnd)(void *ctx), void *ctx);

enum nexthop_result {
    NH_OK = 0,           /* hosts to try, in order */
    NH_BOUNCE = 1,       /* permanent: status and diag say why */
    NH_DEFER = 2,        /* temporary (DNS failure) */
};

struct nexthop {
    struct mx_host host[MX_MAX_HOSTS];
    size_t n;
    char key[MX_NAME_MAX + 32];   /* what groups recipients: "route:host:port", "mx:domain" */
    char status[16];              /* for NH_BOUNCE / NH_DEFER */
    char diag[300];
    bool secure;                  /* DANE may apply (dane.h): the MX RRset (or NODATA) was
                                   * DNSSEC-secure, or a configured [routes]/relayhost name */
};

/* Where a domain's mail goes: routes first, then relayhost, else MX via DNS. An address
 * literal ("[192.0.2.1]") is its own host. */
enum nexthop_result nexthop_lookup(const struct config *cfg, const char *domain,
                                   struct nexthop *out);
/* The DNS part only (MX, else the domain's A/AAAA; key "mx:domain"): blocking, so the
 * queue runner calls it on a delivery thread. */
enum nexthop_result nexthop_dns(const char *domain, struct nexthop *out);
/* The static part only (routes, relayhost, address literal): 1 if decided, 0 if DNS is
 * needed. Pure. */
int nexthop_static(const struct config *cfg, const char *domain, struct nexthop *out);

#endif
