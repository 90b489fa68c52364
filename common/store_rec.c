/* store_rec: portable, versioned serialization of the store's records.
 * Every value starts with a version byte; integers are big-endian; strings
 * are a 16-bit length and the bytes (no NUL). Decoders check every length. */
#include "store_rec.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

struct wbuf { uint8_t *p; size_t len, off; bool bad; };
struct rbuf { const uint8_t *p; size_t len, off; bool bad; };

static void w_bytes(struct wbuf *w, const void *src, size_t n)
{
    if (w->bad || n > w->len - w->off) {
        w->bad = true;
        return;
    }
    memcpy(w->p + w->off, src, n);
    w->off += n;
}

static void w_u64(struct wbuf *w, uint64_t v, unsigned nbytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < nbytes; i++)
        b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
    w_bytes(w, b, nbytes);
}

static void w_str(struct wbuf *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n >= max || n > 0xffff) {
        w->bad = true;
        return;
    }
    w_u64(w, n, 2);
    w_bytes(w, s, n);
}

static void r_bytes(struct rbuf *r, void *dst, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}

static uint64_t r_u64(struct rbuf *r, unsigned nbytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    r_bytes(r, b, nbytes);
    for (unsigned i = 0; i < nbytes; i++)
        v = (v << 8) | b[i];
    return v;
}

static void r_str(struct rbuf *r, char *dst, size_t max)
{
    size_t n = (size_t)r_u64(r, 2);
    if (r->bad || n >= max) {
        r->bad = true;
        dst[0] = '\0';
        return;
    }
    r_bytes(r, dst, n);
    dst[r->bad ? 0 : n] = '\0';
}

static bool r_version(struct rbuf *r)
{
    return r_u64(r, 1) == REC_VERSION && !r->bad;
}

static size_t w_done(struct wbuf *w)
{
    return w->bad ? 0 : w->off;
}

static int r_done(struct rbuf *r)
{
    return (r->bad || r->off != r->len) ? -1 : 0;
}

size_t rec_enc_user(const struct user_rec *u, uint8_t *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, false };
    unsigned flags = (u->relay ? 1u : 0u) | (u->enabled ? 2u : 0u) | (u->has_cram_md5 ? 4u : 0u) |
                     (u->no_mailbox ? 8u : 0u);
    w_u64(&w, REC_VERSION, 1);
    w_u64(&w, flags, 1);
    w_u64(&w, (uint64_t)u->created, 8);
    w_str(&w, u->address, sizeof u->address);
    w_str(&w, u->pwhash, sizeof u->pwhash);
    w_str(&w, u->scram_sha256, sizeof u->scram_sha256);
    if (u->has_cram_md5)
        w_bytes(&w, u->cram_md5, sizeof u->cram_md5);
    return w_done(&w);
}

int rec_dec_user(const uint8_t *buf, size_t len, struct user_rec *u)
{
    struct rbuf r = { buf, len, 0, false };
    memset(u, 0, sizeof *u);
    if (!r_version(&r))
        return -1;
    unsigned flags = (unsigned)r_u64(&r, 1);
    u->relay = flags & 1u;
    u->enabled = (flags & 2u) != 0;
    u->has_cram_md5 = (flags & 4u) != 0;
    u->no_mailbox = (flags & 8u) != 0;   /* records written before it have the bit clear */
    u->created = (int64_t)r_u64(&r, 8);
    r_str(&r, u->address, sizeof u->address);
    r_str(&r, u->pwhash, sizeof u->pwhash);
    r_str(&r, u->scram_sha256, sizeof u->scram_sha256);
    if (u->has_cram_md5)
        r_bytes(&r, u->cram_md5, sizeof u->cram_md5);
    return r_done(&r);
}

size_t rec_enc_alias(const char *target, uint8_t *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, false };
    w_u64(&w, REC_VERSION, 1);
    w_str(&w, target, STORE_ADDR_MAX);
    return w_done(&w);
}

int rec_dec_alias(const uint8_t *buf, size_t len, char *target, size_t tlen)
{
    struct rbuf r = { buf, len, 0, false };
    if (!r_version(&r) || tlen == 0)
        return -1;
    r_str(&r, target, tlen);
    return r_done(&r);
}

size_t rec_enc_popauth(const struct popauth_rec *p, uint8_t *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, false };
    w_u64(&w, REC_VERSION, 1);
    w_u64(&w, (uint64_t)p->time, 8);
    w_str(&w, p->user, sizeof p->user);
    return w_done(&w);
}

int rec_dec_popauth(const uint8_t *buf, size_t len, struct popauth_rec *p)
{
    struct rbuf r = { buf, len, 0, false };
    if (!r_version(&r))
        return -1;
    p->time = (int64_t)r_u64(&r, 8);
    r_str(&r, p->user, sizeof p->user);
    return r_done(&r);
}

size_t rec_enc_greylist(const struct greylist_rec *g, uint8_t *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, false };
    w_u64(&w, REC_VERSION, 1);
    w_u64(&w, (uint64_t)g->first_seen, 8);
    w_u64(&w, (uint64_t)g->last_seen, 8);
    w_u64(&w, g->passed ? 1 : 0, 1);
    return w_done(&w);
}

int rec_dec_greylist(const uint8_t *buf, size_t len, struct greylist_rec *g)
{
    struct rbuf r = { buf, len, 0, false };
    if (!r_version(&r))
        return -1;
    g->first_seen = (int64_t)r_u64(&r, 8);
    g->last_seen = (int64_t)r_u64(&r, 8);
    g->passed = r_u64(&r, 1) != 0;
    return r_done(&r);
}

size_t rec_enc_authfail(const struct authfail_rec *a, uint8_t *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, false };
    w_u64(&w, REC_VERSION, 1);
    w_u64(&w, a->failures, 4);
    w_u64(&w, (uint64_t)a->first_failure, 8);
    w_u64(&w, (uint64_t)a->locked_until, 8);
    w_u64(&w, a->inflight, 4);
    w_u64(&w, (uint64_t)a->inflight_at, 8);
    return w_done(&w);
}

int rec_dec_authfail(const uint8_t *buf, size_t len, struct authfail_rec *a)
{
    struct rbuf r = { buf, len, 0, false };
    if (!r_version(&r))
        return -1;
    a->failures = (unsigned)r_u64(&r, 4);
    a->first_failure = (int64_t)r_u64(&r, 8);
    a->locked_until = (int64_t)r_u64(&r, 8);
    a->inflight = 0;
    a->inflight_at = 0;
    if (!r.bad && r.off < r.len) {      /* records written before reservations have none */
        a->inflight = (unsigned)r_u64(&r, 4);
        a->inflight_at = (int64_t)r_u64(&r, 8);
    }
    return r_done(&r);
}

size_t rec_enc_ip(const struct ipaddr *ip, uint8_t *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, false };
    if (ip->family == AF_INET) {
        w_u64(&w, 4, 1);
        w_bytes(&w, ip->b, 4);
    } else if (ip->family == AF_INET6) {
        w_u64(&w, 6, 1);
        w_bytes(&w, ip->b, 16);
    } else {
        return 0;
    }
    return w_done(&w);
}

int rec_dec_ip(const uint8_t *buf, size_t len, struct ipaddr *ip)
{
    memset(ip, 0, sizeof *ip);
    if (len == 5 && buf[0] == 4) {
        ip->family = AF_INET;
        memcpy(ip->b, buf + 1, 4);
        return 0;
    }
    if (len == 17 && buf[0] == 6) {
        ip->family = AF_INET6;
        memcpy(ip->b, buf + 1, 16);
        return 0;
    }
    return -1;
}
