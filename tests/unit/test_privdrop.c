/* test_privdrop: common/privdrop.c as root (the suite runs as root; as another user
 * these checks print a note and test nothing). The data_dir tree: what root creates is
 * handed to run_as_user, what it did not create (a root-owned directory, the target of
 * a symlink) is never handed over; the drop itself: uid, no_new_privs, and a bounding
 * set holding CAP_NET_BIND_SERVICE only (checked in a forked child); the certificate
 * keeper's drop (root without capabilities). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "privdrop.h"
#include "tutil.h"

#define USER "mail"

static char base[512];
static char data[600];
static uid_t mail_uid;

static bool as_root(void)
{
    if (geteuid() == 0)
        return true;
    printf("(not root: privdrop checks skipped)\n");
    return false;
}

/* A fresh scratch directory with DATA = BASE/data (not created). */
static void fresh(void)
{
    const struct passwd *pw = getpwnam(USER);
    CU_ASSERT_FATAL(pw != NULL);
    mail_uid = pw->pw_uid;
    CU_ASSERT_FATAL(tu_tmpdir(base, sizeof base, "privdrop") == 0);
    snprintf(data, sizeof data, "%s/data", base);
}

static void done(void)
{
    CU_ASSERT_EQUAL(tu_rmtree(base), 0);
}

static uid_t owner_of(const char *rel)
{
    char p[700];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", base, rel);
    if (lstat(p, &st) != 0)
        return (uid_t)-1;
    return st.st_uid;
}

static mode_t mode_of(const char *rel)
{
    char p[700];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return lstat(p, &st) == 0 ? (st.st_mode & 07777) : 0;
}

static void mkdir_rel(const char *rel, mode_t mode)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    CU_ASSERT_FATAL(mkdir(p, mode) == 0);
    CU_ASSERT_FATAL(chmod(p, mode) == 0);
}

static void test_fresh_tree_handed_over(void)
{
    char err[512] = "";
    if (!as_root())
        return;
    fresh();
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), 0);
    static const char *const dirs[] = { "data", "data/mail", "data/queue" };
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(owner_of(dirs[i]), mail_uid);
        CU_ASSERT_EQUAL(mode_of(dirs[i]), 0700);
    }
    /* a second run (the tree exists and is the user's) is fine */
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), 0);
    done();
}

/* A directory under data_dir that root did not create is not given away. */
static void test_foreign_subdir_not_handed_over(void)
{
    char err[512] = "";
    if (!as_root())
        return;
    fresh();
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), 0);
    char q[700];
    snprintf(q, sizeof q, "%s/queue", data);
    CU_ASSERT_FATAL(rmdir(q) == 0);
    mkdir_rel("data/queue", 0755);
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/queue belongs to uid 0"));
    CU_ASSERT_EQUAL(owner_of("data/queue"), 0);
    CU_ASSERT_EQUAL(mode_of("data/queue"), 0755);
    done();
}

/* data_dir/mail as a symlink to a root-owned directory: the target keeps its owner
 * and mode. */
static void test_symlink_target_untouched(void)
{
    char err[512] = "", link[700], target[700];
    if (!as_root())
        return;
    fresh();
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), 0);
    mkdir_rel("target", 0755);
    snprintf(link, sizeof link, "%s/mail", data);
    snprintf(target, sizeof target, "%s/target", base);
    CU_ASSERT_FATAL(rmdir(link) == 0);
    CU_ASSERT_FATAL(symlink(target, link) == 0);
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic link"));
    CU_ASSERT_EQUAL(owner_of("target"), 0);
    CU_ASSERT_EQUAL(mode_of("target"), 0755);
    done();
}

/* An admin's empty `mkdir data_dir` is taken over; a root-owned data_dir with
 * something in it is not. */
static void test_root_owned_data_dir(void)
{
    char err[512] = "", file[700];
    if (!as_root())
        return;
    fresh();
    mkdir_rel("data", 0755);
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), 0);
    CU_ASSERT_EQUAL(owner_of("data"), mail_uid);
    CU_ASSERT_EQUAL(mode_of("data"), 0700);
    done();

    fresh();
    mkdir_rel("data", 0755);
    snprintf(file, sizeof file, "%s/secret", data);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(close(fd), 0);
    CU_ASSERT_EQUAL(privdrop_dirs(data, USER, err, sizeof err), -1);
    CU_ASSERT_EQUAL(owner_of("data"), 0);
    CU_ASSERT_EQUAL(owner_of("data/secret"), 0);
    done();
}

/* In the child after the drop: 0 when every property holds, else the first one
 * that does not (as the exit code). */
static int check_dropped(void)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct cd[2];
    char err[512];

    if (privdrop_to_user(USER, err, sizeof err) != 0)
        return 10;
    if (getuid() != mail_uid || geteuid() != mail_uid)
        return 11;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
        return 12;
    for (unsigned long cap = 0; cap < 64; cap++) {
        int r = prctl(PR_CAPBSET_READ, cap, 0L, 0L, 0L);
        if (r < 0)
            break;
        if (r != (cap == CAP_NET_BIND_SERVICE))
            return 13;
    }
    if (syscall(SYS_capget, &hdr, cd) != 0)
        return 14;
    if (cd[0].effective != 1u << CAP_NET_BIND_SERVICE || cd[0].permitted != cd[0].effective ||
        cd[1].effective != 0 || cd[1].permitted != 0)
        return 15;
    if (setuid(0) == 0)
        return 16;
    return 0;
}

static void test_drop_bounding_set_and_nnp(void)
{
    if (!as_root())
        return;
    const struct passwd *pw = getpwnam(USER);
    CU_ASSERT_FATAL(pw != NULL);
    mail_uid = pw->pw_uid;
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(check_dropped());
    int st = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st));
    CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

/* In the child: the certificate keeper's drop. uid 0 stays, the bounding set is empty,
 * no capability but CAP_DAC_READ_SEARCH (if it was held), no_new_privs; a root-owned 0600 file stays
 * readable (as its owner) and binding a low port or chown no longer works. */
static int check_keeper(const char *file)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct cd[2];
    char err[512];

    if (syscall(SYS_capget, &hdr, cd) != 0)
        return 19;
    /* kept only when held: a container's root may not have it */
    unsigned want = cd[0].permitted & (1u << CAP_DAC_READ_SEARCH);
    if (privdrop_keeper(err, sizeof err) != 0)
        return 20;
    if (getuid() != 0 || geteuid() != 0)
        return 21;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
        return 22;
    for (unsigned long cap = 0; cap < 64; cap++) {
        int r = prctl(PR_CAPBSET_READ, cap, 0L, 0L, 0L);
        if (r < 0)
            break;
        if (r != 0)
            return 23;
    }
    if (syscall(SYS_capget, &hdr, cd) != 0)
        return 24;
    if (cd[0].effective != want || cd[0].permitted != cd[0].effective ||
        cd[0].inheritable != 0 || cd[1].effective != 0 || cd[1].permitted != 0)
        return 25;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 26;
    (void)close(fd);
    if (chown(file, 1, 1) == 0)
        return 27;
    return 0;
}

static void test_keeper_drop(void)
{
    char file[700];

    if (!as_root())
        return;
    fresh();
    snprintf(file, sizeof file, "%s/key.pem", base);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(close(fd) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(check_keeper(file));
    int st = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st));
    CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
    done();
}

static CU_TestInfo tests[] = {
    { "fresh tree handed over", test_fresh_tree_handed_over },
    { "foreign subdir not handed over", test_foreign_subdir_not_handed_over },
    { "symlink target untouched", test_symlink_target_untouched },
    { "root-owned data_dir", test_root_owned_data_dir },
    { "drop: bounding set and no_new_privs", test_drop_bounding_set_and_nnp },
    { "the certificate keeper: uid 0, no capability but DAC_READ_SEARCH",
      test_keeper_drop },
    CU_TEST_INFO_NULL,
};

CU_MAIN("privdrop", tests)
