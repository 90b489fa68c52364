/* certkeeper: the root helper that opens tls_cert and tls_key for a reload
 * (certkeeper.h says why and what it may do). The daemon's side asks with one octet
 * over a SOCK_SEQPACKET socketpair and gets one struct keeper_reply with the two
 * descriptors attached; the keeper's side is keeper_main. */
#include "certkeeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "util.h"

#define KEEPER_WAIT_MS 5000
#define KEEPER_PATH_MAX 1024

struct keeper_reply {
    int32_t ok;                     /* 1: the two descriptors are attached */
    char cert[KEEPER_PATH_MAX];     /* the paths the config named */
    char key[KEEPER_PATH_MAX];
    char err[512];
};

static struct {
    pthread_mutex_t mu;
    int sock;                       /* our end; -1: no keeper */
    pid_t pid;
    bool atfork;
} K = { .mu = PTHREAD_MUTEX_INITIALIZER, .sock = -1 };

/* ---- the keeper's side ------------------------------------------------------------- */

static int open_pem(const char *what, const char *path, struct keeper_reply *r)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        snprintf(r->err, sizeof r->err, "%s %s: cannot open (as root): %s", what, path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(r->err, sizeof r->err, "%s %s: not a regular file", what, path);
        (void)close(fd);
        return -1;
    }
    return fd;
}

/* Read the config now, open what it names. */
static void answer(int sock, const char *cfgpath)
{
    struct keeper_reply r;
    int fds[2] = { -1, -1 };
    struct config *cfg;

    memset(&r, 0, sizeof r);
    if (!(cfg = config_load(cfgpath, r.err, sizeof r.err))) {
        /* r.err says why */
    } else if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
        snprintf(r.err, sizeof r.err, "%s: tls_cert/tls_key are not set", cfgpath);
    } else if (str_copy(r.cert, cfg->tls_cert, sizeof r.cert) >= sizeof r.cert ||
               str_copy(r.key, cfg->tls_key, sizeof r.key) >= sizeof r.key) {
        snprintf(r.err, sizeof r.err, "tls_cert or tls_key: path longer than %d octets",
                 KEEPER_PATH_MAX - 1);
    } else if ((fds[0] = open_pem("tls_cert", r.cert, &r)) >= 0 &&
               (fds[1] = open_pem("tls_key", r.key, &r)) >= 0) {
        r.ok = 1;
    }
    config_free(cfg);

    union {
        char buf[CMSG_SPACE(sizeof fds)];
        struct cmsghdr align;
    } u;
    struct iovec iov = { .iov_base = &r, .iov_len = sizeof r };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (r.ok) {
        memset(&u, 0, sizeof u);
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof fds);
        memcpy(CMSG_DATA(c), fds, sizeof fds);
    }
    while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            (void)close(fds[i]);
}

/* Nothing of the daemon's but the socket and stdio: not the listeners. */
static void close_others(int sock)
{
    if ((sock <= 3 || close_range(3, (unsigned)sock - 1, 0) == 0) &&
        close_range((unsigned)sock + 1, ~0U, 0) == 0)
        return;
    struct rlimit rl;                 /* a kernel before 5.9: one by one */
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur
                                                                          : 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != sock)
            (void)close(fd);
}

static void keeper_main(int sock, pid_t daemon, const char *cfgpath)
{
    char err[256];

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0L, 0L, 0L) != 0 || getppid() != daemon)
        _exit(0);
    close_others(sock);
    if (privdrop_keeper(err, sizeof err) != 0) {
        log_err("certificate keeper: %s", err);
        _exit(1);
    }
    for (;;) {
        char req[16];
        ssize_t n = recv(sock, req, sizeof req, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0);             /* the daemon is gone */
        answer(sock, cfgpath);
    }
}

/* ---- the daemon's side ------------------------------------------------------------- */

/* In any child the daemon forks (smtpd's queue runner): not ours to ask. */
static void forget_in_child(void)
{
    if (K.sock >= 0)
        (void)close(K.sock);
    K.sock = -1;
    K.pid = 0;
}

int certkeeper_start(const char *cfgpath, char *err, size_t errlen)
{
    int sv[2];

    if (geteuid() != 0)
        return 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "certificate keeper: socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t daemon = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "certificate keeper: fork: %s", strerror(errno));
        (void)close(sv[0]);
        (void)close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        (void)close(sv[0]);
        keeper_main(sv[1], daemon, cfgpath);
        _exit(0);
    }
    (void)close(sv[1]);
    K.sock = sv[0];
    K.pid = pid;
    if (!K.atfork && pthread_atfork(NULL, NULL, forget_in_child) != 0) {
        snprintf(err, errlen, "certificate keeper: pthread_atfork failed");
        certkeeper_stop();
        return -1;
    }
    K.atfork = true;
    return 0;
}

/* The keeper is gone or no longer in step: close, reap, and go on without it. */
static void lose(const char *why)
{
    log_err("certificate keeper (pid %ld): %s; reloads now read tls_cert/tls_key as "
            "run_as_user (restart the daemon to get it back)", (long)K.pid, why);
    (void)close(K.sock);
    K.sock = -1;
    (void)waitpid(K.pid, NULL, WNOHANG);
    K.pid = 0;
}

/* One answer: the reply and its descriptors into FDS. 1, 0 (lost), -1 (no fds). */
static int take_reply(struct keeper_reply *r, int fds[2])
{
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = { .iov_base = r, .iov_len = sizeof *r };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf };
    struct pollfd p = { .fd = K.sock, .events = POLLIN };
    int pr;

    while ((pr = poll(&p, 1, KEEPER_WAIT_MS)) < 0 && errno == EINTR)
        ;
    if (pr <= 0) {
        lose(pr == 0 ? "no answer within 5 s" : "poll failed");
        return 0;
    }
    ssize_t n;
    while ((n = recvmsg(K.sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof *r) {
        lose(n == 0 ? "it has exited" : "a broken answer");
        return 0;
    }
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
        memcpy(fds, CMSG_DATA(c), 2 * sizeof(int));
        return 1;
    }
    return -1;
}

int certkeeper_open(const char *cert, const char *key, int *cert_fd, int *key_fd, char *err,
                    size_t errlen)
{
    struct keeper_reply r;
    int fds[2] = { -1, -1 }, rc;

    *cert_fd = *key_fd = -1;
    pthread_mutex_lock(&K.mu);
    if (K.sock < 0) {
        pthread_mutex_unlock(&K.mu);
        return 0;
    }
    if (send(K.sock, "K", 1, MSG_NOSIGNAL) != 1) {
        lose(errno == EPIPE ? "it has exited" : strerror(errno));
        pthread_mutex_unlock(&K.mu);
        return 0;
    }
    memset(&r, 0, sizeof r);
    rc = take_reply(&r, fds);
    pthread_mutex_unlock(&K.mu);
    if (rc == 0)
        return 0;
    r.err[sizeof r.err - 1] = r.cert[sizeof r.cert - 1] = r.key[sizeof r.key - 1] = '\0';
    if (rc < 0 || !r.ok) {
        snprintf(err, errlen, "%s", r.err[0] ? r.err : "the certificate keeper sent no files");
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                (void)close(fds[i]);
        return -1;
    }
    if (strcmp(r.cert, cert) != 0 || strcmp(r.key, key) != 0) {
        snprintf(err, errlen, "the config changed while it was being reloaded (tls_cert %s, "
                 "tls_key %s); send SIGHUP again", r.cert, r.key);
        (void)close(fds[0]);
        (void)close(fds[1]);
        return -1;
    }
    *cert_fd = fds[0];
    *key_fd = fds[1];
    return 1;
}

long certkeeper_pid(void)
{
    return (long)K.pid;
}

void certkeeper_stop(void)
{
    pthread_mutex_lock(&K.mu);
    if (K.sock >= 0)
        (void)close(K.sock);
    K.sock = -1;
    K.pid = 0;
    pthread_mutex_unlock(&K.mu);
}
