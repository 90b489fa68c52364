/* received: formatting of the Received: trace header (see received.h). */
#include "received.h"

#include <stdio.h>
#include <string.h>

#define HELO_MAX 255

const char *received_proto(bool esmtp, bool tls, bool auth)
{
    if (!esmtp)
        return "SMTP";
    if (tls)
        return auth ? "ESMTPSA" : "ESMTPS";
    return auth ? "ESMTPA" : "ESMTP";
}

int received_date(time_t t, char *out, size_t len)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    if (!localtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
        tm.tm_mon > 11)
        return -1;
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    int n = snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
                     days[tm.tm_wday], tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
    return (n < 0 || (size_t)n >= len) ? -1 : n;
}

/* Copy at most MAX characters of IN (a client's HELO name, TLS parameters),
 * neutralising what could break the header. */
static void clean_text(const char *in, size_t max, char *out, size_t len)
{
    size_t i = 0;
    for (; in && in[i] && i < max && i + 1 < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[i] = (ch <= 0x20 || ch >= 0x7f || ch == '(' || ch == ')' || ch == '\\') ? '?' : (char)ch;
    }
    out[i] = '\0';
}

/* The TLS comment's line (RFC 8314 4.3, in Postfix's words) from conn_tls_info()'s
 * "VERSION:CIPHER": "\n\t(using VERSION with cipher CIPHER)", "\n\t(using TLS)" when
 * the parameters are not known, "" without TLS. -1 if it does not fit. */
static int tls_comment(const struct received_info *ri, char *out, size_t len)
{
    char ver[64], cipher[128];
    const char *info = ri->tls_info ? ri->tls_info : "";
    const char *colon = strchr(info, ':');
    int k;

    out[0] = '\0';
    if (!ri->tls)
        return 0;
    if (!colon || colon == info || !colon[1]) {
        k = snprintf(out, len, "\n\t(using TLS)");
    } else {
        clean_text(info, (size_t)(colon - info), ver, sizeof ver);
        clean_text(colon + 1, sizeof cipher, cipher, sizeof cipher);
        k = snprintf(out, len, "\n\t(using %s with cipher %s)", ver, cipher);
    }
    return (k < 0 || (size_t)k >= len) ? -1 : 0;
}

int received_format(const struct received_info *ri, char *out, size_t len)
{
    char helo[HELO_MAX + 1], date[64], forpart[400] = "", tlspart[220];
    clean_text(ri->helo, HELO_MAX, helo, sizeof helo);
    if (received_date(ri->when, date, sizeof date) < 0 ||
        tls_comment(ri, tlspart, sizeof tlspart) < 0)
        return -1;
    if (ri->rcpt) {
        int k = snprintf(forpart, sizeof forpart, "\n\tfor <%s>", ri->rcpt);
        if (k < 0 || (size_t)k >= sizeof forpart)
            return -1;
    }
    int n = snprintf(out, len, "Received: from %s (%s [%s])%s\n\tby %s with %s id %s%s; %s\n",
                     helo[0] ? helo : "unknown", ri->rdns ? ri->rdns : "unknown", ri->ip,
                     tlspart, ri->hostname, received_proto(ri->esmtp, ri->tls, ri->auth),
                     ri->id, forpart, date);
    return (n < 0 || (size_t)n >= len) ? -1 : n;
}

/* ------------------------------------------------------ counting Received: ---- */

enum { HC_BOL, HC_NAME, HC_WSP, HC_SKIP, HC_BODY };

void hopcount_init(struct hopcount *h)
{
    memset(h, 0, sizeof *h);
    h->st = HC_BOL;
}

static void hop_step(struct hopcount *h, char c)
{
    static const char name[] = "received";
    switch (h->st) {
    case HC_BOL:
        h->st = c == '\n' ? HC_BODY : (c == 'r' || c == 'R') ? HC_NAME : HC_SKIP;
        h->pos = 1;
        break;
    case HC_NAME:
        if (h->pos < sizeof name - 1) {
            if ((c | 0x20) == name[h->pos])
                h->pos++;
            else
                h->st = c == '\n' ? HC_BOL : HC_SKIP;
            break;
        }
        __attribute__((fallthrough));   /* the whole name was matched */
    case HC_WSP:
        if (c == ':')
            h->count++;
        h->st = c == '\n' ? HC_BOL : (c == ' ' || c == '\t') ? HC_WSP : HC_SKIP;
        break;
    case HC_SKIP:
        if (c == '\n')
            h->st = HC_BOL;
        break;
    default:
        break;
    }
}

void hopcount_feed(struct hopcount *h, const char *buf, size_t len)
{
    for (size_t i = 0; i < len && h->st != HC_BODY; i++)
        hop_step(h, buf[i]);
}

unsigned received_count(const char *msg, size_t len)
{
    struct hopcount h;
    hopcount_init(&h);
    hopcount_feed(&h, msg, len);
    return h.count;
}
