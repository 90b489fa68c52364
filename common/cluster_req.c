/* cluster_req: encoding of the replication channel's messages (cluster_req.h). */
#include "cluster_req.h"

#include <string.h>
#include <sys/socket.h>

#include "bytebuf.h"

static void w_data(struct bytes_w *w, const uint8_t *d, size_t n)
{
    if (n > CREQ_DATA_MAX) {
        w->bad = true;
        return;
    }
    bw_uint(w, n, 2);
    bw_raw(w, d, n);
}

static void r_data(struct bytes_r *r, uint8_t *d, size_t *n)
{
    size_t l = (size_t)br_uint(r, 2);
    if (l > CREQ_DATA_MAX) {
        r->bad = true;
        l = 0;
    }
    br_raw(r, d, l);
    *n = r->bad ? 0 : l;
}

size_t creq_encode(const struct creq *q, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, CREQ_VERSION, 1);
    bw_uint(&w, q->op, 1);
    bw_uint(&w, q->sub, 1);
    bw_uint(&w, q->flag ? 1 : 0, 1);
    bw_uint(&w, q->ip.family == AF_INET ? 4 : q->ip.family == AF_INET6 ? 6 : 0, 1);
    bw_raw(&w, q->ip.b, sizeof q->ip.b);
    bw_uint(&w, (uint64_t)q->t, 8);
    for (int i = 0; i < 3; i++)
        bw_uint(&w, q->u[i], 4);
    w_data(&w, q->s1, q->s1len);
    w_data(&w, q->s2, q->s2len);
    return w.bad ? 0 : w.off;
}

int creq_decode(const uint8_t *buf, size_t len, struct creq *q)
{
    struct bytes_r r = { buf, len, 0, false };
    memset(q, 0, sizeof *q);
    if (br_uint(&r, 1) != CREQ_VERSION)
        return -1;
    q->op = (uint8_t)br_uint(&r, 1);
    q->sub = (uint8_t)br_uint(&r, 1);
    uint64_t flag = br_uint(&r, 1), fam = br_uint(&r, 1);
    q->flag = flag == 1;
    q->ip.family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : 0;
    br_raw(&r, q->ip.b, sizeof q->ip.b);
    q->t = (int64_t)br_uint(&r, 8);
    for (int i = 0; i < 3; i++)
        q->u[i] = (uint32_t)br_uint(&r, 4);
    r_data(&r, q->s1, &q->s1len);
    r_data(&r, q->s2, &q->s2len);
    if (br_end(&r) != 0 || q->op == 0 || q->op >= CREQ_OP_END || flag > 1 ||
        (fam != 0 && fam != 4 && fam != 6) || q->sub > CREQ_AF_RELEASE_FAIL)
        return -1;
    return 0;
}

size_t crep_encode(const struct crep *p, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, CREQ_VERSION, 1);
    bw_uint(&w, (uint32_t)p->code, 4);
    bw_uint(&w, (uint32_t)p->outcome, 4);
    bw_uint(&w, (p->flag ? 1u : 0u) | (p->unacked ? 2u : 0u) | (p->has_token ? 4u : 0u), 1);
    w_data(&w, p->data, p->dlen);
    if (p->has_token)
        bw_raw(&w, p->token, sizeof p->token);
    return w.bad ? 0 : w.off;
}

int crep_decode(const uint8_t *buf, size_t len, struct crep *p)
{
    struct bytes_r r = { buf, len, 0, false };
    memset(p, 0, sizeof *p);
    if (br_uint(&r, 1) != CREQ_VERSION)
        return -1;
    p->code = (int32_t)(uint32_t)br_uint(&r, 4);
    p->outcome = (int32_t)(uint32_t)br_uint(&r, 4);
    uint64_t flags = br_uint(&r, 1);
    p->flag = (flags & 1u) != 0;
    p->unacked = (flags & 2u) != 0;
    p->has_token = (flags & 4u) != 0;
    r_data(&r, p->data, &p->dlen);
    if (p->has_token)
        br_raw(&r, p->token, sizeof p->token);
    return br_end(&r) != 0 || flags > 7 ? -1 : 0;
}

size_t creq_status_encode(const struct creq_status *s, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, s->role, 1);
    bw_uint(&w, s->lsn_file, 4);
    bw_uint(&w, s->lsn_offset, 4);
    bw_uint(&w, (uint64_t)s->last_election, 8);
    bw_uint(&w, s->priority, 4);
    return w.bad ? 0 : w.off;
}

int creq_status_decode(const uint8_t *buf, size_t len, struct creq_status *s)
{
    struct bytes_r r = { buf, len, 0, false };
    memset(s, 0, sizeof *s);
    s->role = (uint8_t)br_uint(&r, 1);
    s->lsn_file = (uint32_t)br_uint(&r, 4);
    s->lsn_offset = (uint32_t)br_uint(&r, 4);
    s->last_election = (int64_t)br_uint(&r, 8);
    s->priority = (uint32_t)br_uint(&r, 4);
    return br_end(&r) != 0 || s->role > 2 ? -1 : 0;
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
