/* test_queue: the durable outbound queue: enqueue/read/update round trips, envelope
 * parsing, crash leftovers ignored and cleaned, removal. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cu.h"
#include "queue.h"
#include "queue_file.h"

static char datadir[256];
static char qdir[QUEUE_DIR_MAX];

static void fresh_dir(void)
{
    char cmd[600];
    snprintf(datadir, sizeof datadir, "/tmp/test_queue.%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s", datadir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    CU_ASSERT_EQUAL(mkdir(datadir, 0700), 0);
    CU_ASSERT_EQUAL(queue_dir(datadir, qdir, sizeof qdir), 0);
}

static void cleanup_dir(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", datadir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* A spool file holding "junk" + msg, so that offset handling is exercised. */
static int spool(const char *msg)
{
    char path[300];
    snprintf(path, sizeof path, "%s/spool", datadir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "JUNK", 4), 4);
    CU_ASSERT_EQUAL(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
    return fd;
}

static char *slurp_fd(int fd, size_t *len)
{
    static char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CU_ASSERT_FATAL(n >= 0);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static const char MSG[] = "Received: from x\nSubject: hi\n\n.leading dot\nbody\n";

static void test_enqueue_roundtrip(void)
{
    fresh_dir();
    struct config cfg = { .data_dir = datadir };
    char *rcpts[] = { "a@example.net", "b@example.org" };
    int fd = spool(MSG);
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "ABC123", "s@example.test", rcpts, 2, fd, 4,
                                  strlen(MSG)), 0);
    close(fd);

    char **ids;
    size_t n;
    CU_ASSERT_EQUAL(queue_list_ids(qdir, &ids, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(ids[0], "ABC123");

    struct qentry e;
    CU_ASSERT_EQUAL_FATAL(queue_read(qdir, ids[0], &e), 0);
    CU_ASSERT_STRING_EQUAL(e.sender, "s@example.test");
    CU_ASSERT_STRING_EQUAL(e.msgid, "ABC123");
    CU_ASSERT_EQUAL(e.size, strlen(MSG));
    CU_ASSERT_EQUAL_FATAL(e.nrcpt, 2);
    CU_ASSERT_STRING_EQUAL(e.rcpt[0].addr, "a@example.net");
    CU_ASSERT_STRING_EQUAL(e.rcpt[1].addr, "b@example.org");
    CU_ASSERT_EQUAL(e.rcpt[0].state, QR_PENDING);
    CU_ASSERT_EQUAL(e.rcpt[0].next_try, 0);
    CU_ASSERT(e.created > 0);

    int mfd = queue_open_msg(qdir, ids[0]);
    CU_ASSERT_FATAL(mfd >= 0);
    size_t len;
    char *body = slurp_fd(mfd, &len);
    close(mfd);
    CU_ASSERT_EQUAL(len, strlen(MSG));
    CU_ASSERT_STRING_EQUAL(body, MSG);

    /* update: one delivered, one deferred with an error containing a tab and a newline */
    e.rcpt[0].state = QR_DONE;
    e.rcpt[1].attempts = 3;
    e.rcpt[1].next_try = 1700000000;
    qrcpt_set_error(&e.rcpt[1], "4.4.1", "mx.example.org", "connect\tfailed\nagain");
    CU_ASSERT_EQUAL(queue_update(qdir, &e), 0);
    qentry_free(&e);

    struct qentry f;
    CU_ASSERT_EQUAL_FATAL(queue_read(qdir, "ABC123", &f), 0);
    CU_ASSERT_EQUAL(f.rcpt[0].state, QR_DONE);
    CU_ASSERT_EQUAL(f.rcpt[1].state, QR_PENDING);
    CU_ASSERT_EQUAL(f.rcpt[1].attempts, 3);
    CU_ASSERT_EQUAL(f.rcpt[1].next_try, 1700000000);
    CU_ASSERT_STRING_EQUAL(f.rcpt[1].status, "4.4.1");
    CU_ASSERT_STRING_EQUAL(f.rcpt[1].remote, "mx.example.org");
    CU_ASSERT_STRING_EQUAL(f.rcpt[1].diag, "connect failed again");
    qentry_free(&f);

    CU_ASSERT_EQUAL(queue_remove(qdir, "ABC123"), 0);
    queue_free_ids(ids, n);
    CU_ASSERT_EQUAL(queue_list_ids(qdir, &ids, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(queue_open_msg(qdir, "ABC123"), -1);
    queue_free_ids(ids, n);
    cleanup_dir();
}

static void test_null_sender_and_same_id(void)
{
    fresh_dir();
    struct config cfg = { .data_dir = datadir };
    char *rcpts[] = { "x@example.net" };
    int fd = spool(MSG);
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "SAME", "", rcpts, 1, fd, 4, strlen(MSG)), 0);
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "SAME", "", rcpts, 1, fd, 4, strlen(MSG)), 0);
    /* an id with a slash is not used as a file name */
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "../evil", "", rcpts, 1, fd, 4, strlen(MSG)), 0);
    /* no recipients, or a recipient with a line break: refused */
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "NONE", "", rcpts, 0, fd, 4, strlen(MSG)), -1);
    char *bad[] = { "x@example.net\nrcpt\tdone" };
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "BAD", "", bad, 1, fd, 4, strlen(MSG)), -1);
    /* asking for more bytes than the spool holds fails */
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "SHORT", "", rcpts, 1, fd, 4, strlen(MSG) + 10), -1);
    close(fd);

    char **ids;
    size_t n;
    CU_ASSERT_EQUAL(queue_list_ids(qdir, &ids, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    int same = 0;
    for (size_t i = 0; i < n; i++) {
        struct qentry e;
        CU_ASSERT_EQUAL_FATAL(queue_read(qdir, ids[i], &e), 0);
        CU_ASSERT_STRING_EQUAL(e.sender, "");
        CU_ASSERT(strchr(ids[i], '/') == NULL);
        same += strcmp(e.msgid, "SAME") == 0;
        qentry_free(&e);
    }
    CU_ASSERT_EQUAL(same, 2);
    queue_free_ids(ids, n);
    /* nothing was left behind in tmp/ or as an orphan message */
    CU_ASSERT_EQUAL(queue_cleanup(qdir, 0), 0);
    cleanup_dir();
}

static void write_raw(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

static void test_crash_leftovers(void)
{
    fresh_dir();
    struct config cfg = { .data_dir = datadir };
    char *rcpts[] = { "x@example.net" };
    int fd = spool(MSG);
    CU_ASSERT_EQUAL(queue_enqueue(&cfg, "GOOD", "s@example.test", rcpts, 1, fd, 4,
                                  strlen(MSG)), 0);
    close(fd);
    char p[QUEUE_DIR_MAX + 64];
    /* kill -9 while writing: a half-written tmp file, and a message whose envelope never
     * got renamed into env/ */
    snprintf(p, sizeof p, "%s/tmp/HALF.msg", qdir);
    write_raw(p, "Received: from");
    snprintf(p, sizeof p, "%s/tmp/ORPHAN.env.1.1", qdir);
    write_raw(p, "mailserver-queue 1\nid ORPH");
    snprintf(p, sizeof p, "%s/msg/ORPHAN", qdir);
    write_raw(p, MSG);

    char **ids;
    size_t n;
    CU_ASSERT_EQUAL(queue_list_ids(qdir, &ids, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(ids[0], "GOOD");
    queue_free_ids(ids, n);

    CU_ASSERT_EQUAL(queue_cleanup(qdir, 3600), 0);   /* too young to be called dead */
    CU_ASSERT_EQUAL(queue_cleanup(qdir, 0), 3);
    snprintf(p, sizeof p, "%s/tmp/HALF.msg", qdir);
    CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/msg/ORPHAN", qdir);
    CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/msg/GOOD", qdir);
    CU_ASSERT_EQUAL(access(p, F_OK), 0);
    struct qentry e;
    CU_ASSERT_EQUAL(queue_read(qdir, "GOOD", &e), 0);
    qentry_free(&e);
    cleanup_dir();
}

static void test_parse_rejects(void)
{
    static const char *const bad[] = {
        "",
        "mailserver-queue 2\nid A\ncreated 1\nsender \nrcpt\tpending\t0\t0\t\t\ta@b\t\n",
        "mailserver-queue 1\nid A\ncreated 1\nsender \n",                      /* no rcpt */
        "mailserver-queue 1\nid A\nsender \nrcpt\tpending\t0\t0\t\t\ta@b\t\n",  /* no created */
        "mailserver-queue 1\nid A\ncreated 1\nsender \nrcpt\tlost\t0\t0\t\t\ta@b\t\n",
        "mailserver-queue 1\nid A\ncreated 1\nsender \nrcpt\tpending\tx\t0\t\t\ta@b\t\n",
        "mailserver-queue 1\nid A\ncreated 1\nsender \nrcpt\tpending\t0\t0\t\t\ta@b\n",
        "mailserver-queue 1\nid ../x\ncreated 1\nsender \nrcpt\tpending\t0\t0\t\t\ta@b\t\n",
        "mailserver-queue 1\nid A\ncreated 1\nsender \nbogus 1\nrcpt\tpending\t0\t0\t\t\ta@b\t\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct qentry e;
        memset(&e, 0, sizeof e);
        CU_ASSERT_EQUAL(qentry_parse(bad[i], strlen(bad[i]), &e), -1);
        CU_ASSERT_EQUAL(e.nrcpt, 0);
    }
    const char *good = "mailserver-queue 1\nid A\ncreated 5\nsender \nwarned 1\n"
                       "rcpt\tbounced\t2\t9\t5.1.1\tmx\ta@b\tno such user\n";
    struct qentry e;
    memset(&e, 0, sizeof e);
    CU_ASSERT_EQUAL_FATAL(qentry_parse(good, strlen(good), &e), 0);
    CU_ASSERT_EQUAL(e.warned, 1);
    CU_ASSERT_EQUAL(e.rcpt[0].state, QR_BOUNCED);
    CU_ASSERT_STRING_EQUAL(e.rcpt[0].diag, "no such user");
    size_t len;
    char *text = qentry_format(&e, &len);
    CU_ASSERT_FATAL(text != NULL);
    struct qentry f;
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL(qentry_parse(text, len, &f), 0);
    CU_ASSERT_STRING_EQUAL(f.rcpt[0].status, "5.1.1");
    CU_ASSERT_EQUAL(f.created, 5);
    free(text);
    qentry_free(&e);
    qentry_free(&f);
}

static CU_TestInfo tests[] = {
    { "enqueue, read, update, remove", test_enqueue_roundtrip },
    { "null sender, same id twice, bad input", test_null_sender_and_same_id },
    { "crash leftovers ignored and cleaned", test_crash_leftovers },
    { "malformed envelopes refused", test_parse_rejects },
    CU_TEST_INFO_NULL,
};

CU_MAIN("queue", tests)
