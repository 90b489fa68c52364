/* store_rec: portable, versioned serialization of the store's records.
 * Every value starts with a version byte; integers are big-endian; strings
 * are a 16-bit length and the bytes (no NUL). Decoders check every length. */
#include "store_rec.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "bytebuf.h"

static bool r_version(struct bytes_r *r)
{
    return br_uint(r, 1) == REC_VERSION && !r->bad;
}

size_t rec_enc_user(const struct user_rec *u, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    unsigned flags = (u->relay ? 1u : 0u) | (u->enabled ? 2u : 0u) | (u->has_cram_md5 ? 4u : 0u) |
                     (u->no_mailbox ? 8u : 0u);
    bw_uint(&w, REC_VERSION, 1);
    bw_uint(&w, flags, 1);
    bw_uint(&w, (uint64_t)u->created, 8);
    bw_str(&w, u->address, sizeof u->address);
    bw_str(&w, u->pwhash, sizeof u->pwhash);
    bw_str(&w, u->scram_sha256, sizeof u->scram_sha256);
    if (u->has_cram_md5)
        bw_raw(&w, u->cram_md5, sizeof u->cram_md5);
    return bw_done(&w);
}

int rec_dec_user(const uint8_t *buf, size_t len, struct user_rec *u)
{
    struct bytes_r r = { buf, len, 0, false };
    memset(u, 0, sizeof *u);
    if (!r_version(&r))
        return -1;
    unsigned flags = (unsigned)br_uint(&r, 1);
    u->relay = flags & 1u;
    u->enabled = (flags & 2u) != 0;
    u->has_cram_md5 = (flags & 4u) != 0;
    u->no_mailbox = (flags & 8u) != 0;   /* records written before it have the bit clear */
    u->created = (int64_t)br_uint(&r, 8);
    br_str(&r, u->address, sizeof u->address);
    br_str(&r, u->pwhash, sizeof u->pwhash);
    br_str(&r, u->scram_sha256, sizeof u->scram_sha256);
    if (u->has_cram_md5)
        br_raw(&r, u->cram_md5, sizeof u->cram_md5);
    return br_end(&r);
}

size_t rec_enc_alias(const char *target, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, REC_VERSION, 1);
    bw_str(&w, target, STORE_ADDR_MAX);
    return bw_done(&w);
}

int rec_dec_alias(const uint8_t *buf, size_t len, char *target, size_t tlen)
{
    struct bytes_r r = { buf, len, 0, false };
    if (!r_version(&r) || tlen == 0)
        return -1;
    br_str(&r, target, tlen);
    return br_end(&r);
}

size_t rec_enc_popauth(const struct popauth_rec *p, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, REC_VERSION, 1);
    bw_uint(&w, (uint64_t)p->time, 8);
    bw_str(&w, p->user, sizeof p->user);
    return bw_done(&w);
}

int rec_dec_popauth(const uint8_t *buf, size_t len, struct popauth_rec *p)
{
    struct bytes_r r = { buf, len, 0, false };
    if (!r_version(&r))
        return -1;
    p->time = (int64_t)br_uint(&r, 8);
    br_str(&r, p->user, sizeof p->user);
    return br_end(&r);
}

size_t rec_enc_greylist(const struct greylist_rec *g, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, REC_VERSION, 1);
    bw_uint(&w, (uint64_t)g->first_seen, 8);
    bw_uint(&w, (uint64_t)g->last_seen, 8);
    bw_uint(&w, g->passed ? 1 : 0, 1);
    return bw_done(&w);
}

int rec_dec_greylist(const uint8_t *buf, size_t len, struct greylist_rec *g)
{
    struct bytes_r r = { buf, len, 0, false };
    if (!r_version(&r))
        return -1;
    g->first_seen = (int64_t)br_uint(&r, 8);
    g->last_seen = (int64_t)br_uint(&r, 8);
    g->passed = br_uint(&r, 1) != 0;
    return br_end(&r);
}

size_t rec_enc_authfail(const struct authfail_rec *a, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, REC_VERSION, 1);
    bw_uint(&w, a->failures, 4);
    bw_uint(&w, (uint64_t)a->first_failure, 8);
    bw_uint(&w, (uint64_t)a->locked_until, 8);
    bw_uint(&w, a->inflight, 4);
    bw_uint(&w, (uint64_t)a->inflight_at, 8);
    return bw_done(&w);
}

int rec_dec_authfail(const uint8_t *buf, size_t len, struct authfail_rec *a)
{
    struct bytes_r r = { buf, len, 0, false };
    if (!r_version(&r))
        return -1;
    a->failures = (unsigned)br_uint(&r, 4);
    a->first_failure = (int64_t)br_uint(&r, 8);
    a->locked_until = (int64_t)br_uint(&r, 8);
    a->inflight = 0;
    a->inflight_at = 0;
    if (!r.bad && r.off < r.len) {      /* records written before reservations have none */
        a->inflight = (unsigned)br_uint(&r, 4);
        a->inflight_at = (int64_t)br_uint(&r, 8);
    }
    return br_end(&r);
}

size_t rec_enc_ip(const struct ipaddr *ip, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    if (ip->family == AF_INET) {
        bw_uint(&w, 4, 1);
        bw_raw(&w, ip->b, 4);
    } else if (ip->family == AF_INET6) {
        bw_uint(&w, 6, 1);
        bw_raw(&w, ip->b, 16);
    } else {
        return 0;
    }
    return bw_done(&w);
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
