/* queue_dest: next hops and delivery threads of the queue runner (see queue_dest.h). */
#include "queue_dest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipmatch.h"
#include "log.h"
#include "mtasts.h"
#include "mx.h"
#include "queue_sched.h"
#include "smtp_client.h"
#include "util.h"

#define CONN_STACK (1024 * 1024)   /* per delivery thread (the default 8 MB is far more) */

struct ref {
    struct qitem *it;
    size_t rcpt;
};

struct dest {
    char domain[MX_NAME_MAX];  /* for the MX lookup when not resolved */
    struct nexthop nh;         /* nh.key names the hop */
    enum nexthop_result nhr;
    bool resolved;
    unsigned active;           /* connections (threads) */
    unsigned lowered;          /* the hop refused a connection while others were open */
    struct ref *refs;          /* waiting recipients, refs[head..n), one message's together */
    size_t head, n, cap;
    size_t waiting;            /* messages among them */
};

struct qdests {
    pthread_mutex_t mu;        /* everything below, every dest, every item's refs */
    const char *qdir;
    SSL_CTX *tls;
    int notify_fd;
    struct dest **v;
    size_t n, cap, rr;
    unsigned active;
    struct qitem *finished;
};

struct conn {                  /* one delivery thread */
    struct qdests *d;
    struct dest *t;
    char helo[256];
};

void qitem_mark(struct qitem *it, size_t r, enum qmark m, const char *status,
                const char *remote, const char *diag)
{
    pthread_mutex_lock(&it->mu);
    struct qrcpt *rc = &it->e.rcpt[r];
    it->mark[r] = (unsigned char)m;
    it->ended[r] = (int64_t)time(NULL);
    qrcpt_set_error(rc, status, remote, diag);
    if (m == M_DONE)
        rc->state = QR_DONE;
    pthread_mutex_unlock(&it->mu);
}

static void notify(struct qdests *d)
{
    uint64_t one = 1;
    if (write(d->notify_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("runner: cannot wake the runner: %s", strerror(errno));
}

struct qdests *qdests_new(const char *qdir, SSL_CTX *tls, int notify_fd)
{
    struct qdests *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (pthread_mutex_init(&d->mu, NULL) != 0) {
        free(d);
        return NULL;
    }
    d->qdir = qdir;
    d->tls = tls;
    d->notify_fd = notify_fd;
    return d;
}

/* ---------------------------------------------------------- the hop table ---- */

/* The hop of domain as far as known without DNS (static route, relayhost, literal).
 * A route's hop is per domain ("route:host:port/domain"): each recipient domain has its
 * own TLS policy (MTA-STS), so two domains routed to one host do not share connections. */
static void hop_of(const struct config *cfg, const char *domain, struct nexthop *nh,
                   bool *resolved)
{
    *resolved = nexthop_static(cfg, domain, nh) == 1;
    if (!*resolved) {
        snprintf(nh->key, sizeof nh->key, "mx:%s", domain);
        str_lower(nh->key);
    } else if (strncmp(nh->key, "route:", 6) == 0) {
        size_t k = strlen(nh->key);
        snprintf(nh->key + k, sizeof nh->key - k, "/%s", domain);
        str_lower(nh->key + k);
    }
}

/* The TLS policy of a hop: the recipient domain's MTA-STS policy for its MX hosts and
 * for a [routes] host name (matched against the policy's mx list like an MX); none for
 * a route to an address (the admin's explicit choice: mx patterns are names), the
 * relayhost (a smarthost is not the domain's MX) and address literals. */
static void hop_policy(const struct dest *t, const struct nexthop *nh, struct tls_policy *p)
{
    struct ipaddr a;
    bool route = strncmp(nh->key, "route:", 6) == 0;
    if (strncmp(nh->key, "mx:", 3) == 0 ||
        (route && nh->n > 0 && ipaddr_parse(nh->host[0].name, &a) != 0)) {
        mtasts_lookup(t->domain, p);
        return;
    }
    memset(p, 0, sizeof *p);
    str_copy(p->domain, t->domain, sizeof p->domain);
}

static struct dest *find_locked(struct qdests *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i]->nh.key, key) == 0)
            return d->v[i];
    return NULL;
}

bool qdests_full(struct qdests *d, const struct config *cfg, const char *domain, size_t max)
{
    struct nexthop nh;
    bool resolved;
    hop_of(cfg, domain, &nh, &resolved);
    pthread_mutex_lock(&d->mu);
    struct dest *t = find_locked(d, nh.key);
    bool full = t && t->waiting >= max;
    pthread_mutex_unlock(&d->mu);
    return full;
}

static struct dest *get_locked(struct qdests *d, const struct nexthop *nh, bool resolved,
                               const char *domain)
{
    struct dest *t = find_locked(d, nh->key);
    if (t)
        return t;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 16;
        struct dest **v = realloc(d->v, nc * sizeof(struct dest *));
        if (!v)
            return NULL;
        d->v = v;
        d->cap = nc;
    }
    if (!(t = calloc(1, sizeof *t)))
        return NULL;
    t->nh = *nh;
    t->resolved = resolved;
    t->nhr = NH_OK;
    str_copy(t->domain, domain, sizeof t->domain);
    d->v[d->n++] = t;
    return t;
}

int qdests_add(struct qdests *d, const struct config *cfg, const char *domain,
               struct qitem *it, const size_t *rcpts, size_t n)
{
    struct nexthop nh;
    bool resolved;
    hop_of(cfg, domain, &nh, &resolved);
    pthread_mutex_lock(&d->mu);
    struct dest *t = get_locked(d, &nh, resolved, domain);
    if (t && t->n + n > t->cap) {
        if (t->head > 0) {                 /* reuse the room of taken refs first */
            memmove(t->refs, t->refs + t->head, (t->n - t->head) * sizeof *t->refs);
            t->n -= t->head;
            t->head = 0;
        }
        size_t nc = t->cap ? t->cap : 16;
        while (nc < t->n + n)
            nc *= 2;
        struct ref *v = nc > t->cap ? realloc(t->refs, nc * sizeof *v) : t->refs;
        if (v) {
            t->refs = v;
            t->cap = nc;
        } else {
            t = NULL;
        }
    }
    if (t) {
        if (t->n == t->head || t->refs[t->n - 1].it != it)
            t->waiting++;                  /* else: joins that message (same hop) */
        for (size_t k = 0; k < n; k++)
            t->refs[t->n++] = (struct ref){ it, rcpts[k] };
        it->refs += n;
    }
    pthread_mutex_unlock(&d->mu);
    return t ? 0 : -1;
}

/* Give back n recipients of it; the last one puts it on the finished list. Locked. */
static void give_back_locked(struct qdests *d, struct qitem *it, size_t n)
{
    it->refs -= n;
    if (it->refs == 0) {
        it->fin_next = d->finished;
        d->finished = it;
    }
}

bool qdests_release(struct qdests *d, struct qitem *it)
{
    pthread_mutex_lock(&d->mu);
    bool last = --it->refs == 0;
    pthread_mutex_unlock(&d->mu);
    return last;
}

struct qitem *qdests_take_finished(struct qdests *d)
{
    pthread_mutex_lock(&d->mu);
    struct qitem *f = d->finished;
    d->finished = NULL;
    pthread_mutex_unlock(&d->mu);
    return f;
}

/* Take the next message's refs (one item, consecutive) into *out (malloc'd). Locked. */
static size_t take_one_locked(struct dest *t, struct ref **out)
{
    if (t->head == t->n)
        return 0;
    size_t j = t->head + 1;
    while (j < t->n && t->refs[j].it == t->refs[t->head].it)
        j++;
    size_t n = j - t->head;
    *out = malloc(n * sizeof **out);
    if (!*out)
        return 0;
    memcpy(*out, t->refs + t->head, n * sizeof **out);
    t->head = j;
    t->waiting--;
    if (t->head == t->n)
        t->head = t->n = t->waiting = 0;
    return n;
}

/* Take every waiting ref. Locked. */
static size_t take_all_locked(struct dest *t, struct ref **out)
{
    size_t n = t->n - t->head;
    *out = n ? malloc(n * sizeof **out) : NULL;
    if (!*out)
        return 0;
    memcpy(*out, t->refs + t->head, n * sizeof **out);
    t->head = t->n = 0;
    t->waiting = 0;
    return n;
}

/* ------------------------------------------------------------- delivery ---- */

/* Record one result per ref (all of one item) and hand them back. */
static void apply_results(const struct ref *refs, size_t n,
                          const struct smtpc_reply *res, const char *remote,
                          const struct tls_outcome *tls)
{
    struct qitem *it = refs[0].it;
    for (size_t k = 0; k < n; k++) {
        const struct smtpc_reply *r = &res[k];
        int cls = r->code / 100;
        const char *st = r->enh[0] ? r->enh : cls == 2 ? "2.0.0" : cls == 5 ? "5.0.0" : "4.0.0";
        enum qmark m = cls == 2 ? M_DONE : cls == 5 ? M_BOUNCE : M_DEFER;
        qitem_mark(it, refs[k].rcpt, m, st, remote, r->text);
        log_info("runner: %s: to=<%s> relay=%s tls=%s verified=%s status=%s (%s)", it->e.id,
                 it->e.rcpt[refs[k].rcpt].addr, remote, tls ? tls->version : "none",
                 tlsp_via_name(tls ? tls->verified : TLSP_VIA_NONE),
                 m == M_DONE ? "sent" : m == M_BOUNCE ? "bounced" : "deferred", r->text);
    }
}

/* The same result for every ref (refs may span several items, each consecutive). */
static void fail_refs(struct qdests *d, const struct ref *refs, size_t n,
                      const struct smtpc_reply *why)
{
    struct smtpc_reply *res = calloc(n ? n : 1, sizeof *res);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && refs[j].it == refs[i].it)
            j++;
        if (res) {
            for (size_t k = 0; k < j - i; k++)
                res[k] = *why;
            apply_results(refs + i, j - i, res, "", NULL);
        } else {
            for (size_t k = i; k < j; k++)
                qitem_mark(refs[k].it, refs[k].rcpt, M_DEFER, "4.3.0", "", "out of memory");
        }
        pthread_mutex_lock(&d->mu);
        give_back_locked(d, refs[i].it, j - i);
        pthread_mutex_unlock(&d->mu);
        i = j;
    }
    free(res);
    notify(d);
}

/* One message over c; -1 if the connection cannot carry another. */
static int send_one(struct qdests *d, struct smtpc *c, const struct ref *refs, size_t n)
{
    struct qitem *it = refs[0].it;
    char **addrs = calloc(n, sizeof *addrs);
    struct smtpc_reply *res = calloc(n, sizeof *res);
    int rc = 0;
    if (!addrs || !res) {
        struct smtpc_reply oom = { .code = 0, .enh = "4.3.0", .text = "out of memory" };
        free(addrs);
        free(res);
        fail_refs(d, refs, n, &oom);
        return 0;
    }
    for (size_t k = 0; k < n; k++)
        addrs[k] = it->e.rcpt[refs[k].rcpt].addr;     /* addr never changes */
    int fd = queue_open_msg(d->qdir, it->e.id);
    if (fd < 0) {
        log_err("runner: %s: message file missing: %s", it->e.id, strerror(errno));
        for (size_t k = 0; k < n; k++)
            res[k] = (struct smtpc_reply){ .code = 0, .enh = "4.3.0",
                                           .text = "queue file unreadable" };
        apply_results(refs, n, res, "", NULL);
    } else {
        rc = smtpc_send(c, it->e.sender, addrs, n, fd, it->e.size, res);
        close(fd);
        apply_results(refs, n, res, smtpc_host(c), smtpc_tls(c));
        pthread_mutex_lock(&it->mu);
        bool all_done = true;
        for (size_t k = 0; k < it->e.nrcpt; k++)
            all_done &= it->e.rcpt[k].state == QR_DONE;
        if (!all_done)          /* else the runner removes the entry next: no rewrite first */
            (void)queue_update(d->qdir, &it->e);    /* delivered recipients are final now */
        pthread_mutex_unlock(&it->mu);
    }
    pthread_mutex_lock(&d->mu);
    give_back_locked(d, it, n);
    pthread_mutex_unlock(&d->mu);
    notify(d);
    free(addrs);
    free(res);
    return rc;
}

/* The hop's hosts by DNS (this thread is its only connection until resolved). */
static void resolve(struct qdests *d, struct dest *t)
{
    struct nexthop nh;
    enum nexthop_result r = nexthop_dns(t->domain, &nh);
    pthread_mutex_lock(&d->mu);
    str_copy(nh.key, t->nh.key, sizeof nh.key);    /* the key stays what grouped it */
    t->nh = nh;
    t->nhr = r;
    t->resolved = true;
    pthread_mutex_unlock(&d->mu);
    notify(d);
}

/* The hop cannot be used (DNS verdict or no host answered): every waiting message gets
 * why, unless other connections to it are open (then it only limits us: fewer). */
static void hop_failed(struct qdests *d, struct dest *t, const struct smtpc_reply *why)
{
    struct ref *refs = NULL;
    size_t n = 0;
    pthread_mutex_lock(&d->mu);
    if (t->active > 1 && t->nhr == NH_OK)
        t->lowered = t->active - 1;
    else
        n = take_all_locked(t, &refs);
    pthread_mutex_unlock(&d->mu);
    if (n)
        fail_refs(d, refs, n, why);
    free(refs);
}

static struct smtpc *connect_hop(struct qdests *d, struct conn *c, struct smtpc_reply *why)
{
    struct dest *t = c->t;
    pthread_mutex_lock(&d->mu);
    bool resolved = t->resolved;
    pthread_mutex_unlock(&d->mu);
    if (!resolved)
        resolve(d, t);
    pthread_mutex_lock(&d->mu);
    struct nexthop nh = t->nh;
    enum nexthop_result r = t->nhr;
    pthread_mutex_unlock(&d->mu);
    if (r != NH_OK) {                /* NH_BOUNCE or NH_DEFER: the lookup's verdict */
        *why = (struct smtpc_reply){ .code = r == NH_BOUNCE ? 550 : 0 };
        str_copy(why->enh, nh.status, sizeof why->enh);
        str_copy(why->text, nh.diag, sizeof why->text);
        return NULL;
    }
    struct tls_policy *pol = malloc(sizeof *pol);      /* 4 KB: not on our small stack */
    if (!pol) {
        *why = (struct smtpc_reply){ .code = 0, .enh = "4.3.0", .text = "out of memory" };
        return NULL;
    }
    hop_policy(t, &nh, pol);
    struct smtpc *sc = smtpc_open(&nh, c->helo, d->tls, pol, why);
    free(pol);
    return sc;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct qdests *d = c->d;
    struct dest *t = c->t;
    struct smtpc *sc = NULL;            /* after the first message: RSET before each */
    for (;;) {
        struct ref *refs = NULL;
        pthread_mutex_lock(&d->mu);
        bool any = t->head < t->n;
        pthread_mutex_unlock(&d->mu);
        if (!any)
            break;
        if (!sc) {
            struct smtpc_reply why;
            if (!(sc = connect_hop(d, c, &why))) {
                hop_failed(d, t, &why);
                break;
            }
        } else if (smtpc_rset(sc) < 0) {
            smtpc_close(sc);
            sc = NULL;
            continue;                       /* reconnect for the next message */
        }
        pthread_mutex_lock(&d->mu);
        size_t n = take_one_locked(t, &refs);
        pthread_mutex_unlock(&d->mu);
        if (n == 0)
            break;
        if (send_one(d, sc, refs, n) < 0) {
            smtpc_close(sc);
            sc = NULL;
        }
        free(refs);
    }
    smtpc_close(sc);
    pthread_mutex_lock(&d->mu);
    t->active--;
    d->active--;
    pthread_mutex_unlock(&d->mu);
    notify(d);
    free(c);
    return NULL;
}

/* Forget hops with nothing waiting and no connection. Locked. */
static void prune_locked(struct qdests *d)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        struct dest *t = d->v[i];
        if (t->active == 0 && t->head == t->n) {
            free(t->refs);
            free(t);
        } else {
            d->v[k++] = t;
        }
    }
    d->n = k;
}

static bool spawn_locked(struct qdests *d, struct dest *t, const char *helo)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return false;
    c->d = d;
    c->t = t;
    str_copy(c->helo, helo, sizeof c->helo);
    pthread_attr_t a;
    pthread_t th;
    bool ok = false;
    if (pthread_attr_init(&a) == 0) {
        ok = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0 &&
             pthread_attr_setstacksize(&a, CONN_STACK) == 0 &&
             pthread_create(&th, &a, conn_main, c) == 0;    /* it waits for d->mu */
        pthread_attr_destroy(&a);
    }
    if (ok) {
        t->active++;
        d->active++;
    } else {
        log_err("runner: cannot start a delivery thread");
        free(c);
    }
    return ok;
}

unsigned qdests_start(struct qdests *d, const char *helo, unsigned total, unsigned per_dest)
{
    pthread_mutex_lock(&d->mu);
    prune_locked(d);
    struct qsched_view *v = calloc(d->n ? d->n : 1, sizeof *v);
    unsigned *start = calloc(d->n ? d->n : 1, sizeof *start);
    if (v && start) {
        for (size_t i = 0; i < d->n; i++)
            v[i] = (struct qsched_view){ d->v[i]->active, d->v[i]->lowered, d->v[i]->waiting,
                                         d->v[i]->resolved };
        struct qsched_limits lim = { total, per_dest };
        qsched_plan(v, d->n, d->active, &lim, d->rr, start);
        for (size_t i = 0; i < d->n; i++)
            for (unsigned k = 0; k < start[i]; k++)
                if (!spawn_locked(d, d->v[i], helo))
                    break;
        d->rr = d->n ? (d->rr + 1) % d->n : 0;
    }
    free(v);
    free(start);
    unsigned active = d->active;
    pthread_mutex_unlock(&d->mu);
    return active;
}

void qdests_free(struct qdests *d)
{
    if (!d)
        return;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        unsigned active = d->active;
        if (active == 0)
            prune_locked(d);
        pthread_mutex_unlock(&d->mu);
        if (active == 0)
            break;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < d->n; i++) {       /* hops with refs still waiting */
        free(d->v[i]->refs);
        free(d->v[i]);
    }
    free(d->v);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
