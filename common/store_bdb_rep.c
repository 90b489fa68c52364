/* store_bdb_rep: the store replicated with Berkeley DB's replication manager (see
 * store_bdb_rep.h). Sites are configured DB_LEGACY (a static group: every node lists
 * every other, no group-membership database to bootstrap); elections at start and
 * when the master goes (DB_REP_ELECTION, heartbeats for a master that stops
 * answering); a write refused at a replica (EACCES) travels to the master as a
 * cluster_req request on a repmgr channel. */
#include "store_bdb_rep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_apply.h"
#include "cluster_conf.h"
#include "cluster_net.h"
#include "log.h"
#include "store_writer.h"
#include "util.h"

#define REP_THREADS 4                  /* repmgr's message threads (run the dispatch) */
#define FWD_WAIT_MS 30000              /* a write waits this long for a master */
#define FWD_TIMEOUT_US 5000000u        /* one request's answer */
#define STATUS_TIMEOUT_US 1000000u

static struct cluster_conf rep_cc;
static bool rep_enabled;
static char rep_home[PATH_MAX];
static char rep_sock[PATH_MAX];        /* the node's write channel (store_writer.h) */
static atomic_bool rep_listener;       /* repmgr_start made this process the listener */
static atomic_bool writer_gone;        /* the writer did not answer (logged once) */
static bool no_writer;                 /* store_cluster_no_writer: never serve it */
static __thread bool sw_direct;        /* this thread applies a write itself */
#define CHAN_IDLE 8                    /* kept channels to the master (send_once) */
static pthread_mutex_t chan_mu = PTHREAD_MUTEX_INITIALIZER;
static DB_CHANNEL *chan_idle[CHAN_IDLE];
static size_t chan_n;
static _Atomic(struct store *) rep_store;
static atomic_ulong rep_unacked;
static __thread bool in_dispatch;
static __thread DB_TXN_TOKEN disp_token;   /* the dispatch's last commit (store_rep_before_commit) */
static __thread bool disp_token_set;
_Static_assert(sizeof(DB_TXN_TOKEN) == CREQ_TOKEN_LEN, "DB_TXN_TOKEN_SIZE");
static atomic_bool applied_slow;       /* a forwarded write was not here in time (logged once) */
static atomic_bool rep_stopping;

void store_stopping(void)
{
    atomic_store(&rep_stopping, true);
}

void store_set_cluster(const struct cluster_conf *cc)
{
    rep_enabled = cc != NULL && cc->on;
    if (rep_enabled)
        rep_cc = *cc;
    cluster_net_watch(rep_enabled ? cc : NULL);
}

bool store_rep_on(void)
{
    return rep_enabled;
}

bool store_rep_stopping(void)
{
    return atomic_load(&rep_stopping);
}

bool store_rep_in_dispatch(void)
{
    return in_dispatch;
}

void store_rep_before_commit(DB_TXN *txn)
{
    if (in_dispatch)
        disp_token_set = txn->set_commit_token(txn, &disp_token) == 0;
}

unsigned long store_cluster_unacked(void)
{
    return atomic_load(&rep_unacked);
}

void store_rep_attach(struct store *st)
{
    if (st == NULL)
        store_writer_stop();
    atomic_store(&rep_store, st);
    if (st != NULL && atomic_load(&rep_listener) && rep_sock[0] != '\0' && !no_writer)
        (void)store_writer_start(st, rep_sock);
}

void store_rep_tick(void)
{
    if (store_writer_serving() && !atomic_load(&rep_listener)) {
        log_info("store: cluster: this process no longer listens for the node: it stops "
                 "serving the node's write channel");
        store_writer_stop();
    }
}

void store_cluster_no_writer(void)
{
    no_writer = true;
}

bool store_rep_delegates(void)
{
    return rep_enabled && !in_dispatch && !sw_direct && rep_sock[0] != '\0' &&
           !store_writer_serving();
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    (void)nanosleep(&ts, NULL);
}

/* ---- the last master change, kept in DATA_DIR/cluster.master-change -------------- */

/* Not in the environment's directory HOME (DATA_DIR/db): Berkeley DB takes every file
 * there for one of its own during a replica's internal initialisation. */
static void change_path(char *buf, size_t len)
{
    const char *slash = strrchr(rep_home, '/');
    int n = slash != NULL ? (int)(slash - rep_home) : 1;
    snprintf(buf, len, "%.*s/cluster.master-change", n, slash != NULL ? rep_home : ".");
}

static void note_master_change(void)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 48], text[32];
    change_path(path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    int n = snprintf(text, sizeof text, "%lld\n", (long long)time(NULL));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    bool ok = n > 0 && write(fd, text, (size_t)n) == (ssize_t)n;
    if (close(fd) != 0 || !ok || rename(tmp, path) != 0)
        (void)unlink(tmp);
}

static int64_t last_master_change(void)
{
    char path[PATH_MAX + 32], text[32];
    change_path(path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    (void)close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    return strtoll(text, NULL, 10);
}

/* ---- events ------------------------------------------------------------------------ */

static void rep_event(DB_ENV *env, u_int32_t event, void *info)
{
    (void)env;
    switch (event) {
    case DB_EVENT_REP_MASTER:
        log_info("store: cluster: this node is now the replication master");
        note_master_change();
        break;
    case DB_EVENT_REP_NEWMASTER:
        log_info("store: cluster: a new master (site %d); this node is a replica",
                 info ? *(int *)info : -1);
        note_master_change();
        break;
    case DB_EVENT_REP_CLIENT:
        log_info("store: cluster: this node is a replica");
        break;
    case DB_EVENT_REP_MASTER_FAILURE:
        log_warn("store: cluster: the master is gone; an election follows (writes wait)");
        break;
    case DB_EVENT_REP_ELECTION_FAILED:
        log_warn("store: cluster: an election failed (too few nodes?); retrying");
        break;
    case DB_EVENT_REP_DUPMASTER:
        log_warn("store: cluster: two masters met; this one steps down");
        break;
    case DB_EVENT_REP_PERM_FAILED:
        atomic_fetch_add(&rep_unacked, 1);
        log_warn("store: cluster: a commit was not acknowledged under ack_policy %s",
                 cluster_acks_name(rep_cc.acks));
        break;
    case DB_EVENT_PANIC:
        log_err("store: cluster: the environment panicked");
        break;
    default:
        break;
    }
}

/* ---- the master's side of the channel --------------------------------------------- */

static void status_local(DB_ENV *env, struct creq_status *s)
{
    DB_REP_STAT *rs = NULL;
    DB_LOG_STAT *ls = NULL;
    memset(s, 0, sizeof *s);
    if (env->rep_stat(env, &rs, 0) == 0 && rs != NULL) {
        if (rs->st_status == DB_REP_MASTER)
            s->role = 1;
        else if (rs->st_master != DB_EID_INVALID)
            s->role = 2;
    }
    free(rs);
    if (env->log_stat(env, &ls, 0) == 0 && ls != NULL) {
        s->lsn_file = ls->st_cur_file;
        s->lsn_offset = ls->st_cur_offset;
    }
    free(ls);
    u_int32_t prio = 0;
    if (env->rep_get_priority(env, &prio) == 0)
        s->priority = prio;
    s->last_election = last_master_change();
}

static void rep_dispatch(DB_ENV *env, DB_CHANNEL *ch, DBT *req, u_int32_t nreq, u_int32_t flags)
{
    struct creq *q = calloc(1, sizeof *q);
    struct crep *p = calloc(1, sizeof *p);
    uint8_t *out = malloc(CREQ_WIRE_MAX);
    if (q == NULL || p == NULL || out == NULL) {
        free(q);
        free(p);
        free(out);
        return;                     /* the sender times out and retries */
    }
    struct store *st = atomic_load(&rep_store);
    p->code = STORE_ERROR;
    if (nreq != 1 || creq_decode(req[0].data, req[0].size, q) != 0) {
        log_warn("store: cluster: a malformed request on the replication channel");
    } else if (q->op == CREQ_STATUS) {
        struct creq_status s;
        status_local(env, &s);
        p->code = STORE_OK;
        p->dlen = creq_status_encode(&s, p->data, sizeof p->data);
    } else if (st == NULL) {
        p->code = STORE_NOTMASTER;
    } else {
        unsigned long before = atomic_load(&rep_unacked);
        in_dispatch = true;
        disp_token_set = false;
        cluster_apply(st, q, p);
        in_dispatch = false;
        p->unacked = atomic_load(&rep_unacked) != before;
        p->has_token = disp_token_set;
        if (disp_token_set)
            memcpy(p->token, disp_token.buf, sizeof p->token);
    }
    size_t n = crep_encode(p, out, CREQ_WIRE_MAX);
    if ((flags & DB_REPMGR_NEED_RESPONSE) && n > 0) {
        DBT d;
        memset(&d, 0, sizeof d);
        d.data = out;
        d.size = (u_int32_t)n;
        int ret = ch->send_msg(ch, &d, 1, 0);
        if (ret != 0)
            log_warn("store: cluster: cannot answer a %s: %s", creq_op_name(q->op), db_strerror(ret));
    }
    free(q);
    free(p);
    free(out);
}

/* ---- configuration and start -------------------------------------------------------- */

static int add_site(DB_ENV *env, const struct cluster_site *s, bool local)
{
    DB_SITE *site = NULL;
    int ret = env->repmgr_site(env, s->host, s->port, &site, 0);
    if (ret != 0)
        return ret;
    if (local)
        ret = site->set_config(site, DB_LOCAL_SITE, 1);
    if (ret == 0)
        ret = site->set_config(site, DB_LEGACY, 1);
    int c = site->close(site);
    return ret != 0 ? ret : c;
}

static int ack_policy(enum cluster_acks a)
{
    switch (a) {
    case CLUSTER_ACKS_ALL: return DB_REPMGR_ACKS_ALL;
    case CLUSTER_ACKS_ALL_AVAILABLE: return DB_REPMGR_ACKS_ALL_AVAILABLE;
    case CLUSTER_ACKS_ONE: return DB_REPMGR_ACKS_ONE;
    case CLUSTER_ACKS_NONE: return DB_REPMGR_ACKS_NONE;
    case CLUSTER_ACKS_QUORUM: break;
    }
    return DB_REPMGR_ACKS_QUORUM;
}

/* The child of a fork (smtpd's queue runner) opens its own store: none of the parent's
 * replication state is its own. */
static void rep_atfork_child(void)
{
    store_writer_forget();
    atomic_store(&rep_store, NULL);
    atomic_store(&rep_listener, false);
    atomic_store(&writer_gone, false);
    (void)pthread_mutex_init(&chan_mu, NULL);
    chan_n = 0;                        /* the parent's channels */
}

static void rep_atfork_once(void)
{
    if (pthread_atfork(NULL, NULL, rep_atfork_child) != 0)
        log_warn("store: cluster: pthread_atfork failed");
}

int store_rep_configure(DB_ENV *env, const char *home)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!rep_enabled)
        return 0;
    (void)pthread_once(&once, rep_atfork_once);
    str_copy(rep_home, home, sizeof rep_home);
    char data_dir[PATH_MAX];
    const char *slash = strrchr(home, '/');
    int n = slash != NULL ? (int)(slash - home) : 1;
    snprintf(data_dir, sizeof data_dir, "%.*s", n, slash != NULL ? home : ".");
    if (!sw_path(data_dir, rep_sock, sizeof rep_sock)) {
        log_warn("store: cluster: %s is too long a path for the node's write channel: every "
                 "process writes itself", data_dir);
        rep_sock[0] = '\0';
    }
    static const struct { int which; u_int32_t us; } timeouts[] = {
        { DB_REP_ACK_TIMEOUT, 2000000 },       /* a commit waits this long for acks */
        { DB_REP_CHECKPOINT_DELAY, 0 },        /* (30 s by default: every checkpoint,
                                                * store_close's too, waited that long) */
        { DB_REP_CONNECTION_RETRY, 1000000 },
        { DB_REP_ELECTION_RETRY, 1000000 },
        { DB_REP_ELECTION_TIMEOUT, 2000000 },
        { DB_REP_HEARTBEAT_SEND, 200000 },     /* the master's heartbeat. A commit in a
                                                * process other than the listener learns
                                                * of its acks only at the next one (a
                                                * userdb run on the master: ~0.2 s). More
                                                * often (30 ms) made Berkeley DB 5.3's
                                                * deadlock likelier: a replica handles each
                                                * heartbeat in __rep_check_missing (takes
                                                * mtx_clientdb, then the region's lock),
                                                * and a node winning an election runs
                                                * rep_start, which takes them in the
                                                * other order: its replication stalls for
                                                * good (seen after a partition healed). */
        { DB_REP_HEARTBEAT_MONITOR, 2000000 }, /* a stopped master is noticed after this */
    };
    int ret = env->set_event_notify(env, rep_event);
    if (ret == 0)
        ret = add_site(env, &rep_cc.node, true);
    for (size_t i = 0; ret == 0 && i < rep_cc.npeers; i++)
        ret = add_site(env, &rep_cc.peers[i], false);
    if (ret == 0)
        ret = env->repmgr_set_ack_policy(env, ack_policy(rep_cc.acks));
    if (ret == 0)
        ret = env->rep_set_priority(env, rep_cc.priority);
    for (size_t i = 0; ret == 0 && i < sizeof timeouts / sizeof timeouts[0]; i++)
        ret = env->rep_set_timeout(env, timeouts[i].which, timeouts[i].us);
    if (ret == 0)
        ret = env->repmgr_msg_dispatch(env, rep_dispatch, 0);
    return ret;
}

/* Wait (up to MS milliseconds) until this process is connected to enough sites: the
 * master (unless it is this node) and, with this node, a majority of the group (ALL:
 * every site). */
static void wait_connected(DB_ENV *env, bool all, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        u_int cnt = 0, up = 0;
        DB_REPMGR_SITE *list = NULL;
        DB_REP_STAT *rs = NULL;
        int master = DB_EID_INVALID;
        bool is_master = false;
        if (env->rep_stat(env, &rs, 0) == 0 && rs != NULL) {
            master = (int)rs->st_master;
            is_master = rs->st_status == DB_REP_MASTER;
        }
        free(rs);
        bool master_up = is_master;
        if (env->repmgr_site_list(env, &cnt, &list) == 0) {
            for (u_int k = 0; k < cnt; k++) {
                bool c = list[k].status == DB_REPMGR_CONNECTED;
                up += c;
                master_up = master_up || (c && list[k].eid == master);
            }
        }
        free(list);
        if (master_up && (all ? up == cnt : (up + 1) * 2 > cnt + 1))
            return;
        sleep_ms(50);
    }
}

int store_rep_start(DB_ENV *env)
{
    if (!rep_enabled)
        return 0;
    int ret = env->repmgr_start(env, REP_THREADS, DB_REP_ELECTION);
    atomic_store(&rep_listener, ret == 0);
    struct store *st = atomic_load(&rep_store);
    if (ret == 0 && st != NULL && rep_sock[0] != '\0' && !no_writer)
        (void)store_writer_start(st, rep_sock);    /* a reopen made us the listener */
    if (ret == DB_REP_IGNORE) {
        /* A subordinate process: another one listens. Its writes go to the node's
         * writer; only without one does it commit itself, sending its commits' log
         * records on its own connections, so then it waits for them (a commit made
         * before would miss its acknowledgements). */
        if (rep_sock[0] == '\0' || !store_writer_reachable(rep_sock))
            wait_connected(env, false, 2000);
        ret = 0;
    }
    return ret;
}

/* ---- the replica's side: forwarding ------------------------------------------------- */

/* Whether this process is connected to site EID (DB_EID_MASTER: the master, true when
 * that is this node). A channel to another site opens a connection of its own with a
 * blocking connect(): to a host that does not answer (a partition) it would wait out the
 * kernel's SYN retries, about two minutes, so no channel goes to a site not connected. */
static bool site_connected(DB_ENV *env, int eid)
{
    DB_REP_STAT *rs = NULL;
    if (eid == DB_EID_MASTER) {
        if (env->rep_stat(env, &rs, 0) != 0 || rs == NULL)
            return false;
        bool self = rs->st_status == DB_REP_MASTER;
        eid = (int)rs->st_master;
        free(rs);
        if (self)
            return true;
    }
    u_int cnt = 0;
    DB_REPMGR_SITE *list = NULL;
    bool up = false;
    if (env->repmgr_site_list(env, &cnt, &list) == 0)
        for (u_int k = 0; k < cnt; k++)
            up = up || (list[k].eid == eid && list[k].status == DB_REPMGR_CONNECTED);
    free(list);
    return up;
}

/* Channels to the master, kept between requests: Berkeley DB 5.3 makes a channel's
 * connection for its first request and closes it with the channel, so a channel per
 * request paid a TCP connection and repmgr's handshake each time, and its request,
 * written right behind the handshake, waited ~40 ms for the handshake's delayed TCP
 * acknowledgement (Nagle). Idle ones wait in chan_idle; each is used by one thread at
 * a time. */
static DB_CHANNEL *chan_take(DB_ENV *env, int eid)
{
    DB_CHANNEL *ch = NULL;
    if (eid == DB_EID_MASTER) {
        (void)pthread_mutex_lock(&chan_mu);
        if (chan_n > 0)
            ch = chan_idle[--chan_n];
        (void)pthread_mutex_unlock(&chan_mu);
    }
    if (ch == NULL && env->repmgr_channel(env, eid, &ch, 0) != 0)
        ch = NULL;
    return ch;
}

static void chan_give(DB_CHANNEL *ch, int eid, bool ok)
{
    if (ok && eid == DB_EID_MASTER) {
        (void)pthread_mutex_lock(&chan_mu);
        if (chan_n < CHAN_IDLE) {
            chan_idle[chan_n++] = ch;
            ch = NULL;
        }
        (void)pthread_mutex_unlock(&chan_mu);
    }
    if (ch != NULL)
        (void)ch->close(ch, 0);
}

void store_rep_drop_channels(bool close_them)
{
    (void)pthread_mutex_lock(&chan_mu);
    for (size_t i = 0; i < chan_n; i++)
        if (close_them)
            (void)chan_idle[i]->close(chan_idle[i], 0);
    chan_n = 0;
    (void)pthread_mutex_unlock(&chan_mu);
}

/* One request to site EID (DB_EID_MASTER: whoever is master), its answer in P. */
static int send_once(struct store *st, int eid, const uint8_t *buf, size_t n, db_timeout_t tmo,
                     struct crep *p)
{
    if (pthread_rwlock_rdlock(&st->rw) != 0)
        return EAGAIN;
    int ret = DB_REP_UNAVAIL;
    DB_CHANNEL *ch = st->env != NULL && site_connected(st->env, eid) ? chan_take(st->env, eid) : NULL;
    if (ch != NULL) {
        DBT req, resp;
        memset(&req, 0, sizeof req);
        memset(&resp, 0, sizeof resp);
        req.data = (void *)buf;
        req.size = (u_int32_t)n;
        resp.flags = DB_DBT_MALLOC;
        ret = ch->send_request(ch, &req, 1, &resp, tmo, 0);
        if (ret == 0 && crep_decode(resp.data, resp.size, p) != 0)
            ret = EINVAL;
        free(resp.data);
        chan_give(ch, eid, ret == 0);
    }
    (void)pthread_rwlock_unlock(&st->rw);
    return ret;
}

/* Read your writes: wait (up to APPLIED_WAIT_US) until this node's copy has the
 * master's commit of a forwarded write, so that the next read here sees it (a POP3
 * login's record, then the same client's SMTP relay check on this node). A node that
 * is catching up (after a restart or a recovery) can take a while: logged once. The
 * store's read lock is held meanwhile (a reopen would free the environment under the
 * wait), so a reopen may wait that long too. */
#define APPLIED_WAIT_US 3000000u

static void wait_applied(struct store *st, const struct crep *p, const char *what)
{
    if (!p->has_token || pthread_rwlock_rdlock(&st->rw) != 0)
        return;
    DB_TXN_TOKEN tok;
    memcpy(tok.buf, p->token, sizeof tok.buf);
    int ret = st->env != NULL ? st->env->txn_applied(st->env, &tok, APPLIED_WAIT_US, 0) : 0;
    (void)pthread_rwlock_unlock(&st->rw);
    if (ret == 0 || ret == DB_KEYEMPTY)           /* (KEYEMPTY: it wrote nothing) */
        atomic_store(&applied_slow, false);
    else if (!atomic_exchange(&applied_slow, true))
        log_warn("store: cluster: the master took a %s, but this node does not have it after "
                 "%u s (%s): it is behind the master", what, APPLIED_WAIT_US / 1000000u,
                 db_strerror(ret));
}

int store_rep_forward(struct store *st, const struct creq *q, struct crep *p)
{
    if (in_dispatch)
        return STORE_NOTMASTER;     /* we lost mastership while applying: the sender retries */
    uint8_t *buf = malloc(CREQ_WIRE_MAX);
    size_t n = buf ? creq_encode(q, buf, CREQ_WIRE_MAX) : 0;
    if (n == 0) {
        free(buf);
        return STORE_ERROR;
    }
    int64_t start = mono_ms();
    bool waited = false;
    int code = STORE_ERROR;
    for (unsigned attempt = 0;; attempt++) {
        int ret = send_once(st, DB_EID_MASTER, buf, n, FWD_TIMEOUT_US, p);
        if (ret == 0 && p->code != STORE_NOTMASTER && p->code != STORE_AGAIN) {
            if (waited)
                log_info("store: cluster: the master took the %s after %lld ms", creq_op_name(q->op),
                         (long long)(mono_ms() - start));
            code = p->code;
            if (p->unacked)
                atomic_fetch_add(&rep_unacked, 1);
            wait_applied(st, p, creq_op_name(q->op));
            break;
        }
        if (!waited && attempt >= 2)
            log_warn("store: cluster: no master takes the %s (%s): waiting for one", creq_op_name(q->op),
                     ret != 0 ? db_strerror(ret) : "it is not the master any more");
        waited = waited || attempt >= 2;
        if (atomic_load(&rep_stopping)) {
            log_warn("store: cluster: stopping: the %s is dropped (no master)", creq_op_name(q->op));
            break;
        }
        if (mono_ms() - start > FWD_WAIT_MS) {
            log_err("store: cluster: no master for %d s: the %s failed", FWD_WAIT_MS / 1000,
                    creq_op_name(q->op));
            break;
        }
        sleep_ms(attempt < 5 ? 20u : 100u);
    }
    free(buf);
    return code;
}

static void set_data(uint8_t *dst, size_t *dlen, const void *src, size_t n)
{
    *dlen = src != NULL && n <= CREQ_DATA_MAX ? n : 0;
    if (*dlen > 0)
        memcpy(dst, src, n);
}

/* Q through the node's writer; without one (its socket refuses, or it went away before
 * answering a request that may be redone) applied by this thread itself, as a process
 * without a writer does (a local commit, or the repmgr channel at a replica). */
static int fwd_writer(struct store *st, const struct creq *q, struct crep *p)
{
    int w = store_writer_call(rep_sock, q, p);
    if (w == SW_OK) {
        if (atomic_exchange(&writer_gone, false))
            log_info("store: cluster: the node's writer takes this process's writes again");
        if (p->unacked)
            atomic_fetch_add(&rep_unacked, 1);
        return p->code;
    }
    if (w == SW_UNKNOWN && !sw_idempotent(q)) {
        log_err("store: cluster: the node's writer went away during a %s: it may or may not "
                "have been applied", creq_op_name(q->op));
        (void)atomic_exchange(&writer_gone, true);
        return STORE_ERROR;
    }
    if (!atomic_exchange(&writer_gone, true))
        log_warn("store: cluster: the node's writer (%s) does not answer: this process "
                 "writes itself", rep_sock);
    sw_direct = true;
    cluster_apply(st, q, p);
    sw_direct = false;
    return p->code;
}

int store_fwd(struct store *st, int r, const struct creq_args *a, struct crep *rep)
{
    if (r != STORE_NOTMASTER)
        return r;
    struct creq *q = calloc(1, sizeof *q);
    struct crep *p = calloc(1, sizeof *p);
    if (q == NULL || p == NULL || a->s1len > CREQ_DATA_MAX || a->s2len > CREQ_DATA_MAX) {
        free(q);
        free(p);
        return STORE_ERROR;
    }
    q->op = a->op;
    q->sub = a->sub;
    q->flag = a->flag;
    if (a->ip != NULL)
        q->ip = *a->ip;
    q->t = a->t;
    memcpy(q->u, a->u, sizeof q->u);
    set_data(q->s1, &q->s1len, a->s1, a->s1len);
    set_data(q->s2, &q->s2len, a->s2, a->s2len);
    r = store_rep_delegates() ? fwd_writer(st, q, p) : store_rep_forward(st, q, p);
    if (rep != NULL)
        *rep = *p;
    free(q);
    free(p);
    return r;
}

/* ---- status ------------------------------------------------------------------------ */

static void fill_node(struct store_node *o, const struct creq_status *s)
{
    o->reachable = true;
    o->role = s->role == 1 ? NODE_MASTER : s->role == 2 ? NODE_REPLICA : NODE_ELECTING;
    o->lsn_file = s->lsn_file;
    o->lsn_offset = s->lsn_offset;
    o->last_change = s->last_election;
    o->priority = s->priority;
}

int store_cluster_status(struct store *st, struct store_node *out, size_t max, size_t *n)
{
    *n = 0;
    if (!rep_enabled || max == 0 || pthread_rwlock_rdlock(&st->rw) != 0)
        return STORE_ERROR;
    DB_ENV *env = st->env;
    u_int cnt = 0;
    DB_REPMGR_SITE *list = NULL;
    struct creq_status s;
    if (env == NULL) {
        (void)pthread_rwlock_unlock(&st->rw);
        return STORE_ERROR;
    }
    memset(&out[0], 0, sizeof out[0]);
    (void)cluster_site_str(&rep_cc.node, out[0].addr, sizeof out[0].addr);
    out[0].self = true;
    status_local(env, &s);
    fill_node(&out[0], &s);
    wait_connected(env, true, 1000);   /* a node down costs its status a second */
    int ret = env->repmgr_site_list(env, &cnt, &list);
    (void)pthread_rwlock_unlock(&st->rw);
    *n = 1;
    if (ret != 0)
        return STORE_OK;
    struct creq q = { .op = CREQ_STATUS };
    uint8_t buf[128];
    size_t len = creq_encode(&q, buf, sizeof buf);
    struct crep *p = malloc(sizeof *p);
    for (u_int k = 0; k < cnt && *n < max && p != NULL; k++) {
        struct store_node *o = &out[(*n)++];
        memset(o, 0, sizeof *o);
        struct cluster_site site = { "", list[k].port };
        str_copy(site.host, list[k].host, sizeof site.host);
        (void)cluster_site_str(&site, o->addr, sizeof o->addr);
        if (send_once(st, list[k].eid, buf, len, STATUS_TIMEOUT_US, p) == 0 && p->code == STORE_OK &&
            creq_status_decode(p->data, p->dlen, &s) == 0)
            fill_node(o, &s);
    }
    free(p);
    free(list);
    return STORE_OK;
}
