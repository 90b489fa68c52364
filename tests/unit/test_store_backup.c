/* test_store_backup: store_backup / store_restore (common/store_bdb_backup.c). A hot
 * backup taken while another process commits users one after the other restores to a
 * consistent store: a gapless prefix of the writer's users that holds every user
 * committed before the backup began. Restore refuses a store in use and a directory
 * that is no backup, and moves the old store aside. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "tutil.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define WRITER_MAX 1000000

static char base[256];

static void path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", base, name);
}

static struct user_rec mkuser(int i)
{
    struct user_rec u;
    memset(&u, 0, sizeof u);
    snprintf(u.address, sizeof u.address, "u%05d@example.test", i);
    u.enabled = true;
    str_copy(u.pwhash, "$y$j9T$salt$hash", sizeof u.pwhash);
    return u;
}

static int count_cb(const struct user_rec *u, void *ctx)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

static int count_users(struct store *st)
{
    int n = 0;
    CU_ASSERT_EQUAL(store_user_list(st, count_cb, &n), STORE_OK);
    return n;
}

/* The child: opens its own store and commits users 0, 1, 2, ... in order until a byte
 * arrives on STOP (non-blocking). */
static void writer(const char *data, int stop)
{
    struct store *st = NULL;
    char c;
    if (store_open(data, &st) != STORE_OK)
        _exit(2);
    for (int i = 0; i < WRITER_MAX && read(stop, &c, 1) != 1; i++) {
        struct user_rec u = mkuser(i);
        if (store_user_put(st, &u, false) != STORE_OK)
            _exit(3);
    }
    store_close(st);
    _exit(0);
}

static void test_hot_backup_is_consistent(void)
{
    char data[300], bk[300], fresh[300], err[512], moved[512];
    path(data, sizeof data, "data");
    path(bk, sizeof bk, "bk");
    path(fresh, sizeof fresh, "fresh");
    struct store *st = NULL;
    int stop[2];
    CU_ASSERT_FATAL(pipe2(stop, O_NONBLOCK) == 0);
    CU_ASSERT_EQUAL_FATAL(store_open(data, &st), STORE_OK);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        writer(data, stop[0]);
    int before = 0;
    while ((before = count_users(st)) < 200)       /* the writer is well under way */
        usleep(2000);
    /* the writer goes on committing during the backup */
    CU_ASSERT_EQUAL(store_backup(st, bk, false, err, sizeof err), STORE_OK);
    usleep(20000);
    CU_ASSERT_EQUAL(write(stop[1], "x", 1), 1);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int total = count_users(st);
    store_close(st);
    (void)close(stop[0]);
    (void)close(stop[1]);

    CU_ASSERT_EQUAL_FATAL(store_restore(bk, fresh, moved, sizeof moved, err, sizeof err), STORE_OK);
    CU_ASSERT_STRING_EQUAL(moved, "");              /* nothing was there */
    CU_ASSERT_EQUAL_FATAL(store_open(fresh, &st), STORE_OK);
    int n = count_users(st);
    printf("\n    backup began at %d users, restored %d; %d when the writer stopped\n",
           before, n, total);
    CU_ASSERT(n >= before);
    CU_ASSERT(n < total);                           /* later commits are not in it */
    for (int i = 0; i < n; i++) {                   /* a prefix without gaps */
        struct user_rec want = mkuser(i), got;
        CU_ASSERT_EQUAL(store_user_get(st, want.address, &got), STORE_OK);
    }
    store_close(st);
}

static void test_restore_refusals(void)
{
    char data[300], bk[300], empty[300], err[512], moved[512];
    path(data, sizeof data, "data2");
    path(bk, sizeof bk, "bk2");
    path(empty, sizeof empty, "empty");
    struct store *st = NULL;
    CU_ASSERT_EQUAL_FATAL(store_open(data, &st), STORE_OK);
    struct user_rec u = mkuser(1);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    CU_ASSERT_EQUAL(store_backup(st, bk, false, err, sizeof err), STORE_OK);
    CU_ASSERT_EQUAL(store_user_del(st, u.address), STORE_OK);
    store_close(st);
    /* another process (a daemon) has the store open: restore is refused */
    int go[2], ready[2];
    CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char c = 0;
        struct store *cst = NULL;
        int ok = store_open(data, &cst) == STORE_OK;
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1 || !ok)
            _exit(1);
        store_close(cst);
        _exit(0);
    }
    char c = 0;
    CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
    CU_ASSERT_EQUAL(store_restore(bk, data, moved, sizeof moved, err, sizeof err), STORE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use"));
    CU_ASSERT_EQUAL(write(go[1], &c, 1), 1);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < 2; i++) {
        (void)close(go[i]);
        (void)close(ready[i]);
    }
    /* stopped: the old store goes aside, the backup's user is back */
    CU_ASSERT_EQUAL(store_restore(bk, data, moved, sizeof moved, err, sizeof err), STORE_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(moved, "/db.before-restore-"));
    struct stat sb;
    CU_ASSERT_EQUAL(stat(moved, &sb), 0);
    CU_ASSERT_EQUAL_FATAL(store_open(data, &st), STORE_OK);
    struct user_rec got;
    CU_ASSERT_EQUAL(store_user_get(st, u.address, &got), STORE_OK);
    store_close(st);
    /* a directory without database files is no backup */
    CU_ASSERT_EQUAL(mkdir(empty, 0700), 0);
    CU_ASSERT_EQUAL(store_restore(empty, data, moved, sizeof moved, err, sizeof err), STORE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a backup"));
}

static CU_TestInfo tests[] = {
    { "hot backup under a writer restores consistently", test_hot_backup_is_consistent },
    { "restore refusals and the old store moved aside", test_restore_refusals },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    log_open("test_store_backup", 1);
    if (tu_tmpdir(base, sizeof base, "test_store_backup") != 0)
        return 1;
    CU_SuiteInfo suites[] = { { "store_backup", NULL, NULL, NULL, NULL, tests }, CU_SUITE_INFO_NULL };
    int rc = cu_run_suites(suites);
    (void)tu_rmtree(base);
    return rc;
}
