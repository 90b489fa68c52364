/* store_writer: the node's local write channel, both sides (store_writer.h). */
#include "store_writer.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bytebuf.h"
#include "cluster_apply.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define SW_CONNS 64                    /* client connections served at once */
#define SW_ANSWER_MS 40000             /* a forward waits up to 30 s for a master */

/* ---- framing ---------------------------------------------------------------------- */

static size_t frame(size_t n, uint8_t *buf)
{
    if (n == 0)
        return 0;
    struct bytes_w w = { buf, SW_HDR, 0, false };
    bw_uint(&w, n, SW_HDR);
    return SW_HDR + n;
}

size_t sw_frame_req(const struct creq *q, uint8_t *buf, size_t len)
{
    return len <= SW_HDR ? 0 : frame(creq_encode(q, buf + SW_HDR, len - SW_HDR), buf);
}

size_t sw_frame_rep(const struct crep *p, uint8_t *buf, size_t len)
{
    return len <= SW_HDR ? 0 : frame(crep_encode(p, buf + SW_HDR, len - SW_HDR), buf);
}

size_t sw_frame_len(const uint8_t hdr[SW_HDR])
{
    struct bytes_r r = { hdr, SW_HDR, 0, false };
    uint64_t n = br_uint(&r, SW_HDR);
    return n == 0 || n > CREQ_WIRE_MAX ? 0 : (size_t)n;
}

bool sw_idempotent(const struct creq *q)
{
    switch ((enum creq_op)q->op) {
    case CREQ_USER_PUT: case CREQ_ALIAS_PUT:
        return q->flag;                 /* a replace; an insert would answer "exists" */
    case CREQ_POPAUTH_PUT: case CREQ_POPAUTH_FLUSH: case CREQ_POPAUTH_PURGE:
    case CREQ_AUTHFAIL_CLEAR: case CREQ_AUTHFAIL_PURGE:
    case CREQ_GREYLIST_FLUSH: case CREQ_GREYLIST_PURGE: case CREQ_STATUS:
        return true;
    case CREQ_USER_DEL: case CREQ_ALIAS_DEL:      /* "not found" the second time */
    case CREQ_AUTHFAIL: case CREQ_GREYLIST_CHECK: /* counts and times */
    case CREQ_OP_END:
        break;
    }
    return false;
}

size_t sw_info_encode(const struct sw_info *i, uint8_t *buf, size_t len)
{
    struct bytes_w w = { buf, len, 0, false };
    bw_uint(&w, (uint64_t)i->pid, 4);
    bw_uint(&w, i->served, 8);
    bw_uint(&w, i->conns, 4);
    return bw_done(&w);
}

int sw_info_decode(const uint8_t *buf, size_t len, struct sw_info *i)
{
    struct bytes_r r = { buf, len, 0, false };
    i->pid = (pid_t)br_uint(&r, 4);
    i->served = br_uint(&r, 8);
    i->conns = (uint32_t)br_uint(&r, 4);
    return br_end(&r);
}

bool sw_path(const char *data_dir, char *buf, size_t len)
{
    struct sockaddr_un a;
    int n = snprintf(buf, len, "%s/run/store-writer.sock", data_dir);
    return n > 0 && (size_t)n < len && (size_t)n < sizeof a.sun_path - 8;   /* + ".PID" */
}

/* ---- socket I/O --------------------------------------------------------------------- */

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read N octets, waiting at most MS in all (-1: for ever). 0, or -1 (EOF, error, time). */
static int recv_all(int fd, uint8_t *p, size_t n, int ms)
{
    struct timespec t0;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0)
        return -1;
    while (n > 0) {
        int left = -1;
        if (ms >= 0) {
            struct timespec t;
            if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
                return -1;
            left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
            if (left <= 0)
                return -1;
        }
        struct pollfd pfd = { fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One frame's payload into BUF (CREQ_WIRE_MAX): its length, or 0. */
static size_t recv_frame(int fd, uint8_t *buf, int ms)
{
    uint8_t hdr[SW_HDR];
    if (recv_all(fd, hdr, sizeof hdr, ms) != 0)
        return 0;
    size_t n = sw_frame_len(hdr);
    return n > 0 && recv_all(fd, buf, n, ms) == 0 ? n : 0;
}

static int connect_to(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (str_copy(a.sun_path, path, sizeof a.sun_path) >= sizeof a.sun_path)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

/* ---- the writer ---------------------------------------------------------------------- */

struct sw_conn {
    int fd;
    pthread_t th;
    bool used, done;
};

static struct {
    pthread_mutex_t mu;
    int lfd;
    pthread_t acc;
    atomic_bool running;
    atomic_bool stopping;
    struct store *st;
    char path[PATH_MAX];
    dev_t dev;
    ino_t ino;
    struct sw_conn conn[SW_CONNS];
    atomic_ulong served;
    atomic_uint conns;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .lfd = -1 };

bool store_writer_serving(void)
{
    return atomic_load(&W.running);
}

/* Answer one request into P. */
static void serve_one(const struct creq *q, struct crep *p)
{
    memset(p, 0, sizeof *p);
    if (q->op == CREQ_STATUS) {
        struct sw_info i = { getpid(), atomic_load(&W.served), atomic_load(&W.conns) };
        p->code = STORE_OK;
        p->dlen = sw_info_encode(&i, p->data, sizeof p->data);
        return;
    }
    unsigned long before = store_cluster_unacked();
    cluster_apply(W.st, q, p);
    p->unacked = store_cluster_unacked() != before;
    atomic_fetch_add(&W.served, 1);
}

static void *conn_main(void *arg)
{
    struct sw_conn *c = arg;
    uint8_t *buf = malloc(SW_FRAME_MAX);
    struct creq *q = malloc(sizeof *q);
    struct crep *p = malloc(sizeof *p);
    size_t n;
    while (buf != NULL && q != NULL && p != NULL && (n = recv_frame(c->fd, buf, -1)) > 0) {
        if (creq_decode(buf, n, q) != 0) {
            log_warn("store: cluster: a malformed request on the node's write channel");
            break;
        }
        serve_one(q, p);
        size_t m = sw_frame_rep(p, buf, SW_FRAME_MAX);
        if (m == 0 || send_all(c->fd, buf, m) != 0)
            break;
    }
    free(buf);
    free(q);
    free(p);
    (void)shutdown(c->fd, SHUT_RDWR);   /* the client sees the end now; the fd itself is */
    (void)pthread_mutex_lock(&W.mu);    /* closed by whoever joins us (no reuse race) */
    c->done = true;
    (void)pthread_mutex_unlock(&W.mu);
    atomic_fetch_sub(&W.conns, 1);
    return NULL;
}

/* Join the connections that ended (W.mu held). */
static void reap(void)
{
    for (size_t i = 0; i < SW_CONNS; i++) {
        struct sw_conn *c = &W.conn[i];
        if (c->used && c->done) {
            (void)pthread_join(c->th, NULL);
            (void)close(c->fd);
            c->used = c->done = false;
        }
    }
}

/* A thread with every signal blocked (the daemons take theirs on the main thread). */
static int spawn(pthread_t *th, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    (void)sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
        return -1;
    int r = pthread_create(th, NULL, fn, arg);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r == 0 ? 0 : -1;
}

static void take(int fd)
{
    static bool full_logged;
    (void)pthread_mutex_lock(&W.mu);
    reap();
    struct sw_conn *c = NULL;
    for (size_t i = 0; i < SW_CONNS && c == NULL; i++)
        c = W.conn[i].used ? NULL : &W.conn[i];
    if (c != NULL) {
        *c = (struct sw_conn){ .fd = fd, .used = true };
        atomic_fetch_add(&W.conns, 1);
        if (spawn(&c->th, conn_main, c) != 0) {
            atomic_fetch_sub(&W.conns, 1);
            c->used = false;
            c = NULL;
        }
    }
    (void)pthread_mutex_unlock(&W.mu);
    if (c == NULL) {
        if (!full_logged)
            log_warn("store: cluster: the write channel is full (%d connections): a client "
                     "writes itself", SW_CONNS);
        full_logged = true;
        (void)close(fd);
    }
}

static void *accept_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&W.stopping)) {
        int fd = accept4(W.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            take(fd);
        } else if (errno != EINTR && errno != ECONNABORTED && !atomic_load(&W.stopping)) {
            struct timespec ts = { 0, 100000000L };    /* EMFILE and the like */
            (void)nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* A listening socket bound at PATH.PID and renamed to PATH; its fd, or -1 (errno). */
static int bind_socket(const char *path)
{
    char tmp[PATH_MAX + 24], dir[PATH_MAX];
    struct sockaddr_un a;
    const char *slash = strrchr(path, '/');
    int n = slash != NULL ? (int)(slash - path) : 1;
    snprintf(dir, sizeof dir, "%.*s", n, slash != NULL ? path : ".");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    n = snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof a.sun_path)
        return errno = ENAMETOOLONG, -1;
    str_copy(a.sun_path, tmp, sizeof a.sun_path);
    (void)unlink(tmp);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    mode_t old = umask(077);                          /* 0600: run_as_user only */
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && chmod(tmp, 0600) == 0 &&
             listen(fd, 64) == 0;
    umask(old);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        (void)close(fd);
        (void)unlink(tmp);
        return errno = e, -1;
    }
    return fd;
}

int store_writer_start(struct store *st, const char *path)
{
    if (atomic_load(&W.running))
        return 0;
    struct stat sb;
    W.lfd = bind_socket(path);
    if (W.lfd < 0 || stat(path, &sb) != 0) {
        log_warn("store: cluster: cannot serve the node's write channel %s: %s (the node's "
                 "other processes write themselves)", path, strerror(errno));
        if (W.lfd >= 0)
            (void)close(W.lfd);
        W.lfd = -1;
        return -1;
    }
    str_copy(W.path, path, sizeof W.path);
    W.dev = sb.st_dev;
    W.ino = sb.st_ino;
    W.st = st;
    atomic_store(&W.stopping, false);
    if (spawn(&W.acc, accept_main, NULL) != 0) {
        log_warn("store: cluster: cannot start the node's writer thread");
        (void)close(W.lfd);
        (void)unlink(path);
        W.lfd = -1;
        return -1;
    }
    atomic_store(&W.running, true);
    log_info("store: cluster: this process is the node's writer (%s)", path);
    return 0;
}

void store_writer_stop(void)
{
    if (!atomic_load(&W.running))
        return;
    atomic_store(&W.stopping, true);
    struct stat sb;
    if (stat(W.path, &sb) == 0 && sb.st_dev == W.dev && sb.st_ino == W.ino)
        (void)unlink(W.path);
    (void)shutdown(W.lfd, SHUT_RDWR);                 /* accept4 returns (Linux) */
    (void)pthread_join(W.acc, NULL);
    (void)close(W.lfd);
    W.lfd = -1;
    (void)pthread_mutex_lock(&W.mu);
    for (size_t i = 0; i < SW_CONNS; i++)
        if (W.conn[i].used)
            (void)shutdown(W.conn[i].fd, SHUT_RDWR);
    for (size_t i = 0; i < SW_CONNS; i++) {
        struct sw_conn *c = &W.conn[i];
        if (c->used) {
            (void)pthread_mutex_unlock(&W.mu);        /* (the thread takes it to end) */
            (void)pthread_join(c->th, NULL);
            (void)pthread_mutex_lock(&W.mu);
            (void)close(c->fd);
            c->used = c->done = false;
        }
    }
    (void)pthread_mutex_unlock(&W.mu);
    atomic_store(&W.running, false);
    W.st = NULL;
}

/* ---- a client -------------------------------------------------------------------------- */

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static pthread_key_t cl_key;
static __thread int cl_fd = -1;

void store_writer_forget(void)
{
    if (atomic_load(&W.running)) {
        (void)close(W.lfd);                     /* (close, never shutdown: the parent's) */
        for (size_t i = 0; i < SW_CONNS; i++)
            if (W.conn[i].used)
                (void)close(W.conn[i].fd);
    }
    (void)pthread_mutex_init(&W.mu, NULL);
    memset(W.conn, 0, sizeof W.conn);
    W.lfd = -1;
    W.st = NULL;
    atomic_store(&W.running, false);
    atomic_store(&W.conns, 0);
    if (cl_fd >= 0)
        (void)close(cl_fd);                     /* the parent's connection, not ours */
    cl_fd = -1;
}

static void cl_close_at_exit(void *v)
{
    (void)close((int)(intptr_t)v - 1);
}

static void cl_key_make(void)
{
    if (pthread_key_create(&cl_key, cl_close_at_exit) != 0)
        log_warn("store: cluster: no thread key: a thread's connection stays at its end");
}

static void cl_drop(void)
{
    if (cl_fd >= 0) {
        (void)close(cl_fd);
        (void)pthread_setspecific(cl_key, NULL);
    }
    cl_fd = -1;
}

static bool cl_connect(const char *path)
{
    if (cl_fd >= 0)
        return true;
    (void)pthread_once(&cl_once, cl_key_make);
    cl_fd = connect_to(path);
    if (cl_fd >= 0)
        (void)pthread_setspecific(cl_key, (void *)(intptr_t)(cl_fd + 1));
    return cl_fd >= 0;
}

bool store_writer_reachable(const char *path)
{
    return cl_connect(path);
}

/* FRAME (N octets) over FD and its answer into P; SW_*. */
static int exchange(int fd, const uint8_t *frame_buf, size_t n, uint8_t *buf, struct crep *p)
{
    if (send_all(fd, frame_buf, n) != 0)
        return SW_UNREACHED;       /* a closed peer: nothing of it was read */
    size_t m = recv_frame(fd, buf, SW_ANSWER_MS);
    if (m == 0 || crep_decode(buf, m, p) != 0)
        return SW_UNKNOWN;
    return SW_OK;
}

int store_writer_call(const char *path, const struct creq *q, struct crep *p)
{
    uint8_t *out = malloc(SW_FRAME_MAX), *in = malloc(SW_FRAME_MAX);
    size_t n = out != NULL ? sw_frame_req(q, out, SW_FRAME_MAX) : 0;
    int r = SW_UNREACHED;
    /* A kept connection may be to a writer gone since: one more try on a new one. */
    for (int attempt = 0; n > 0 && in != NULL && r == SW_UNREACHED && attempt < 2; attempt++) {
        bool fresh = cl_fd < 0;
        if (!cl_connect(path))
            break;
        r = exchange(cl_fd, out, n, in, p);
        if (r != SW_OK)
            cl_drop();
        if (fresh)
            break;
    }
    free(out);
    free(in);
    return r;
}

int store_writer_query(const char *path, struct sw_info *out)
{
    struct creq *q = calloc(1, sizeof *q);
    struct crep *p = calloc(1, sizeof *p);
    uint8_t *buf = malloc(SW_FRAME_MAX);
    int fd = connect_to(path), r = -1;
    size_t n;
    if (fd >= 0 && q != NULL && p != NULL && buf != NULL) {
        q->op = CREQ_STATUS;
        n = sw_frame_req(q, buf, SW_FRAME_MAX);
        if (n > 0 && exchange(fd, buf, n, buf, p) == SW_OK && p->code == STORE_OK &&
            sw_info_decode(p->data, p->dlen, out) == 0)
            r = 0;
    }
    if (fd >= 0)
        (void)close(fd);
    free(q);
    free(p);
    free(buf);
    return r;
}
