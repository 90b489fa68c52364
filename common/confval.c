/* confval: the typed values of mailserver.conf, parsed and checked: booleans,
 * durations, sizes, counts, host names and domains, host:port, listen addresses,
 * TLS modes and SASL mechanism lists. Pure code: no I/O. Each parser returns 0,
 * or -1 with "what is wrong (expected ...)" in why. Used by config.c. */
#include "confval.h"
#include "ipmatch.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void cv_strlist_add(struct strlist *l, const char *s)
{
    l->v = xrealloc_n(l->v, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
}

void cv_strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static bool is_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

/* Next comma- or space-separated token of *s into tok: 1, 0 at the end, -1 if too long. */
static int cv_next_tok(const char **s, char *tok, size_t n)
{
    const char *p = *s;
    while (is_sep(*p))
        p++;
    size_t len = 0;
    while (p[len] && !is_sep(p[len]))
        len++;
    *s = p + len;
    if (len == 0)
        return 0;
    if (len >= n)
        return -1;
    memcpy(tok, p, len);
    tok[len] = '\0';
    return 1;
}

/* Decimal digits only, no sign, no overflow past max. */
static int parse_num(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* ---- value parsers: 0, or -1 with "what is wrong (expected ...)" in why ---- */

int cv_bool(const char *v, bool *out, char *why, size_t wl)
{
    static const char *yes[] = { "yes", "true", "on" }, *no[] = { "no", "false", "off" };
    for (int i = 0; i < 3; i++) {
        if (str_ieq(v, yes[i]) || str_ieq(v, no[i])) {
            *out = str_ieq(v, yes[i]);
            return 0;
        }
    }
    snprintf(why, wl, "'%s' is not a boolean (expected yes/no, true/false or on/off)", v);
    return -1;
}

int cv_duration(const char *v, bool nonzero, unsigned *out, char *why, size_t wl)
{
    size_t len = strlen(v);
    uint64_t n, mult = 0;
    if (len > 0) {
        switch (tolower((unsigned char)v[len - 1])) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        default: break;
        }
    }
    if (mult == 0 && len > 0 && parse_num(v, len, UINT_MAX, &n) == 0) {
        snprintf(why, wl, "'%s' has no unit; a bare number is not accepted "
                 "(expected a number with s, m, h or d, like %ss)", v, v);
        return -1;
    }
    if (mult == 0 || parse_num(v, len - 1, UINT_MAX, &n) < 0 || n > UINT_MAX / mult) {
        snprintf(why, wl, "'%s' is not a duration (expected a number with s, m, h or d, like 5m)", v);
        return -1;
    }
    if (nonzero && n == 0) {
        snprintf(why, wl, "must not be zero (expected a duration like 5m)");
        return -1;
    }
    *out = (unsigned)(n * mult);
    return 0;
}

int cv_size(const char *v, uint64_t *out, char *why, size_t wl)
{
    size_t len = strlen(v);
    uint64_t n, mult = 1;
    if (len > 0) {
        switch (toupper((unsigned char)v[len - 1])) {
        case 'K': mult = 1024; break;
        case 'M': mult = 1024 * 1024; break;
        case 'G': mult = 1024 * 1024 * 1024; break;
        default: break;
        }
    }
    size_t nlen = mult == 1 ? len : len - 1;
    if (parse_num(v, nlen, UINT64_MAX, &n) < 0 || n > UINT64_MAX / mult || n == 0) {
        snprintf(why, wl, "'%s' is not a size (expected a positive number of bytes, "
                 "optionally with K, M or G, like 25M)", v);
        return -1;
    }
    *out = n * mult;
    return 0;
}

int cv_count(const char *v, unsigned *out, char *why, size_t wl)
{
    uint64_t n;
    if (parse_num(v, strlen(v), 100000000, &n) < 0 || n == 0) {
        snprintf(why, wl, "'%s' is not a count (expected a whole number from 1 to 100000000)", v);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int cv_port(const char *s, int *out)
{
    uint64_t n;
    if (parse_num(s, strlen(s), 65535, &n) < 0 || n == 0)
        return -1;
    *out = (int)n;
    return 0;
}

/* A host name: letters, digits, '-', '_' and dots between non-empty labels. */
bool cv_hostname(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Lower-case a domain, drop one trailing dot, check it. Address literals
 * ([192.0.2.1], [IPv6:2001:db8::1]) pass too, so they can be listed. */
int cv_domain(const char *v, char *out, size_t n, char *why, size_t wl)
{
    if (str_copy(out, v, n) >= n) {
        snprintf(why, wl, "'%.40s...' is too long (expected a domain name)", v);
        return -1;
    }
    str_lower(out);
    size_t len = strlen(out);
    if (len > 2 && out[0] == '[' && out[len - 1] == ']') {
        char ip[64];
        struct ipaddr a;
        const char *in = strncmp(out + 1, "ipv6:", 5) == 0 ? out + 6 : out + 1;
        size_t il = (size_t)(out + len - 1 - in);
        if (il < sizeof(ip)) {
            memcpy(ip, in, il);
            ip[il] = '\0';
            if (ipaddr_parse(ip, &a) == 0 && (a.family == AF_INET) == (in == out + 1))
                return 0;
        }
    } else {
        if (len > 1 && out[len - 1] == '.')
            out[--len] = '\0';
        if (cv_hostname(out) && out[len - 1] != '.' && !strchr(out, '_'))
            return 0;
    }
    snprintf(why, wl, "'%s' is not a domain name (expected something like example.com)", v);
    return -1;
}

/* Split "[h]:p", "[h]", "h:p" or "h" (in buf) into host and port text (NULL if none).
 * Returns 0, -1 if malformed, -2 for an IPv6 address without brackets. */
static int split_hostport(char *buf, char **host, char **port, bool *bracketed)
{
    char *c;
    *host = buf;
    *port = NULL;
    *bracketed = buf[0] == '[';
    if (*bracketed) {
        c = strchr(buf, ']');
        if (!c || (c[1] && c[1] != ':'))
            return -1;
        *c = '\0';
        *host = buf + 1;
        c = c[1] ? c + 1 : NULL;
    } else if ((c = strchr(buf, ':')) && strchr(c + 1, ':')) {
        return -2;
    }
    if (c) {
        *c = '\0';
        *port = c + 1;
    }
    return 0;
}

/* host[:port], [host]:port or [host] for relayhost and routes; port 25 if not given. */
int cv_hostport(const char *v, char **host, int *port, char *why, size_t wl)
{
    char buf[300], *h, *ps;
    bool br;
    struct ipaddr a;
    int p = 25, r = -1;
    if (str_copy(buf, v, sizeof(buf)) < sizeof(buf) && (r = split_hostport(buf, &h, &ps, &br)) == 0
        && (cv_hostname(h) || ipaddr_parse(h, &a) == 0) && (!ps || cv_port(ps, &p) == 0)) {
        *host = xstrdup(h);
        *port = p;
        return 0;
    }
    snprintf(why, wl, "'%s' %s (expected HOST, HOST:PORT or [HOST]:PORT, port 1-65535)", v,
             r == -2 ? "needs brackets around the IPv6 address" : "is not a host");
    return -1;
}

int cv_content_filter(const char *v, char **host, int *port, char *why, size_t wl)
{
    char buf[80], *h, *ps;
    uint8_t tmp[16];
    bool br;
    int r = -1;
    if (!*v) {
        free(*host);
        *host = xstrdup("");
        *port = 0;
        return 0;
    }
    if (strncasecmp(v, "rspamd:", 7) == 0 && str_copy(buf, v + 7, sizeof(buf)) < sizeof(buf) &&
        (r = split_hostport(buf, &h, &ps, &br)) == 0 &&
        inet_pton(br ? AF_INET6 : AF_INET, h, tmp) == 1 && ps && cv_port(ps, port) == 0) {
        free(*host);
        *host = xstrdup(h);
        return 0;
    }
    snprintf(why, wl, "'%s' %s (expected rspamd:ADDRESS:PORT like rspamd:127.0.0.1:11333 or "
             "rspamd:[::1]:11333, an IP address)", v,
             r == -2 ? "needs brackets around the IPv6 address" : "is not a content filter");
    return -1;
}

/* One listen address: IPv4:port or [IPv6]:port. */
static int parse_listen1(const char *tok, struct listen_addr *out, char *why, size_t wl)
{
    char buf[80], *h, *ps;
    uint8_t tmp[16];
    bool br;
    int r = -1;
    if (str_copy(buf, tok, sizeof(buf)) < sizeof(buf) && (r = split_hostport(buf, &h, &ps, &br)) == 0
        && inet_pton(br ? AF_INET6 : AF_INET, h, tmp) == 1 && ps && cv_port(ps, &out->port) == 0) {
        out->host = xstrdup(h);
        return 0;
    }
    snprintf(why, wl, "'%s' %s (expected ADDRESS:PORT like 0.0.0.0:25 or [::]:25, port 1-65535)", tok,
             r == -2 ? "needs brackets around the IPv6 address" : "is not a listen address");
    return -1;
}

void cv_listen_free(struct listen_addr *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i].host);
    free(l);
}

int cv_listen(const char *v, struct listen_addr **out, size_t *nout, char *why, size_t wl)
{
    struct listen_addr *l = NULL;
    size_t n = 0;
    char tok[100];
    int r;
    while ((r = cv_next_tok(&v, tok, sizeof(tok))) != 0) {
        l = xrealloc_n(l, n + 1, sizeof(*l));
        if (r < 0 || parse_listen1(tok, &l[n], why, wl) < 0) {
            if (r < 0)
                snprintf(why, wl, "an address is too long (expected ADDRESS:PORT)");
            cv_listen_free(l, n);
            return -1;
        }
        n++;
    }
    if (n == 0) {
        free(l);
        snprintf(why, wl, "empty (expected ADDRESS:PORT like 0.0.0.0:25 or [::]:25)");
        return -1;
    }
    cv_listen_free(*out, *nout);
    *out = l;
    *nout = n;
    return 0;
}

int cv_mechs(const char *v, unsigned *out, char *why, size_t wl)
{
    unsigned m = 0;
    char tok[64], all[64];
    int r;
    while ((r = cv_next_tok(&v, tok, sizeof(tok))) != 0) {
        const struct mech_info *mi = r > 0 ? mech_by_name(tok) : NULL;
        if (!mi) {
            snprintf(why, wl, "unknown mechanism '%s' (expected any of %s, or nothing to disable "
                     "AUTH)", r < 0 ? "(too long)" : tok, mech_names(MECH_ALL, ' ', all, sizeof all));
            return -1;
        }
        m |= mi->bit;
    }
    *out = m;
    return 0;
}

static const char *const auth_source_names[] = {
    [AUTH_SOURCE_STORE] = "store", [AUTH_SOURCE_SYSTEM] = "system", [AUTH_SOURCE_FIXED] = "fixed",
};

int cv_auth_source(const char *v, enum auth_source *out, char *why, size_t wl)
{
    for (size_t i = 0; i < sizeof auth_source_names / sizeof auth_source_names[0]; i++) {
        if (str_ieq(v, auth_source_names[i])) {
            *out = (enum auth_source)i;
            return 0;
        }
    }
    snprintf(why, wl, "'%s' is not an authentication source (expected store, system or fixed)", v);
    return -1;
}

const char *cv_auth_source_name(enum auth_source s)
{
    return (unsigned)s < sizeof auth_source_names / sizeof auth_source_names[0]
               ? auth_source_names[s] : "?";
}

int cv_word(const char *v, const char *const *words, size_t n, int *out, char *why, size_t wl)
{
    for (size_t i = 0; i < n; i++) {
        if (str_ieq(v, words[i])) {
            *out = (int)i;
            return 0;
        }
    }
    char list[256];
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof list; i++) {
        int k = snprintf(list + o, sizeof list - o, "%s%s",
                         i == 0 ? "" : i + 1 == n ? " or " : ", ", words[i]);
        if (k < 0)
            break;
        o += (size_t)k;
    }
    snprintf(why, wl, "'%s' is not allowed (expected %s)", v, list);
    return -1;
}

int cv_authres_mode(const char *v, const char *act, enum authres_mode *out, char *why, size_t wl)
{
    const char *const words[] = { "off", "tag", act };     /* the order of enum authres_mode */
    int i;
    if (cv_word(v, words, 3, &i, why, wl) < 0)
        return -1;
    *out = (enum authres_mode)i;
    return 0;
}

const char *cv_authres_mode_name(enum authres_mode m, const char *act)
{
    return m == AUTHRES_OFF ? "off" : m == AUTHRES_TAG ? "tag" : act;
}

/* tls: off|STARTTLS|required|implicit, where the kind names STARTTLS ("stls" for pop3). */
int cv_tls(const char *v, const char *starttls, enum tls_mode *out, char *why, size_t wl)
{
    if (str_ieq(v, "off"))
        *out = TLS_OFF;
    else if (str_ieq(v, starttls))
        *out = TLS_STARTTLS;
    else if (str_ieq(v, "required"))
        *out = TLS_REQUIRED;
    else if (str_ieq(v, "implicit"))
        *out = TLS_IMPLICIT;
    else {
        snprintf(why, wl, "'%s' is not a TLS mode (expected off, %s, required or implicit)", v, starttls);
        return -1;
    }
    return 0;
}

/* domain_aliases (plain domains) or always_relay_to (also "*.domain"). */
int cv_domains(const char *v, bool wildcards, struct strlist *out, char *why, size_t wl)
{
    struct strlist l = { NULL, 0 };
    char tok[300], dom[300];
    int r;
    while ((r = cv_next_tok(&v, tok, sizeof(tok))) != 0) {
        bool star = wildcards && strncmp(tok, "*.", 2) == 0;
        if (r < 0 || cv_domain(star ? tok + 2 : tok, dom, sizeof(dom), why, wl) < 0) {
            if (r < 0)
                snprintf(why, wl, "a domain is too long (expected domain names)");
            else if (wildcards)
                snprintf(why, wl, "'%s' is not a domain (expected example.net or *.example.net)", tok);
            cv_strlist_free(&l);
            return -1;
        }
        if (star) {
            char both[310];
            snprintf(both, sizeof(both), "*.%s", dom);
            cv_strlist_add(&l, both);
        } else {
            cv_strlist_add(&l, dom);
        }
    }
    cv_strlist_free(out);
    *out = l;
    return 0;
}


int cv_dns_servers(const char *v, struct strlist *out, char *why, size_t wl)
{
    struct strlist l = { NULL, 0 };
    char tok[80], buf[80], *h, *ps;
    int r;
    while ((r = cv_next_tok(&v, tok, sizeof(tok))) != 0) {
        struct ipaddr a;
        int port = 53;
        bool br, ok;
        if (r > 0 && ipaddr_parse(tok, &a) == 0)   /* 192.0.2.1, 2001:db8::1, [::1] */
            ok = true;
        else
            ok = r > 0 && str_copy(buf, tok, sizeof(buf)) < sizeof(buf) &&
                 split_hostport(buf, &h, &ps, &br) == 0 && ipaddr_parse(h, &a) == 0 &&
                 (!ps || cv_port(ps, &port) == 0);
        if (!ok) {
            snprintf(why, wl, "'%s' is not a DNS server (expected IP, IP:PORT or [IPv6]:PORT)",
                     r > 0 ? tok : "(too long)");
            cv_strlist_free(&l);
            return -1;
        }
        char addr[46], one[64];
        snprintf(one, sizeof(one), "%s@%d", ipaddr_format(&a, addr, sizeof(addr)), port);
        cv_strlist_add(&l, one);
    }
    cv_strlist_free(out);
    *out = l;
    return 0;
}
