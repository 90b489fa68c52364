/* test_store_panic: how the store logs a Berkeley DB panic (common/store_bdb_env.c).
 * Another process's recovery (a registrant died; the next opener recovered and made the
 * regions anew) is one plain warning line and none of Berkeley DB's PANIC lines; any
 * other panic (here one set in the environment itself) is still logged as it comes.
 * Either way the store works again afterwards. An environment whose regions were made
 * with replication ([cluster], DB_INIT_REP) opens without it: the regions are made
 * again, the data kept. The region files are written whole (no holes that a full disk
 * would fault later). */
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
#include "store_bdb_env.h"
#include "util.h"

#define PLAIN "another process left the store uncleanly; recovered, reopening the store (nothing lost)"

static char base[256];
static struct store *cur;
static char out[16384];

static void put_user(struct store *st, const char *addr)
{
    struct user_rec u;
    memset(&u, 0, sizeof u);
    str_copy(u.address, addr, sizeof u.address);
    u.enabled = true;
    str_copy(u.pwhash, "$y$j9T$salt$hash", sizeof u.pwhash);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
}

static void get_bob(void)
{
    struct user_rec u;
    CU_ASSERT_EQUAL(store_user_get(cur, "bob@example.test", &u), STORE_OK);
}

/* A child that opens the store and dies with it open (SIGKILL), then one whose open
 * recovers the environment (DB_REGISTER) and closes it. */
static void kill_and_recover(const char *data)
{
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct store *st = NULL;
        if (store_open(data, &st) == STORE_OK)
            (void)kill(getpid(), SIGKILL);
        _exit(2);
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct store *st = NULL;
        if (store_open(data, &st) != STORE_OK)
            _exit(2);
        store_close(st);
        _exit(0);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void open_cur(void)
{
    char data[300];
    snprintf(data, sizeof data, "%s/was-cluster", base);
    if (store_open(data, &cur) != STORE_OK)
        cur = NULL;
}

static void test_others_recovery_is_one_plain_line(void)
{
    char data[300];
    snprintf(data, sizeof data, "%s/others", base);
    CU_ASSERT_EQUAL_FATAL(store_open(data, &cur), STORE_OK);
    put_user(cur, "bob@example.test");
    kill_and_recover(data);
    CU_ASSERT_EQUAL(tu_capture_stderr(base, get_bob, out, sizeof out), 0);
    printf("\n%s", out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, PLAIN));
    CU_ASSERT_PTR_NULL(strstr(strstr(out, PLAIN) ? strstr(out, PLAIN) + 1 : out, PLAIN));  /* once */
    CU_ASSERT_PTR_NULL(strstr(out, "PANIC"));
    CU_ASSERT_PTR_NULL(strstr(out, "BDB"));
    put_user(cur, "carol@example.test");          /* and writes again */
    store_close(cur);
}

static void test_other_panic_is_loud(void)
{
    char data[300];
    snprintf(data, sizeof data, "%s/own", base);
    CU_ASSERT_EQUAL_FATAL(store_open(data, &cur), STORE_OK);
    put_user(cur, "bob@example.test");
    /* a panic of this environment that no other opener's recovery caused */
    CU_ASSERT_EQUAL(cur->env->set_flags(cur->env, DB_PANIC_ENVIRONMENT, 1), 0);
    CU_ASSERT_EQUAL(tu_capture_stderr(base, get_bob, out, sizeof out), 0);
    printf("\n%s", out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "PANIC"));
    CU_ASSERT_PTR_NULL(strstr(out, PLAIN));
    put_user(cur, "carol@example.test");
    store_close(cur);
}

static void test_regions_made_with_replication(void)
{
    char data[300], home[320];
    snprintf(data, sizeof data, "%s/was-cluster", base);
    snprintf(home, sizeof home, "%s/db", data);
    CU_ASSERT_EQUAL_FATAL(store_open(data, &cur), STORE_OK);
    put_user(cur, "bob@example.test");
    store_close(cur);
    DB_ENV *env = NULL;                /* the regions made again with replication */
    CU_ASSERT_EQUAL_FATAL(db_env_create(&env, 0), 0);
    CU_ASSERT_EQUAL(env->remove(env, home, 0), 0);
    CU_ASSERT_EQUAL_FATAL(db_env_create(&env, 0), 0);
    CU_ASSERT_EQUAL(env->set_thread_count(env, 256), 0);
    CU_ASSERT_EQUAL(env->open(env, home, DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
                              DB_INIT_TXN | DB_INIT_REP | DB_THREAD, 0600), 0);
    CU_ASSERT_EQUAL(env->close(env, 0), 0);
    CU_ASSERT_EQUAL(tu_capture_stderr(base, open_cur, out, sizeof out), 0);
    printf("\n%s", out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "was made with other settings"));
    get_bob();
    put_user(cur, "carol@example.test");
    store_close(cur);
}

static void test_regions_have_no_holes(void)
{
    char data[300], path[340];
    snprintf(data, sizeof data, "%s/whole", base);
    CU_ASSERT_EQUAL_FATAL(store_open(data, &cur), STORE_OK);
    for (int i = 1; i <= 3; i++) {
        struct stat sb;
        snprintf(path, sizeof path, "%s/db/__db.%03d", data, i);
        CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
        CU_ASSERT(sb.st_size > 0);
        CU_ASSERT((off_t)sb.st_blocks * 512 >= sb.st_size - 4096);   /* allocated */
    }
    store_close(cur);
}

static CU_TestInfo tests[] = {
    { "another process's recovery: one plain line", test_others_recovery_is_one_plain_line },
    { "any other panic: Berkeley DB's lines logged", test_other_panic_is_loud },
    { "regions made with replication, opened without", test_regions_made_with_replication },
    { "region files written whole", test_regions_have_no_holes },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    log_open("test_store_panic", 1);
    if (tu_tmpdir(base, sizeof base, "test_store_panic") != 0)
        return 1;
    CU_SuiteInfo suites[] = { { "store_panic", NULL, NULL, NULL, NULL, tests }, CU_SUITE_INFO_NULL };
    int rc = cu_run_suites(suites);
    (void)tu_rmtree(base);
    return rc;
}
