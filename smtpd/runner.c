/* runner: the queue runner child process of smtpd (see runner.h): its one thread
 * waits for signals, queue changes and news from the delivery threads (queue_run.h). */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cluster_conf.h"
#include "dns.h"
#include "log.h"
#include "mtasts.h"
#include "queue_file.h"
#include "queue_run.h"
#include "stats.h"
#include "status.h"
#include "store.h"
#include "tls.h"

#define RUNNER_MAX_SLEEP 60        /* seconds: also how often the parent is checked */
#define RUNNER_CLEAN_EVERY 3600    /* stale tmp files and orphans: age and period */
#define RUNNER_CLOSE_MAX 10        /* seconds the store's close may take at a stop */

static pid_t child;
static const struct config *cur_cfg;
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;   /* kicks come from every loop */

static bool stop_asked;          /* SIGTERM or SIGINT (the runner's one thread) */

/* The end of the runner: the queue is crash-safe, nothing is lost by stopping anywhere.
 * At a stop the store is closed first: a process that exits with it open leaves a dead
 * registrant, and the next process to open the store runs recovery, which makes every
 * other process reopen (with a cluster, the node's listener too). Not when the parent
 * died: that death calls for the recovery anyway, and the parent may have died holding
 * one of the store's mutexes, which the close would wait for. Nor for long: a wedged
 * store must not keep the queue's lock (SIGALRM ends the process). */
static _Noreturn void runner_exit(struct qrun *q, pid_t parent)
{
    if (getppid() == parent) {
        (void)alarm(RUNNER_CLOSE_MAX);
        store_close(q->st);
        q->st = NULL;
    }
    _exit(0);
}

static int lock_pidfile(const char *qdir)
{
    char path[QUEUE_DIR_MAX + 32], buf[32];
    snprintf(path, sizeof path, "%s/runner.pid", qdir);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0)          /* an old runner may still be finishing */
        if (errno != EINTR)
            return -1;
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        return -1;
    return fd;       /* kept open for the life of the process: the lock */
}

static void child_signals(sigset_t *waitset)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);               /* runner_exit's bound */
    sigemptyset(waitset);
    sigaddset(waitset, SIGHUP);
    sigaddset(waitset, SIGUSR1);
    sigprocmask(SIG_SETMASK, waitset, NULL);   /* taken through a signalfd */
}

/* From the store's open on, a stop is taken through the signalfd too (runner_exit);
 * before, SIGTERM and SIGINT end the process at once (it may be waiting for an old
 * runner's lock). */
static void stop_signals_wait(sigset_t *waitset)
{
    sigaddset(waitset, SIGTERM);
    sigaddset(waitset, SIGINT);
    sigprocmask(SIG_SETMASK, waitset, NULL);
}

/* Was a flush asked for? (the file is removed: one flush per request) */
static bool take_flush(const char *qdir)
{
    char path[QUEUE_DIR_MAX + 32];
    snprintf(path, sizeof path, "%s/flush", qdir);
    return unlink(path) == 0;
}

static void reload(struct qrun *q, struct config **own)
{
    char err[1024];
    struct config *n = config_load(q->cfg->path, err, sizeof err);
    if (!n) {
        log_err("runner: reload refused, keeping the old config: %s", err);
        return;
    }
    if (*own)
        config_free(*own);
    *own = n;
    q->cfg = n;
    (void)dns_configure(&n->dns_servers, n->dns_timeout);
    (void)dns_set_trust_anchor(n->dns_trust_anchor);
    (void)outbound_tls_configure(n);                  /* tls_ca_file, MTA-STS settings */
    log_info("runner: config reloaded");
}

/* inotify on env/ (a new entry) and on the queue dir (the flush file): the runner sees
 * new mail even without a kick. -1 if unavailable (then kicks and timeouts only). */
static int watch_queue(const char *qdir)
{
    char env[QUEUE_DIR_MAX + 8];
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return -1;
    snprintf(env, sizeof env, "%s/env", qdir);
    if (inotify_add_watch(fd, env, IN_MOVED_TO) < 0 ||
        inotify_add_watch(fd, qdir, IN_CREATE | IN_ATTRIB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void drain(int fd)
{
    char buf[4096];
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
        ;
}

/* Sleep up to secs, or until a signal (SIGHUP: reload), a queue change or news from
 * a delivery thread. True if the queue should be read (a kick or a queue change). */
static bool wait_event(struct qrun *q, struct config **own, int sfd, int ifd, int64_t secs)
{
    struct pollfd p[3] = { { .fd = sfd, .events = POLLIN }, { .fd = q->efd, .events = POLLIN },
                           { .fd = ifd, .events = POLLIN } };
    int r = poll(p, ifd >= 0 ? 3 : 2, (int)(secs * 1000));
    if (r <= 0)
        return false;
    bool kick = false;
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP)
            reload(q, own);
        kick |= si.ssi_signo == SIGUSR1;
        stop_asked |= si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
    }
    kick |= ifd >= 0 && (p[2].revents & POLLIN);
    drain(ifd);
    return kick;
}

/* Every STATS_INTERVAL: the runner's counters to data_dir/run/queue.stats; every
 * metrics_interval the Prometheus textfile, if configured (status.h; the runner may
 * wait on the store and the disk, the daemons' loops may not). */
static void report(const struct qrun *q, int64_t now, int64_t *last_stats, int64_t *last_metrics)
{
    if (now - *last_stats >= STATS_INTERVAL) {
        *last_stats = now;
        if (stats_publish(q->cfg->data_dir, NULL, NULL, 0, false) != 0)
            log_warn("runner: cannot write %s/run/queue.stats: %s", q->cfg->data_dir,
                     strerror(errno));
    }
    const char *mf = q->cfg->metrics_textfile;
    if (mf && mf[0] && now - *last_metrics >= (int64_t)q->cfg->metrics_interval) {
        *last_metrics = now;
        if (status_write_textfile(mf, q->cfg, q->st) != 0)
            log_warn("runner: cannot write metrics_textfile %s: %s", mf, strerror(errno));
    }
}

static void child_loop(struct qrun *q, pid_t parent, const sigset_t *waitset)
{
    int64_t last_stats = 0, last_metrics = 0;
    struct config *own = NULL;
    int64_t last_clean = 0;
    int sfd = signalfd(-1, waitset, SFD_CLOEXEC | SFD_NONBLOCK);
    int ifd = watch_queue(q->qdir);
    if (sfd < 0 || qrun_init(q) < 0) {
        log_err("runner: signalfd or eventfd: %s", strerror(errno));
        store_close(q->st);
        _exit(1);
    }
    (void)wait_event(q, &own, sfd, ifd, 0);   /* takes a stop asked during the open */
    bool kick = true;
    for (;;) {
        int64_t now = (int64_t)time(NULL);
        if (now - last_clean >= RUNNER_CLEAN_EVERY) {
            queue_cleanup(q->qdir, RUNNER_CLEAN_EVERY);
            last_clean = now;
        }
        drain(ifd);
        if (take_flush(q->qdir))
            q->flush = true;
        if (stop_asked || getppid() != parent)
            runner_exit(q, parent);
        int64_t next = qrun_step(q, now, kick);
        if (stop_asked || getppid() != parent)
            runner_exit(q, parent);
        now = (int64_t)time(NULL);
        report(q, now, &last_stats, &last_metrics);
        int64_t wait = next ? next - now : RUNNER_MAX_SLEEP;
        if (wait > STATS_INTERVAL)      /* the stats file is rewritten that often */
            wait = STATS_INTERVAL;
        kick = wait > 0 ? wait_event(q, &own, sfd, ifd, wait) : false;
    }
}

static void child_main(const struct config *cfg, pid_t parent)
{
    sigset_t waitset;
    child_signals(&waitset);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        _exit(0);
    /* Nothing of the daemon's is used here: drop its descriptors (listeners, the store,
     * the event loop), keeping 0-2 for foreground logging; reconnect syslog. */
    closelog();
    if (close_range(3, ~0U, 0) < 0)
        log_warn("runner: close_range: %s", strerror(errno));
    openlog("smtpd", LOG_PID | LOG_NDELAY, LOG_MAIL);
    struct qrun q = { .cfg = cfg };
    if (queue_dir(cfg->data_dir, q.qdir, sizeof q.qdir) < 0 || queue_make_dirs(q.qdir) < 0 ||
        lock_pidfile(q.qdir) < 0) {
        log_err("runner: cannot set up %s/queue: %s", cfg->data_dir, strerror(errno));
        _exit(1);
    }
    q.tls = tls_client_ctx();
    (void)outbound_tls_configure(cfg);               /* logged when it fails */
    struct cluster_conf cc;
    cluster_conf_apply(cfg, &cc);
    stop_signals_wait(&waitset);
    if (store_open(cfg->data_dir, &q.st) != STORE_OK) {
        log_warn("runner: store not available: bounces go to canonical addresses only");
        q.st = NULL;
    }
    stats_reset();                  /* the parent's counts are the parent's */
    stats_begin("queue", (int64_t)time(NULL));
    log_info("runner: started, pid %ld", (long)getpid());
    child_loop(&q, parent, &waitset);
}

static int start_locked(const struct config *cfg)
{
    cur_cfg = cfg;
    if (child > 0) {
        int st;
        pid_t w = waitpid(child, &st, WNOHANG);
        if (w == 0) {
            kill(child, SIGHUP);        /* reload */
            return 0;
        }
        child = 0;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        log_err("runner: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        child_main(cfg, parent);
        _exit(0);
    }
    child = pid;
    return 0;
}

int runner_start(const struct config *cfg)
{
    pthread_mutex_lock(&run_mu);
    int r = start_locked(cfg);
    pthread_mutex_unlock(&run_mu);
    return r;
}

void runner_kick(void)
{
    pthread_mutex_lock(&run_mu);
    if (child > 0) {
        int st;
        pid_t w = waitpid(child, &st, WNOHANG);
        if (w == child || (w < 0 && errno == ECHILD)) {
            log_warn("runner: the runner process %ld was gone; restarting it", (long)child);
            child = 0;
            if (cur_cfg)
                (void)start_locked(cur_cfg);
        } else {
            kill(child, SIGUSR1);
        }
    }
    pthread_mutex_unlock(&run_mu);
}

void runner_stop(void)
{
    pthread_mutex_lock(&run_mu);
    if (child <= 0) {
        pthread_mutex_unlock(&run_mu);
        return;
    }
    kill(child, SIGTERM);
    for (int i = 0; i < 50; i++) {
        int st;
        pid_t w = waitpid(child, &st, WNOHANG);
        if (w == child || (w < 0 && errno != EINTR))
            break;
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    child = 0;
    pthread_mutex_unlock(&run_mu);
}

int runner_pid_of(const char *data_dir)
{
    char qdir[QUEUE_DIR_MAX], path[QUEUE_DIR_MAX + 32], buf[32];
    if (queue_dir(data_dir, qdir, sizeof qdir) < 0)
        return 0;
    snprintf(path, sizeof path, "%s/runner.pid", qdir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int pid = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {   /* held: alive */
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            char *end = NULL;
            errno = 0;
            long v = strtol(buf, &end, 10);
            if (errno == 0 && end != buf && (*end == '\n' || *end == '\0') && v > 0 &&
                v <= INT_MAX)
                pid = (int)v;
        }
    }
    close(fd);
    return pid;
}
