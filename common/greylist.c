/* greylist: the pure greylisting rule and the triplet's key. See greylist.h. */
#include "greylist.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

const char *greylist_net(const struct ipaddr *ip, char *buf, size_t len)
{
    struct ipaddr n = *ip;
    char a[64];
    size_t keep = ip->family == AF_INET ? 3 : 8;       /* bytes of a /24, of a /64 */
    memset(n.b + keep, 0, sizeof n.b - keep);
    (void)snprintf(buf, len, "%s/%d", ipaddr_format(&n, a, sizeof a),
                   ip->family == AF_INET ? 24 : 64);
    return buf;
}

static int norm_copy(char *dst, const char *src, size_t len)
{
    size_t n = str_copy(dst, src ? src : "", len);
    if (n >= len)
        return -1;
    str_lower(dst);
    return 0;
}

int greylist_triplet(const struct ipaddr *ip, const char *sender, const char *rcpt,
                     struct greylist_rec *r)
{
    memset(r, 0, sizeof *r);
    greylist_net(ip, r->net, sizeof r->net);
    if (norm_copy(r->sender, sender, sizeof r->sender) != 0 ||
        norm_copy(r->rcpt, rcpt, sizeof r->rcpt) != 0 || r->rcpt[0] == '\0')
        return -1;
    return 0;
}

bool greylist_expired(const struct greylist_rec *r, int64_t now, const struct greylist_params *p)
{
    if (r->passed)
        return now - r->last_seen > (int64_t)p->keep;
    return now - r->first_seen > (int64_t)p->window;
}

enum greylist_outcome greylist_decide(struct greylist_rec *r, bool found, int64_t now,
                                      const struct greylist_params *p)
{
    enum greylist_outcome o;
    if (!found || greylist_expired(r, now, p) || now < r->first_seen) {
        r->first_seen = now;
        r->passed = false;
        o = GREYLIST_NEW;
    } else if (r->passed) {
        o = GREYLIST_KNOWN;
    } else if (now - r->first_seen < (int64_t)p->delay) {
        o = GREYLIST_EARLY;
    } else {
        r->passed = true;
        o = GREYLIST_PASSED_NOW;
    }
    r->last_seen = now;
    return o;
}

bool greylist_passes(enum greylist_outcome o)
{
    return o == GREYLIST_PASSED_NOW || o == GREYLIST_KNOWN;
}

const char *greylist_outcome_name(enum greylist_outcome o)
{
    switch (o) {
    case GREYLIST_NEW: return "new";
    case GREYLIST_EARLY: return "early";
    case GREYLIST_PASSED_NOW: return "passed";
    case GREYLIST_KNOWN: return "known";
    }
    return "?";
}

size_t greylist_key_enc(const struct greylist_rec *r, uint8_t *buf, size_t len)
{
    size_t a = strlen(r->net), b = strlen(r->sender), c = strlen(r->rcpt);
    if (a == 0 || c == 0 || a + b + c + 2 > len)
        return 0;
    memcpy(buf, r->net, a);
    buf[a] = 0;
    memcpy(buf + a + 1, r->sender, b);
    buf[a + 1 + b] = 0;
    memcpy(buf + a + b + 2, r->rcpt, c);
    return a + b + c + 2;
}

/* The next NUL-ended (or, LAST, buffer-ended) field of the key into dst. */
static int key_field(const uint8_t *buf, size_t len, size_t *off, bool last, char *dst, size_t cap)
{
    const uint8_t *p = buf + *off;
    size_t rest = len - *off;
    const uint8_t *nul = memchr(p, 0, rest);
    size_t n = nul ? (size_t)(nul - p) : rest;
    if ((nul != NULL) == last || n >= cap)
        return -1;
    memcpy(dst, p, n);
    dst[n] = '\0';
    *off += n + (nul ? 1 : 0);
    return 0;
}

int greylist_key_dec(const uint8_t *buf, size_t len, struct greylist_rec *r)
{
    size_t off = 0;
    if (key_field(buf, len, &off, false, r->net, sizeof r->net) != 0 ||
        key_field(buf, len, &off, false, r->sender, sizeof r->sender) != 0 ||
        key_field(buf, len, &off, true, r->rcpt, sizeof r->rcpt) != 0)
        return -1;
    return r->net[0] && r->rcpt[0] ? 0 : -1;
}
