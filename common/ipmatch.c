/* ipmatch: IP address literals and the IP pattern lists of mailserver.conf.
 * Every pattern (exact, CIDR, IPv4 wildcard, range) becomes one inclusive
 * range [lo, hi] of one family; matching is two byte-wise comparisons.
 * An IPv4 address and its ::ffff:a.b.c.d form are the same address everywhere.
 * Pure code: no I/O. */
#include "ipmatch.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct ippat {
    int family;
    uint8_t lo[16];
    uint8_t hi[16];
};

struct iplist {
    struct ippat *v;
    size_t n;
    char *text;         /* the list as written (for messages) */
};

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static size_t fam_len(int family)
{
    return family == AF_INET ? 4 : 16;
}

/* ---- single addresses ---------------------------------------------------- */

/* Store a raw IPv6 address, turning ::ffff:a.b.c.d into AF_INET. */
static void set_v6(struct ipaddr *out, const uint8_t b[16])
{
    memset(out, 0, sizeof(*out));
    if (memcmp(b, v4mapped_prefix, 12) == 0) {
        out->family = AF_INET;
        memcpy(out->b, b + 12, 4);
    } else {
        out->family = AF_INET6;
        memcpy(out->b, b, 16);
    }
}

/* Parse without normalising v4-mapped addresses; *mapped tells whether it was one. */
static int parse_raw(const char *s, struct ipaddr *out, bool *mapped)
{
    char buf[64];
    size_t len = strlen(s);
    *mapped = false;
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        if (len - 2 >= sizeof(buf))
            return -1;
        memcpy(buf, s + 1, len - 2);
        buf[len - 2] = '\0';
        if (!strchr(buf, ':'))
            return -1;   /* brackets are for IPv6 only */
    } else if (str_copy(buf, s, sizeof(buf)) >= sizeof(buf)) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->b) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->b) == 1) {
        out->family = AF_INET6;
        *mapped = memcmp(out->b, v4mapped_prefix, 12) == 0;
        return 0;
    }
    return -1;
}

int ipaddr_parse(const char *s, struct ipaddr *out)
{
    bool mapped;
    struct ipaddr raw;
    if (!s || parse_raw(s, &raw, &mapped) < 0)
        return -1;
    if (raw.family == AF_INET6)
        set_v6(out, raw.b);
    else
        *out = raw;
    return 0;
}

int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        memset(out, 0, sizeof(*out));
        out->family = AF_INET;
        memcpy(out->b, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        set_v6(out, sin6->sin6_addr.s6_addr);
        return 0;
    }
    return -1;
}

const char *ipaddr_format(const struct ipaddr *ip, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (!inet_ntop(ip->family == AF_INET ? AF_INET : AF_INET6, ip->b, buf, (socklen_t)len))
        str_copy(buf, "?", len);
    return buf;
}

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, fam_len(a->family)) == 0;
}

bool ipaddr_is_loopback(const struct ipaddr *ip)
{
    static const uint8_t v6lo[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    if (ip->family == AF_INET)
        return ip->b[0] == 127;
    return ip->family == AF_INET6 && memcmp(ip->b, v6lo, 16) == 0;
}

void ipaddr_client_key(const struct ipaddr *ip, struct ipaddr *key)
{
    *key = *ip;
    if (key->family == AF_INET6)
        memset(key->b + 8, 0, 8);
    else
        memset(key->b + 4, 0, 12);
}

/* ---- patterns ------------------------------------------------------------ */

/* Set pattern to the network addr/prefix (host bits are masked, as Postfix does). */
static void pat_cidr(struct ippat *p, const struct ipaddr *a, unsigned prefix)
{
    size_t n = fam_len(a->family);
    p->family = a->family;
    for (size_t i = 0; i < n; i++) {
        unsigned bits = prefix >= 8 * (i + 1) ? 8 : (prefix > 8 * i ? prefix - 8 * i : 0);
        uint8_t mask = (uint8_t)(bits ? 0xffu << (8 - bits) : 0);
        p->lo[i] = a->b[i] & mask;
        p->hi[i] = (uint8_t)(p->lo[i] | (uint8_t)~mask);
    }
}

static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
    if (!*s || strlen(s) > 3)
        return -1;
    unsigned v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int pat_parse_cidr(const char *tok, struct ippat *p, char *why, size_t wl)
{
    char addr[64];
    const char *slash = strchr(tok, '/');
    size_t alen = (size_t)(slash - tok);
    if (alen >= sizeof(addr)) {
        snprintf(why, wl, "address too long");
        return -1;
    }
    memcpy(addr, tok, alen);
    addr[alen] = '\0';
    struct ipaddr a;
    bool mapped;
    if (parse_raw(addr, &a, &mapped) < 0) {
        snprintf(why, wl, "'%s' is not an IP address (expected ADDRESS/PREFIX)", addr);
        return -1;
    }
    unsigned max = a.family == AF_INET ? 32 : 128, prefix;
    if (parse_prefix(slash + 1, max, &prefix) < 0) {
        snprintf(why, wl, "bad prefix length (expected 0 to %u)", max);
        return -1;
    }
    if (mapped && prefix >= 96) {   /* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
        struct ipaddr v4 = { .family = AF_INET };
        memcpy(v4.b, a.b + 12, 4);
        pat_cidr(p, &v4, prefix - 96);
    } else {
        pat_cidr(p, &a, prefix);
    }
    return 0;
}

/* 192.168.1.*, 192.168.*.*, 10.*, *.*.*.*: literal leading octets, then only '*'. */
static int pat_parse_wild(const char *tok, struct ippat *p, char *why, size_t wl)
{
    char buf[32];
    if (str_copy(buf, tok, sizeof(buf)) >= sizeof(buf))
        goto bad;
    uint8_t lo[4] = { 0, 0, 0, 0 }, hi[4] = { 255, 255, 255, 255 };
    int noct = 0, nlit = 0;
    bool wild = false;
    char *save = NULL;
    for (char *o = strtok_r(buf, ".", &save); o; o = strtok_r(NULL, ".", &save)) {
        if (++noct > 4)
            goto bad;
        if (strcmp(o, "*") == 0) {
            wild = true;
            continue;
        }
        unsigned v;
        if (wild || parse_prefix(o, 255, &v) < 0)
            goto bad;
        lo[nlit] = hi[nlit] = (uint8_t)v;
        nlit++;
    }
    if (!wild || tok[0] == '.' || tok[strlen(tok) - 1] == '.' || strstr(tok, ".."))
        goto bad;
    memset(p, 0, sizeof(*p));
    p->family = AF_INET;
    memcpy(p->lo, lo, 4);
    memcpy(p->hi, hi, 4);
    return 0;
bad:
    snprintf(why, wl, "bad wildcard (expected whole trailing IPv4 octets as '*', "
             "like 192.168.1.* or 10.*)");
    return -1;
}

static int pat_parse_range(const char *tok, struct ippat *p, char *why, size_t wl)
{
    char a[64], b[64];
    const char *dash = strchr(tok, '-');
    size_t alen = (size_t)(dash - tok);
    if (alen >= sizeof(a) || str_copy(b, dash + 1, sizeof(b)) >= sizeof(b)) {
        snprintf(why, wl, "address too long");
        return -1;
    }
    memcpy(a, tok, alen);
    a[alen] = '\0';
    struct ipaddr lo, hi;
    if (ipaddr_parse(a, &lo) < 0 || ipaddr_parse(b, &hi) < 0) {
        snprintf(why, wl, "not a range of two IP addresses (expected FIRST-LAST)");
        return -1;
    }
    if (lo.family != hi.family) {
        snprintf(why, wl, "range mixes IPv4 and IPv6 (expected two addresses of one family)");
        return -1;
    }
    if (memcmp(lo.b, hi.b, fam_len(lo.family)) > 0) {
        snprintf(why, wl, "range is reversed (expected FIRST <= LAST)");
        return -1;
    }
    memset(p, 0, sizeof(*p));
    p->family = lo.family;
    memcpy(p->lo, lo.b, 16);
    memcpy(p->hi, hi.b, 16);
    return 0;
}

static int pat_parse(const char *tok, struct ippat *p, char *why, size_t wl)
{
    if (strchr(tok, '/'))
        return pat_parse_cidr(tok, p, why, wl);
    if (strchr(tok, '-'))
        return pat_parse_range(tok, p, why, wl);
    if (strcmp(tok, "*") == 0) {   /* every address: ::/0 also matches IPv4 clients */
        memset(p, 0, sizeof(*p));
        p->family = AF_INET6;
        memset(p->hi, 0xff, sizeof(p->hi));
        return 0;
    }
    if (strchr(tok, '*'))
        return pat_parse_wild(tok, p, why, wl);
    struct ipaddr a;
    if (ipaddr_parse(tok, &a) < 0) {
        snprintf(why, wl, "not an IP address (expected an address, ADDRESS/PREFIX, "
                 "a wildcard like 192.168.1.* or a range FIRST-LAST)");
        return -1;
    }
    pat_cidr(p, &a, a.family == AF_INET ? 32 : 128);
    return 0;
}

static bool is_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

struct iplist *iplist_parse(const char *text, char *err, size_t errlen)
{
    struct iplist *l = xcalloc(1, sizeof(*l));
    size_t cap = 0;
    const char *s = text ? text : "";
    l->text = xstrdup(s);
    while (*s) {
        while (is_sep(*s))
            s++;
        size_t len = 0;
        while (s[len] && !is_sep(s[len]))
            len++;
        if (len == 0)
            break;
        char tok[128], why[160];
        if (len >= sizeof(tok)) {
            snprintf(err, errlen, "bad IP pattern '%.40s...': too long", s);
            iplist_free(l);
            return NULL;
        }
        memcpy(tok, s, len);
        tok[len] = '\0';
        s += len;
        if (l->n == cap) {
            cap = cap ? cap * 2 : 4;
            struct ippat *nv = realloc(l->v, cap * sizeof(*nv));
            if (!nv)
                abort();
            l->v = nv;
        }
        if (pat_parse(tok, &l->v[l->n], why, sizeof(why)) < 0) {
            snprintf(err, errlen, "bad IP pattern '%s': %s", tok, why);
            iplist_free(l);
            return NULL;
        }
        l->n++;
    }
    return l;
}

static bool in_range(const struct ippat *p, const uint8_t *b)
{
    size_t n = fam_len(p->family);
    return memcmp(p->lo, b, n) <= 0 && memcmp(b, p->hi, n) <= 0;
}

bool iplist_match(const struct iplist *list, const struct ipaddr *ip)
{
    if (!list || !ip)
        return false;
    struct ipaddr norm = *ip;
    if (ip->family == AF_INET6)
        set_v6(&norm, ip->b);   /* tolerate a caller's unnormalised v4-mapped address */
    uint8_t mapped[16];
    memcpy(mapped, v4mapped_prefix, 12);
    memcpy(mapped + 12, norm.b, 4);
    for (size_t i = 0; i < list->n; i++) {
        const struct ippat *p = &list->v[i];
        if (p->family == norm.family && in_range(p, norm.b))
            return true;
        /* An IPv6 pattern such as ::/0 covers the ::ffff: form of an IPv4 client. */
        if (p->family == AF_INET6 && norm.family == AF_INET && in_range(p, mapped))
            return true;
    }
    return false;
}

bool iplist_empty(const struct iplist *list)
{
    return !list || list->n == 0;
}

void iplist_free(struct iplist *list)
{
    if (!list)
        return;
    free(list->v);
    free(list->text);
    free(list);
}

const char *iplist_text(const struct iplist *list)
{
    return list && list->text ? list->text : "";
}

/* ---- coverage ------------------------------------------------------------ */

/* Ranges in one 128-bit space: IPv4 a.b.c.d is ::ffff:a.b.c.d, as iplist_match sees it. */
struct span {
    uint8_t lo[16], hi[16];
};

static void to_span(const struct ippat *p, struct span *s)
{
    if (p->family == AF_INET) {
        memcpy(s->lo, v4mapped_prefix, 12);
        memcpy(s->hi, v4mapped_prefix, 12);
        memcpy(s->lo + 12, p->lo, 4);
        memcpy(s->hi + 12, p->hi, 4);
    } else {
        memcpy(s->lo, p->lo, 16);
        memcpy(s->hi, p->hi, 16);
    }
}

static int span_cmp(const void *a, const void *b)
{
    return memcmp(((const struct span *)a)->lo, ((const struct span *)b)->lo, 16);
}

/* b += 1; false when it wraps past the top of the space. */
static bool inc128(uint8_t b[16])
{
    for (int i = 15; i >= 0; i--)
        if (++b[i] != 0)
            return true;
    return false;
}

/* Do the spans (sorted by lo) together cover [lo, hi]? */
static bool spans_cover(const struct span *v, size_t n, const uint8_t lo[16], const uint8_t hi[16])
{
    uint8_t cur[16];   /* the lowest address not yet known to be covered */
    memcpy(cur, lo, 16);
    for (size_t i = 0; i < n; i++) {
        if (memcmp(v[i].hi, cur, 16) < 0)
            continue;                  /* wholly below what is covered already */
        if (memcmp(v[i].lo, cur, 16) > 0)
            return false;              /* a gap at cur: later spans start higher still */
        memcpy(cur, v[i].hi, 16);
        if (!inc128(cur) || memcmp(cur, hi, 16) > 0)
            return true;
    }
    return false;
}

bool iplist_covers_all(const struct iplist *list, int family)
{
    if (iplist_empty(list) || (family != AF_INET && family != AF_INET6))
        return false;
    /* One more span: for IPv6, the ::ffff:0:0/96 block holds no IPv6 client (such an
     * address is taken as IPv4), so it need not be covered. */
    struct span *v = xcalloc(list->n + 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < list->n; i++)
        to_span(&list->v[i], &v[n++]);
    uint8_t lo[16] = { 0 }, hi[16];
    memset(hi, 0xff, sizeof(hi));
    if (family == AF_INET) {
        memcpy(lo, v4mapped_prefix, 12);
        memcpy(hi, v4mapped_prefix, 12);
    } else {
        memcpy(v[n].lo, v4mapped_prefix, 12);
        memcpy(v[n].hi, v4mapped_prefix, 12);
        memset(v[n].hi + 12, 0xff, 4);
        n++;
    }
    qsort(v, n, sizeof(*v), span_cmp);
    bool all = spans_cover(v, n, lo, hi);
    free(v);
    return all;
}
