/* store_bdb: the Berkeley DB 5.3 backend of store.h, the records half: five btrees
 * (users, aliases, popauth, authfail, greylist), their keys, records and walks. How a
 * call runs (one transaction, retries, recovery, the loop-thread rule) is
 * store_bdb_run.c; the environment, open/close and the health checks store_bdb_env.c. */
#include "store.h"

#include <db.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greylist.h"
#include "lockout.h"
#include "log.h"
#include "store_bdb_env.h"
#include "store_bdb_rep.h"
#include "store_bdb_run.h"
#include "store_rec.h"
#include "util.h"

#define KEY_MAX 1024               /* a greylisting triplet: net, two addresses */

/* ---- generic operations on one database ------------------------------------ */

struct kv {
    int dbi;
    const void *key;
    size_t klen;
    const void *val;                /* put */
    size_t vlen;
    u_int32_t put_flags;
    uint8_t out[REC_MAX];           /* get */
    size_t outlen;
};

static void dbt_in(DBT *d, const void *p, size_t n)
{
    memset(d, 0, sizeof *d);
    d->data = (void *)p;
    d->size = (u_int32_t)n;
}

static void dbt_out(DBT *d, void *buf, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->data = buf;
    d->ulen = (u_int32_t)cap;
    d->flags = DB_DBT_USERMEM;
}

static int fn_get(struct store *st, DB_TXN *txn, void *ctx)
{
    struct kv *kv = ctx;
    DBT k, d;
    dbt_in(&k, kv->key, kv->klen);
    dbt_out(&d, kv->out, sizeof kv->out);
    int ret = st->db[kv->dbi]->get(st->db[kv->dbi], txn, &k, &d, 0);
    kv->outlen = ret == 0 ? d.size : 0;
    return ret;
}

static int fn_put(struct store *st, DB_TXN *txn, void *ctx)
{
    struct kv *kv = ctx;
    DBT k, d;
    dbt_in(&k, kv->key, kv->klen);
    dbt_in(&d, kv->val, kv->vlen);
    return st->db[kv->dbi]->put(st->db[kv->dbi], txn, &k, &d, kv->put_flags);
}

static int fn_del(struct store *st, DB_TXN *txn, void *ctx)
{
    struct kv *kv = ctx;
    DBT k;
    dbt_in(&k, kv->key, kv->klen);
    return st->db[kv->dbi]->del(st->db[kv->dbi], txn, &k, 0);
}

static u_int32_t txn_flags_for(int dbi)
{
    /* The POP-auth cache and the failure counts are soft state: they survive a
     * process crash (written to the OS) but are not fsynced on every login. */
    return (dbi == DBI_POPAUTH || dbi == DBI_AUTHFAIL || dbi == DBI_GREYLIST) ? DB_TXN_WRITE_NOSYNC : 0;
}

/* Fetch one value into kv->out. Even one read runs in a (DB_TXN_NOWAIT)
 * transaction: a read without one could wait for a lock, see store_bdb_env.c. */
static int kv_fetch(struct store *st, int dbi, const void *key, size_t klen, struct kv *kv)
{
    kv->dbi = dbi;
    kv->key = key;
    kv->klen = klen;
    kv->outlen = 0;
    return klen == 0 ? STORE_NOTFOUND : store_run(st, fn_get, kv, 0);
}

static int kv_put(struct store *st, int dbi, const void *key, size_t klen,
                  const void *val, size_t vlen, bool replace)
{
    struct kv kv = { .dbi = dbi, .key = key, .klen = klen, .val = val, .vlen = vlen,
                     .put_flags = replace ? 0 : DB_NOOVERWRITE };
    return store_run_write(st, fn_put, &kv, txn_flags_for(dbi));
}

static int kv_del(struct store *st, int dbi, const void *key, size_t klen)
{
    struct kv kv = { .dbi = dbi, .key = key, .klen = klen };
    return store_run_write(st, fn_del, &kv, txn_flags_for(dbi));
}

/* ---- cursor walks: collect (key, value) pairs, or delete matching ones ---- */

/* A walk copies every pair into buf as [u16 klen][key][u16 vlen][val]; the
 * callers decode it after the commit, so a retried transaction never calls a
 * callback twice and no lock is held while callbacks run. */
struct walk {
    int dbi;
    bool (*purge)(const DBT *k, const DBT *d, const struct walk *w);  /* NULL: collect */
    int64_t t1, t2;                 /* purge arguments */
    const struct greylist_params *gp;
    uint8_t *buf;
    size_t len, cap;
    size_t last;                    /* offset of the last pair kept (a resumed collect) */
};

static int walk_append(struct walk *w, const DBT *k, const DBT *d)
{
    size_t need = 4 + (size_t)k->size + d->size;
    if (w->cap - w->len < need) {
        size_t cap = w->cap ? w->cap * 2 : 8192;
        while (cap - w->len < need)
            cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (nb == NULL)
            return ENOMEM;
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->last = w->len;
    p[0] = (uint8_t)(k->size >> 8);
    p[1] = (uint8_t)k->size;
    memcpy(p + 2, k->data, k->size);
    p += 2 + k->size;
    p[0] = (uint8_t)(d->size >> 8);
    p[1] = (uint8_t)d->size;
    memcpy(p + 2, d->data, d->size);
    w->len += need;
    return 0;
}

/* A degree-2 collect (a cluster's, below) that a deadlock interrupted goes on after the
 * last key it kept rather than start over until its retries run out: the cursor is put
 * on the first key after it. DB_NOTFOUND when there is none. */
static int walk_resume(DBC *c, const struct walk *w, DBT *k, DBT *d)
{
    const uint8_t *p = w->buf + w->last;
    size_t kl = ((size_t)p[0] << 8) | p[1];
    if (kl > k->ulen)
        return EINVAL;
    memcpy(k->data, p + 2, kl);
    k->size = (u_int32_t)kl;
    int ret = c->get(c, k, d, DB_SET_RANGE);
    if (ret == 0 && k->size == kl && memcmp(k->data, p + 2, kl) == 0)
        ret = c->get(c, k, d, DB_NEXT);         /* that key itself is kept already */
    return ret;
}

/* A collect runs in a snapshot transaction (walk_collect): the databases are
 * DB_MULTIVERSION (store_bdb_env.c), so it reads the pages as they were when it began,
 * takes no read locks, never waits for a writer nor makes one wait, and cannot be a
 * deadlock's victim; the listing is one consistent view however busy the writers are.
 * With a cluster it reads at degree 2 instead (one page's read lock at a time) and
 * resumes after a deadlock: Berkeley DB refuses snapshot transactions on a replication
 * client, and a node's role may change between a look and the transaction. A purge
 * takes write locks (DB_RMW) as it goes; a retried one starts over. */
static int fn_walk(struct store *st, DB_TXN *txn, void *ctx)
{
    struct walk *w = ctx;
    DBC *c = NULL;
    uint8_t kb[KEY_MAX], vb[REC_MAX];
    DBT k, d;
    bool degree2 = w->purge == NULL && store_rep_on();
    bool resume = degree2 && w->len > 0;
    if (!resume)
        w->len = 0;                 /* a retried walk starts over */
    int ret = st->db[w->dbi]->cursor(st->db[w->dbi], txn, &c, degree2 ? DB_READ_COMMITTED : 0);
    if (ret != 0)
        return ret;
    for (bool first = true;; first = false) {
        dbt_out(&k, kb, sizeof kb);
        dbt_out(&d, vb, sizeof vb);
        if (first && resume)
            ret = walk_resume(c, w, &k, &d);
        else
            ret = c->get(c, &k, &d, DB_NEXT | (w->purge ? DB_RMW : 0));
        if (ret != 0)
            break;
        if (w->purge == NULL)
            ret = walk_append(w, &k, &d);
        else if (w->purge(&k, &d, w))
            ret = c->del(c, 0);
        if (ret != 0)
            break;
    }
    int cret = c->close(c);
    if (ret == DB_NOTFOUND)
        ret = 0;
    return ret != 0 ? ret : cret;
}

/* Next pair of a collected walk; false at the end. */
static bool walk_next(const struct walk *w, size_t *off, const uint8_t **k, size_t *kl,
                      const uint8_t **v, size_t *vl)
{
    if (*off + 2 > w->len)
        return false;
    const uint8_t *p = w->buf + *off;
    *kl = ((size_t)p[0] << 8) | p[1];
    *k = p + 2;
    p += 2 + *kl;
    *vl = ((size_t)p[0] << 8) | p[1];
    *v = p + 2;
    *off += 4 + *kl + *vl;
    return true;
}

static int walk_collect(struct store *st, struct walk *w)
{
    return store_run(st, fn_walk, w, store_rep_on() ? 0 : DB_TXN_SNAPSHOT);
}

/* ---- keys ------------------------------------------------------------------ */

static size_t addr_key(const char *addr, char *buf, size_t len)
{
    size_t n = str_copy(buf, addr, len);
    if (n == 0 || n >= len || n >= STORE_ADDR_MAX)
        return 0;
    str_lower(buf);
    return n;
}

/* ---- users ------------------------------------------------------------------- */

int store_user_get(struct store *st, const char *address, struct user_rec *out)
{
    char key[STORE_ADDR_MAX];
    struct kv kv;
    int r = kv_fetch(st, DBI_USERS, key, addr_key(address, key, sizeof key), &kv);
    if (r == STORE_OK && rec_dec_user(kv.out, kv.outlen, out) != 0)
        r = store_map(ERR_BADREC);
    return r;
}

int store_user_put(struct store *st, const struct user_rec *u, bool replace)
{
    char key[STORE_ADDR_MAX];
    uint8_t val[REC_MAX];
    size_t klen = addr_key(u->address, key, sizeof key);
    struct user_rec copy = *u;
    str_copy(copy.address, key, sizeof copy.address);
    size_t vlen = rec_enc_user(&copy, val, sizeof val);
    if (klen == 0 || vlen == 0)
        return STORE_ERROR;
    return store_fwd(st, kv_put(st, DBI_USERS, key, klen, val, vlen, replace),
                     &(struct creq_args){ .op = CREQ_USER_PUT, .flag = replace, .s1 = key,
                                          .s1len = klen, .s2 = val, .s2len = vlen }, NULL);
}

int store_user_del(struct store *st, const char *address)
{
    char key[STORE_ADDR_MAX];
    size_t klen = addr_key(address, key, sizeof key);
    if (klen == 0)
        return STORE_NOTFOUND;
    return store_fwd(st, kv_del(st, DBI_USERS, key, klen),
                     &(struct creq_args){ .op = CREQ_USER_DEL, .s1 = key, .s1len = klen }, NULL);
}

int store_user_list(struct store *st, int (*cb)(const struct user_rec *u, void *ctx), void *ctx)
{
    struct walk w = { .dbi = DBI_USERS };
    int r = walk_collect(st, &w);
    const uint8_t *k, *v;
    size_t kl, vl, off = 0;
    struct user_rec u;
    while (r == STORE_OK && walk_next(&w, &off, &k, &kl, &v, &vl)) {
        if (rec_dec_user(v, vl, &u) != 0)
            r = store_map(ERR_BADREC);
        else if (cb(&u, ctx) != 0)
            break;
    }
    free(w.buf);
    return r;
}

/* ---- aliases ------------------------------------------------------------------ */

int store_alias_get(struct store *st, const char *alias, char *target, size_t len)
{
    char key[STORE_ADDR_MAX];
    struct kv kv;
    int r = kv_fetch(st, DBI_ALIASES, key, addr_key(alias, key, sizeof key), &kv);
    if (r == STORE_OK && rec_dec_alias(kv.out, kv.outlen, target, len) != 0)
        r = store_map(ERR_BADREC);
    return r;
}

int store_alias_put(struct store *st, const char *alias, const char *target, bool replace)
{
    char key[STORE_ADDR_MAX];
    uint8_t val[REC_MAX];
    size_t klen = addr_key(alias, key, sizeof key);
    size_t vlen = rec_enc_alias(target, val, sizeof val);
    if (klen == 0 || vlen == 0 || target[0] == '\0')
        return STORE_ERROR;
    return store_fwd(st, kv_put(st, DBI_ALIASES, key, klen, val, vlen, replace),
                     &(struct creq_args){ .op = CREQ_ALIAS_PUT, .flag = replace, .s1 = key,
                                          .s1len = klen, .s2 = target, .s2len = strlen(target) },
                     NULL);
}

int store_alias_del(struct store *st, const char *alias)
{
    char key[STORE_ADDR_MAX];
    size_t klen = addr_key(alias, key, sizeof key);
    if (klen == 0)
        return STORE_NOTFOUND;
    return store_fwd(st, kv_del(st, DBI_ALIASES, key, klen),
                     &(struct creq_args){ .op = CREQ_ALIAS_DEL, .s1 = key, .s1len = klen }, NULL);
}

int store_alias_list(struct store *st, int (*cb)(const char *alias, const char *target, void *ctx),
                     void *ctx)
{
    struct walk w = { .dbi = DBI_ALIASES };
    int r = walk_collect(st, &w);
    const uint8_t *k, *v;
    size_t kl, vl, off = 0;
    char alias[STORE_ADDR_MAX], target[STORE_ADDR_MAX];
    while (r == STORE_OK && walk_next(&w, &off, &k, &kl, &v, &vl)) {
        if (kl >= sizeof alias || rec_dec_alias(v, vl, target, sizeof target) != 0) {
            r = store_map(ERR_BADREC);
            break;
        }
        memcpy(alias, k, kl);
        alias[kl] = '\0';
        if (cb(alias, target, ctx) != 0)
            break;
    }
    free(w.buf);
    return r;
}

/* ---- POP-auth cache ------------------------------------------------------------ */

int store_popauth_put(struct store *st, const struct ipaddr *ip, const char *user, int64_t now)
{
    struct popauth_rec p;
    uint8_t key[IPKEY_MAX], val[REC_MAX];
    memset(&p, 0, sizeof p);
    p.time = now;
    str_copy(p.user, user, sizeof p.user);
    size_t klen = rec_enc_ip(ip, key, sizeof key);
    size_t vlen = rec_enc_popauth(&p, val, sizeof val);
    if (klen == 0 || vlen == 0)
        return STORE_ERROR;
    return store_fwd(st, kv_put(st, DBI_POPAUTH, key, klen, val, vlen, true),
                     &(struct creq_args){ .op = CREQ_POPAUTH_PUT, .ip = ip, .t = now, .s1 = p.user,
                                          .s1len = strlen(p.user) }, NULL);
}

int store_popauth_get(struct store *st, const struct ipaddr *ip, struct popauth_rec *out)
{
    uint8_t key[IPKEY_MAX];
    struct kv kv;
    int r = kv_fetch(st, DBI_POPAUTH, key, rec_enc_ip(ip, key, sizeof key), &kv);
    if (r == STORE_OK) {
        memset(out, 0, sizeof *out);
        out->ip = *ip;
        if (rec_dec_popauth(kv.out, kv.outlen, out) != 0)
            r = store_map(ERR_BADREC);
    }
    return r;
}

int store_popauth_list(struct store *st, int (*cb)(const struct popauth_rec *r, void *ctx), void *ctx)
{
    struct walk w = { .dbi = DBI_POPAUTH };
    int r = walk_collect(st, &w);
    const uint8_t *k, *v;
    size_t kl, vl, off = 0;
    struct popauth_rec p;
    while (r == STORE_OK && walk_next(&w, &off, &k, &kl, &v, &vl)) {
        memset(&p, 0, sizeof p);
        if (rec_dec_ip(k, kl, &p.ip) != 0 || rec_dec_popauth(v, vl, &p) != 0) {
            r = store_map(ERR_BADREC);
            break;
        }
        if (cb(&p, ctx) != 0)
            break;
    }
    free(w.buf);
    return r;
}

static bool purge_all(const DBT *k, const DBT *d, const struct walk *w)
{
    (void)k, (void)d, (void)w;
    return true;
}

static bool purge_popauth_old(const DBT *k, const DBT *d, const struct walk *w)
{
    struct popauth_rec p;
    (void)k;
    /* an undecodable entry is useless: purge it too */
    return rec_dec_popauth(d->data, d->size, &p) != 0 || p.time < w->t1;
}

int store_popauth_flush(struct store *st)
{
    struct walk w = { .dbi = DBI_POPAUTH, .purge = purge_all };
    return store_fwd(st, store_run_write(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC),
                     &(struct creq_args){ .op = CREQ_POPAUTH_FLUSH }, NULL);
}

int store_popauth_purge(struct store *st, int64_t before)
{
    struct walk w = { .dbi = DBI_POPAUTH, .purge = purge_popauth_old, .t1 = before };
    return store_fwd(st, store_run_write(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC),
                     &(struct creq_args){ .op = CREQ_POPAUTH_PURGE, .t = before }, NULL);
}

/* ---- auth-failure table ----------------------------------------------------------- */

/* The key of the client an address belongs to (IPv6: its /64). */
static size_t authfail_key(const struct ipaddr *ip, struct ipaddr *key, uint8_t *buf, size_t len)
{
    ipaddr_client_key(ip, key);
    return rec_enc_ip(key, buf, len);
}

int store_authfail_get(struct store *st, const struct ipaddr *ip, struct authfail_rec *out)
{
    uint8_t key[IPKEY_MAX];
    struct ipaddr k;
    struct kv kv;
    int r = kv_fetch(st, DBI_AUTHFAIL, key, authfail_key(ip, &k, key, sizeof key), &kv);
    if (r == STORE_OK) {
        memset(out, 0, sizeof *out);
        out->ip = k;
        if (rec_dec_authfail(kv.out, kv.outlen, out) != 0)
            r = store_map(ERR_BADREC);
    }
    return r;
}

enum af_op { AF_FAIL, AF_RESERVE, AF_RELEASE_OK, AF_RELEASE_FAIL };

struct afrec {
    uint8_t key[IPKEY_MAX];
    size_t klen;
    enum af_op op;
    int64_t now;
    unsigned limit, window, lockout;
    bool granted;                   /* AF_RESERVE */
    struct authfail_rec rec;
};

static void afrec_apply(struct afrec *a)
{
    switch (a->op) {
    case AF_FAIL:
        lockout_apply_failure(&a->rec, a->now, a->limit, a->window, a->lockout);
        break;
    case AF_RESERVE:
        a->granted = lockout_reserve(&a->rec, a->now, a->limit, a->window, a->lockout);
        break;
    case AF_RELEASE_OK:
    case AF_RELEASE_FAIL:
        lockout_release(&a->rec, a->now, a->op == AF_RELEASE_FAIL, a->limit, a->window,
                        a->lockout);
        break;
    }
}

/* Read (write-locked), apply the rule, write back: one transaction. */
static int fn_authfail_update(struct store *st, DB_TXN *txn, void *ctx)
{
    struct afrec *a = ctx;
    DB *db = st->db[DBI_AUTHFAIL];
    uint8_t vb[REC_MAX];
    DBT k, d;
    struct ipaddr ip = a->rec.ip;
    dbt_in(&k, a->key, a->klen);
    dbt_out(&d, vb, sizeof vb);
    memset(&a->rec, 0, sizeof a->rec);
    a->rec.ip = ip;
    int ret = db->get(db, txn, &k, &d, DB_RMW);
    if (ret == 0 && rec_dec_authfail(vb, d.size, &a->rec) != 0)
        memset(&a->rec, 0, sizeof a->rec);     /* a damaged record starts over */
    else if (ret != 0 && ret != DB_NOTFOUND)
        return ret;
    a->rec.ip = ip;
    a->granted = false;
    afrec_apply(a);
    if (a->op == AF_RESERVE && !a->granted)
        return 0;                              /* nothing changed */
    size_t vlen = rec_enc_authfail(&a->rec, vb, sizeof vb);
    if (vlen == 0)
        return ERR_BADREC;
    dbt_in(&d, vb, vlen);
    return db->put(db, txn, &k, &d, 0);
}

static int authfail_update(struct store *st, const struct ipaddr *ip, struct afrec *a)
{
    a->klen = authfail_key(ip, &a->rec.ip, a->key, sizeof a->key);
    if (a->klen == 0)
        return STORE_ERROR;
    int r = store_run_write(st, fn_authfail_update, a, DB_TXN_WRITE_NOSYNC);
    if (r != STORE_NOTMASTER)
        return r;
    struct crep rep;                /* a replica: the master runs the same update */
    struct ipaddr key = a->rec.ip;
    r = store_fwd(st, r, &(struct creq_args){ .op = CREQ_AUTHFAIL, .sub = (uint8_t)a->op, .ip = ip,
                                              .t = a->now, .u = { a->limit, a->window, a->lockout } },
                  &rep);
    a->granted = rep.flag;
    memset(&a->rec, 0, sizeof a->rec);
    if (r == STORE_OK && rep.dlen > 0 && rec_dec_authfail(rep.data, rep.dlen, &a->rec) != 0)
        r = store_map(ERR_BADREC);
    a->rec.ip = key;
    return r;
}

int store_authfail_record(struct store *st, const struct ipaddr *ip, int64_t now,
                          unsigned limit, unsigned window, unsigned lockout,
                          struct authfail_rec *out)
{
    struct afrec a = { .op = AF_FAIL, .now = now, .limit = limit, .window = window,
                       .lockout = lockout };
    int r = authfail_update(st, ip, &a);
    if (r == STORE_OK && out != NULL)
        *out = a.rec;
    return r;
}

int store_authfail_reserve(struct store *st, const struct ipaddr *ip, int64_t now,
                           unsigned limit, unsigned window, unsigned lockout, bool *granted)
{
    struct afrec a = { .op = AF_RESERVE, .now = now, .limit = limit, .window = window,
                       .lockout = lockout };
    int r = authfail_update(st, ip, &a);
    *granted = r == STORE_OK && a.granted;
    return r;
}

int store_authfail_release(struct store *st, const struct ipaddr *ip, int64_t now, bool failed,
                           unsigned limit, unsigned window, unsigned lockout,
                           struct authfail_rec *out)
{
    struct afrec a = { .op = failed ? AF_RELEASE_FAIL : AF_RELEASE_OK, .now = now,
                       .limit = limit, .window = window, .lockout = lockout };
    int r = authfail_update(st, ip, &a);
    if (r == STORE_OK && out != NULL)
        *out = a.rec;
    return r;
}

int store_authfail_list(struct store *st, int (*cb)(const struct authfail_rec *r, void *ctx), void *ctx)
{
    struct walk w = { .dbi = DBI_AUTHFAIL };
    int r = walk_collect(st, &w);
    const uint8_t *k, *v;
    size_t kl, vl, off = 0;
    struct authfail_rec a;
    while (r == STORE_OK && walk_next(&w, &off, &k, &kl, &v, &vl)) {
        memset(&a, 0, sizeof a);
        if (rec_dec_ip(k, kl, &a.ip) != 0 || rec_dec_authfail(v, vl, &a) != 0) {
            r = store_map(ERR_BADREC);
            break;
        }
        if (cb(&a, ctx) != 0)
            break;
    }
    free(w.buf);
    return r;
}

int store_authfail_clear(struct store *st, const struct ipaddr *ip)
{
    uint8_t key[IPKEY_MAX];
    struct ipaddr k;
    size_t klen = authfail_key(ip, &k, key, sizeof key);
    if (klen == 0)
        return STORE_ERROR;
    return store_fwd(st, kv_del(st, DBI_AUTHFAIL, key, klen),
                     &(struct creq_args){ .op = CREQ_AUTHFAIL_CLEAR, .ip = ip }, NULL);
}

static bool purge_authfail_over(const DBT *k, const DBT *d, const struct walk *w)
{
    struct authfail_rec a;
    (void)k;
    if (rec_dec_authfail(d->data, d->size, &a) != 0)
        return true;
    bool window_over = a.first_failure + w->t2 <= w->t1;
    bool lock_over = a.locked_until <= w->t1;
    bool none_inflight = a.inflight == 0 || a.inflight_at + LOCKOUT_INFLIGHT_TTL < w->t1;
    return window_over && lock_over && none_inflight;
}

int store_authfail_purge(struct store *st, int64_t now, unsigned window)
{
    struct walk w = { .dbi = DBI_AUTHFAIL, .purge = purge_authfail_over, .t1 = now, .t2 = window };
    return store_fwd(st, store_run_write(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC),
                     &(struct creq_args){ .op = CREQ_AUTHFAIL_PURGE, .t = now, .u = { window } },
                     NULL);
}

/* ---- greylisting triplets ------------------------------------------------------ */

struct greyop {
    struct greylist_rec *rec;
    const struct greylist_params *p;
    int64_t now;
    bool dry;
    int outcome;
    uint8_t key[KEY_MAX];
    size_t klen;
};

/* Read (write-locked unless dry), apply greylist_decide, write back: one transaction. */
static int fn_greylist_check(struct store *st, DB_TXN *txn, void *ctx)
{
    struct greyop *g = ctx;
    DB *db = st->db[DBI_GREYLIST];
    uint8_t vb[REC_MAX];
    DBT k, d;
    dbt_in(&k, g->key, g->klen);
    dbt_out(&d, vb, sizeof vb);
    g->rec->first_seen = g->rec->last_seen = 0;
    g->rec->passed = false;
    int ret = db->get(db, txn, &k, &d, g->dry ? 0 : DB_RMW);
    bool found = ret == 0 && rec_dec_greylist(vb, d.size, g->rec) == 0;  /* damaged: anew */
    if (ret != 0 && ret != DB_NOTFOUND)
        return ret;
    g->outcome = (int)greylist_decide(g->rec, found, g->now, g->p);
    if (g->dry)
        return 0;
    size_t vlen = rec_enc_greylist(g->rec, vb, sizeof vb);
    if (vlen == 0)
        return ERR_BADREC;
    dbt_in(&d, vb, vlen);
    return db->put(db, txn, &k, &d, 0);
}

int store_greylist_check(struct store *st, struct greylist_rec *r, int64_t now,
                         const struct greylist_params *p, bool dry, int *outcome)
{
    struct greyop g = { .rec = r, .p = p, .now = now, .dry = dry };
    g.klen = greylist_key_enc(r, g.key, sizeof g.key);
    if (g.klen == 0)
        return STORE_ERROR;
    int rc = dry ? store_run(st, fn_greylist_check, &g, 0)
                 : store_run_write(st, fn_greylist_check, &g, DB_TXN_WRITE_NOSYNC);
    *outcome = g.outcome;
    if (rc == STORE_NOTMASTER) {    /* a replica: the master checks and records */
        struct crep rep;
        rc = store_fwd(st, rc, &(struct creq_args){ .op = CREQ_GREYLIST_CHECK, .t = now,
                                                    .u = { p->delay, p->window, p->keep },
                                                    .s1 = g.key, .s1len = g.klen }, &rep);
        *outcome = rep.outcome;
        if (rc == STORE_OK && rec_dec_greylist(rep.data, rep.dlen, r) != 0)
            rc = store_map(ERR_BADREC);
    }
    return rc;
}

int store_greylist_list(struct store *st, int (*cb)(const struct greylist_rec *r, void *ctx), void *ctx)
{
    struct walk w = { .dbi = DBI_GREYLIST };
    int r = walk_collect(st, &w);
    const uint8_t *k, *v;
    size_t kl, vl, off = 0;
    struct greylist_rec g;
    while (r == STORE_OK && walk_next(&w, &off, &k, &kl, &v, &vl)) {
        memset(&g, 0, sizeof g);
        if (greylist_key_dec(k, kl, &g) != 0 || rec_dec_greylist(v, vl, &g) != 0) {
            r = store_map(ERR_BADREC);
            break;
        }
        if (cb(&g, ctx) != 0)
            break;
    }
    free(w.buf);
    return r;
}

int store_greylist_flush(struct store *st)
{
    struct walk w = { .dbi = DBI_GREYLIST, .purge = purge_all };
    return store_fwd(st, store_run_write(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC),
                     &(struct creq_args){ .op = CREQ_GREYLIST_FLUSH }, NULL);
}

static bool purge_greylist_expired(const DBT *k, const DBT *d, const struct walk *w)
{
    struct greylist_rec g;
    (void)k;
    /* an undecodable entry is useless: purge it too */
    return rec_dec_greylist(d->data, d->size, &g) != 0 || greylist_expired(&g, w->t1, w->gp);
}

int store_greylist_purge(struct store *st, int64_t now, const struct greylist_params *p)
{
    struct walk w = { .dbi = DBI_GREYLIST, .purge = purge_greylist_expired, .t1 = now, .gp = p };
    return store_fwd(st, store_run_write(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC),
                     &(struct creq_args){ .op = CREQ_GREYLIST_PURGE, .t = now,
                                          .u = { p->delay, p->window, p->keep } }, NULL);
}

/* ---- maintenance ------------------------------------------------------------------- */

static int fn_maintain(struct store *st, DB_TXN *txn, void *ctx)
{
    (void)txn;
    (void)ctx;
    char **list = NULL;
    int ret = st->env->txn_checkpoint(st->env, 0, 0, 0);
    if (ret == 0)
        ret = st->env->log_archive(st->env, &list, DB_ARCH_REMOVE);
    free(list);
    return ret;
}

void store_maintain(struct store *st)
{
    (void)store_run(st, fn_maintain, NULL, TXN_NONE);
}
