/* test_store_loop: the store on an event-loop thread (common/store.h, THE RULE): a
 * thread marked by store_mark_loop_thread makes one attempt and never waits, it
 * gets STORE_AGAIN at once (and store_take_again() says so once) while a reopen
 * holds the store's lock, while another transaction holds the record's lock, while
 * the environment needs recovery, and while a health check is due; an unmarked
 * thread in the same situation waits (backs off, checks, reopens) and succeeds. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "log.h"
#include "store.h"
#include "store_bdb_env.h"
#include "tutil.h"
#include "util.h"

#define USER "alice@example.test"

static char tmpdir[256];
static int dir_seq;

static struct store *open_with_user(void)
{
    struct store *st = NULL;
    struct user_rec u;
    (void)mkdir("build", 0755);
    snprintf(tmpdir, sizeof tmpdir, "build/tmp-test_store_loop-%d-%d", (int)getpid(), ++dir_seq);
    (void)tu_rmtree(tmpdir);
    CU_ASSERT_EQUAL_FATAL(store_open(tmpdir, &st), STORE_OK);
    memset(&u, 0, sizeof u);
    str_copy(u.address, USER, sizeof u.address);
    u.enabled = true;
    CU_ASSERT_EQUAL_FATAL(store_user_put(st, &u, false), STORE_OK);
    return st;
}

static void done(struct store *st)
{
    store_close(st);
    (void)tu_rmtree(tmpdir);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* A read on a loop thread: STORE_AGAIN at once, the flag set once. */
static void expect_again(struct store *st)
{
    struct user_rec u;
    struct timespec t0;
    (void)store_take_again();
    store_mark_loop_thread(true);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_AGAIN);
    CU_ASSERT(ms_since(&t0) < 100);
    store_mark_loop_thread(false);
    CU_ASSERT_TRUE(store_take_again());
    CU_ASSERT_FALSE(store_take_again());
}

/* ---- a reopen under way: the store's lock held for writing ---- */

struct holder {
    struct store *st;
    unsigned hold_ms;
    bool locked;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *hold_wrlock(void *arg)
{
    struct holder *h = arg;
    struct timespec d = { 0, (long)h->hold_ms * 1000000L };
    CU_ASSERT_EQUAL(pthread_rwlock_wrlock(&h->st->rw), 0);
    pthread_mutex_lock(&h->mu);
    h->locked = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    (void)nanosleep(&d, NULL);
    (void)pthread_rwlock_unlock(&h->st->rw);
    return NULL;
}

static void test_reopen_under_way(void)
{
    struct store *st = open_with_user();
    struct holder h = { .st = st, .hold_ms = 300 };
    struct user_rec u;
    struct timespec t0;
    pthread_t t;
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, hold_wrlock, &h), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.locked)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    expect_again(st);
    /* unmarked: waits for the writer, then reads */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_OK);
    CU_ASSERT(ms_since(&t0) >= 100);
    CU_ASSERT_FALSE(store_take_again());
    pthread_join(t, NULL);
    /* and a loop thread reads too once nothing is in the way */
    store_mark_loop_thread(true);
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_OK);
    CU_ASSERT_EQUAL(store_user_get(st, "nobody@example.test", &u), STORE_NOTFOUND);
    store_mark_loop_thread(false);
    CU_ASSERT_FALSE(store_take_again());
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
    done(st);
}

/* ---- another transaction holds the record's page ---- */

static void *release_later(void *arg)
{
    DB_TXN *txn = arg;
    struct timespec d = { 0, 300 * 1000000L };
    (void)nanosleep(&d, NULL);
    CU_ASSERT_EQUAL(txn->commit(txn, 0), 0);
    return NULL;
}

static void test_lock_conflict(void)
{
    struct store *st = open_with_user();
    DB_TXN *txn = NULL;
    DBT k, d;
    char key[] = "zz-lock@example.test", val[] = "x";
    struct user_rec u;
    struct timespec t0;
    pthread_t t;
    /* a write in an open transaction locks the users page (a small btree: one leaf) */
    CU_ASSERT_EQUAL_FATAL(st->env->txn_begin(st->env, NULL, &txn, 0), 0);
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    k.data = key, k.size = (u_int32_t)strlen(key);
    d.data = val, d.size = 1;
    CU_ASSERT_EQUAL_FATAL(st->db[DBI_USERS]->put(st->db[DBI_USERS], txn, &k, &d, 0), 0);
    expect_again(st);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, release_later, txn), 0);
    /* unmarked: backs off until the writer commits, then reads */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_OK);
    CU_ASSERT(ms_since(&t0) >= 100);
    pthread_join(t, NULL);
    done(st);
}

/* ---- the environment needs recovery; a health check is due ---- */

static void test_recovery_needed(void)
{
    struct store *st = open_with_user();
    struct user_rec u;
    unsigned long gen = st->gen;
    CU_ASSERT_EQUAL_FATAL(st->env->set_flags(st->env, DB_PANIC_ENVIRONMENT, 1), 0);
    expect_again(st);
    CU_ASSERT_EQUAL(st->gen, gen);                 /* a loop thread never reopens */
    /* unmarked: reopens (recovery) and reads */
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_OK);
    CU_ASSERT_NOT_EQUAL(st->gen, gen);
    done(st);
}

static void test_check_due(void)
{
    struct store *st = open_with_user();
    struct user_rec u;
    atomic_store(&st->last_chk_ms, 0);             /* the routine failchk is due */
    expect_again(st);
    CU_ASSERT_EQUAL(atomic_load(&st->last_chk_ms), 0);   /* never run on a loop thread */
    /* unmarked: runs the check, then reads; after it the loop thread reads too */
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_OK);
    CU_ASSERT_NOT_EQUAL(atomic_load(&st->last_chk_ms), 0);
    store_mark_loop_thread(true);
    CU_ASSERT_EQUAL(store_user_get(st, USER, &u), STORE_OK);
    store_mark_loop_thread(false);
    CU_ASSERT_FALSE(store_take_again());
    done(st);
}

static CU_TestInfo tests[] = {
    { "loop thread: a reopen under way -> AGAIN; unmarked waits", test_reopen_under_way },
    { "loop thread: a lock conflict -> AGAIN; unmarked backs off", test_lock_conflict },
    { "loop thread: recovery needed -> AGAIN; unmarked reopens", test_recovery_needed },
    { "loop thread: health check due -> AGAIN; unmarked checks", test_check_due },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    log_open("test_store_loop", 1);
    CU_SuiteInfo suites[] = { { "store_loop", NULL, NULL, NULL, NULL, tests }, CU_SUITE_INFO_NULL };
    return cu_run_suites(suites);
}
