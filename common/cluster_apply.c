/* cluster_apply: a forwarded store write applied at the master (cluster_apply.h). */
#include "cluster_apply.h"

#include <string.h>

#include "greylist.h"
#include "store_rec.h"

/* A request's string field as a C string; false if it does not fit or holds a NUL. */
static bool cstr(const uint8_t *d, size_t n, char *out, size_t len)
{
    if (n >= len || memchr(d, '\0', n) != NULL)
        return false;
    memcpy(out, d, n);
    out[n] = '\0';
    return true;
}

static int apply_authfail(struct store *st, const struct creq *q, struct crep *p)
{
    struct authfail_rec rec;
    memset(&rec, 0, sizeof rec);
    bool granted = false;
    int r;
    switch (q->sub) {
    case CREQ_AF_RECORD:
        r = store_authfail_record(st, &q->ip, q->t, q->u[0], q->u[1], q->u[2], &rec);
        break;
    case CREQ_AF_RESERVE:
        r = store_authfail_reserve(st, &q->ip, q->t, q->u[0], q->u[1], q->u[2], &granted);
        break;
    default:
        r = store_authfail_release(st, &q->ip, q->t, q->sub == CREQ_AF_RELEASE_FAIL, q->u[0],
                                   q->u[1], q->u[2], &rec);
        break;
    }
    p->flag = granted;
    if (r == STORE_OK && q->sub != CREQ_AF_RESERVE)
        p->dlen = rec_enc_authfail(&rec, p->data, sizeof p->data);
    return r;
}

static int apply_greylist(struct store *st, const struct creq *q, struct crep *p)
{
    struct greylist_rec rec;
    struct greylist_params gp = { q->u[0], q->u[1], q->u[2] };
    memset(&rec, 0, sizeof rec);
    if (q->op == CREQ_GREYLIST_PURGE)
        return store_greylist_purge(st, q->t, &gp);
    if (greylist_key_dec(q->s1, q->s1len, &rec) != 0)
        return STORE_ERROR;
    int outcome = 0;
    int r = store_greylist_check(st, &rec, q->t, &gp, false, &outcome);
    p->outcome = outcome;
    if (r == STORE_OK)
        p->dlen = rec_enc_greylist(&rec, p->data, sizeof p->data);
    return r;
}

static int apply_user(struct store *st, const struct creq *q)
{
    char addr[STORE_ADDR_MAX];
    struct user_rec u;
    if (!cstr(q->s1, q->s1len, addr, sizeof addr))
        return STORE_ERROR;
    if (q->op == CREQ_USER_DEL)
        return store_user_del(st, addr);
    if (rec_dec_user(q->s2, q->s2len, &u) != 0)
        return STORE_ERROR;
    return store_user_put(st, &u, q->flag);
}

static int apply_alias(struct store *st, const struct creq *q)
{
    char alias[STORE_ADDR_MAX], target[STORE_ADDR_MAX];
    if (!cstr(q->s1, q->s1len, alias, sizeof alias))
        return STORE_ERROR;
    if (q->op == CREQ_ALIAS_DEL)
        return store_alias_del(st, alias);
    if (!cstr(q->s2, q->s2len, target, sizeof target))
        return STORE_ERROR;
    return store_alias_put(st, alias, target, q->flag);
}

void cluster_apply(struct store *st, const struct creq *q, struct crep *p)
{
    char user[STORE_ADDR_MAX];
    memset(p, 0, sizeof *p);
    bool has_ip = q->ip.family != 0;
    int r = STORE_ERROR;
    switch ((enum creq_op)q->op) {
    case CREQ_USER_PUT: case CREQ_USER_DEL:
        r = apply_user(st, q);
        break;
    case CREQ_ALIAS_PUT: case CREQ_ALIAS_DEL:
        r = apply_alias(st, q);
        break;
    case CREQ_POPAUTH_PUT:
        if (has_ip && cstr(q->s1, q->s1len, user, sizeof user))
            r = store_popauth_put(st, &q->ip, user, q->t);
        break;
    case CREQ_POPAUTH_FLUSH:
        r = store_popauth_flush(st);
        break;
    case CREQ_POPAUTH_PURGE:
        r = store_popauth_purge(st, q->t);
        break;
    case CREQ_AUTHFAIL:
        if (has_ip)
            r = apply_authfail(st, q, p);
        break;
    case CREQ_AUTHFAIL_CLEAR:
        if (has_ip)
            r = store_authfail_clear(st, &q->ip);
        break;
    case CREQ_AUTHFAIL_PURGE:
        r = store_authfail_purge(st, q->t, q->u[0]);
        break;
    case CREQ_GREYLIST_CHECK: case CREQ_GREYLIST_PURGE:
        r = apply_greylist(st, q, p);
        break;
    case CREQ_GREYLIST_FLUSH:
        r = store_greylist_flush(st);
        break;
    case CREQ_STATUS: case CREQ_OP_END:
        break;
    }
    p->code = r;
}
