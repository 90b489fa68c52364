/* store_bdb: the Berkeley DB 5.3 backend of store.h. One transactional environment
 * under DATA_DIR/db shared by every process (DB_REGISTER|DB_RECOVER|DB_FAILCHK),
 * four btrees (users, aliases, popauth, authfail). Every call is one transaction,
 * retried on deadlock/lock timeout; DB_RUNRECOVERY closes and reopens the whole
 * environment (with recovery) under a write lock, then retries. */
#include "store.h"

#include <db.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lockout.h"
#include "log.h"
#include "store_rec.h"
#include "util.h"

enum { DBI_USERS, DBI_ALIASES, DBI_POPAUTH, DBI_AUTHFAIL, DBI_N };
static const char *const db_files[DBI_N] = { "users.db", "aliases.db", "popauth.db", "authfail.db" };

#define MAX_ATTEMPTS 60
#define LOCK_TIMEOUT_US 2000000u   /* a lock held by a dead process times out, then failchk frees it */
#define KEY_MAX 512
#define ERR_BADREC EINVAL          /* a record that does not decode */

struct store {
    pthread_rwlock_t rw;            /* read: an operation; write: closing/reopening */
    pthread_mutex_t chk_mu;         /* one failchk at a time in this process */
    char home[PATH_MAX];
    DB_ENV *env;                    /* NULL after a failed reopen */
    DB *db[DBI_N];
    unsigned long gen;              /* bumped by every reopen */
};

/* Handles of discarded environments, process-wide: see env_discard. */
static pthread_mutex_t dead_mu = PTHREAD_MUTEX_INITIALIZER;
static DB *dead_dbs[256];
static size_t ndead;

typedef int (*txn_fn)(struct store *st, DB_TXN *txn, void *ctx);

static void backoff(unsigned attempt);

/* ---- environment -------------------------------------------------------- */

static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
    (void)env;
    log_err("store: %s%s%s", pfx ? pfx : "", pfx ? ": " : "", msg);
}

static void bdb_msgcall(const DB_ENV *env, const char *msg)
{
    (void)env;
    log_info("store: %s", msg);
}

static int bdb_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    (void)env;
    (void)tid;
    (void)flags;
    if (pid == getpid())
        return 1;               /* our own threads leave the library before exiting */
    return kill(pid, 0) == 0 || errno == EPERM;
}

static void env_close_handles(struct store *st)
{
    for (int i = 0; i < DBI_N; i++) {
        if (st->db[i] != NULL)
            (void)st->db[i]->close(st->db[i], 0);
        st->db[i] = NULL;
    }
    if (st->env != NULL)
        (void)st->env->close(st->env, 0);
    st->env = NULL;
}

/* After DB_RUNRECOVERY a dead process may hold region mutexes: closing the
 * databases could block on them. Mark the environment panicked (every user must
 * reopen now anyway) and discard it; the stale DB handles cannot be freed safely,
 * so they are kept (reachable) for the life of the process. Reopens are rare. */
static void env_discard(struct store *st)
{
    if (st->env != NULL) {
        (void)st->env->set_flags(st->env, DB_PANIC_ENVIRONMENT, 1);
        (void)st->env->close(st->env, 0);
    }
    st->env = NULL;
    (void)pthread_mutex_lock(&dead_mu);
    for (int i = 0; i < DBI_N; i++) {
        if (st->db[i] != NULL && ndead < sizeof dead_dbs / sizeof dead_dbs[0])
            dead_dbs[ndead++] = st->db[i];
        st->db[i] = NULL;
    }
    (void)pthread_mutex_unlock(&dead_mu);
}

static int env_configure(DB_ENV *env)
{
    int ret;
    env->set_errcall(env, bdb_errcall);
    env->set_msgcall(env, bdb_msgcall);
    if ((ret = env->set_thread_count(env, 256)) != 0 ||
        (ret = env->set_isalive(env, bdb_is_alive)) != 0 ||
        (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
        (ret = env->set_cachesize(env, 0, 4u << 20, 1)) != 0 ||
        (ret = env->set_timeout(env, LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT)) != 0 ||
        (ret = env->set_lg_filemode(env, 0600)) != 0 ||
        (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0)
        return ret;
    return 0;
}

static int open_databases(struct store *st)
{
    for (int i = 0; i < DBI_N; i++) {
        int ret = db_create(&st->db[i], st->env, 0);
        if (ret != 0) {
            st->db[i] = NULL;
            return ret;
        }
        ret = st->db[i]->open(st->db[i], NULL, db_files[i], NULL, DB_BTREE,
                              DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600);
        if (ret != 0)
            return ret;
    }
    return 0;
}

/* Open the environment and the databases into st (handles NULL before). */
static int env_open(struct store *st)
{
    const u_int32_t flags = DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
                            DB_INIT_TXN | DB_REGISTER | DB_RECOVER | DB_FAILCHK | DB_THREAD;
    int ret = db_env_create(&st->env, 0);
    if (ret != 0) {
        st->env = NULL;
        log_err("store: db_env_create: %s", db_strerror(ret));
        return ret;
    }
    mode_t old = umask(077);
    if ((ret = env_configure(st->env)) == 0 &&
        (ret = st->env->open(st->env, st->home, flags, 0600)) == 0)
        ret = open_databases(st);
    umask(old);
    if (ret != 0) {
        log_err("store: cannot open %s: %s", st->home, db_strerror(ret));
        env_close_handles(st);
    }
    return ret;
}

/* Close and reopen everything (running recovery) unless another thread already
 * did so since generation seen_gen. */
static void env_reopen(struct store *st, unsigned long seen_gen)
{
    if (pthread_rwlock_wrlock(&st->rw) != 0)
        return;
    if (st->gen == seen_gen) {
        log_warn("store: reopening the environment %s (recovery)", st->home);
        env_discard(st);
        (void)env_open(st);
        st->gen++;
    }
    (void)pthread_rwlock_unlock(&st->rw);
}

static int mkdir_private(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    log_err("store: mkdir %s: %s", path, strerror(errno));
    return -1;
}

int store_open(const char *data_dir, struct store **out)
{
    *out = NULL;
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return STORE_ERROR;
    int n = snprintf(st->home, sizeof st->home, "%s/db", data_dir);
    if (n < 0 || (size_t)n >= sizeof st->home || mkdir_private(data_dir) != 0 ||
        mkdir_private(st->home) != 0) {
        free(st);
        return STORE_ERROR;
    }
    if (pthread_rwlock_init(&st->rw, NULL) != 0) {
        free(st);
        return STORE_ERROR;
    }
    if (pthread_mutex_init(&st->chk_mu, NULL) != 0) {
        pthread_rwlock_destroy(&st->rw);
        free(st);
        return STORE_ERROR;
    }
    /* Two first openers at once can meet each other's recovery: try again. */
    int ret = env_open(st);
    for (unsigned i = 0; ret != 0 && i < 5; i++) {
        backoff(i + 3);
        ret = env_open(st);
    }
    if (ret != 0) {
        store_close(st);
        return STORE_ERROR;
    }
    *out = st;
    return STORE_OK;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    if (st->env != NULL)
        (void)st->env->txn_checkpoint(st->env, 0, 0, 0);
    env_close_handles(st);
    pthread_mutex_destroy(&st->chk_mu);
    pthread_rwlock_destroy(&st->rw);
    free(st);
}

/* ---- the transaction runner ---------------------------------------------- */

/* Free what dead processes left behind (locks, transactions); DB_RUNRECOVERY
 * if only recovery can help. Skipped when another thread is already at it. */
static int env_failchk(struct store *st)
{
    if (pthread_mutex_trylock(&st->chk_mu) != 0)
        return 0;
    int ret = st->env->failchk(st->env, 0);
    (void)pthread_mutex_unlock(&st->chk_mu);
    return ret;
}

static int run_once(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    DB_TXN *txn = NULL;
    int ret = env_failchk(st);
    if (ret != 0)
        return ret;
    if ((ret = st->env->txn_begin(st->env, NULL, &txn, txn_flags)) != 0)
        return ret;
    ret = fn(st, txn, ctx);
    if (ret == 0 || ret == DB_NOTFOUND || ret == DB_KEYEXIST) {
        int c = txn->commit(txn, 0);
        if (c != 0)
            ret = c;
    } else {
        (void)txn->abort(txn);
    }
    return ret;
}

static void backoff(unsigned attempt)
{
    unsigned ms = attempt < 7 ? 1u << attempt : 100u;
    ms += (unsigned)rand() % (ms + 1);
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    (void)nanosleep(&ts, NULL);
}

static int store_map(int ret)
{
    switch (ret) {
    case 0: return STORE_OK;
    case DB_NOTFOUND: return STORE_NOTFOUND;
    case DB_KEYEXIST: return STORE_EXISTS;
    case ERR_BADREC:
        log_err("store: a record does not decode (damaged or newer format)");
        return STORE_ERROR;
    default:
        log_err("store: %s", db_strerror(ret));
        return STORE_ERROR;
    }
}

static int run(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    int ret = DB_RUNRECOVERY;
    unsigned reopens = 0;
    for (unsigned attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (pthread_rwlock_rdlock(&st->rw) != 0)
            return STORE_ERROR;
        unsigned long gen = st->gen;
        ret = st->env == NULL ? DB_RUNRECOVERY : run_once(st, fn, ctx, txn_flags);
        (void)pthread_rwlock_unlock(&st->rw);
        if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED) {
            backoff(attempt);
            continue;
        }
        if (ret == DB_RUNRECOVERY && reopens++ < 2) {
            env_reopen(st, gen);
            continue;
        }
        break;
    }
    return store_map(ret);
}

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
    return (dbi == DBI_POPAUTH || dbi == DBI_AUTHFAIL) ? DB_TXN_WRITE_NOSYNC : 0;
}

/* Fetch one value; the caller frees the result (NULL only when out of memory). */
static struct kv *kv_fetch(struct store *st, int dbi, const void *key, size_t klen, int *r)
{
    struct kv *kv = calloc(1, sizeof *kv);
    if (kv == NULL) {
        *r = STORE_ERROR;
        return NULL;
    }
    kv->dbi = dbi;
    kv->key = key;
    kv->klen = klen;
    *r = klen == 0 ? STORE_NOTFOUND : run(st, fn_get, kv, 0);
    return kv;
}

static int kv_put(struct store *st, int dbi, const void *key, size_t klen,
                  const void *val, size_t vlen, bool replace)
{
    struct kv *kv = calloc(1, sizeof *kv);
    if (kv == NULL)
        return STORE_ERROR;
    kv->dbi = dbi;
    kv->key = key;
    kv->klen = klen;
    kv->val = val;
    kv->vlen = vlen;
    kv->put_flags = replace ? 0 : DB_NOOVERWRITE;
    int r = run(st, fn_put, kv, txn_flags_for(dbi));
    free(kv);
    return r;
}

static int kv_del(struct store *st, int dbi, const void *key, size_t klen)
{
    struct kv kv = { .dbi = dbi, .key = key, .klen = klen };
    return run(st, fn_del, &kv, txn_flags_for(dbi));
}

/* ---- cursor walks: collect (key, value) pairs, or delete matching ones ---- */

/* A walk copies every pair into buf as [u16 klen][key][u16 vlen][val]; the
 * callers decode it after the commit, so a retried transaction never calls a
 * callback twice and no lock is held while callbacks run. */
struct walk {
    int dbi;
    bool (*purge)(const DBT *k, const DBT *d, const struct walk *w);  /* NULL: collect */
    int64_t t1, t2;                 /* purge arguments */
    uint8_t *buf;
    size_t len, cap;
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

static int fn_walk(struct store *st, DB_TXN *txn, void *ctx)
{
    struct walk *w = ctx;
    DBC *c = NULL;
    uint8_t kb[KEY_MAX], vb[REC_MAX];
    DBT k, d;
    w->len = 0;                     /* a retry starts over */
    int ret = st->db[w->dbi]->cursor(st->db[w->dbi], txn, &c, 0);
    if (ret != 0)
        return ret;
    for (;;) {
        dbt_out(&k, kb, sizeof kb);
        dbt_out(&d, vb, sizeof vb);
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
    return run(st, fn_walk, w, 0);
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
    int r;
    struct kv *kv = kv_fetch(st, DBI_USERS, key, addr_key(address, key, sizeof key), &r);
    if (r == STORE_OK && rec_dec_user(kv->out, kv->outlen, out) != 0)
        r = store_map(ERR_BADREC);
    free(kv);
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
    return kv_put(st, DBI_USERS, key, klen, val, vlen, replace);
}

int store_user_del(struct store *st, const char *address)
{
    char key[STORE_ADDR_MAX];
    size_t klen = addr_key(address, key, sizeof key);
    return klen == 0 ? STORE_NOTFOUND : kv_del(st, DBI_USERS, key, klen);
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
    int r;
    struct kv *kv = kv_fetch(st, DBI_ALIASES, key, addr_key(alias, key, sizeof key), &r);
    if (r == STORE_OK && rec_dec_alias(kv->out, kv->outlen, target, len) != 0)
        r = store_map(ERR_BADREC);
    free(kv);
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
    return kv_put(st, DBI_ALIASES, key, klen, val, vlen, replace);
}

int store_alias_del(struct store *st, const char *alias)
{
    char key[STORE_ADDR_MAX];
    size_t klen = addr_key(alias, key, sizeof key);
    return klen == 0 ? STORE_NOTFOUND : kv_del(st, DBI_ALIASES, key, klen);
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
    return kv_put(st, DBI_POPAUTH, key, klen, val, vlen, true);
}

int store_popauth_get(struct store *st, const struct ipaddr *ip, struct popauth_rec *out)
{
    uint8_t key[IPKEY_MAX];
    int r;
    struct kv *kv = kv_fetch(st, DBI_POPAUTH, key, rec_enc_ip(ip, key, sizeof key), &r);
    if (r == STORE_OK) {
        memset(out, 0, sizeof *out);
        out->ip = *ip;
        if (rec_dec_popauth(kv->out, kv->outlen, out) != 0)
            r = store_map(ERR_BADREC);
    }
    free(kv);
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
    return run(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC);
}

int store_popauth_purge(struct store *st, int64_t before)
{
    struct walk w = { .dbi = DBI_POPAUTH, .purge = purge_popauth_old, .t1 = before };
    return run(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC);
}

/* ---- auth-failure table ----------------------------------------------------------- */

int store_authfail_get(struct store *st, const struct ipaddr *ip, struct authfail_rec *out)
{
    uint8_t key[IPKEY_MAX];
    int r;
    struct kv *kv = kv_fetch(st, DBI_AUTHFAIL, key, rec_enc_ip(ip, key, sizeof key), &r);
    if (r == STORE_OK) {
        memset(out, 0, sizeof *out);
        out->ip = *ip;
        if (rec_dec_authfail(kv->out, kv->outlen, out) != 0)
            r = store_map(ERR_BADREC);
    }
    free(kv);
    return r;
}

struct afrec {
    uint8_t key[IPKEY_MAX];
    size_t klen;
    int64_t now;
    unsigned limit, window, lockout;
    struct authfail_rec rec;
};

/* Read (write-locked), apply the rule, write back: one transaction. */
static int fn_authfail_record(struct store *st, DB_TXN *txn, void *ctx)
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
    lockout_apply_failure(&a->rec, a->now, a->limit, a->window, a->lockout);
    size_t vlen = rec_enc_authfail(&a->rec, vb, sizeof vb);
    if (vlen == 0)
        return ERR_BADREC;
    dbt_in(&d, vb, vlen);
    return db->put(db, txn, &k, &d, 0);
}

int store_authfail_record(struct store *st, const struct ipaddr *ip, int64_t now,
                          unsigned limit, unsigned window, unsigned lockout,
                          struct authfail_rec *out)
{
    struct afrec a = { .now = now, .limit = limit, .window = window, .lockout = lockout };
    a.rec.ip = *ip;
    a.klen = rec_enc_ip(ip, a.key, sizeof a.key);
    if (a.klen == 0)
        return STORE_ERROR;
    int r = run(st, fn_authfail_record, &a, DB_TXN_WRITE_NOSYNC);
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
    size_t klen = rec_enc_ip(ip, key, sizeof key);
    return klen == 0 ? STORE_ERROR : kv_del(st, DBI_AUTHFAIL, key, klen);
}

static bool purge_authfail_over(const DBT *k, const DBT *d, const struct walk *w)
{
    struct authfail_rec a;
    (void)k;
    if (rec_dec_authfail(d->data, d->size, &a) != 0)
        return true;
    bool window_over = a.first_failure + w->t2 <= w->t1;
    bool lock_over = a.locked_until <= w->t1;
    return window_over && lock_over;
}

int store_authfail_purge(struct store *st, int64_t now, unsigned window)
{
    struct walk w = { .dbi = DBI_AUTHFAIL, .purge = purge_authfail_over, .t1 = now, .t2 = window };
    return run(st, fn_walk, &w, DB_TXN_WRITE_NOSYNC);
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
    (void)run(st, fn_maintain, NULL, 0);
}
