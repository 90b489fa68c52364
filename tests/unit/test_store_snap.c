/* test_store_snap: snapshot reads of the store's listings (common/store_bdb.c walks in
 * DB_TXN_SNAPSHOT transactions over DB_MULTIVERSION databases). Full listings beside
 * writers that commit as fast as they can succeed every time, without retries by the
 * caller, and each is one consistent snapshot (the writer commits users in order, so a
 * listing is a gapless prefix); a store made by the previous release's open (no
 * DB_MULTIVERSION) opens, lists and takes writes. */
#include <db.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "tutil.h"
#include "log.h"
#include "store.h"
#include "store_rec.h"
#include "util.h"

#define PRELOAD 500               /* a listing spans many pages */
#define LISTINGS 40
#define WRITER_MAX 10000000
#define WRITERS 2

static char base[256];

static struct user_rec mkuser(int i)
{
    struct user_rec u;
    memset(&u, 0, sizeof u);
    snprintf(u.address, sizeof u.address, "u%06d@example.test", i);
    u.enabled = true;
    str_copy(u.pwhash, "$y$j9T$salt$hash", sizeof u.pwhash);
    return u;
}

/* The users a listing saw, in key order: the preloaded ones in sequence, then each
 * writer's own sequence (writer W commits PRELOAD + W, + WRITERS, ...). One snapshot
 * shows a prefix of each. */
struct seen {
    int n;                          /* users listed */
    int next[WRITERS + 1];          /* [0] preload, [1 + W] writer W */
    int gaps;                       /* a user missing before a later one of its sequence */
};

static int seen_cb(const struct user_rec *u, void *ctx)
{
    struct seen *s = ctx;
    int i = (int)strtol(u->address + 1, NULL, 10);
    int q = i < PRELOAD ? 0 : 1 + (i - PRELOAD) % WRITERS;
    int want = s->next[q] != 0 ? s->next[q] : (q == 0 ? 0 : PRELOAD + q - 1);
    if (i != want)
        s->gaps++;
    s->next[q] = i + (q == 0 ? 1 : WRITERS);
    s->n++;
    return 0;
}

/* A writer child: new users FIRST, FIRST + WRITERS, ... committed in order, as fast as
 * it can, until a byte arrives on STOP: each commit holds the write lock of the last
 * leaf page, which every full listing must read. */
static void writer(const char *data, int first, int stop)
{
    struct store *st = NULL;
    char c;
    if (store_open(data, &st) != STORE_OK)
        _exit(2);
    for (int i = PRELOAD + first; i < WRITER_MAX && read(stop, &c, 1) != 1; i += WRITERS) {
        struct user_rec u = mkuser(i);
        if (store_user_put(st, &u, false) != STORE_OK)
            _exit(3);
    }
    store_close(st);
    _exit(0);
}

static void test_listings_beside_writers(void)
{
    char data[300];
    snprintf(data, sizeof data, "%s/busy", base);
    struct store *st = NULL;
    CU_ASSERT_EQUAL_FATAL(store_open(data, &st), STORE_OK);
    for (int i = 0; i < PRELOAD; i++) {
        struct user_rec u = mkuser(i);
        CU_ASSERT_EQUAL_FATAL(store_user_put(st, &u, false), STORE_OK);
    }
    int stop[2];
    CU_ASSERT_FATAL(pipe2(stop, O_NONBLOCK) == 0);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        CU_ASSERT_FATAL(pids[w] >= 0);
        if (pids[w] == 0)
            writer(data, w, stop[0]);
    }
    usleep(200000);                 /* the writers are under way */
    int ok = 0, gaps = 0, first = -1, last = 0, n = 0;
    time_t end = time(NULL) + 20;   /* without snapshots a listing may retry for seconds */
    /* LISTINGS at least, and on until the writers are seen to have committed beside them */
    for (; (n < LISTINGS || last == first) && time(NULL) < end; n++) {
        struct seen s;
        memset(&s, 0, sizeof s);
        if (store_user_list(st, seen_cb, &s) == STORE_OK)
            ok++;
        gaps += s.gaps;
        if (first < 0)
            first = s.n;
        last = s.n;
    }
    CU_ASSERT_EQUAL(write(stop[1], "xxxxxxxx", WRITERS), WRITERS);
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        CU_ASSERT_EQUAL(waitpid(pids[w], &status, 0), pids[w]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    printf("\n    %d of %d listings succeeded, %d..%d users in them\n", ok, n, first, last);
    CU_ASSERT(n >= LISTINGS);
    CU_ASSERT_EQUAL(ok, n);
    CU_ASSERT_EQUAL(gaps, 0);
    CU_ASSERT(last > first);        /* the writers did write during the listings */
    store_close(st);
    (void)close(stop[0]);
    (void)close(stop[1]);
}

/* The previous release's open: the same environment flags, users.db without
 * DB_MULTIVERSION, USERS records written through it. */
static int old_release_store(const char *data, int users)
{
    char home[320];
    snprintf(home, sizeof home, "%s/db", data);
    if (mkdir(data, 0700) != 0 || mkdir(home, 0700) != 0)
        return -1;
    DB_ENV *env = NULL;
    DB *db = NULL;
    int ret = db_env_create(&env, 0);
    if (ret == 0)
        ret = env->set_thread_count(env, 256);
    if (ret == 0)
        ret = env->open(env, home, DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
                        DB_INIT_TXN | DB_REGISTER | DB_RECOVER | DB_THREAD, 0600);
    if (ret == 0)
        ret = db_create(&db, env, 0);
    if (ret == 0)
        ret = db->open(db, NULL, "users.db", NULL, DB_BTREE, DB_CREATE | DB_AUTO_COMMIT | DB_THREAD,
                       0600);
    for (int i = 0; ret == 0 && i < users; i++) {
        struct user_rec u = mkuser(i);
        uint8_t val[REC_MAX];
        size_t vlen = rec_enc_user(&u, val, sizeof val);
        DBT k = { .data = u.address, .size = (u_int32_t)strlen(u.address) };
        DBT d = { .data = val, .size = (u_int32_t)vlen };
        ret = vlen == 0 ? -1 : db->put(db, NULL, &k, &d, DB_AUTO_COMMIT);
    }
    if (db != NULL && db->close(db, 0) != 0)
        ret = -1;
    if (env != NULL && env->close(env, 0) != 0)
        ret = -1;
    return ret == 0 ? 0 : -1;
}

static int count_cb(const struct user_rec *u, void *ctx)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

static void test_old_release_store(void)
{
    char data[300];
    snprintf(data, sizeof data, "%s/old", base);
    CU_ASSERT_EQUAL_FATAL(old_release_store(data, 50), 0);
    struct store *st = NULL;
    CU_ASSERT_EQUAL_FATAL(store_open(data, &st), STORE_OK);
    int n = 0;
    CU_ASSERT_EQUAL(store_user_list(st, count_cb, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 50);
    struct user_rec u = mkuser(50), got;
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    CU_ASSERT_EQUAL(store_user_del(st, "u000007@example.test"), STORE_OK);
    n = 0;
    CU_ASSERT_EQUAL(store_user_list(st, count_cb, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 50);
    CU_ASSERT_EQUAL(store_user_get(st, "u000049@example.test", &got), STORE_OK);
    CU_ASSERT_EQUAL(store_user_get(st, "u000007@example.test", &got), STORE_NOTFOUND);
    store_close(st);
    /* and once more: reopened after the store's own close */
    CU_ASSERT_EQUAL_FATAL(store_open(data, &st), STORE_OK);
    n = 0;
    CU_ASSERT_EQUAL(store_user_list(st, count_cb, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 50);
    store_close(st);
}

static CU_TestInfo tests[] = {
    { "full listings beside writers committing as fast as they can", test_listings_beside_writers },
    { "a store made without DB_MULTIVERSION opens, lists and takes writes", test_old_release_store },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    log_open("test_store_snap", 1);
    if (tu_tmpdir(base, sizeof base, "test_store_snap") != 0)
        return 1;
    CU_SuiteInfo suites[] = { { "store_snap", NULL, NULL, NULL, NULL, tests }, CU_SUITE_INFO_NULL };
    int rc = cu_run_suites(suites);
    (void)tu_rmtree(base);
    return rc;
}
