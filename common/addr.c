/* addr: parsing RFC 5321 paths and mailboxes, domain comparison, "who is local" and the
 * canonical address form. Pure code (see addr.h for the decisions taken). */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util.h"

static bool is_atext(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Local part at *pp (dot-string or quoted-string). Raw length is checked by the caller. */
static int parse_local(const char **pp, struct mailaddr *out)
{
    const char *p = *pp;
    size_t n = 0;

    if (*p == '"') {
        out->quoted = true;
        p++;
        while (*p != '"') {
            int c = (unsigned char)*p;
            if (c == '\\') {
                c = (unsigned char)p[1];
                if (c < 32 || c > 126)
                    return ADDR_ESYNTAX;
                p++;
            } else if (c < 32 || c > 126) {
                return ADDR_ESYNTAX;   /* includes the NUL of an unterminated string */
            }
            if (n >= ADDR_LOCAL_MAX)
                return ADDR_ELOCAL_LONG;
            out->local[n++] = (char)c;
            p++;
        }
        p++;
    } else {
        while (is_atext((unsigned char)*p) || *p == '.') {
            if (n >= ADDR_LOCAL_MAX)
                return ADDR_ELOCAL_LONG;
            out->local[n++] = *p++;
        }
        if (n == 0)
            return ADDR_ESYNTAX;
    }
    out->local[n] = '\0';
    if (p - *pp > ADDR_LOCAL_MAX)
        return ADDR_ELOCAL_LONG;
    *pp = p;
    return ADDR_OK;
}

/* An address literal "[...]" at *pp: IPv4, IPv6:..., or a general literal tag:content. */
static int parse_literal(const char **pp)
{
    const char *p = *pp + 1;
    const char *close = strchr(p, ']');
    char buf[ADDR_DOMAIN_MAX + 1];
    unsigned char bin[16];

    if (!close || (size_t)(close - p) >= sizeof buf)
        return close ? ADDR_EDOMAIN_LONG : ADDR_ESYNTAX;
    memcpy(buf, p, (size_t)(close - p));
    buf[close - p] = '\0';
    if (strncasecmp(buf, "IPv6:", 5) == 0) {
        if (inet_pton(AF_INET6, buf + 5, bin) != 1)
            return ADDR_ESYNTAX;
    } else if (inet_pton(AF_INET, buf, bin) != 1) {
        char *colon = strchr(buf, ':');
        if (!colon || colon == buf || colon[1] == '\0')
            return ADDR_ESYNTAX;
        for (char *q = buf; q < colon; q++)
            if (!isalnum((unsigned char)*q) && *q != '-')
                return ADDR_ESYNTAX;
        for (char *q = colon + 1; *q; q++)
            if (*q < 33 || *q > 126 || *q == '[' || *q == '\\')
                return ADDR_ESYNTAX;
    }
    *pp = close + 1;
    return ADDR_OK;
}

/* A domain name at *pp: labels of letters, digits, '-' and '_' (lenient), one optional
 * trailing dot. Copies it without the trailing dot into dom (ADDR_DOMAIN_MAX + 1). */
static int parse_domain(const char **pp, char *dom, bool *literal)
{
    const char *p = *pp;
    size_t n;

    *literal = false;
    if (*p == '[') {
        int rc = parse_literal(&p);
        if (rc != ADDR_OK)
            return rc;
        *literal = true;
    } else {
        size_t label = 0;
        while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.') {
            if (*p == '.') {
                if (label == 0)
                    return ADDR_ESYNTAX;
                label = 0;
            } else if (++label > 63) {
                return ADDR_ESYNTAX;
            }
            p++;
        }
        if (p == *pp || (label == 0 && p - *pp == 1))
            return ADDR_ESYNTAX;
    }
    n = (size_t)(p - *pp);
    if (!*literal && (*pp)[n - 1] == '.')
        n--;
    if (n > ADDR_DOMAIN_MAX)
        return ADDR_EDOMAIN_LONG;
    memcpy(dom, *pp, n);
    dom[n] = '\0';
    *pp = p;
    return ADDR_OK;
}

/* Mailbox = Local-part "@" Domain, at *pp. Fills out (not text). */
static int parse_mbox(const char **pp, struct mailaddr *out, const char **local_start,
                      size_t *local_len)
{
    const char *p = *pp;
    int rc;

    *local_start = p;
    rc = parse_local(&p, out);
    if (rc != ADDR_OK)
        return rc;
    *local_len = (size_t)(p - *local_start);
    if (*p != '@')
        return ADDR_ESYNTAX;
    p++;
    rc = parse_domain(&p, out->domain, &out->domain_literal);
    if (rc != ADDR_OK)
        return rc;
    *pp = p;
    return ADDR_OK;
}

/* Skip a source route "@a,@b:" at *pp, if there is one. */
static int skip_route(const char **pp)
{
    const char *p = *pp;
    char dom[ADDR_DOMAIN_MAX + 1];
    bool lit;

    if (*p != '@')
        return ADDR_OK;
    for (;;) {
        if (*p != '@')
            return ADDR_ESYNTAX;
        p++;
        int rc = parse_domain(&p, dom, &lit);
        if (rc != ADDR_OK)
            return rc;
        if (*p == ':')
            break;
        if (*p != ',')
            return ADDR_ESYNTAX;
        p++;
    }
    *pp = p + 1;
    return ADDR_OK;
}

static int make_text(struct mailaddr *out, const char *local, size_t local_len)
{
    int n = snprintf(out->text, sizeof out->text, "%.*s@%s", (int)local_len, local, out->domain);
    if (n < 0 || (size_t)n >= sizeof out->text)
        return ADDR_EPATH_LONG;
    return ADDR_OK;
}

static bool is_postmaster_at(const char *p, char close)
{
    return strncasecmp(p, "postmaster", 10) == 0 && p[10] == close;
}

int addr_parse_path(const char *s, unsigned flags, struct mailaddr *out, const char **end)
{
    const char *p = s;
    bool brackets = (*s == '<');
    const char *local;
    size_t local_len;
    char close = brackets ? '>' : ' ';
    int rc;

    memset(out, 0, sizeof *out);
    if (brackets)
        p++;
    if (brackets && *p == '>') {
        if (!(flags & ADDR_ALLOW_NULL))
            return ADDR_ENULL;
        out->null = true;
        *end = p + 1;
        return ADDR_OK;
    }
    if ((flags & ADDR_ALLOW_POSTMASTER) &&
        (is_postmaster_at(p, close) || (!brackets && is_postmaster_at(p, '\0')))) {
        out->bare_postmaster = true;
        str_copy(out->local, "postmaster", sizeof out->local);
        str_copy(out->text, "postmaster", sizeof out->text);
        *end = p + 10 + (brackets ? 1 : 0);
        return ADDR_OK;
    }
    if (brackets && (rc = skip_route(&p)) != ADDR_OK)
        return rc;
    rc = parse_mbox(&p, out, &local, &local_len);
    if (rc != ADDR_OK)
        return rc;
    if (brackets) {
        if (*p != '>')
            return ADDR_ESYNTAX;
        p++;
    } else if (*p != ' ' && *p != '\0') {
        return ADDR_ESYNTAX;
    }
    if (p - s > ADDR_PATH_MAX)
        return ADDR_EPATH_LONG;
    rc = make_text(out, local, local_len);
    if (rc != ADDR_OK)
        return rc;
    *end = p;
    return ADDR_OK;
}

int addr_parse_mailbox(const char *s, struct mailaddr *out)
{
    const char *p = s;
    const char *local;
    size_t local_len;

    memset(out, 0, sizeof *out);
    int rc = parse_mbox(&p, out, &local, &local_len);
    if (rc != ADDR_OK)
        return rc;
    if (*p != '\0')
        return ADDR_ESYNTAX;
    if (p - s > ADDR_PATH_MAX - 2)
        return ADDR_EPATH_LONG;
    return make_text(out, local, local_len);
}

const char *addr_strerror(int err)
{
    switch (err) {
    case ADDR_OK: return "OK";
    case ADDR_ELOCAL_LONG: return "Local part too long";
    case ADDR_EDOMAIN_LONG: return "Domain too long";
    case ADDR_EPATH_LONG: return "Path too long";
    case ADDR_ENULL: return "Null address not allowed here";
    default: return "Syntax error in address";
    }
}

bool addr_domain_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

bool addr_is_local(const struct config *cfg, const struct mailaddr *a)
{
    if (a->null)
        return false;
    if (a->bare_postmaster)
        return true;
    return config_is_local_domain(cfg, a->domain) && strpbrk(a->local, "@%!") == NULL;
}

bool addr_sender_domain_local(const struct config *cfg, const struct mailaddr *a)
{
    return !a->null && !a->bare_postmaster && config_is_local_domain(cfg, a->domain);
}

int addr_canon(const struct config *cfg, const struct mailaddr *a, char *out, size_t len)
{
    int n;

    if (a->null) {
        n = snprintf(out, len, "%s", "");
    } else if (addr_is_local(cfg, a)) {
        char local[ADDR_LOCAL_MAX + 1];
        str_copy(local, a->local, sizeof local);
        str_lower(local);
        n = snprintf(out, len, "%s@%s", local, cfg->domain);
    } else {
        n = snprintf(out, len, "%s", a->text);
        if (n >= 0 && (size_t)n < len) {
            char *at = strrchr(out, '@');
            if (at)
                str_lower(at + 1);
        }
    }
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int addr_canon_str(const struct config *cfg, const char *s, char *out, size_t len)
{
    struct mailaddr a;
    if (addr_parse_mailbox(s, &a) != ADDR_OK)
        return -1;
    return addr_canon(cfg, &a, out, len);
}
