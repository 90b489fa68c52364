/* test_store_writer: the node's local write channel (store_writer.c): the framing, which
 * requests may be redone, the writer's figures; the channel end to end on a single-node
 * store (a write applied, the figures, a malformed frame dropped, a writer that dies
 * before answering, a stopped writer); and that a single node runs none of it. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_req.h"
#include "cu.h"
#include "store.h"
#include "store_rec.h"
#include "store_writer.h"
#include "tutil.h"
#include "util.h"

static void test_framing(void)
{
    uint8_t buf[SW_FRAME_MAX];
    struct creq q, back;
    memset(&q, 0, sizeof q);
    q.op = CREQ_ALIAS_PUT;
    q.flag = true;
    q.s1len = 16;
    memcpy(q.s1, "al@example.test", 16);
    q.s2len = 3;
    memcpy(q.s2, "bob", 3);
    size_t n = sw_frame_req(&q, buf, sizeof buf);
    CU_ASSERT_FATAL(n > SW_HDR);
    CU_ASSERT_EQUAL(sw_frame_len(buf), n - SW_HDR);
    CU_ASSERT_EQUAL(buf[0], 0);                           /* big-endian length */
    CU_ASSERT_EQUAL(buf[3], (uint8_t)(n - SW_HDR));
    CU_ASSERT_EQUAL(creq_decode(buf + SW_HDR, n - SW_HDR, &back), 0);
    CU_ASSERT_TRUE(back.op == CREQ_ALIAS_PUT && back.flag && back.s2len == 3);
    CU_ASSERT_EQUAL(sw_frame_req(&q, buf, n - 1), 0);     /* does not fit */
    CU_ASSERT_EQUAL(sw_frame_req(&q, buf, SW_HDR), 0);

    struct crep p = { .code = STORE_EXISTS, .outcome = 3, .flag = true, .dlen = 2 }, pb;
    n = sw_frame_rep(&p, buf, sizeof buf);
    CU_ASSERT_FATAL(n > SW_HDR);
    CU_ASSERT_EQUAL(sw_frame_len(buf), n - SW_HDR);
    CU_ASSERT_EQUAL(crep_decode(buf + SW_HDR, n - SW_HDR, &pb), 0);
    CU_ASSERT_TRUE(pb.code == STORE_EXISTS && pb.outcome == 3 && pb.flag && pb.dlen == 2);

    static const uint8_t zero[SW_HDR] = { 0, 0, 0, 0 }, huge[SW_HDR] = { 0xff, 0, 0, 1 };
    uint8_t over[SW_HDR] = { 0, 0, (uint8_t)((CREQ_WIRE_MAX + 1) >> 8),
                             (uint8_t)((CREQ_WIRE_MAX + 1) & 0xff) };
    uint8_t max[SW_HDR] = { 0, 0, (uint8_t)(CREQ_WIRE_MAX >> 8), (uint8_t)(CREQ_WIRE_MAX & 0xff) };
    CU_ASSERT_EQUAL(sw_frame_len(zero), 0);
    CU_ASSERT_EQUAL(sw_frame_len(huge), 0);
    CU_ASSERT_EQUAL(sw_frame_len(over), 0);
    CU_ASSERT_EQUAL(sw_frame_len(max), CREQ_WIRE_MAX);
}

static void test_idempotent(void)
{
    struct creq q;
    memset(&q, 0, sizeof q);
    static const struct { uint8_t op; bool flag, again; } t[] = {
        { CREQ_USER_PUT, true, true }, { CREQ_USER_PUT, false, false },
        { CREQ_ALIAS_PUT, true, true }, { CREQ_ALIAS_PUT, false, false },
        { CREQ_USER_DEL, false, false }, { CREQ_ALIAS_DEL, false, false },
        { CREQ_POPAUTH_PUT, false, true }, { CREQ_POPAUTH_FLUSH, false, true },
        { CREQ_POPAUTH_PURGE, false, true }, { CREQ_AUTHFAIL, false, false },
        { CREQ_AUTHFAIL_CLEAR, false, true }, { CREQ_AUTHFAIL_PURGE, false, true },
        { CREQ_GREYLIST_CHECK, false, false }, { CREQ_GREYLIST_FLUSH, false, true },
        { CREQ_GREYLIST_PURGE, false, true },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        q.op = t[i].op;
        q.flag = t[i].flag;
        CU_ASSERT_EQUAL(sw_idempotent(&q), t[i].again);
    }
}

static void test_info_and_path(void)
{
    uint8_t buf[64];
    struct sw_info a = { 4242, 1234567890123ULL, 7 }, b;
    size_t n = sw_info_encode(&a, buf, sizeof buf);
    CU_ASSERT_EQUAL(n, 16);
    CU_ASSERT_EQUAL(sw_info_decode(buf, n, &b), 0);
    CU_ASSERT_TRUE(b.pid == 4242 && b.served == 1234567890123ULL && b.conns == 7);
    CU_ASSERT_EQUAL(sw_info_decode(buf, n - 1, &b), -1);
    CU_ASSERT_EQUAL(sw_info_encode(&a, buf, 10), 0);

    char path[256], longdir[200];
    CU_ASSERT_TRUE(sw_path("/var/lib/mailserver", path, sizeof path));
    CU_ASSERT_STRING_EQUAL(path, "/var/lib/mailserver/run/store-writer.sock");
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    CU_ASSERT_FALSE(sw_path(longdir, path, sizeof path));  /* over a socket address */
}

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* A single node: no channel, no thread, writes commit here. */
static void test_single_node_none(void)
{
    char dir[256], path[300];
    struct store *st = NULL;
    struct stat sb;
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "writer-single"), 0);
    int before = count_tasks();
    CU_ASSERT_EQUAL_FATAL(store_open(dir, &st), STORE_OK);
    CU_ASSERT_EQUAL(store_alias_put(st, "a@example.test", "b@example.test", true), STORE_OK);
    CU_ASSERT_EQUAL(count_tasks(), before);
    CU_ASSERT_FALSE(store_writer_serving());
    CU_ASSERT_TRUE(sw_path(dir, path, sizeof path));
    CU_ASSERT_NOT_EQUAL(stat(path, &sb), 0);
    store_close(st);
    tu_rmtree(dir);
}

static int raw_connect(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    str_copy(a.sun_path, path, sizeof a.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void alias_req(struct creq *q, const char *alias, const char *target, bool replace)
{
    memset(q, 0, sizeof *q);
    q->op = CREQ_ALIAS_PUT;
    q->flag = replace;
    q->s1len = strlen(alias);
    memcpy(q->s1, alias, q->s1len);
    q->s2len = strlen(target);
    memcpy(q->s2, target, q->s2len);
}

/* The channel on a single-node store (cluster_apply works on any store). */
static void test_channel(void)
{
    char dir[256], path[300], target[STORE_ADDR_MAX];
    struct store *st = NULL;
    struct creq q;
    struct crep p;
    struct sw_info info;
    struct stat sb;
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "writer-chan"), 0);
    CU_ASSERT_EQUAL_FATAL(store_open(dir, &st), STORE_OK);
    CU_ASSERT_TRUE_FATAL(sw_path(dir, path, sizeof path));
    alias_req(&q, "al@example.test", "bob@example.test", false);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_UNREACHED);   /* none yet */
    CU_ASSERT_EQUAL_FATAL(store_writer_start(st, path), 0);
    CU_ASSERT_TRUE(store_writer_serving());
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_OK);
    CU_ASSERT_EQUAL(p.code, STORE_OK);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_OK);  /* the kept connection */
    CU_ASSERT_EQUAL(p.code, STORE_EXISTS);
    CU_ASSERT_EQUAL(store_alias_get(st, "al@example.test", target, sizeof target), STORE_OK);
    CU_ASSERT_STRING_EQUAL(target, "bob@example.test");
    CU_ASSERT_EQUAL(store_writer_query(path, &info), 0);
    CU_ASSERT_EQUAL(info.pid, getpid());
    CU_ASSERT_EQUAL(info.served, 2);
    CU_ASSERT_EQUAL(info.conns, 2);                        /* ours and the query's */

    /* a malformed frame: the writer drops the connection, applies nothing */
    int fd = raw_connect(path);
    CU_ASSERT_FATAL(fd >= 0);
    static const uint8_t bad[] = { 0, 0, 0, 3, 9, 9, 9 };
    CU_ASSERT_EQUAL(write(fd, bad, sizeof bad), (ssize_t)sizeof bad);
    uint8_t c;
    CU_ASSERT_EQUAL(read(fd, &c, 1), 0);
    close(fd);
    CU_ASSERT_EQUAL(store_writer_query(path, &info), 0);
    CU_ASSERT_EQUAL(info.served, 2);

    /* a fork's child (smtpd's queue runner) forgets the parent's writer: closing its
     * copies leaves the parent serving, its kept connection too */
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        store_writer_forget();
        _exit(store_writer_serving() ? 1 : 0);
    }
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_TRUE(store_writer_serving());
    alias_req(&q, "al3@example.test", "bob@example.test", true);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_OK);
    CU_ASSERT_EQUAL(p.code, STORE_OK);

    /* stopped: the socket goes, a kept connection finds nobody, nothing was applied */
    store_writer_stop();
    CU_ASSERT_FALSE(store_writer_serving());
    CU_ASSERT_NOT_EQUAL(stat(path, &sb), 0);
    alias_req(&q, "al2@example.test", "bob@example.test", true);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_UNREACHED);
    CU_ASSERT_EQUAL(store_alias_get(st, "al2@example.test", target, sizeof target), STORE_NOTFOUND);
    store_close(st);
    tu_rmtree(dir);
}

/* A writer process that dies after reading a request and before answering: the
 * outcome is unknown (the client must not take it for "not applied"). */
static void test_writer_dies(void)
{
    char dir[256], path[300];
    struct creq q;
    struct crep p;
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "writer-dies"), 0);
    CU_ASSERT_TRUE_FATAL(sw_path(dir, path, sizeof path));
    char run[300];
    snprintf(run, sizeof run, "%s/run", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(run, 0700), 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    str_copy(a.sun_path, path, sizeof a.sun_path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(lfd >= 0);
    CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    CU_ASSERT_EQUAL_FATAL(listen(lfd, 4), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        uint8_t buf[SW_FRAME_MAX];
        int fd = accept(lfd, NULL, NULL);
        ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        _exit(got > SW_HDR ? 0 : 1);                      /* dies without answering */
    }
    close(lfd);
    alias_req(&q, "x@example.test", "y@example.test", true);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_UNKNOWN);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(store_writer_call(path, &q, &p), SW_UNREACHED);   /* nobody listens */
    tu_rmtree(dir);
}

static CU_TestInfo tests[] = {
    { "framing: a length and a creq/crep, lengths out of range refused", test_framing },
    { "which requests a client may redo", test_idempotent },
    { "the writer's figures; the socket path", test_info_and_path },
    { "a single node: no channel, no thread", test_single_node_none },
    { "the channel: applied, counted, malformed dropped, a fork, stopped", test_channel },
    { "a writer that dies before answering: outcome unknown", test_writer_dies },
    CU_TEST_INFO_NULL,
};

CU_MAIN("store_writer", tests)
