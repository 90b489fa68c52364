/* test_mailbox_trash: the cheap QUIT of mailbox.c: mailbox_commit moves deleted
 * messages out of cur/ into trash/ (gone from the maildrop before the +OK), and
 * mailbox_trash_purge frees them later; plus the scan's no-open fast path for
 * ",W=" names (sizes from the name, symlinks and non-files still skipped). */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu.h"
#include "mailbox.h"

static char md[512];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int put(const char *sub, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s/%s", md, sub, name);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int count_dir(const char *sub)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", md, sub);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int suite_init(void)
{
    const char *b = getenv("B") ? getenv("B") : "build";
    if (mkdir(b, 0700) != 0 && access(b, W_OK) != 0)
        return -1;
    snprintf(md, sizeof md, "%s/tmp-test_mailbox_trash-XXXXXX", b);
    return mkdtemp(md) ? 0 : -1;
}

static int suite_clean(void)
{
    return nftw(md, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_commit_to_trash(void)
{
    struct mailbox *mb;
    CU_ASSERT_EQUAL_FATAL(mailbox_open(md, &mb), MBOX_OK);       /* creates the Maildir */
    mailbox_close(mb);
    CU_ASSERT_EQUAL(mailbox_trash_purge(md), 0);                   /* empty trash: fine */
    CU_ASSERT_EQUAL_FATAL(put("new", "1700000001.M1P1.h", "one\n"), 0);
    CU_ASSERT_EQUAL_FATAL(put("new", "1700000002.M1P1.h", "two\n"), 0);
    CU_ASSERT_EQUAL_FATAL(put("new", "1700000003.M1P1.h", "three\n"), 0);
    CU_ASSERT_EQUAL_FATAL(mailbox_open(md, &mb), MBOX_OK);
    CU_ASSERT_STRING_EQUAL(mailbox_path(mb), md);
    CU_ASSERT_EQUAL_FATAL(mailbox_count(mb), 3);
    CU_ASSERT_EQUAL(mailbox_delete(mb, 1), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_delete(mb, 3), MBOX_OK);
    CU_ASSERT_EQUAL(count_dir("cur"), 3);                          /* marks only */
    CU_ASSERT_EQUAL(mailbox_commit(mb), 0);
    CU_ASSERT_EQUAL(count_dir("cur"), 1);                          /* gone from the maildrop */
    CU_ASSERT_EQUAL(count_dir("trash"), 2);                        /* space not freed yet */
    mailbox_close(mb);
    CU_ASSERT_EQUAL(mailbox_trash_purge(md), 0);
    CU_ASSERT_EQUAL(count_dir("trash"), 0);
    CU_ASSERT_EQUAL_FATAL(mailbox_open(md, &mb), MBOX_OK);
    CU_ASSERT_EQUAL_FATAL(mailbox_count(mb), 1);
    CU_ASSERT_STRING_EQUAL(mailbox_msg(mb, 1)->uidl, "1700000002.M1P1.h");
    mailbox_close(mb);
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/no-such-maildir", md);
    CU_ASSERT_EQUAL(mailbox_trash_purge(nodir), 0);
}

static void test_wsize_fast_path(void)
{
    struct mailbox *mb;
    char target[700], link[700];
    /* the name says 777 octets: believed without reading the file */
    CU_ASSERT_EQUAL_FATAL(put("cur", "1700000010.M1P1.h,S=3,W=777:2,", "zzz"), 0);
    /* a symlink with a W= name and a directory are not messages */
    snprintf(target, sizeof target, "%s/cur/1700000010.M1P1.h,S=3,W=777:2,", md);
    snprintf(link, sizeof link, "%s/cur/1700000011.M1P1.h,S=3,W=5:2,", md);
    CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
    snprintf(link, sizeof link, "%s/cur/1700000012.M1P1.h,S=3,W=5:2,", md);
    CU_ASSERT_EQUAL_FATAL(mkdir(link, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(mailbox_open(md, &mb), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_count(mb), 2);                         /* 1700000002 + the W=777 */
    const struct mbox_msg *m = mailbox_msg(mb, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->size, 777);
    CU_ASSERT_EQUAL(m->sec, 1700000010);
    /* without W= the size is read from the file: "two\n" is 5 on the wire */
    CU_ASSERT_EQUAL(mailbox_msg(mb, 1)->size, 5);
    /* deleting everything: cur/ keeps only what is not a message */
    CU_ASSERT_EQUAL(mailbox_delete(mb, 1), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_delete(mb, 2), MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_commit(mb), 0);
    mailbox_close(mb);
    CU_ASSERT_EQUAL(count_dir("cur"), 2);
    CU_ASSERT_EQUAL(mailbox_trash_purge(md), 0);
    CU_ASSERT_EQUAL(count_dir("trash"), 0);
}

static CU_TestInfo tests[] = {
    { "commit moves to trash, purge frees", test_commit_to_trash },
    { "W= names: no open, non-files skipped", test_wsize_fast_path },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "mailbox trash", suite_init, suite_clean, NULL, NULL, tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
