/* server: the daemon skeleton of smtpd and pop3d (server.h): command line, config,
 * privilege drop, daemonizing, the event loops, access control and connection limits
 * at accept, SIGTERM shutdown, SIGHUP reload, periodic store maintenance. Sockets
 * live in listeners.c, connections in conn.c, the extra loops in loops.c. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "certkeeper.h"
#include "cluster_conf.h"
#include "conn_internal.h"
#include "connlimit.h"
#include "dns.h"
#include "greylist.h"
#include "listeners.h"
#include "log.h"
#include "loops.h"
#include "privdrop.h"
#include "sasl_glue.h"
#include "stats.h"
#include "tls.h"
#include "tls_load.h"
#include "util.h"

#define SHUTDOWN_GRACE_SEC 9      /* then force-close what is left (SPEC: exit within 10 s) */
#define MAINT_INTERVAL_SEC 60
#define WORKERS_PER_LOOP 4

static struct {
    const struct server_proto *proto;
    const char *cfgpath;
    bool foreground;
    bool stopping;
    struct event_base *base;
    struct cfgref *cur;
    struct listener *listeners;
    struct store *store;
    struct workq *wq;
    SSL_CTX *tls_ctx;             /* new sessions get it; live ones keep theirs */
    struct event *ev_sig[3];
    struct event *ev_maint;
    struct event *ev_stats;       /* writes data_dir/run/IDENT.stats (stats.h) */
    bool maint_running;
    bool reload_running;          /* a reload's load and store checks are on a worker */
    bool sasl_ok;
    struct connlimit *limits;
    pthread_mutex_t limits_mu;    /* the counts are shared by all loops */
    unsigned nloops;              /* the main one included */
} S = { .limits_mu = PTHREAD_MUTEX_INITIALIZER };

static __thread struct event *t_grace;   /* this loop's shutdown grace timer */

static bool stopping(void)
{
    return __atomic_load_n(&S.stopping, __ATOMIC_ACQUIRE);
}

/* The loop of the calling thread: an extra loop's, or the main one. */
static struct event_base *cur_base(void)
{
    struct event_base *b = loops_base();
    return b ? b : S.base;
}

/* ---- config generations ------------------------------------------------------ */

void cfgref_hold(struct cfgref *r)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

void cfgref_release(struct cfgref *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        config_free(r->cfg);
        free(r);
    }
}

static struct cfgref *cfgref_make(struct config *cfg, char *err, size_t errlen)
{
    struct cfgref *r = xcalloc(1, sizeof *r);

    r->cfg = cfg;
    r->refs = 1;
    r->kind = S.proto->kind;
    r->ninst = config_count(cfg, r->kind);
    if (r->ninst > SRV_MAX_INSTANCES) {
        snprintf(err, errlen, "%s: more than %d instances", cfg->path, SRV_MAX_INSTANCES);
        cfgref_release(r);
        return NULL;
    }
    for (size_t i = 0; i < r->ninst; i++)
        r->inst[i] = config_common(cfg, r->kind, i);
    return r;
}

void server_conn_gone(struct conn *c, bool counted)
{
    if (counted) {
        pthread_mutex_lock(&S.limits_mu);
        connlimit_del(S.limits, conn_server_instance(c)->name, conn_peer(c));
        pthread_mutex_unlock(&S.limits_mu);
    }
    loops_conn_gone();
    if (stopping() && conn_live_count() == 0)
        event_base_loopbreak(cur_base());
}

/* ---- accepting ------------------------------------------------------------------ */

/* An accepted socket on its way to the loop that will serve it. */
struct handoff {
    int fd;
    struct sockaddr_storage peer;
    struct cfgref *cr;            /* held for the handoff */
    size_t inst_idx;
    SSL_CTX *ctx;                 /* implicit TLS: a reference held for the handoff */
};

/* In the serving loop's thread: the connection, the limits, the greeting. */
static void admit(void *arg)
{
    struct handoff *h = arg;
    const struct instance_common *si = h->cr->inst[h->inst_idx];
    struct conn *c = NULL;

    if (stopping())
        (void)close(h->fd);
    else
        c = conn_new(cur_base(), h->fd, (struct sockaddr *)&h->peer, h->cr, h->inst_idx, h->ctx,
                     S.proto);
    cfgref_release(h->cr);
    if (h->ctx)
        SSL_CTX_free(h->ctx);
    free(h);
    if (!c) {
        loops_conn_gone();
        return;
    }
    log_info("connect: instance=%s ip=%s port=%d id=%lu", si->name, conn_peer_str(c),
             conn_peer_port(c), conn_id(c));
    pthread_mutex_lock(&S.limits_mu);
    int why = connlimit_admit(S.limits, si, conn_peer(c));
    if (why < 0)
        connlimit_add(S.limits, si->name, conn_peer(c));
    pthread_mutex_unlock(&S.limits_mu);
    if (why >= 0) {
        static const char *const names[] = { "denied", "too many connections",
                                             "too many connections from this IP" };
        conn_mark_refused(c);
        stats_count(STAT_REJ_OTHER);       /* the status counters (stats.h) */
        log_info("refused: id=%lu instance=%s ip=%s reason=%s", conn_id(c), si->name,
                 conn_peer_str(c), names[why]);
        S.proto->on_refuse(c, (enum server_refusal)why);
        conn_close(c);
        return;
    }
    conn_mark_accepted(c);
    S.proto->on_accept(c);
}

static void accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct listener *l = arg;
    struct cfgref *cr = S.cur;
    const struct instance_common *si = cr->inst[l->inst_idx];
    SSL_CTX *ctx = si->tls == TLS_IMPLICIT ? S.tls_ctx : NULL;
    struct handoff *h = NULL;

    (void)evl;
    if (stopping() || (si->tls == TLS_IMPLICIT && !ctx) || salen <= 0 ||
        (size_t)salen > sizeof h->peer || !(h = calloc(1, sizeof *h))) {
        (void)close(fd);
        return;
    }
    h->fd = fd;
    memcpy(&h->peer, sa, (size_t)salen);
    h->cr = cr;
    cfgref_hold(cr);
    h->inst_idx = l->inst_idx;
    if (ctx && SSL_CTX_up_ref(ctx) == 1)
        h->ctx = ctx;
    else if (ctx) {
        h->ctx = NULL;
        cfgref_release(cr);
        free(h);
        (void)close(fd);
        return;
    }
    if (!loops_dispatch(admit, h, conn_live_count()))
        admit(h);
}

/* ---- TLS ------------------------------------------------------------------------- */

static bool needs_tls(const struct cfgref *r)
{
    for (size_t i = 0; i < r->ninst; i++)
        if (r->inst[i]->tls != TLS_OFF)
            return true;
    return false;
}

/* At start: the context for R's config (tls_load.h says what is refused). */
static int tls_at_start(const struct cfgref *r, SSL_CTX **out, char *err, size_t errlen)
{
    const struct config *cfg = r->cfg;

    *out = NULL;
    if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
        if (needs_tls(r)) {
            snprintf(err, errlen, "%s: an instance uses TLS but tls_cert/tls_key are not set",
                     cfg->path);
            return -1;
        }
        return 0;
    }
    return tls_load_start(cfg->tls_cert, cfg->tls_key, needs_tls(r), out, err, errlen);
}

static void tls_install(SSL_CTX *ctx)
{
    if (S.tls_ctx)
        SSL_CTX_free(S.tls_ctx);
    S.tls_ctx = ctx;
    conn_set_tls_ctx(ctx);
}

/* ---- reload (SIGHUP) --------------------------------------------------------------- */

struct reload_job {
    struct config *cfg;
    char err[1024];
    bool tls_tried;               /* tls_cert/tls_key set: the worker loaded them */
    enum tls_load_rc tls_rc;
    struct tls_loaded tls;
};

/* On the main loop, after reload_work: put J's config (loaded, store checks passed, its
 * certificate loaded) in force. */
static void reload_apply(struct reload_job *j)
{
    char err[1024];
    struct config *cfg = j->cfg;
    struct cfgref *nr = cfgref_make(cfg, err, sizeof err);
    struct listener *fresh = NULL;
    SSL_CTX *ctx = NULL;

    if (!nr ||
        (j->tls_tried &&
         tls_load_reload(cfg->tls_cert, needs_tls(nr), j->tls_rc, &j->tls, &ctx, err,
                         sizeof err) != 0) ||
        listeners_for(nr, &S.listeners, &fresh, err, sizeof err) != 0) {
        log_err("reload refused: %s", err);
        if (ctx)
            SSL_CTX_free(ctx);
        cfgref_release(nr);
        return;
    }
    /* the protocol's own checks (smtpd: no open relay) may still refuse it */
    if (S.proto->on_start && S.proto->on_start(cfg) != 0) {
        log_err("reload refused: %s rejected the new configuration", S.proto->ident);
        listeners_undo(fresh, &S.listeners);
        if (ctx)
            SSL_CTX_free(ctx);
        cfgref_release(nr);
        return;
    }
    listeners_free(S.listeners);       /* addresses no longer configured */
    S.listeners = fresh;
    for (struct listener *l = fresh; l; l = l->next)
        if (!listener_started(l) && listener_start(l, S.base, accept_cb) != 0)
            log_err("reload: listener %s:%d not started", l->host, l->port);
    tls_install(ctx);
    struct cfgref *old = S.cur;
    char old_data_dir[1024], old_user[256];
    str_copy(old_data_dir, old->cfg->data_dir, sizeof old_data_dir);
    str_copy(old_user, old->cfg->run_as_user, sizeof old_user);
    S.cur = nr;
    saslg_set_config(cfg);             /* before the old one may go */
    cfgref_release(old);               /* live connections keep their own reference */
    log_info("reloaded %s: %zu instance(s)", S.cfgpath, nr->ninst);
    if (strcmp(cfg->data_dir, old_data_dir) != 0 || strcmp(cfg->run_as_user, old_user) != 0)
        log_warn("reload: data_dir and run_as_user changes take effect after a restart");
}

/* Worker: load the file, run the protocol's store checks (store.h: never on a loop
 * thread) and load the certificate as it is on disk now (the keeper may be waited for). */
static void reload_work(void *arg)
{
    struct reload_job *j = arg;
    j->cfg = config_load(S.cfgpath, j->err, sizeof j->err);
    if (j->cfg && S.proto->check_store &&
        S.proto->check_store(j->cfg, S.store, j->err, sizeof j->err) != 0) {
        config_free(j->cfg);
        j->cfg = NULL;
    }
    if (j->cfg && j->cfg->tls_cert[0] && j->cfg->tls_key[0]) {
        j->tls_tried = true;
        j->tls_rc = tls_load(j->cfg->tls_cert, j->cfg->tls_key, time(NULL), &j->tls);
    }
}

static void reload_done(void *arg)
{
    struct reload_job *j = arg;
    S.reload_running = false;
    if (!j->cfg)
        log_err("reload refused: %s", j->err);
    else if (stopping())
        config_free(j->cfg);
    else
        reload_apply(j);
    if (j->tls.ctx)
        SSL_CTX_free(j->tls.ctx);
    free(j);
}

static void reload(void)
{
    if (S.reload_running) {
        log_info("reload: one is under way; this SIGHUP is folded into it");
        return;
    }
    struct reload_job *j = xcalloc(1, sizeof *j);
    S.reload_running = true;
    if (workq_submit(S.wq, reload_work, reload_done, j) != 0) {
        S.reload_running = false;
        free(j);
        log_err("reload refused: no worker to load the configuration");
    }
}

/* ---- shutdown, signals, maintenance ------------------------------------------------ */

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    log_warn("shutdown: %zu connection(s) still open after %d s; closing them",
             conn_live_count(), SHUTDOWN_GRACE_SEC);
    event_base_loopbreak(arg);
}

/* In every loop's thread: say goodbye to its sessions; the loop ends when the last is
 * gone (server_conn_gone) or when the grace time is over. */
static void loop_stop(void)
{
    struct timeval tv = { .tv_sec = SHUTDOWN_GRACE_SEC, .tv_usec = 0 };
    struct event_base *b = cur_base();

    if (conn_live_count() == 0) {
        event_base_loopbreak(b);
        return;
    }
    t_grace = evtimer_new(b, grace_cb, b);
    if (!t_grace || evtimer_add(t_grace, &tv) != 0)
        log_err("shutdown: cannot arm the grace timer");
    for (struct conn *c = conn_first(); c; c = conn_next(c))
        if (conn_accepted(c) && S.proto->on_shutdown)
            S.proto->on_shutdown(c);
}

static void loop_break(void)
{
    event_base_loopbreak(cur_base());
}

/* In every loop's thread once its loop has ended: force-close what is left. */
static void loop_exit(void)
{
    struct conn *c;

    while ((c = conn_first()) != NULL)
        conn_abort(c);
    dns_thread_end();                  /* this loop's resolver, if it made one */
    if (t_grace)
        event_free(t_grace);
    t_grace = NULL;
}

static void begin_shutdown(void)
{
    if (stopping())
        return;
    __atomic_store_n(&S.stopping, true, __ATOMIC_RELEASE);
    log_info("shutting down: %zu connection(s) open in the main loop", conn_live_count());
    store_stopping();                  /* writes waiting for a cluster's master give up */
    listeners_free(S.listeners);
    S.listeners = NULL;
    loops_broadcast(loop_stop);
    loop_stop();
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (sig == SIGHUP) {
        if (!stopping())
            reload();
        return;
    }
    begin_shutdown();
}

static struct {                  /* what the maintenance job needs (one job at a time) */
    unsigned popauth_window, authfail_window;
    struct greylist_params grey;
} maint_args;

/* The triplets are shared by the instances: each is kept while any instance's
 * greylist_window / greylist_keep would still use it. */
static void grey_longest(const struct config *cfg, struct greylist_params *p)
{
    p->delay = p->window = p->keep = 0;
    for (size_t i = 0; i < cfg->nsmtp; i++) {
        const struct smtp_instance *in = &cfg->smtp[i];
        p->window = in->greylist_window > p->window ? in->greylist_window : p->window;
        p->keep = in->greylist_keep > p->keep ? in->greylist_keep : p->keep;
    }
}

static void maint_work(void *arg)
{
    int64_t now = (int64_t)time(NULL);

    (void)arg;
    store_maintain(S.store);
    (void)store_popauth_purge(S.store, now - (int64_t)maint_args.popauth_window);
    (void)store_authfail_purge(S.store, now, maint_args.authfail_window);
    if (maint_args.grey.window && maint_args.grey.keep)
        (void)store_greylist_purge(S.store, now, &maint_args.grey);
}

static void maint_done(void *arg)
{
    (void)arg;
    S.maint_running = false;
}

static void maint_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (S.maint_running || stopping())
        return;
    maint_args.popauth_window = S.cur->cfg->pop_before_smtp_window;
    maint_args.authfail_window = S.cur->cfg->auth_fail_window;
    grey_longest(S.cur->cfg, &maint_args.grey);
    S.maint_running = true;
    if (workq_submit(S.wq, maint_work, maint_done, NULL) != 0)
        S.maint_running = false;
}

/* The counters' snapshot with the live connections per instance (stats.h). */
static void stats_now(bool stopped)
{
    const char *names[SRV_MAX_INSTANCES];
    unsigned n[SRV_MAX_INSTANCES];
    size_t k = S.cur ? S.cur->ninst : 0;
    pthread_mutex_lock(&S.limits_mu);
    for (size_t i = 0; i < k; i++) {
        names[i] = S.cur->inst[i]->name;
        n[i] = S.limits ? connlimit_count(S.limits, names[i]) : 0;
    }
    pthread_mutex_unlock(&S.limits_mu);
    if (S.cur && stats_publish(S.cur->cfg->data_dir, names, n, k, stopped) != 0)
        log_warn("stats: cannot write %s/run/%s.stats: %s", S.cur->cfg->data_dir,
                 S.proto->ident, strerror(errno));
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    stats_now(false);
}

/* ---- start and stop --------------------------------------------------------------- */

static void teardown(void)
{
    if (!stopping())
        loops_broadcast(loop_break);   /* a failed start: nothing to wait for */
    loops_join();                      /* stopping: each loop ends within the grace time */
    for (size_t i = 0; i < sizeof S.ev_sig / sizeof S.ev_sig[0]; i++)
        if (S.ev_sig[i])
            event_free(S.ev_sig[i]);
    if (S.ev_maint)
        event_free(S.ev_maint);
    if (S.ev_stats) {
        event_free(S.ev_stats);
        S.ev_stats = NULL;
        stats_now(true);               /* the last snapshot says: stopped */
    }
    listeners_free(S.listeners);
    S.listeners = NULL;
    if (S.wq)
        workq_free(S.wq);          /* finishes running jobs and their done callbacks */
    S.wq = NULL;
    loop_exit();
    if (S.sasl_ok)
        saslg_done();
    if (S.store)
        store_close(S.store);
    S.store = NULL;
    tls_install(NULL);
    certkeeper_stop();
    cfgref_release(S.cur);
    S.cur = NULL;
    if (S.base)
        event_base_free(S.base);
    S.base = NULL;
    connlimit_free(S.limits);
    S.limits = NULL;
}

static int daemonize(void)
{
    for (int round = 0; round < 2; round++) {   /* fork, setsid, fork: no controlling tty */
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "%s: fork: %s\n", S.proto->ident, strerror(errno));
            return -1;
        }
        if (pid > 0)
            _exit(0);
        if (round == 0 && setsid() < 0) {
            fprintf(stderr, "%s: setsid: %s\n", S.proto->ident, strerror(errno));
            return -1;
        }
    }
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        return -1;
    if (fd > 2)
        (void)close(fd);
    return 0;
}

/* Everything root does before the privilege drop: config, TLS, listeners, data_dir.
 * Messages go to stderr (the caller exits 1). */
static int prepare(const char *cfgpath, char *err, size_t errlen)
{
    struct config *cfg = config_load(cfgpath, err, errlen);
    SSL_CTX *ctx = NULL;

    if (!cfg || !(S.cur = cfgref_make(cfg, err, errlen)))
        return -1;
    if (tls_at_start(S.cur, &ctx, err, errlen) != 0)
        return -1;
    tls_install(ctx);
    if (listeners_for(S.cur, NULL, &S.listeners, err, errlen) != 0)
        return -1;
    return privdrop_dirs(cfg->data_dir, cfg->run_as_user, err, errlen);
}

/* After daemonizing: the certificate keeper (as root) and the drop to run_as_user. */
static int drop(char *err, size_t errlen)
{
    if (certkeeper_start(S.cfgpath, err, errlen) != 0)
        return -1;
    if (certkeeper_pid())
        log_info("certificate keeper: pid %ld stays root to read tls_cert/tls_key on reload",
                 certkeeper_pid());
    if (privdrop_to_user(S.cur->cfg->run_as_user, err, errlen) != 0)
        return -1;
    umask(077);
    return 0;
}

static int add_events(void)
{
    static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
    struct timeval tv = { .tv_sec = MAINT_INTERVAL_SEC, .tv_usec = 0 };

    for (size_t i = 0; i < 3; i++) {
        S.ev_sig[i] = evsignal_new(S.base, sigs[i], signal_cb, NULL);
        if (!S.ev_sig[i] || event_add(S.ev_sig[i], NULL) != 0)
            return -1;
    }
    S.ev_maint = event_new(S.base, -1, EV_PERSIST, maint_cb, NULL);
    if (!S.ev_maint || event_add(S.ev_maint, &tv) != 0)
        return -1;
    struct timeval stv = { .tv_sec = STATS_INTERVAL, .tv_usec = 0 };
    S.ev_stats = event_new(S.base, -1, EV_PERSIST, stats_cb, NULL);
    if (!S.ev_stats || event_add(S.ev_stats, &stv) != 0)
        return -1;
    stats_now(false);
    return 0;
}

/* One event loop per online CPU; MAILSERVER_LOOPS (1-16) overrides, for measurements. */
static unsigned loop_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cpus > 1 ? (unsigned)(cpus > LOOPS_MAX + 1 ? LOOPS_MAX + 1 : cpus) : 1;
    const char *env = getenv("MAILSERVER_LOOPS");
    if (env && *env) {
        char *end = NULL;
        errno = 0;
        long v = strtol(env, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 1 && v <= LOOPS_MAX + 1)
            return (unsigned)v;
        log_warn("MAILSERVER_LOOPS=%s ignored: not a number from 1 to %d; using %u",
                 env, LOOPS_MAX + 1, n);
    }
    return n;
}

/* After any fork: the loop, the store, SASL, the worker pool, the protocol, and
 * only then listen(): a daemon that cannot serve (a corrupt store) never accepts. */
static int start(void)
{
    const struct config *cfg = S.cur->cfg;

    if (!(S.limits = connlimit_new()) || !(S.base = event_base_new())) {
        log_err("cannot create the event loop");
        return -1;
    }
    struct cluster_conf cc;
    cluster_conf_apply(cfg, &cc);
    if (store_open(cfg->data_dir, &S.store) != STORE_OK) {
        log_err("cannot open the store under %s", cfg->data_dir);
        return -1;
    }
    if (saslg_init(S.store, cfg) != 0)
        return -1;
    stats_begin(S.proto->ident, (int64_t)time(NULL));
    S.sasl_ok = true;
    /* before any thread exists: smtpd forks its queue runner here, and a fork while
     * other threads run may copy a lock one of them holds (the child then hangs) */
    if (S.proto->on_start && S.proto->on_start(cfg) != 0) {
        log_err("%s: start failed", S.proto->ident);
        return -1;
    }
    char err[1024];
    if (S.proto->check_store && S.proto->check_store(cfg, S.store, err, sizeof err) != 0) {
        log_err("%s", err);               /* no loop runs yet: the store may be called */
        return -1;
    }
    if (!(S.wq = workq_new(S.base, WORKERS_PER_LOOP))) {
        log_err("cannot start worker threads");
        return -1;
    }
    unsigned n = loop_count();
    S.nloops = 1 + (n > 1 ? loops_start(n - 1, WORKERS_PER_LOOP, loop_exit) : 0);
    if (add_events() != 0) {
        log_err("cannot set up signal handling");
        return -1;
    }
    for (struct listener *l = S.listeners; l; l = l->next)
        if (listener_start(l, S.base, accept_cb) != 0)
            return -1;
    return 0;
}

static int run(const char *cfgpath, bool foreground)
{
    char err[1024];
    static char abspath[4096];

    sigset_t sigs;

    /* SIGTERM/SIGINT/SIGHUP stay blocked until the loop handles them: a signal that
     * arrives while starting is then acted on, not fatal.
     * Worker threads inherit the mask, so signals always reach the loop thread. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || evthread_use_pthreads() != 0 ||
        sigprocmask(SIG_BLOCK, &sigs, NULL) != 0) {
        fprintf(stderr, "%s: cannot set up signals or threads\n", S.proto->ident);
        return 1;
    }
    /* reloads read the same file even if the working directory is another one */
    S.cfgpath = realpath(cfgpath, abspath) ? abspath : cfgpath;
    log_open(S.proto->ident, foreground);
    if (prepare(S.cfgpath, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", S.proto->ident, err);
        if (!foreground)
            log_err("%s", err);
        teardown();
        return 1;
    }
    if (!foreground && daemonize() != 0) {
        teardown();
        return 1;
    }
    if (drop(err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", S.proto->ident, err);
        if (!foreground)
            log_err("%s", err);
        teardown();
        return 1;
    }
    if (start() != 0) {
        teardown();
        return 1;
    }
    log_info("started: %zu instance(s), %u event loop(s), config %s, running as uid %d",
             S.cur->ninst, S.nloops,
             S.cfgpath, (int)getuid());
    if (pthread_sigmask(SIG_UNBLOCK, &sigs, NULL) != 0)
        log_warn("cannot unblock signals");
    store_mark_loop_thread(true);   /* store calls never wait here: store.h */
    if (event_base_dispatch(S.base) < 0)
        log_err("event loop failed");
    store_mark_loop_thread(false);
    teardown();
    log_info("stopped");
    return 0;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-c FILE] [-f]\n", prog);
}

int server_main(int argc, char **argv, const struct server_proto *proto)
{
    const char *cfgpath = NULL;
    bool foreground = false, other = false;

    S.proto = proto;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0) {
            if (i + 1 >= argc) {
                usage(argv[0]);
                return 2;
            }
            cfgpath = argv[++i];
        } else if (strcmp(argv[i], "-f") == 0) {
            foreground = true;
        } else {
            other = true;
        }
    }
    if (!cfgpath)
        cfgpath = config_default_path();
    if (other) {
        /* The protocol's own options (smtpd --check-config, --test-relay): they load the
         * config themselves, so that they can report a broken one their way. */
        int rc = proto->on_option ? proto->on_option(argc, argv, cfgpath) : -1;
        if (rc >= 0)
            return rc;
        usage(argv[0]);
        return 2;
    }
    return run(cfgpath, foreground);
}

struct store *server_store(void)
{
    return S.store;
}

struct workq *server_workq(void)
{
    struct workq *w = loops_workq();
    return w ? w : S.wq;
}
