/* test_mailstore: the mail store seam (mailstore.h) end to end without smtpd: a message
 * delivered through mstore_tx to several mailboxes is one file, listed by mailbox_open
 * with the UIDL of its name and a LIST size equal to the RETR octets (msgtext); undo
 * and end leave nothing; a header inserted above the text; and fsutil's durable file
 * (dfile, copy_range, pread_full). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu.h"
#include "fsutil.h"
#include "mailstore.h"
#include "maildir.h"
#include "msgtext.h"
#include "tutil.h"

static char data[128];

static int setup(void)
{
    return tu_tmpdir(data, sizeof data, "test_mailstore");
}

static int teardown(void)
{
    return tu_rmtree(data);
}

/* Write text into tx's file and deliver it to rcpts; 0 or -1. */
static int deliver(struct mstore_tx *tx, const char *text, char *const *rcpts, size_t n)
{
    bool cr = false;
    size_t len = strlen(text);
    uint64_t wire = msgtext_wire_size(text, len, &cr);
    if (write_all(mstore_tx_fd(tx), text, len) < 0)
        return -1;
    return mstore_tx_deliver(tx, rcpts, n, len, wire);
}

static void test_deliver_then_read(void)
{
    static const char text[] = "Subject: s\n\n.dot\nbody\r\n";
    char *rcpts[] = { "ann@example.test", "bob@example.test", "ANN@example.test" };
    struct mstore_tx *tx = mstore_tx_begin(data, "mx.example.test", "T1", rcpts[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_STRING_EQUAL(mstore_tx_name(tx), "");
    CU_ASSERT_EQUAL_FATAL(deliver(tx, text, rcpts, 3), 0);
    char name[512];
    snprintf(name, sizeof name, "%s", mstore_tx_name(tx));
    mstore_tx_end(tx);
    /* one file, hard-linked: the same inode in both new/ */
    char pa[2048], pb[2048], dir[512];
    struct stat sa, sb;
    CU_ASSERT_FATAL(maildir_path(data, rcpts[0], dir, sizeof dir) == 0);
    snprintf(pa, sizeof pa, "%s/new/%s", dir, name);
    CU_ASSERT_FATAL(maildir_path(data, rcpts[1], dir, sizeof dir) == 0);
    snprintf(pb, sizeof pb, "%s/new/%s", dir, name);
    CU_ASSERT_FATAL(stat(pa, &sa) == 0 && stat(pb, &sb) == 0);
    CU_ASSERT_EQUAL(sa.st_ino, sb.st_ino);
    CU_ASSERT_EQUAL(sa.st_nlink, 2);            /* the repeated ANN@ is skipped */
    /* read back: UIDL is the name, LIST size is the RETR octet count */
    struct mailbox *mb;
    CU_ASSERT_EQUAL_FATAL(mailbox_open(data, rcpts[1], &mb), MBOX_OK);
    CU_ASSERT_EQUAL_FATAL(mailbox_count(mb), 1);
    const struct mbox_msg *m = mailbox_msg(mb, 1);
    CU_ASSERT_STRING_EQUAL(m->uidl, name);
    int fd = mailbox_open_msg(mb, 1);
    CU_ASSERT_FATAL(fd >= 0);
    char in[256], out[600];
    ssize_t r = pread_full(fd, in, sizeof in, 0);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(r, (ssize_t)strlen(text));
    struct msgtext_enc e;
    msgtext_enc_init(&e, -1);
    size_t used, w = msgtext_enc_run(&e, in, (size_t)r, &used, out, sizeof out);
    CU_ASSERT_EQUAL(m->size + 1, w);            /* + the one stuffed dot */
    CU_ASSERT_EQUAL(mailbox_open_msg(mb, 2), -1);
    mailbox_close(mb);
}

static void test_undo_and_end(void)
{
    char *rcpts[] = { "cy@example.test", "di@example.test" };
    struct mstore_tx *tx = mstore_tx_begin(data, "mx", "T2", rcpts[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_EQUAL_FATAL(deliver(tx, "a\n", rcpts, 2), 0);
    mstore_tx_undo(tx);                         /* e.g. the queue hand-off failed */
    mstore_tx_end(tx);
    for (size_t i = 0; i < 2; i++) {
        struct mailbox *mb;
        CU_ASSERT_EQUAL_FATAL(mailbox_open(data, rcpts[i], &mb), MBOX_OK);
        CU_ASSERT_EQUAL(mailbox_count(mb), 0);
        mailbox_close(mb);
    }
    /* ended without delivery: the temporary file goes (spool when no local rcpt) */
    tx = mstore_tx_begin(data, "mx", "T3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_EQUAL(deliver(tx, "b\n", NULL, 0), 0);
    mstore_tx_end(tx);
    char spool[256];
    snprintf(spool, sizeof spool, "%s/spool", data);
    CU_ASSERT_EQUAL(rmdir(spool), 0);           /* empty */
    CU_ASSERT_PTR_NULL(mstore_tx_begin(data, "mx", "T4", "no-at-sign"));
    struct mailbox *mb = NULL;
    CU_ASSERT_EQUAL(mailbox_open(data, "../x@example.test/", &mb), MBOX_ERROR);
    CU_ASSERT_PTR_NULL(mb);
}

static void test_dfile(void)
{
    char tmp[256], dst[256], got[16];
    snprintf(tmp, sizeof tmp, "%s/f.tmp", data);
    snprintf(dst, sizeof dst, "%s/f", data);
    CU_ASSERT_EQUAL(dfile_write(tmp, dst, data, "hello", 5), 0);
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
    int fd = open(dst, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pread_full(fd, got, sizeof got, 0), 5);
    CU_ASSERT_EQUAL(memcmp(got, "hello", 5), 0);
    /* copy_range: exact range, EIO past the end */
    struct dfile f;
    CU_ASSERT_EQUAL_FATAL(dfile_open(&f, tmp), 0);
    struct dfile g;
    CU_ASSERT_EQUAL(dfile_open(&g, tmp), -1);   /* O_EXCL */
    CU_ASSERT_EQUAL(errno, EEXIST);
    CU_ASSERT_EQUAL(copy_range(f.fd, fd, 1, 3), 0);
    CU_ASSERT_EQUAL(copy_range(f.fd, fd, 4, 2), -1);
    CU_ASSERT_EQUAL(errno, EIO);
    dfile_abort(&f);
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
    CU_ASSERT_EQUAL_FATAL(dfile_open(&f, tmp), 0);
    CU_ASSERT_EQUAL(copy_range(f.fd, fd, 1, 3), 0);
    CU_ASSERT_EQUAL(dfile_commit(&f, dst, NULL), 0);
    close(fd);
    fd = open(dst, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pread_full(fd, got, sizeof got, 0), 3);
    CU_ASSERT_EQUAL(memcmp(got, "ell", 3), 0);
    uint64_t wire;
    CU_ASSERT_EQUAL(msgtext_fd_wire_size(fd, 3, &wire), 0);
    CU_ASSERT_EQUAL(wire, 3);
    CU_ASSERT_EQUAL(msgtext_fd_wire_size(fd, 4, &wire), -1);
    close(fd);
    /* a failed rename removes the temporary file */
    CU_ASSERT_EQUAL_FATAL(dfile_open(&f, tmp), 0);
    snprintf(dst, sizeof dst, "%s/no/such/dir/f", data);
    CU_ASSERT_EQUAL(dfile_commit(&f, dst, NULL), -1);
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
}

/* mstore_tx_insert (a DKIM signature above the headers): the text after the point
 * moves down intact, across the 64 KiB pieces it is moved in, and writes go on at the end. */
static void test_insert(void)
{
    static char text[200000], got[sizeof text + 64];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7 + i / 65536) % 26);
    struct mstore_tx *tx = mstore_tx_begin(data, "mx", "T5", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    int fd = mstore_tx_fd(tx);
    CU_ASSERT_EQUAL(write_all(fd, text, sizeof text - 1), 0);
    CU_ASSERT_EQUAL(mstore_tx_insert(tx, 17, "DKIM: x\n", 8), 0);
    CU_ASSERT_EQUAL(write_all(fd, "!", 1), 0);           /* the offset is at the end */
    CU_ASSERT_EQUAL(pread_full(fd, got, sizeof got, 0), (ssize_t)(sizeof text + 8));
    CU_ASSERT_EQUAL(memcmp(got, text, 17), 0);
    CU_ASSERT_EQUAL(memcmp(got + 17, "DKIM: x\n", 8), 0);
    CU_ASSERT_EQUAL(memcmp(got + 25, text + 17, sizeof text - 18), 0);
    CU_ASSERT_EQUAL(got[sizeof text + 7], '!');
    CU_ASSERT_EQUAL(mstore_tx_insert(tx, sizeof text + 100, "x", 1), -1);   /* past the end */
    CU_ASSERT_EQUAL(errno, EINVAL);
    mstore_tx_end(tx);
}

/* mstore_tx_remove (a forged header field): the text after it moves up intact across
 * the 64 KiB pieces, the file is shorter, writes go on at the end. */
static void test_remove(void)
{
    static char text[200000], got[sizeof text + 64];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7 + i / 65536) % 26);
    struct mstore_tx *tx = mstore_tx_begin(data, "mx", "T6", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    int fd = mstore_tx_fd(tx);
    CU_ASSERT_EQUAL(write_all(fd, text, sizeof text), 0);
    CU_ASSERT_EQUAL(mstore_tx_remove(tx, 17, 8), 0);
    CU_ASSERT_EQUAL(write_all(fd, "!", 1), 0);           /* the offset is at the end */
    CU_ASSERT_EQUAL(pread_full(fd, got, sizeof got, 0), (ssize_t)(sizeof text - 8 + 1));
    CU_ASSERT_EQUAL(memcmp(got, text, 17), 0);
    CU_ASSERT_EQUAL(memcmp(got + 17, text + 25, sizeof text - 25), 0);
    CU_ASSERT_EQUAL(got[sizeof text - 8], '!');
    CU_ASSERT_EQUAL(mstore_tx_remove(tx, sizeof text - 8, 2), -1);   /* past the end */
    CU_ASSERT_EQUAL(errno, EINVAL);
    mstore_tx_end(tx);
}

static CU_TestInfo tests[] = {
    { "remove a header field", test_remove },
    { "deliver to N mailboxes, then read it back", test_deliver_then_read },
    { "undo and end leave nothing", test_undo_and_end },
    { "durable file, copy_range, pread_full", test_dfile },
    { "insert a header above the text", test_insert },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "mailstore", setup, teardown, NULL, NULL, tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
