/* test_mailbox: the mail store's reading side (mailstore.h over Maildirs) for POP3:
 * scan order, wire sizes, UIDLs, new -> cur, delete commit and its crash safety, the
 * lock, the cheap QUIT (commit moves deletions into trash/, purged after the +OK) and
 * the scan's no-open fast path for ",W=" names. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "mailstore.h"
#include "tutil.h"
#include "maildir.h"

#define ADDR "user@example.test"

static char data[128];   /* the data dir */
static char tmpl[256];   /* ADDR's Maildir in it */

static void mk_root(void)
{
    CU_ASSERT_FATAL(tu_tmpdir(data, sizeof data, "test_mailbox") == 0);
    CU_ASSERT_FATAL(maildir_path(data, ADDR, tmpl, sizeof tmpl) == 0);
    CU_ASSERT_FATAL(maildir_make(tmpl) == 0);
}

static void rm_root(void)
{
    CU_ASSERT(tu_rmtree(data) == 0);
}

static void put(const char *sub, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s/%s", tmpl, sub, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(text, 1, strlen(text), f) == strlen(text));
    CU_ASSERT(fclose(f) == 0);
}

static int exists(const char *sub, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s/%s", tmpl, sub, name);
    return access(p, F_OK) == 0;
}

static int count_dir(const char *sub)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpl, sub);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_scan_order_sizes(void)
{
    mk_root();
    put("cur", "1700000002.000001_1.h:2,S", "b\n");
    put("new", "1700000001.500000_1.h", "a: 1\n\nbody\n");     /* 11 bytes, 3 LF */
    put("new", "1700000001.000009_2.h", "x");
    put("cur", "1700000000.M5P1.h,S=3,W=777:2,", "zzz");
    put("new", ".hidden", "ignored");
    struct mailbox *mb;
    CU_ASSERT_FATAL(mailbox_open(data, ADDR, &mb) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_count(mb), 4);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 1)->uidl, "1700000000.M5P1.h,S=3,W=777");
    CU_ASSERT_EQUAL(mailbox_msg(mb, 1)->size, 777);          /* W= wins */
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 2)->uidl, "1700000001.000009_2.h");
    CU_ASSERT_EQUAL(mailbox_msg(mb, 2)->size, 1);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 3)->uidl, "1700000001.500000_1.h");
    CU_ASSERT_EQUAL(mailbox_msg(mb, 3)->size, 14);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 4)->uidl, "1700000002.000001_1.h");
    CU_ASSERT_PTR_NULL(mailbox_msg(mb, 5));
    CU_ASSERT_PTR_NULL(mailbox_msg(mb, 0));
    size_t n;
    uint64_t oct;
    mailbox_stat(mb, &n, &oct);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(oct, 777 + 1 + 14 + 3);
    /* new/ moved to cur/ with ":2," */
    CU_ASSERT_EQUAL(count_dir("new"), 0);
    CU_ASSERT(exists("new", ".hidden"));     /* dot files are not messages */
    CU_ASSERT(exists("cur", "1700000001.500000_1.h:2,"));
    CU_ASSERT(exists("cur", "1700000001.000009_2.h:2,"));
    /* read a message through its fd */
    int fd = mailbox_open_msg(mb, 3);
    CU_ASSERT_FATAL(fd >= 0);
    char buf[32];
    CU_ASSERT_EQUAL(read(fd, buf, sizeof buf), 11);
    close(fd);
    mailbox_close(mb);
    rm_root();
}

static void test_uidl_stable_and_delete(void)
{
    mk_root();
    put("new", "1700000001.1_1.h", "one\n");
    put("new", "1700000002.1_1.h", "two\n");
    put("new", "1700000003.1_1.h", "three\n");
    struct mailbox *mb;
    CU_ASSERT_FATAL(mailbox_open(data, ADDR, &mb) == MBOX_OK);
    char u2[MBOX_UIDL_MAX + 1];
    snprintf(u2, sizeof u2, "%s", mailbox_msg(mb, 2)->uidl);
    CU_ASSERT(mailbox_delete(mb, 2) == MBOX_OK);
    CU_ASSERT(mailbox_delete(mb, 2) == MBOX_ERROR);     /* already deleted */
    CU_ASSERT(mailbox_delete(mb, 4) == MBOX_ERROR);
    CU_ASSERT(mailbox_delete(mb, 0) == MBOX_ERROR);
    size_t n;
    uint64_t oct;
    mailbox_stat(mb, &n, &oct);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(oct, 5 + 7);
    mailbox_undelete_all(mb);
    mailbox_stat(mb, &n, &oct);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(mailbox_delete(mb, 1) == MBOX_OK);
    mailbox_close(mb);                  /* like a dropped connection: no commit */
    CU_ASSERT_EQUAL(count_dir("cur"), 3);

    CU_ASSERT_FATAL(mailbox_open(data, ADDR, &mb) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_count(mb), 3);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 2)->uidl, u2);    /* stable across sessions */
    CU_ASSERT(mailbox_delete(mb, 2) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_commit(mb), 0);
    mailbox_close(mb);
    CU_ASSERT_EQUAL(count_dir("cur"), 2);

    CU_ASSERT_FATAL(mailbox_open(data, ADDR, &mb) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_count(mb), 2);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 1)->uidl, "1700000001.1_1.h");
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 2)->uidl, "1700000003.1_1.h");
    mailbox_close(mb);
    rm_root();
}

static void test_lock(void)
{
    mk_root();
    struct mailbox *a, *b;
    CU_ASSERT_FATAL(mailbox_open(data, ADDR, &a) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_open(data, ADDR, &b), MBOX_LOCKED);
    CU_ASSERT_PTR_NULL(b);
    /* another process is excluded too */
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct mailbox *c;
        _exit(mailbox_open(data, ADDR, &c) == MBOX_LOCKED ? 0 : 1);
    }
    int st;
    CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    mailbox_close(a);
    CU_ASSERT_FATAL(mailbox_open(data, ADDR, &b) == MBOX_OK);
    mailbox_close(b);
    rm_root();
}

static void test_create_missing(void)
{
    mk_root();
    char p[256];
    CU_ASSERT_FATAL(maildir_path(data, "other@sub.example.test", p, sizeof p) == 0);
    struct mailbox *mb;
    CU_ASSERT_FATAL(mailbox_open(data, "other@sub.example.test", &mb) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_count(mb), 0);
    mailbox_close(mb);
    struct stat st;
    CU_ASSERT(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
    rm_root();
}

static void test_commit_to_trash(void)
{
    struct mailbox *mb;
    mk_root();
    CU_ASSERT_EQUAL(mailbox_trash_purge(tmpl), 0);                 /* no trash yet: fine */
    put("new", "1700000001.M1P1.h", "one\n");
    put("new", "1700000002.M1P1.h", "two\n");
    put("new", "1700000003.M1P1.h", "three\n");
    CU_ASSERT_EQUAL_FATAL(mailbox_open(data, ADDR, &mb), MBOX_OK);
    CU_ASSERT_STRING_EQUAL(mailbox_path(mb), tmpl);
    CU_ASSERT_EQUAL_FATAL(mailbox_count(mb), 3);
    CU_ASSERT_EQUAL(mailbox_delete(mb, 1), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_delete(mb, 3), MBOX_OK);
    CU_ASSERT_EQUAL(count_dir("cur"), 3);                          /* marks only */
    CU_ASSERT_EQUAL(mailbox_commit(mb), 0);
    CU_ASSERT_EQUAL(count_dir("cur"), 1);                          /* gone from the maildrop */
    CU_ASSERT_EQUAL(count_dir("trash"), 2);                        /* space not freed yet */
    mailbox_close(mb);
    CU_ASSERT_EQUAL(mailbox_trash_purge(tmpl), 0);
    CU_ASSERT_EQUAL(count_dir("trash"), 0);
    CU_ASSERT_EQUAL_FATAL(mailbox_open(data, ADDR, &mb), MBOX_OK);
    CU_ASSERT_EQUAL_FATAL(mailbox_count(mb), 1);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 1)->uidl, "1700000002.M1P1.h");
    mailbox_close(mb);
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/no-such-maildir", tmpl);
    CU_ASSERT_EQUAL(mailbox_trash_purge(nodir), 0);
    rm_root();
}

static void test_wsize_fast_path(void)
{
    struct mailbox *mb;
    char target[300], link[300];
    mk_root();
    put("cur", "1700000002.M1P1.h:2,", "two\n");
    /* the name says 777 octets: believed without reading the file */
    put("cur", "1700000010.M1P1.h,S=3,W=777:2,", "zzz");
    /* a symlink with a W= name and a directory are not messages */
    snprintf(target, sizeof target, "%s/cur/1700000010.M1P1.h,S=3,W=777:2,", tmpl);
    snprintf(link, sizeof link, "%s/cur/1700000011.M1P1.h,S=3,W=5:2,", tmpl);
    CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
    snprintf(link, sizeof link, "%s/cur/1700000012.M1P1.h,S=3,W=5:2,", tmpl);
    CU_ASSERT_EQUAL_FATAL(mkdir(link, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(mailbox_open(data, ADDR, &mb), MBOX_OK);
    CU_ASSERT_EQUAL_FATAL(mailbox_count(mb), 2);                   /* 1700000002 + the W=777 */
    const struct mbox_msg *m = mailbox_msg(mb, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->size, 777);
    CU_ASSERT_STRING_EQUAL(m->uidl, "1700000010.M1P1.h,S=3,W=777");   /* sorted last */
    /* without W= the size is read from the file: "two\n" is 5 on the wire */
    CU_ASSERT_EQUAL(mailbox_msg(mb, 1)->size, 5);
    /* deleting everything: cur/ keeps only what is not a message */
    CU_ASSERT_EQUAL(mailbox_delete(mb, 1), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_delete(mb, 2), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_commit(mb), 0);
    mailbox_close(mb);
    CU_ASSERT_EQUAL(count_dir("cur"), 2);
    CU_ASSERT_EQUAL(mailbox_trash_purge(tmpl), 0);
    CU_ASSERT_EQUAL(count_dir("trash"), 0);
    rm_root();
}

static CU_TestInfo tests[] = {
    { "scan order and sizes", test_scan_order_sizes },
    { "uidl stable, delete only at commit", test_uidl_stable_and_delete },
    { "lock exclusion", test_lock },
    { "missing maildir is created", test_create_missing },
    { "commit moves to trash, purge frees", test_commit_to_trash },
    { "W= names: no open, non-files skipped", test_wsize_fast_path },
    CU_TEST_INFO_NULL,
};

CU_MAIN("mailbox", tests)
