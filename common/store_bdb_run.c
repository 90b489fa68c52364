/* store_bdb_run: the transaction runner of the Berkeley DB store (see store_bdb_run.h). */
#include "store_bdb_run.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_bdb_rep.h"

#define MAX_ATTEMPTS 60
/* A loop thread refuses a call for the routine health check only this long after a
 * worker would run it, and store_loop_ready says no from when a worker would: work
 * that passed that look (a SASL verification) has this long to end in the loop. */
#define LOOP_CHK_SLACK_MS 100

/* ---- the transaction runner ---------------------------------------------- */

/* One transaction (none with TXN_NONE) around fn. */
static int run_txn(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    DB_TXN *txn = NULL;
    int ret;
    if (txn_flags == TXN_NONE)
        return fn(st, NULL, ctx);
    if ((ret = st->env->txn_begin(st->env, NULL, &txn, txn_flags)) != 0)
        return ret;
    ret = fn(st, txn, ctx);
    if (ret == 0 || ret == DB_NOTFOUND || ret == DB_KEYEXIST) {
        store_rep_before_commit(txn);
        int c = txn->commit(txn, 0);
        if (c != 0)
            ret = c;
    } else {
        (void)txn->abort(txn);
    }
    return ret;
}

/* The health check before every attempt: a process that died holding a region
 * mutex must be noticed before we block on that mutex (a check only once a
 * second let such an operation block for ever in txn_begin; see test_store
 * "writer killed"). store_env_check looks at the registry, which is cheap, and
 * runs the costly failchk only when someone died (or once a second). */
static int run_once(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    int ret = store_env_check(st, false);
    return ret != 0 ? ret : run_txn(st, fn, ctx, txn_flags);
}

int store_map(int ret)
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

static __thread bool on_loop_thread;
static __thread bool again_taken;   /* a call on this thread was refused: store_take_again */

void store_mark_loop_thread(bool on)
{
    on_loop_thread = on;
}

bool store_loop_thread(void)
{
    return on_loop_thread;
}

bool store_take_again(void)
{
    bool a = again_taken;
    again_taken = false;
    return a;
}

static int refuse(void)
{
    again_taken = true;
    return STORE_AGAIN;
}

/* On an event-loop thread (store.h): one attempt that never waits. A reopen under
 * way (the write lock), an environment gone, a health check due, a lock conflict
 * or DB_RUNRECOVERY: STORE_AGAIN at once, and a worker redoes the work. */
static int run_on_loop(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    if (pthread_rwlock_tryrdlock(&st->rw) != 0)
        return refuse();
    int ret = DB_RUNRECOVERY;
    if (st->env != NULL && !store_env_check_due(st, LOOP_CHK_SLACK_MS, true))
        ret = run_txn(st, fn, ctx, txn_flags);
    (void)pthread_rwlock_unlock(&st->rw);
    if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED || ret == DB_RUNRECOVERY ||
        ret == DB_REP_HANDLE_DEAD || ret == DB_REP_LOCKOUT || (ret == EACCES && store_rep_on()))
        return refuse();            /* (EACCES at a replica: a worker forwards the write) */
    return store_map(ret);
}

/* The dispatch of a forwarded write at the master runs on repmgr's thread, which a
 * reopen (closing the environment) waits for: it never blocks on the environment's
 * lock and never reopens; it runs the health check and retries lock conflicts as a
 * worker does. STORE_AGAIN (the sender retries) where a worker would reopen. */
static int run_in_dispatch(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    int ret = DB_RUNRECOVERY;
    for (unsigned attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (pthread_rwlock_tryrdlock(&st->rw) != 0) {
            store_backoff(attempt);
            continue;
        }
        ret = st->env == NULL ? DB_RUNRECOVERY : run_once(st, fn, ctx, txn_flags);
        (void)pthread_rwlock_unlock(&st->rw);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED && ret != DB_REP_LOCKOUT)
            break;
        store_backoff(attempt);
    }
    if (ret == EACCES)
        return STORE_NOTMASTER;     /* not the master any more */
    if (ret == DB_RUNRECOVERY || ret == DB_REP_HANDLE_DEAD || ret == DB_LOCK_DEADLOCK ||
        ret == DB_LOCK_NOTGRANTED || ret == DB_REP_LOCKOUT)
        return STORE_AGAIN;
    return store_map(ret);
}

int store_run_write(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    if (store_rep_delegates())      /* the node's writer commits it (store_fwd) */
        return on_loop_thread ? refuse() : STORE_NOTMASTER;
    return store_run(st, fn, ctx, txn_flags);
}

bool store_loop_ready(struct store *st)
{
    if (!on_loop_thread || st == NULL)
        return true;
    if (pthread_rwlock_tryrdlock(&st->rw) != 0)
        return false;
    bool ready = st->env != NULL && !store_env_check_due(st, 0, false);
    (void)pthread_rwlock_unlock(&st->rw);
    return ready;
}

int store_run(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags)
{
    if (on_loop_thread)
        return run_on_loop(st, fn, ctx, txn_flags);
    if (store_rep_in_dispatch())
        return run_in_dispatch(st, fn, ctx, txn_flags);
    int ret = DB_RUNRECOVERY;
    unsigned reopens = 0;
    for (unsigned attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (pthread_rwlock_rdlock(&st->rw) != 0)
            return STORE_ERROR;
        unsigned long gen = st->gen;
        ret = st->env == NULL ? DB_RUNRECOVERY : run_once(st, fn, ctx, txn_flags);
        (void)pthread_rwlock_unlock(&st->rw);
        if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED || ret == DB_REP_LOCKOUT) {
            store_backoff(attempt);
            continue;
        }
        if (ret == EACCES && store_rep_on())
            return STORE_NOTMASTER;     /* a replica: the caller forwards the write */
        if (ret == DB_REP_HANDLE_DEAD && reopens++ < 2) {
            store_dbs_reopen(st, gen);
            continue;
        }
        if (ret == DB_RUNRECOVERY && reopens++ < 2) {
            store_env_reopen(st, gen);
            continue;
        }
        break;
    }
    return store_map(ret);
}


/* ---- the health check for status.h ------------------------------------------- */

/* One read of each database (its first record), inside the caller's transaction. */
static int health_txn(struct store *st, DB_TXN *txn, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < DBI_N; i++) {
        DBC *cur = NULL;
        DBT k, v;
        memset(&k, 0, sizeof k);
        memset(&v, 0, sizeof v);
        int ret = st->db[i]->cursor(st->db[i], txn, &cur, 0);
        if (ret != 0)
            return ret;
        ret = cur->get(cur, &k, &v, DB_FIRST);
        int c = cur->close(cur);
        if (ret != 0 && ret != DB_NOTFOUND)
            return ret;
        if (c != 0)
            return c;
    }
    return 0;
}

int store_health(struct store *st, char *msg, size_t len)
{
    if (pthread_rwlock_rdlock(&st->rw) != 0) {
        snprintf(msg, len, "cannot lock the store");
        return STORE_ERROR;
    }
    int ret = st->env ? store_env_check(st, true) : DB_RUNRECOVERY;
    (void)pthread_rwlock_unlock(&st->rw);
    if (ret != 0) {
        snprintf(msg, len, "health check failed: %s", db_strerror(ret));
        return STORE_ERROR;
    }
    if (store_run(st, health_txn, NULL, 0) != STORE_OK) {
        snprintf(msg, len, "a read of the databases failed (see the log)");
        return STORE_ERROR;
    }
    snprintf(msg, len, "ok");
    return STORE_OK;
}
