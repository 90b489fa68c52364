/* dns: asynchronous lookups on the event loops and blocking ones for delivery threads,
 * over libunbound. See dns.h; the pure wire helpers are in dns_wire.c. */
#include "dns.h"

#include <arpa/nameser.h>
#include <event2/event.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "dns_acache.h"
#include "log.h"
#include "util.h"

/* ---- settings ---------------------------------------------------------------- */

static pthread_mutex_t conf_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char **servers;
    size_t n;
    unsigned timeout;
    unsigned gen;                 /* bumped by each dns_configure */
    char *anchor;                 /* DNSSEC trust anchor file, or NULL: no validation */
} conf = { NULL, 0, 5, 1, NULL };

/* A fork (the queue runner's restart) while a loop thread holds conf_mu would leave
 * the child's copy locked for ever: hold it across fork. */
static void fork_lock(void)
{
    (void)pthread_mutex_lock(&conf_mu);
}

static void fork_unlock(void)
{
    (void)pthread_mutex_unlock(&conf_mu);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_setup(void)
{
    if (pthread_atfork(fork_lock, fork_unlock, fork_unlock) != 0)
        log_warn("dns: pthread_atfork failed");
}

int dns_configure(const struct strlist *servers, unsigned timeout)
{
    if (pthread_once(&fork_once, fork_setup) != 0)
        return -1;
    char **v = servers->n ? xcalloc(servers->n, sizeof *v) : NULL;
    for (size_t i = 0; i < servers->n; i++)
        v[i] = xstrdup(servers->v[i]);
    if (pthread_mutex_lock(&conf_mu) != 0)
        abort();
    char **old = conf.servers;
    size_t oldn = conf.n;
    conf.servers = v;
    conf.n = servers->n;
    conf.timeout = timeout ? timeout : 5;
    conf.gen++;
    pthread_mutex_unlock(&conf_mu);
    for (size_t i = 0; i < oldn; i++)
        free(old[i]);
    free(old);
    return 0;
}

int dns_set_trust_anchor(const char *file)
{
    char *v = NULL;
    int rc = 0;
    if (file && file[0]) {
        if (access(file, R_OK) == 0)
            v = xstrdup(file);
        else if (strcmp(file, DNS_ROOT_ANCHOR) != 0 || errno != ENOENT)
            rc = -1;              /* named but unreadable: said; the default may be absent */
        if (rc < 0)
            log_warn("dns: dns_trust_anchor %s: %s; no DNSSEC validation (no DANE)", file,
                     strerror(errno));
    }
    if (pthread_mutex_lock(&conf_mu) != 0)
        abort();
    char *old = conf.anchor;
    conf.anchor = v;
    conf.gen++;
    pthread_mutex_unlock(&conf_mu);
    free(old);
    return rc;
}

bool dns_validating(void)
{
    if (pthread_mutex_lock(&conf_mu) != 0)
        abort();
    bool on = conf.anchor != NULL;
    pthread_mutex_unlock(&conf_mu);
    return on;
}

/* A new libunbound context with the current settings (*gen, *timeout: theirs); with the
 * trust anchor when VALIDATE (dns_sync_query_sec), else none (libunbound validates
 * nothing without one: every answer is insecure, none bogus). */
static struct ub_ctx *ub_new(bool threads, bool validate, unsigned *gen, unsigned *timeout)
{
    struct ub_ctx *ub = ub_ctx_create();
    if (!ub)
        return NULL;
    int err = threads ? ub_ctx_async(ub, 1) : 0;
    /* dns_servers may well be a resolver on this host (127.0.0.53, a local unbound) */
    if (!err)
        err = ub_ctx_set_option(ub, "do-not-query-localhost:", "no");
    if (pthread_mutex_lock(&conf_mu) != 0)
        abort();
    for (size_t i = 0; !err && i < conf.n; i++)
        err = ub_ctx_set_fwd(ub, conf.servers[i]);
    if (!err && conf.n == 0) {
        int rc = ub_ctx_resolvconf(ub, NULL);
        if (rc)   /* no /etc/resolv.conf: libunbound resolves from the root itself */
            log_warn("dns: /etc/resolv.conf: %s; resolving from the root", ub_strerror(rc));
    }
    if (!err && validate && conf.anchor)
        err = ub_ctx_add_ta_file(ub, conf.anchor);
    if (!err && (err = ub_ctx_hosts(ub, NULL)) != 0) {
        log_warn("dns: /etc/hosts: %s", ub_strerror(err));
        err = 0;
    }
    *gen = conf.gen;
    *timeout = conf.timeout;
    pthread_mutex_unlock(&conf_mu);
    if (err) {
        log_err("dns: resolver set-up failed: %s", ub_strerror(err));
        ub_ctx_delete(ub);
        return NULL;
    }
    return ub;
}

/* ---- per-loop contexts ---------------------------------------------------------- */

struct dns_ctx {
    struct ub_ctx *ub;
    struct event *ev;             /* ub_fd readable */
    struct event_base *base;
    unsigned gen, timeout;
    size_t live;                  /* queries not yet answered or cancelled ... */
    struct dns_query *queries;    /* ... listed here */
    bool retired;                 /* a newer one serves new queries; free when live == 0 */
    bool processing;              /* inside ub_process: do not free now */
    bool ending;                  /* dns_thread_end answers what is left */
};

struct dns_query {
    struct dns_ctx *ctx;
    struct dns_query *prev, *next;
    bool cancelled;               /* while the loop ends (dns_thread_end) */
    int id;
    struct event *timer;
    dns_cb cb;
    void *arg;
};

static __thread struct dns_ctx *tl_ctx;
static pthread_key_t ctx_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void ctx_free(struct dns_ctx *c)
{
    if (!c)
        return;
    if (c->ev)
        event_free(c->ev);
    if (c->ub)
        ub_ctx_delete(c->ub);
    free(c);
}

static void key_dtor(void *p)
{
    struct dns_ctx *c = p;
    if (c && !c->retired)
        ctx_free(c);
}

static void make_key(void)
{
    if (pthread_key_create(&ctx_key, key_dtor) != 0)
        abort();
}

static void maybe_free(struct dns_ctx *c)
{
    if (c->retired && c->live == 0 && !c->processing)
        ctx_free(c);
}

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dns_ctx *c = arg;
    c->processing = true;
    int err = ub_process(c->ub);
    c->processing = false;
    if (err)
        log_warn("dns: %s", ub_strerror(err));
    maybe_free(c);
}

static struct dns_ctx *ctx_new(struct event_base *base)
{
    struct dns_ctx *c = xcalloc(1, sizeof *c);
    c->base = base;
    c->ub = ub_new(true, false, &c->gen, &c->timeout);
    if (!c->ub) {
        free(c);
        return NULL;
    }
    c->ev = event_new(base, ub_fd(c->ub), EV_READ | EV_PERSIST, on_fd, c);
    if (!c->ev || event_add(c->ev, NULL) < 0) {
        ctx_free(c);
        return NULL;
    }
    return c;
}

/* The calling thread's context for BASE, renewed after a dns_configure. */
static struct dns_ctx *thread_ctx(struct event_base *base)
{
    if (pthread_once(&key_once, make_key) != 0)
        abort();
    unsigned gen;
    if (pthread_mutex_lock(&conf_mu) != 0)
        abort();
    gen = conf.gen;
    pthread_mutex_unlock(&conf_mu);
    struct dns_ctx *c = tl_ctx;
    if (c && (c->gen != gen || c->base != base)) {
        c->retired = true;
        maybe_free(c);
        c = tl_ctx = NULL;
    }
    if (!c) {
        c = tl_ctx = ctx_new(base);
        if (pthread_setspecific(ctx_key, c) != 0)
            log_warn("dns: pthread_setspecific failed");
    }
    return c;
}

/* Take Q out of its context's list. */
static void query_detach(struct dns_ctx *c, struct dns_query *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        c->queries = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

/* A query is over: out of the list, freed; a retired context goes with its last. */
static void query_end(struct dns_query *q)
{
    struct dns_ctx *c = q->ctx;
    query_detach(c, q);
    event_free(q->timer);
    free(q);
    c->live--;
    maybe_free(c);
}

static void sync_thread_end(void);

void dns_thread_end(void)
{
    sync_thread_end();            /* the blocking lookups' contexts */
    struct dns_ctx *c = tl_ctx;
    tl_ctx = NULL;
    struct dns_query *list = c ? c->queries : NULL;
    if (c) {
        c->queries = NULL;
        c->ending = true;         /* a dns_cancel from a callback only marks its query */
    }
    while (list) {                /* the loop ends: whoever still waits hears "error" */
        struct dns_query *q = list;
        (void)ub_cancel(c->ub, q->id);
        if (!q->cancelled) {
            struct dns_answer a;
            memset(&a, 0, sizeof a);
            a.status = DNS_ERROR;
            q->cb(q->arg, &a);
        }
        list = q->next;
        event_free(q->timer);
        free(q);
    }
    if (pthread_once(&key_once, make_key) == 0)
        (void)pthread_setspecific(ctx_key, NULL);
    ctx_free(c);
}

static void on_answer(void *arg, int err, struct ub_result *res)
{
    struct dns_query *q = arg;
    struct dns_answer a;
    memset(&a, 0, sizeof a);
    a.status = DNS_ERROR;
    if (err)
        log_info("dns: lookup failed: %s", ub_strerror(err));
    else if (res && res->answer_packet &&
             dns_parse_answer(res->answer_packet, (size_t)res->answer_len, res->qtype, &a) < 0)
        a.status = DNS_ERROR;
    if (!err && res) {
        a.secure = res->secure != 0;
        a.bogus = res->bogus != 0;
    }
    q->cb(q->arg, &a);
    if (res)
        ub_resolve_free(res);
    query_end(q);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dns_query *q = arg;
    struct dns_answer a;
    memset(&a, 0, sizeof a);
    a.status = DNS_TIMEOUT;
    (void)ub_cancel(q->ctx->ub, q->id);
    q->cb(q->arg, &a);
    query_end(q);
}

struct dns_query *dns_query(struct event_base *base, const char *name, int type, dns_cb cb,
                            void *arg)
{
    struct dns_ctx *c = thread_ctx(base);
    if (!c)
        return NULL;
    struct dns_query *q = xcalloc(1, sizeof *q);
    q->ctx = c;
    q->cb = cb;
    q->arg = arg;
    q->timer = evtimer_new(base, on_timeout, q);
    struct timeval tv = { (time_t)c->timeout, 0 };
    if (!q->timer || evtimer_add(q->timer, &tv) < 0) {
        if (q->timer)
            event_free(q->timer);
        free(q);
        return NULL;
    }
    int err = ub_resolve_async(c->ub, name, type, ns_c_in, q, on_answer, &q->id);
    if (err) {
        log_warn("dns: %s: %s", name, ub_strerror(err));
        event_free(q->timer);
        free(q);
        return NULL;
    }
    c->live++;
    q->next = c->queries;
    if (q->next)
        q->next->prev = q;
    c->queries = q;
    return q;
}

void dns_cancel(struct dns_query *q)
{
    if (!q)
        return;
    if (q->ctx->ending) {
        q->cancelled = true;
        return;
    }
    (void)ub_cancel(q->ctx->ub, q->id);
    query_end(q);
}

/* ---- blocking --------------------------------------------------------------- */

/* dns_sync_query's answer, filled by its callback. */
struct sync_wait {
    bool done;
    int err;
    struct ub_result *res;
};

static void on_sync_answer(void *arg, int err, struct ub_result *res)
{
    struct sync_wait *w = arg;
    w->done = true;
    w->err = err;
    w->res = res;
}

/* A thread's libunbound contexts for the blocking lookups, one validating and one not,
 * kept between lookups: answers are cached for their TTL, and a validating lookup does
 * not start from the trust anchor each time. Rebuilt when the settings' generation
 * changes (dns_configure, dns_set_trust_anchor at reload) or after a resolver error;
 * freed when the thread ends (the key's destructor) or by dns_thread_end. */
struct sync_ctx {
    struct ub_ctx *ub[2];         /* [validate] */
    unsigned gen[2], timeout[2];
    pid_t pid;                    /* the process that made them */
    struct dns_acache *answers;   /* the non-validating lookups' (dns_acache.h) */
};

static __thread struct sync_ctx *tl_sync;
static pthread_key_t sync_key;
static pthread_once_t sync_once = PTHREAD_ONCE_INIT;

static void sync_ctx_free(void *p)
{
    struct sync_ctx *s = p;
    if (!s)
        return;
    for (size_t i = 0; i < 2; i++)
        if (s->ub[i])
            ub_ctx_delete(s->ub[i]);
    free(s->answers);
    free(s);
}

static void sync_key_make(void)
{
    if (pthread_key_create(&sync_key, sync_ctx_free) != 0)
        abort();
}

/* The calling thread's context (VALIDATE or not) with the current settings; NULL when
 * it cannot be made (logged). */
static struct ub_ctx *sync_ctx(bool validate, unsigned *timeout)
{
    if (pthread_once(&sync_once, sync_key_make) != 0)
        abort();
    struct sync_ctx *s = tl_sync;
    if (s && s->pid != getpid())
        s = NULL;                 /* inherited over a fork: its resolver thread stayed in
                                   * the parent, so it is neither used nor deleted here */
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->pid = getpid();
        tl_sync = s;
        if (pthread_setspecific(sync_key, s) != 0)
            log_warn("dns: pthread_setspecific failed");
    }
    if (pthread_mutex_lock(&conf_mu) != 0)
        abort();
    unsigned gen = conf.gen;
    pthread_mutex_unlock(&conf_mu);
    size_t i = validate;
    if (s->ub[i] && s->gen[i] != gen) {
        ub_ctx_delete(s->ub[i]);
        s->ub[i] = NULL;
    }
    if (!s->ub[i])
        s->ub[i] = ub_new(true, validate, &s->gen[i], &s->timeout[i]);
    *timeout = s->timeout[i];
    return s->ub[i];
}

/* The calling thread's context VALIDATE failed: made anew at the next lookup. */
static void sync_ctx_drop(bool validate)
{
    if (tl_sync && tl_sync->pid == getpid() && tl_sync->ub[validate]) {
        ub_ctx_delete(tl_sync->ub[validate]);
        tl_sync->ub[validate] = NULL;
    }
}

/* dns_thread_end's part: this thread's blocking contexts. */
static void sync_thread_end(void)
{
    struct sync_ctx *s = tl_sync;
    tl_sync = NULL;
    if (pthread_once(&sync_once, sync_key_make) == 0)
        (void)pthread_setspecific(sync_key, NULL);
    if (s && s->pid == getpid())
        sync_ctx_free(s);
}

/* Resolve on UB (asynchronous, threaded) and wait at most TIMEOUT seconds: the result,
 * or NULL (logged) on error or timeout (the query cancelled, the context kept). *broken:
 * the context failed and is not to be used again. */
static struct ub_result *sync_resolve(struct ub_ctx *ub, const char *name, int type,
                                      unsigned timeout, bool *broken)
{
    struct sync_wait w = { false, 0, NULL };
    int id = 0;
    int err = ub_resolve_async(ub, name, type, ns_c_in, &w, on_sync_answer, &id);
    struct timespec end = { 0, 0 };
    *broken = err != 0;
    if (!err && clock_gettime(CLOCK_MONOTONIC, &end) < 0)
        err = UB_INITFAIL;
    end.tv_sec += timeout;
    while (!err && !w.done) {
        struct timespec now;
        if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
            break;
        long ms = (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
        if (ms <= 0)
            break;
        struct pollfd p = { .fd = ub_fd(ub), .events = POLLIN };
        int r = poll(&p, 1, (int)ms);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && (err = ub_process(ub)) != 0)
            *broken = true;
    }
    if (!w.done) {
        log_info("dns: %s: %s", name, err ? ub_strerror(err) : "timed out");
        (void)ub_cancel(ub, id);   /* its callback is never called now */
        return NULL;
    }
    if (w.err) {
        log_info("dns: %s: %s", name, ub_strerror(w.err));
        return NULL;
    }
    return w.res;
}

/* What libunbound says of an answer's DNSSEC state. */
static enum dns_sec sec_of(const struct ub_result *res)
{
    return res->bogus ? DNS_SEC_BOGUS : res->secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
}

/* The calling thread's kept answers (its sync_ctx exists) and the time for them. */
static struct dns_acache *sync_answers(long long *now)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return NULL;
    *now = (long long)ts.tv_sec;
    if (!tl_sync->answers)
        tl_sync->answers = xcalloc(1, sizeof *tl_sync->answers);
    return tl_sync->answers;
}

/* dns_sync_query, validating or not, on the calling thread's context; *sec (may be
 * NULL) gets the DNSSEC state. */
static int sync_query(const char *name, int type, unsigned char *buf, size_t size,
                      enum dns_status *status, bool validate, enum dns_sec *sec)
{
    unsigned timeout = 0;
    bool broken = false;
    *status = DNS_ERROR;
    if (sec)
        *sec = DNS_SEC_INSECURE;
    struct ub_ctx *ub = sync_ctx(validate, &timeout);
    if (!ub)
        return -1;
    /* the thread's own answers first (dns_acache.h): no round trip to libunbound's
     * thread for a name asked a moment ago */
    unsigned gen = tl_sync->gen[0];
    long long now = 0;
    struct dns_acache *ac = validate ? NULL : sync_answers(&now);
    size_t clen = 0;
    if (ac && dns_acache_get(ac, name, type, gen, now, buf, size, &clen, status))
        return *status == DNS_OK ? (int)clen : -1;
    struct ub_result *res = sync_resolve(ub, name, type, timeout ? timeout : 5, &broken);
    if (broken)
        sync_ctx_drop(validate);
    int len = -1;
    if (res && sec)
        *sec = sec_of(res);
    if (res && res->bogus) {
        log_info("dns: %s: DNSSEC validation failed: %s", name,
                 res->why_bogus ? res->why_bogus : "bogus");
    } else if (res && res->answer_packet && (size_t)res->answer_len <= size) {
        struct dns_answer a;
        if (dns_parse_answer(res->answer_packet, (size_t)res->answer_len, type, &a) == 0) {
            *status = a.status;
            if (ac)
                dns_acache_put(ac, name, type, gen, now, a.status, a.ttl, res->answer_packet,
                               (size_t)res->answer_len);
        }
        if (*status == DNS_OK) {
            memcpy(buf, res->answer_packet, (size_t)res->answer_len);
            len = res->answer_len;
        }
    }
    if (res)
        ub_resolve_free(res);
    return len;
}

int dns_sync_query(const char *name, int type, unsigned char *buf, size_t size,
                   enum dns_status *status)
{
    return sync_query(name, type, buf, size, status, false, NULL);
}

int dns_sync_query_sec(const char *name, int type, unsigned char *buf, size_t size,
                       enum dns_status *status, enum dns_sec *sec)
{
    return sync_query(name, type, buf, size, status, true, sec);
}

/* The addresses of one type's answer appended to out. */
static void add_addrs(const unsigned char *pkt, int len, int type, struct ipaddr *out,
                      size_t max, size_t *n)
{
    struct dns_answer a;
    if (len < 0 || dns_parse_answer(pkt, (size_t)len, type, &a) < 0)
        return;
    size_t want = type == ns_t_a ? 4 : 16;
    for (size_t i = 0; i < a.n && *n < max; i++) {
        if (a.rdlen[i] != want)
            continue;
        memset(&out[*n], 0, sizeof out[*n]);
        out[*n].family = type == ns_t_a ? AF_INET : AF_INET6;
        memcpy(out[*n].b, a.rdata[i], want);
        (*n)++;
    }
}

/* The weaker of two DNSSEC states (bogus < insecure < secure). */
static enum dns_sec sec_min(enum dns_sec a, enum dns_sec b)
{
    if (a == DNS_SEC_BOGUS || b == DNS_SEC_BOGUS)
        return DNS_SEC_BOGUS;
    return a == DNS_SEC_SECURE && b == DNS_SEC_SECURE ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
}

int dns_sync_addrs_sec(const char *host, struct ipaddr *out, size_t max, size_t *n,
                       enum dns_status *status, enum dns_sec *sec)
{
    *n = 0;
    *status = DNS_OK;
    bool validate = sec != NULL;
    if (sec)
        *sec = DNS_SEC_INSECURE;      /* an address literal has no DNSSEC state */
    if (max > 0 && ipaddr_parse(host, &out[0]) == 0) {
        *n = 1;
        return 0;
    }
    unsigned char buf[4096];
    enum dns_status s6, s4;
    enum dns_sec q6 = DNS_SEC_INSECURE, q4 = DNS_SEC_INSECURE;
    int l6 = sync_query(host, ns_t_aaaa, buf, sizeof buf, &s6, validate, &q6);
    add_addrs(buf, l6, ns_t_aaaa, out, max, n);
    int l4 = sync_query(host, ns_t_a, buf, sizeof buf, &s4, validate, &q4);
    add_addrs(buf, l4, ns_t_a, out, max, n);
    if (sec)
        *sec = sec_min(q6, q4);
    if (sec && *sec == DNS_SEC_BOGUS) {   /* RFC 7672 2.2.2: not to be used at all */
        *n = 0;
        *status = DNS_ERROR;
        return -1;
    }
    if (*n > 0)
        return 0;
    bool gone = (s6 == DNS_NXDOMAIN || s6 == DNS_NODATA) && (s4 == DNS_NXDOMAIN || s4 == DNS_NODATA);
    *status = gone ? DNS_NXDOMAIN : DNS_ERROR;
    return -1;
}

int dns_sync_addrs(const char *host, struct ipaddr *out, size_t max, size_t *n,
                   enum dns_status *status)
{
    return dns_sync_addrs_sec(host, out, max, n, status, NULL);
}
