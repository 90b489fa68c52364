/* test_deliver: spool + durable delivery through the mail store (Maildirs) + queue
 * hand-off (smtpd/deliver.c over common/mailstore_maildir.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cu.h"
#include "tutil.h"
#include "deliver.h"
#include "mailstore.h"
#include "dirsync.h"
#include <pthread.h>

static char data_dir[256];
static struct config cfg;
static const char body[] = "Received: from x (unknown [1.2.3.4])\n\tby mx; date\n"
                           "Subject: hi\n\nline one\n.dot line\n";

static int count_dir(const char *sub, char *first, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", data_dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n++ == 0 && first)
            snprintf(first, len, "%s/%s", path, de->d_name);
    }
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int calls, fail_errno;
static char got_sender[128], got_rcpt[128], got_text[4096];

static int fake_enqueue(const struct config *c, const char *id, const char *sender,
                        char *const *rcpts, size_t n, int fd, off_t off, size_t len)
{
    (void)c;
    (void)id;
    calls++;
    snprintf(got_sender, sizeof got_sender, "%s", sender);
    snprintf(got_rcpt, sizeof got_rcpt, "%s/%zu", n ? rcpts[0] : "", n);
    ssize_t r = pread(fd, got_text, len < sizeof got_text - 1 ? len : sizeof got_text - 1, off);
    got_text[r > 0 ? r : 0] = '\0';
    if (fail_errno)
        return errno = fail_errno, -1;
    return 0;
}

static int setup(void)
{
    if (tu_tmpdir(data_dir, sizeof data_dir, "test_deliver") != 0)
        return -1;
    cfg.data_dir = data_dir;
    cfg.hostname = "mx.example.test";
    return 0;
}

static int teardown(void)
{
    return tu_rmtree(data_dir);
}

static void test_single_local(void)
{
    char *rc[] = { "bob@example.test" };
    char name[256], path[1024], first[1024];
    size_t len = 0;
    struct spool *sp = spool_open(&cfg, "ID1", "alice@remote.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/bob/tmp", NULL, 0), 1);  /* spooled in tmp/ */
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    CU_ASSERT_EQUAL(spool_msg_size(sp), sizeof body - 1);
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, NULL, 0, fake_enqueue, name, sizeof name), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/bob/tmp", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(count_dir("mail/example.test/bob/new", first, sizeof first), 1);
    snprintf(path, sizeof path, "%s/mail/example.test/bob/new/%s", data_dir, name);
    CU_ASSERT_STRING_EQUAL(first, path);
    char *text = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *rp = "Return-Path: <alice@remote.test>\n";
    CU_ASSERT_EQUAL(strncmp(text, rp, strlen(rp)), 0);
    CU_ASSERT_STRING_EQUAL(text + strlen(rp), body);
    CU_ASSERT_PTR_NULL(strchr(text, '\r'));
    char want[64];
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CU_ASSERT_EQUAL(lines, 7);
    snprintf(want, sizeof want, ",S=%zu,W=%zu", len, len + lines);
    CU_ASSERT_PTR_NOT_NULL(strstr(name, want));
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(calls, 0);
}

/* The end-of-data checks' headers go on top, below Return-Path; sizes count them. */
static void test_prepend(void)
{
    char *rc[] = { "bob@example.test" };
    char name[256], path[1024];
    size_t len = 0;
    static const char hdr[] = "Authentication-Results: mail.example.test; spf=pass\n";
    struct spool *sp = spool_open(&cfg, "IDP", "alice@remote.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    CU_ASSERT_EQUAL(spool_prepend(sp, hdr, sizeof hdr - 1), 0);
    /* a field removed again: the text is as before, sizes too */
    CU_ASSERT_EQUAL(spool_remove(sp, 0, sizeof hdr - 1), 0);
    CU_ASSERT_EQUAL(spool_msg_size(sp), sizeof body - 1);
    char head[16];
    CU_ASSERT_EQUAL(spool_read_head(sp, head, sizeof head), (long)sizeof head);
    CU_ASSERT_EQUAL(memcmp(head, body, sizeof head), 0);
    CU_ASSERT_EQUAL(spool_prepend(sp, hdr, sizeof hdr - 1), 0);
    CU_ASSERT_EQUAL(spool_msg_size(sp), sizeof body - 1 + sizeof hdr - 1);
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, NULL, 0, fake_enqueue, name, sizeof name), 0);
    snprintf(path, sizeof path, "%s/mail/example.test/bob/new/%s", data_dir, name);
    char *text = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *rp = "Return-Path: <alice@remote.test>\n";
    CU_ASSERT_EQUAL(strncmp(text, rp, strlen(rp)), 0);
    CU_ASSERT_EQUAL(strncmp(text + strlen(rp), hdr, strlen(hdr)), 0);
    CU_ASSERT_STRING_EQUAL(text + strlen(rp) + strlen(hdr), body);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    char want[64];
    snprintf(want, sizeof want, ",S=%zu,W=%zu", len, len + lines);
    CU_ASSERT_PTR_NOT_NULL(strstr(name, want));
}

static void test_hard_links(void)
{
    char *rc[] = { "carol@example.test", "dave@example.test", "carol@example.test" };
    char a[512], b[512];
    struct spool *sp = spool_open(&cfg, "ID2", "", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 3, NULL, 0, fake_enqueue, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(count_dir("mail/example.test/carol/new", a, sizeof a), 1);
    CU_ASSERT_EQUAL_FATAL(count_dir("mail/example.test/dave/new", b, sizeof b), 1);
    struct stat sa, sb;
    CU_ASSERT_EQUAL(stat(a, &sa), 0);
    CU_ASSERT_EQUAL(stat(b, &sb), 0);
    CU_ASSERT_EQUAL(sa.st_ino, sb.st_ino);
    CU_ASSERT_EQUAL(sa.st_nlink, 2);
    size_t len = 0;
    char *text = slurp(a, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(strncmp(text, "Return-Path: <>\n", 16), 0);
}

static void test_unique_names(void)
{
    char *rc[] = { "erin@example.test" };
    for (int i = 0; i < 50; i++) {
        struct spool *sp = spool_open(&cfg, "IDU", "x@y.test", rc[0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
        CU_ASSERT_EQUAL(spool_write(sp, "a\n", 2), 0);
        CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, NULL, 0, fake_enqueue, NULL, 0), 0);
    }
    CU_ASSERT_EQUAL(count_dir("mail/example.test/erin/new", NULL, 0), 50);
}

static void test_write_failure_keeps_nothing(void)
{
    char *rc[] = { "frank@example.test", "gina@example.test" };
    struct rlimit old, lim;
    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 100000;
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct spool *sp = spool_open(&cfg, "ID4", "x@y.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    static char big[300000];
    memset(big, 'x', sizeof big);
    int r = spool_write(sp, big, sizeof big);
    CU_ASSERT_EQUAL(r, -1);
    CU_ASSERT_EQUAL(spool_error(sp), EFBIG);
    CU_ASSERT_EQUAL(spool_write(sp, "a\n", 2), -1);   /* sticky */
    errno = 0;
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 2, NULL, 0, fake_enqueue, NULL, 0), -1);
    CU_ASSERT_EQUAL(errno, EFBIG);
    CU_ASSERT_EQUAL(setrlimit(RLIMIT_FSIZE, &old), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/frank/new", NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/frank/tmp", NULL, 0), 0);
    CU_ASSERT(count_dir("mail/example.test/gina/new", NULL, 0) <= 0);
}

static void test_second_maildir_fails_rolls_back(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/mail/blocked.test", data_dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);   /* a file where a directory must be */
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    char *rc[] = { "hank@example.test", "ivy@blocked.test" };
    struct spool *sp = spool_open(&cfg, "ID5", "x@y.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 2, NULL, 0, fake_enqueue, NULL, 0), -1);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/hank/new", NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/hank/tmp", NULL, 0), 0);
}

static void test_queue_enospc_rolls_back(void)
{
    char *rc[] = { "jack@example.test" };
    char *rl[] = { "far@remote.test" };
    struct spool *sp = spool_open(&cfg, "ID6", "jack@example.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    calls = 0;
    fail_errno = ENOSPC;
    errno = 0;
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, rl, 1, fake_enqueue, NULL, 0), -1);
    CU_ASSERT_EQUAL(errno, ENOSPC);
    fail_errno = 0;
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/jack/new", NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/jack/tmp", NULL, 0), 0);
}

static void test_relay_only(void)
{
    char *rl[] = { "far@remote.test", "near@remote.test" };
    struct spool *sp = spool_open(&cfg, "ID7", "me@example.test", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(count_dir("spool", NULL, 0), 1);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    calls = 0;
    CU_ASSERT_EQUAL(deliver_commit(sp, NULL, 0, rl, 2, fake_enqueue, NULL, 0), 0);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_STRING_EQUAL(got_sender, "me@example.test");
    CU_ASSERT_STRING_EQUAL(got_rcpt, "far@remote.test/2");
    CU_ASSERT_STRING_EQUAL(got_text, body);   /* no Return-Path for the queue */
    CU_ASSERT_EQUAL(count_dir("spool", NULL, 0), 0);
}

static void make_dirs(const char *user, const char *subs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/mail", data_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/mail/example.test", data_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/mail/example.test/%s", data_dir, user);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    for (const char *p = subs; *p; p += 4) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s/%.3s", path, p);
        CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
    }
}

/* One local recipient: the spool file itself is renamed into new/ (same inode, one link). */
static void test_single_rename(void)
{
    char *rc[] = { "mia@example.test" };
    char tmpf[512], newf[512];
    struct stat st0, st1;
    struct spool *sp = spool_open(&cfg, "ID8", "x@y.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL_FATAL(count_dir("mail/example.test/mia/tmp", tmpf, sizeof tmpf), 1);
    CU_ASSERT_EQUAL_FATAL(stat(tmpf, &st0), 0);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    calls = 0;
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, NULL, 0, fake_enqueue, NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/mia/tmp", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(count_dir("mail/example.test/mia/new", newf, sizeof newf), 1);
    CU_ASSERT_EQUAL_FATAL(stat(newf, &st1), 0);
    CU_ASSERT_EQUAL(st0.st_ino, st1.st_ino);
    CU_ASSERT_EQUAL(st1.st_nlink, 1);
}

/* An existing Maildir is used as it is (no mkdir -p per message: cur/ is not made). */
static void test_existing_maildir_not_remade(void)
{
    char *rc[] = { "noah@example.test" };
    char cur[512];
    make_dirs("noah", "tmp new ");
    struct spool *sp = spool_open(&cfg, "ID9", "x@y.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, NULL, 0, fake_enqueue, NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/noah/new", NULL, 0), 1);
    snprintf(cur, sizeof cur, "%s/mail/example.test/noah/cur", data_dir);
    CU_ASSERT_EQUAL(access(cur, F_OK), -1);
}

/* A Maildir missing new/ (or tmp/): made when the rename/open finds it missing. */
static void test_missing_subdirs_made(void)
{
    char *rc[] = { "olga@example.test", "pete@example.test" };
    make_dirs("olga", "tmp ");
    make_dirs("pete", "cur ");
    struct spool *sp = spool_open(&cfg, "ID10", "x@y.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 2, NULL, 0, fake_enqueue, NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/olga/new", NULL, 0), 1);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/olga/tmp", NULL, 0), 0);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/pete/new", NULL, 0), 1);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/pete/tmp", NULL, 0), 0);
}

/* Local + relayed: the queue still reads the text after the rename into new/. */
static void test_rename_then_queue(void)
{
    char *rc[] = { "quin@example.test" };
    char *rl[] = { "far@remote.test" };
    struct spool *sp = spool_open(&cfg, "ID11", "quin@example.test", rc[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    CU_ASSERT_EQUAL(spool_write(sp, body, sizeof body - 1), 0);
    calls = 0;
    got_text[0] = '\0';
    CU_ASSERT_EQUAL(deliver_commit(sp, rc, 1, rl, 1, fake_enqueue, NULL, 0), 0);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_STRING_EQUAL(got_text, body);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/quin/new", NULL, 0), 1);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/quin/tmp", NULL, 0), 0);
}

static void test_clean_spool(void)
{
    char dead[512], live[512];
    snprintf(dead, sizeof dead, "%s/spool/1.M1P%dQ1.h", data_dir, 0x3ffffff0);
    snprintf(live, sizeof live, "%s/spool/1.M1P%ldQ1.h", data_dir, (long)getppid());
    int fd = open(dead, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    fd = open(live, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    mstore_clean_spool(data_dir);
    CU_ASSERT_EQUAL(access(dead, F_OK), -1);
    CU_ASSERT_EQUAL(access(live, F_OK), 0);
    unlink(live);
}

static void *deliver_thread(void *arg)
{
    char *rc[] = { "kate@example.test", "leo@example.test" };
    long ok = 0;
    (void)arg;
    for (int i = 0; i < 25; i++) {
        struct spool *sp = spool_open(&cfg, "IDT", "t@y.test", rc[0]);
        if (sp && spool_write(sp, body, sizeof body - 1) == 0 &&
            deliver_commit(sp, rc, 2, NULL, 0, fake_enqueue, NULL, 0) == 0)
            ok++;
    }
    return (void *)ok;
}

static void test_concurrent_deliveries(void)
{
    pthread_t th[6];
    long total = 0;
    unsigned long before = dirsync_count();
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, deliver_thread, NULL), 0);
    for (int i = 0; i < 6; i++) {
        void *r;
        CU_ASSERT_EQUAL(pthread_join(th[i], &r), 0);
        total += (long)r;
    }
    CU_ASSERT_EQUAL(total, 150);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/kate/new", NULL, 0), 150);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/leo/new", NULL, 0), 150);
    CU_ASSERT_EQUAL(count_dir("mail/example.test/kate/tmp", NULL, 0), 0);
    unsigned long n = dirsync_count() - before;
    CU_ASSERT(n >= 1 && n <= 300);   /* at most one per link, fewer when they overlap */
}

/* Many callers on one directory: each gets the result of an fsync that started after
 * its call (0 here, ENOENT for a missing one, also when another caller's fsync covered
 * it), and overlapping calls share fsyncs. */
struct ds_arg {
    const char *path;
    int want_errno;
    long ok;
};

static void *dirsync_thread(void *p)
{
    struct ds_arg *a = p;
    for (int i = 0; i < 200; i++) {
        errno = 0;
        int r = dirsync(a->path);
        if ((a->want_errno == 0 && r == 0) || (r == -1 && errno == a->want_errno))
            a->ok++;
    }
    return NULL;
}

static void dirsync_many(const char *path, int want_errno)
{
    pthread_t th[8];
    struct ds_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (struct ds_arg){ .path = path, .want_errno = want_errno };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, dirsync_thread, &a[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(pthread_join(th[i], NULL), 0);
        CU_ASSERT_EQUAL(a[i].ok, 200);
    }
}

static void test_dirsync_shared(void)
{
    char path[512];
    unsigned long before = dirsync_count();
    dirsync_many(data_dir, 0);
    unsigned long n = dirsync_count() - before;
    CU_ASSERT(n >= 1 && n <= 1600);
    snprintf(path, sizeof path, "%s/no/such/dir", data_dir);
    dirsync_many(path, ENOENT);
}

static void test_dirsync_error(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir", data_dir);
    errno = 0;
    CU_ASSERT_EQUAL(dirsync(path), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(dirsync(data_dir), 0);
}

static CU_TestInfo tests[] = {
    { "one local recipient: complete file in new/", test_single_local },
    { "end-of-data headers prepended below Return-Path, removed", test_prepend },
    { "several recipients: one file, hard links", test_hard_links },
    { "names are unique", test_unique_names },
    { "write failure keeps nothing", test_write_failure_keeps_nothing },
    { "failing second Maildir rolls back the first", test_second_maildir_fails_rolls_back },
    { "queue ENOSPC rolls back local delivery", test_queue_enospc_rolls_back },
    { "relay only: spool, queue without Return-Path", test_relay_only },
    { "one local recipient: spool renamed into new/", test_single_rename },
    { "an existing Maildir is not re-made", test_existing_maildir_not_remade },
    { "missing new/ or tmp/ made on demand", test_missing_subdirs_made },
    { "rename into new/, then the queue reads the text", test_rename_then_queue },
    { "stale spool files of dead processes removed", test_clean_spool },
    { "concurrent deliveries (grouped directory fsyncs)", test_concurrent_deliveries },
    { "dirsync reports errors", test_dirsync_error },
    { "dirsync shared by many callers", test_dirsync_shared },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    CU_SuiteInfo suites[] = { { "deliver", setup, teardown, NULL, NULL, tests },
                              CU_SUITE_INFO_NULL };
    return cu_run_suites(suites);
}
