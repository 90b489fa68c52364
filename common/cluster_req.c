/* cluster_req: encoding of the replication channel's messages (cluster_req.h). */
#include "cluster_req.h"

#include <string.h>
#include <sys/socket.h>

struct wb {
    uint8_t *p;
    size_t len, off;
    bool over;
};

static void w_raw(struct wb *w, const void *src, size_t n)
{
    if (w->over || n > w->len - w->off) {
        w->over = true;
        return;
    }
    if (n > 0)
        memcpy(w->p + w->off, src, n);
    w->off += n;
}

static void w_u(struct wb *w, uint64_t v, unsigned nbytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < nbytes; i++)
        b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
    w_raw(w, b, nbytes);
}

static void w_data(struct wb *w, const uint8_t *d, size_t n)
{
    if (n > CREQ_DATA_MAX) {
        w->over = true;
        return;
    }
    w_u(w, n, 2);
    w_raw(w, d, n);
}

struct rb {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static void r_raw(struct rb *r, void *dst, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        if (n > 0)
            memset(dst, 0, n);
        return;
    }
    if (n > 0)
        memcpy(dst, r->p + r->off, n);
    r->off += n;
}

static uint64_t r_u(struct rb *r, unsigned nbytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    r_raw(r, b, nbytes);
    for (unsigned i = 0; i < nbytes && !r->bad; i++)
        v = (v << 8) | b[i];
    return r->bad ? 0 : v;
}

static void r_data(struct rb *r, uint8_t *d, size_t *n)
{
    size_t l = (size_t)r_u(r, 2);
    if (l > CREQ_DATA_MAX) {
        r->bad = true;
        l = 0;
    }
    r_raw(r, d, l);
    *n = r->bad ? 0 : l;
}

static int r_end(const struct rb *r)
{
    return r->bad || r->off != r->len ? -1 : 0;
}

size_t creq_encode(const struct creq *q, uint8_t *buf, size_t len)
{
    struct wb w = { buf, len, 0, false };
    w_u(&w, CREQ_VERSION, 1);
    w_u(&w, q->op, 1);
    w_u(&w, q->sub, 1);
    w_u(&w, q->flag ? 1 : 0, 1);
    w_u(&w, q->ip.family == AF_INET ? 4 : q->ip.family == AF_INET6 ? 6 : 0, 1);
    w_raw(&w, q->ip.b, sizeof q->ip.b);
    w_u(&w, (uint64_t)q->t, 8);
    for (int i = 0; i < 3; i++)
        w_u(&w, q->u[i], 4);
    w_data(&w, q->s1, q->s1len);
    w_data(&w, q->s2, q->s2len);
    return w.over ? 0 : w.off;
}

int creq_decode(const uint8_t *buf, size_t len, struct creq *q)
{
    struct rb r = { buf, len, 0, false };
    memset(q, 0, sizeof *q);
    if (r_u(&r, 1) != CREQ_VERSION)
        return -1;
    q->op = (uint8_t)r_u(&r, 1);
    q->sub = (uint8_t)r_u(&r, 1);
    uint64_t flag = r_u(&r, 1), fam = r_u(&r, 1);
    q->flag = flag == 1;
    q->ip.family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : 0;
    r_raw(&r, q->ip.b, sizeof q->ip.b);
    q->t = (int64_t)r_u(&r, 8);
    for (int i = 0; i < 3; i++)
        q->u[i] = (uint32_t)r_u(&r, 4);
    r_data(&r, q->s1, &q->s1len);
    r_data(&r, q->s2, &q->s2len);
    if (r_end(&r) != 0 || q->op == 0 || q->op >= CREQ_OP_END || flag > 1 ||
        (fam != 0 && fam != 4 && fam != 6) || q->sub > CREQ_AF_RELEASE_FAIL)
        return -1;
    return 0;
}

size_t crep_encode(const struct crep *p, uint8_t *buf, size_t len)
{
    struct wb w = { buf, len, 0, false };
    w_u(&w, CREQ_VERSION, 1);
    w_u(&w, (uint32_t)p->code, 4);
    w_u(&w, (uint32_t)p->outcome, 4);
    w_u(&w, (p->flag ? 1u : 0u) | (p->unacked ? 2u : 0u), 1);
    w_data(&w, p->data, p->dlen);
    return w.over ? 0 : w.off;
}

int crep_decode(const uint8_t *buf, size_t len, struct crep *p)
{
    struct rb r = { buf, len, 0, false };
    memset(p, 0, sizeof *p);
    if (r_u(&r, 1) != CREQ_VERSION)
        return -1;
    p->code = (int32_t)(uint32_t)r_u(&r, 4);
    p->outcome = (int32_t)(uint32_t)r_u(&r, 4);
    uint64_t flags = r_u(&r, 1);
    p->flag = (flags & 1u) != 0;
    p->unacked = (flags & 2u) != 0;
    r_data(&r, p->data, &p->dlen);
    return r_end(&r) != 0 || flags > 3 ? -1 : 0;
}

size_t creq_status_encode(const struct creq_status *s, uint8_t *buf, size_t len)
{
    struct wb w = { buf, len, 0, false };
    w_u(&w, s->role, 1);
    w_u(&w, s->lsn_file, 4);
    w_u(&w, s->lsn_offset, 4);
    w_u(&w, (uint64_t)s->last_election, 8);
    w_u(&w, s->priority, 4);
    return w.over ? 0 : w.off;
}

int creq_status_decode(const uint8_t *buf, size_t len, struct creq_status *s)
{
    struct rb r = { buf, len, 0, false };
    memset(s, 0, sizeof *s);
    s->role = (uint8_t)r_u(&r, 1);
    s->lsn_file = (uint32_t)r_u(&r, 4);
    s->lsn_offset = (uint32_t)r_u(&r, 4);
    s->last_election = (int64_t)r_u(&r, 8);
    s->priority = (uint32_t)r_u(&r, 4);
    return r_end(&r) != 0 || s->role > 2 ? -1 : 0;
}

const char *creq_op_name(unsigned op)
{
    static const char *const names[CREQ_OP_END] = {
        [CREQ_USER_PUT] = "user put", [CREQ_USER_DEL] = "user del",
        [CREQ_ALIAS_PUT] = "alias put", [CREQ_ALIAS_DEL] = "alias del",
        [CREQ_POPAUTH_PUT] = "popauth put", [CREQ_POPAUTH_FLUSH] = "popauth flush",
        [CREQ_POPAUTH_PURGE] = "popauth purge", [CREQ_AUTHFAIL] = "authfail update",
        [CREQ_AUTHFAIL_CLEAR] = "authfail clear", [CREQ_AUTHFAIL_PURGE] = "authfail purge",
        [CREQ_GREYLIST_CHECK] = "greylist check", [CREQ_GREYLIST_FLUSH] = "greylist flush",
        [CREQ_GREYLIST_PURGE] = "greylist purge", [CREQ_STATUS] = "status",
    };
    return op < CREQ_OP_END && names[op] ? names[op] : "?";
}
