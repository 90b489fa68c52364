/* queue_run: one pass of the queue runner (see queue_run.h). Results of a pass are
 * first marked in memory per recipient; delivered recipients are written to the
 * envelope right after each message, bounces only after the DSN is durable. */
#include "queue_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "dsn.h"
#include "log.h"
#include "mx.h"
#include "queue.h"
#include "queue_local.h"
#include "received.h"
#include "smtp_client.h"
#include "util.h"

enum mark { M_NONE = 0, M_DONE, M_BOUNCE, M_DEFER };

struct item {
    struct qentry e;
    unsigned char *mark;
};

struct ref {
    size_t item, rcpt;
};

struct hop {
    struct nexthop nh;
    struct ref *refs;
    size_t nrefs;
};

struct dom {                   /* per-pass cache of next-hop lookups */
    char name[MX_NAME_MAX];
    enum nexthop_result r;
    struct nexthop nh;
};

struct pass {
    struct qrun *q;
    int64_t now;
    struct item *items;
    size_t nitems;
    struct hop *hops;
    size_t nhops;
    struct dom *doms;
    size_t ndoms;
    bool again;                /* a new entry (a DSN) was queued: run again at once */
};

int64_t qrun_backoff(unsigned retry, unsigned attempts)
{
    int64_t r = retry ? retry : 1;
    int64_t cap = r > QRUN_MAX_BACKOFF ? r : QRUN_MAX_BACKOFF;
    int64_t d = r;
    for (unsigned i = 1; i < attempts && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

bool qrun_expired(const struct qentry *e, unsigned lifetime, int64_t now)
{
    return now - e->created >= (int64_t)lifetime;
}

static void mark(struct pass *p, size_t i, size_t r, enum mark m, const char *status,
                 const char *remote, const char *diag)
{
    struct qrcpt *rc = &p->items[i].e.rcpt[r];
    p->items[i].mark[r] = (unsigned char)m;
    qrcpt_set_error(rc, status, remote, diag);
    if (m == M_DONE)
        rc->state = QR_DONE;
}

/* ---------------------------------------------------------------- bounces ---- */

static char *read_msg(const char *qdir, const struct qentry *e, size_t max, size_t *len)
{
    int fd = queue_open_msg(qdir, e->id);
    if (fd < 0)
        return NULL;
    size_t want = e->size < max ? (size_t)e->size : max, got = 0;
    char *buf = malloc(want + 1);
    while (buf && got < want) {
        ssize_t r = pread(fd, buf + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (buf && got < want) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

static const char *domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

/* Queue a message from <> to one remote recipient. */
static int enqueue_buf(const struct config *cfg, const char *id, const char *rcpt,
                       const char *buf, size_t len)
{
    int fd = memfd_create("dsn", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = -1;
    if (write(fd, buf, len) == (ssize_t)len) {
        char *rcpts[1] = { (char *)rcpt };
        rc = queue_enqueue(cfg, id, "", rcpts, 1, fd, 0, len);
    }
    close(fd);
    return rc;
}

/* Deliver a DSN text to the entry's sender: 0 done (or dropped: nobody to tell), -1
 * temporary failure (try again later). */
static int deliver_dsn(struct pass *p, const struct item *it, const char *dsn, size_t len,
                       const char *tag)
{
    const struct config *cfg = p->q->cfg;
    char id[QUEUE_ID_MAX], err[512];
    snprintf(id, sizeof id, "%.40s.%s", it->e.id, tag);
    if (config_is_local_domain(cfg, domain_of(it->e.sender))) {
        int r = qlocal_deliver(cfg, p->q->st, id, "", it->e.sender, dsn, len, err, sizeof err);
        if (r == 1)
            log_warn("runner: %s: DSN to <%s> undeliverable (%s), dropped", it->e.id,
                     it->e.sender, err);
        return r < 0 ? -1 : 0;
    }
    if (enqueue_buf(cfg, id, it->e.sender, dsn, len) < 0) {
        log_err("runner: %s: cannot queue the DSN: %s", it->e.id, strerror(errno));
        return -1;
    }
    p->again = true;
    return 0;
}

/* Send one DSN for the recipients marked m (failure) or deferred (delay warning). */
static int send_dsn(struct pass *p, const struct item *it, enum mark m, bool delayed)
{
    const struct qentry *e = &it->e;
    struct dsn_rcpt *dr = calloc(e->nrcpt, sizeof *dr);
    if (!dr)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < e->nrcpt; i++) {
        if (it->mark[i] != m || e->rcpt[i].state != QR_PENDING)
            continue;
        dr[n++] = (struct dsn_rcpt){ e->rcpt[i].addr, e->rcpt[i].status, e->rcpt[i].remote,
                                     e->rcpt[i].diag };
    }
    size_t mlen = 0, len = 0;
    char *msg = read_msg(p->q->qdir, e, 256 * 1024, &mlen);
    struct dsn_info d = {
        .hostname = p->q->cfg->hostname, .queue_id = e->id, .sender = e->sender,
        .arrival = e->created, .now = p->now, .delayed = delayed,
        .retry_until = e->created + p->q->cfg->queue_lifetime, .rcpt = dr, .nrcpt = n,
        .headers = msg ? msg : "", .hlen = msg ? dsn_header_len(msg, mlen, 64 * 1024) : 0,
    };
    char *text = n ? dsn_build(&d, &len) : NULL;
    int rc = text ? deliver_dsn(p, it, text, len, delayed ? "D" : "B") : (n ? -1 : 0);
    if (rc == 0 && n)
        log_info("runner: %s: %s sent to <%s> for %zu recipient(s)", e->id,
                 delayed ? "delay warning" : "bounce", e->sender, n);
    free(text);
    free(msg);
    free(dr);
    return rc;
}

/* ------------------------------------------------------------ finishing ---- */

static void finish_item(struct pass *p, struct item *it)
{
    const struct config *cfg = p->q->cfg;
    struct qentry *e = &it->e;
    bool expired = qrun_expired(e, cfg->queue_lifetime, p->now);
    for (size_t i = 0; i < e->nrcpt; i++) {
        struct qrcpt *r = &e->rcpt[i];
        if (it->mark[i] != M_DEFER)
            continue;
        r->attempts++;
        r->next_try = p->now + qrun_backoff(cfg->queue_retry, r->attempts);
        if (expired) {
            char diag[1024];
            snprintf(diag, sizeof diag, "delivery time expired; last error: %s", r->diag);
            qrcpt_set_error(r, r->status[0] == '5' ? r->status : "4.4.7", r->remote, diag);
            it->mark[i] = M_BOUNCE;
        }
    }
    bool any_bounce = false;
    for (size_t i = 0; i < e->nrcpt; i++)
        any_bounce |= it->mark[i] == M_BOUNCE;
    if (any_bounce && (e->sender[0] == '\0' || send_dsn(p, it, M_BOUNCE, false) == 0)) {
        for (size_t i = 0; i < e->nrcpt; i++)
            if (it->mark[i] == M_BOUNCE) {
                e->rcpt[i].state = QR_BOUNCED;
                log_info("runner: %s: <%s> bounced: %s%s", e->id, e->rcpt[i].addr,
                         e->rcpt[i].diag, e->sender[0] ? "" : " (null sender: no DSN)");
            }
    } else if (any_bounce) {
        for (size_t i = 0; i < e->nrcpt; i++)
            if (it->mark[i] == M_BOUNCE)
                e->rcpt[i].next_try = p->now + cfg->queue_retry;
    }
    bool pending = false, deferred = false;
    for (size_t i = 0; i < e->nrcpt; i++) {
        pending |= e->rcpt[i].state == QR_PENDING;
        deferred |= it->mark[i] == M_DEFER && e->rcpt[i].state == QR_PENDING;
    }
    if (deferred && !e->warned && e->sender[0] && p->now - e->created >= QRUN_DELAY_WARN &&
        send_dsn(p, it, M_DEFER, true) == 0)
        e->warned = 1;
    if (!pending) {
        if (queue_remove(p->q->qdir, e->id) < 0)
            log_err("runner: cannot remove %s: %s", e->id, strerror(errno));
        else
            log_info("runner: %s: done, removed from the queue", e->id);
    } else {
        (void)queue_update(p->q->qdir, e);
    }
}

/* ------------------------------------------------------------- delivery ---- */

/* Record smtpc results for the recipients refs[0..n) of one item. */
static void apply_results(struct pass *p, const struct ref *refs, size_t n,
                          const struct smtpc_reply *res, const char *remote)
{
    for (size_t k = 0; k < n; k++) {
        const struct smtpc_reply *r = &res[k];
        int cls = r->code / 100;
        const char *st = r->enh[0] ? r->enh : cls == 2 ? "2.0.0" : cls == 5 ? "5.0.0" : "4.0.0";
        enum mark m = cls == 2 ? M_DONE : cls == 5 ? M_BOUNCE : M_DEFER;
        mark(p, refs[k].item, refs[k].rcpt, m, st, remote, r->text);
        const struct qentry *e = &p->items[refs[k].item].e;
        log_info("runner: %s: to=<%s> relay=%s status=%s (%s)", e->id,
                 e->rcpt[refs[k].rcpt].addr, remote,
                 m == M_DONE ? "sent" : m == M_BOUNCE ? "bounced" : "deferred", r->text);
    }
}

/* One message (the refs of one item, consecutive in h->refs) over c. */
static int send_one(struct pass *p, struct smtpc *c, const struct ref *refs, size_t n)
{
    struct item *it = &p->items[refs[0].item];
    char **addrs = calloc(n, sizeof *addrs);
    struct smtpc_reply *res = calloc(n, sizeof *res);
    int rc = -1;
    if (!addrs || !res)
        goto out;
    for (size_t k = 0; k < n; k++)
        addrs[k] = it->e.rcpt[refs[k].rcpt].addr;
    int fd = queue_open_msg(p->q->qdir, it->e.id);
    if (fd < 0) {
        log_err("runner: %s: message file missing: %s", it->e.id, strerror(errno));
        for (size_t k = 0; k < n; k++)
            mark(p, refs[k].item, refs[k].rcpt, M_DEFER, "4.3.0", "", "queue file unreadable");
        rc = 0;
        goto out;
    }
    rc = smtpc_send(c, it->e.sender, addrs, n, fd, it->e.size, res);
    close(fd);
    apply_results(p, refs, n, res, smtpc_host(c));
    (void)queue_update(p->q->qdir, &it->e);     /* delivered recipients are final now */
out:
    free(addrs);
    free(res);
    return rc;
}

static void deliver_hop(struct pass *p, struct hop *h)
{
    struct smtpc *c = NULL;
    for (size_t i = 0; i < h->nrefs;) {
        size_t j = i + 1;
        while (j < h->nrefs && h->refs[j].item == h->refs[i].item)
            j++;
        if (!c) {
            struct smtpc_reply why;
            c = smtpc_open(&h->nh, p->q->cfg->hostname, p->q->tls, &why);
            if (!c) {
                struct smtpc_reply *res = calloc(h->nrefs - i, sizeof *res);
                for (size_t k = 0; res && k < h->nrefs - i; k++)
                    res[k] = why;
                if (res)
                    apply_results(p, h->refs + i, h->nrefs - i, res, "");
                free(res);
                return;
            }
        } else if (smtpc_rset(c) < 0) {
            smtpc_close(c);
            c = NULL;
            continue;                   /* reconnect for this message */
        }
        if (send_one(p, c, h->refs + i, j - i) < 0) {
            smtpc_close(c);
            c = NULL;
        }
        i = j;
    }
    smtpc_close(c);
}

/* ------------------------------------------------------------- grouping ---- */

static struct dom *lookup_domain(struct pass *p, const char *domain)
{
    for (size_t i = 0; i < p->ndoms; i++)
        if (str_ieq(p->doms[i].name, domain))
            return &p->doms[i];
    struct dom *v = realloc(p->doms, (p->ndoms + 1) * sizeof *v);
    if (!v)
        return NULL;
    p->doms = v;
    struct dom *d = &v[p->ndoms++];
    str_copy(d->name, domain, sizeof d->name);
    d->r = nexthop_lookup(p->q->cfg, domain, &d->nh);
    return d;
}

static int add_ref(struct pass *p, const struct nexthop *nh, size_t item, size_t rcpt)
{
    struct hop *h = NULL;
    for (size_t i = 0; i < p->nhops && !h; i++)
        if (strcmp(p->hops[i].nh.key, nh->key) == 0)
            h = &p->hops[i];
    if (!h) {
        struct hop *v = realloc(p->hops, (p->nhops + 1) * sizeof *v);
        if (!v)
            return -1;
        p->hops = v;
        h = &v[p->nhops++];
        memset(h, 0, sizeof *h);
        h->nh = *nh;
    }
    struct ref *r = realloc(h->refs, (h->nrefs + 1) * sizeof *r);
    if (!r)
        return -1;
    h->refs = r;
    h->refs[h->nrefs++] = (struct ref){ item, rcpt };
    return 0;
}

bool qrun_local_route_hack(const struct config *cfg, const char *addr)
{
    struct mailaddr a;
    if (addr_parse_mailbox(addr, &a) == ADDR_OK)
        return config_is_local_domain(cfg, a.domain) && !addr_is_local(cfg, &a);
    const char *at = strrchr(addr, '@');     /* unparsable: judge the raw text */
    if (!at || !config_is_local_domain(cfg, at + 1))
        return false;
    for (const char *q = addr; q < at; q++)
        if (*q == '%' || *q == '!' || *q == '@')
            return true;
    return false;
}

/* A recipient in a local domain (a bounce to a local sender, a forward): local delivery. */
static void deliver_local_rcpt(struct pass *p, size_t i, size_t r)
{
    struct item *it = &p->items[i];
    size_t len;
    char err[512];
    char *buf = read_msg(p->q->qdir, &it->e, (size_t)it->e.size, &len);
    if (!buf) {
        mark(p, i, r, M_DEFER, "4.3.0", "", "queue file unreadable");
        return;
    }
    int rc = qlocal_deliver(p->q->cfg, p->q->st, it->e.msgid, it->e.sender,
                            it->e.rcpt[r].addr, buf, len, err, sizeof err);
    free(buf);
    char st[8] = "5.1.1";      /* or the one in err ("554 5.4.6 Too many hops") */
    if (rc == 1)
        (void)sscanf(err, "%*3d %7[0-9.]", st);
    if (rc == 0)
        mark(p, i, r, M_DONE, "2.0.0", "local", "delivered to Maildir");
    else
        mark(p, i, r, rc == 1 ? M_BOUNCE : M_DEFER, rc == 1 ? st : "4.3.0", "local", err);
}

/* Mail loops (SPEC "SMTP"): a message carrying more than max_hops Received: lines (ours
 * included) is not passed on (the next hop would refuse it): it bounces. */
static bool too_many_hops(struct pass *p, const struct qentry *e)
{
    size_t len = 0;
    char *buf = read_msg(p->q->qdir, e, 64 * 1024, &len);
    bool over = buf && received_count(buf, len) > p->q->cfg->max_hops;
    free(buf);
    return over;
}

static void route_item(struct pass *p, size_t i)
{
    struct qentry *e = &p->items[i].e;
    int over = -1;                      /* too_many_hops, looked up once */
    for (size_t r = 0; r < e->nrcpt; r++) {
        struct qrcpt *rc = &e->rcpt[r];
        if (rc->state != QR_PENDING || (!p->q->flush && rc->next_try > p->now))
            continue;
        const char *domain = domain_of(rc->addr);
        if (config_is_local_domain(p->q->cfg, domain)) {
            if (qrun_local_route_hack(p->q->cfg, rc->addr)) {   /* loop guard */
                log_info("runner: %s: <%s> routes on through our own domain: bounced",
                         e->id, rc->addr);
                mark(p, i, r, M_BOUNCE, "5.1.1", "",
                     "percent/bang routing to a local domain is not supported");
            } else {
                deliver_local_rcpt(p, i, r);
            }
            continue;
        }
        if (over < 0)
            over = too_many_hops(p, e);
        if (over) {
            mark(p, i, r, M_BOUNCE, "5.4.6", "", "Too many hops (mail loop?): not passed on");
            continue;
        }
        struct dom *d = domain[0] ? lookup_domain(p, domain) : NULL;
        if (!domain[0])
            mark(p, i, r, M_BOUNCE, "5.1.3", "", "bad recipient address (no domain)");
        else if (!d)
            mark(p, i, r, M_DEFER, "4.3.0", "", "out of memory");
        else if (d->r == NH_BOUNCE)
            mark(p, i, r, M_BOUNCE, d->nh.status, "", d->nh.diag);
        else if (d->r == NH_DEFER)
            mark(p, i, r, M_DEFER, d->nh.status, "", d->nh.diag);
        else if (add_ref(p, &d->nh, i, r) < 0)
            mark(p, i, r, M_DEFER, "4.3.0", "", "out of memory");
    }
}

/* ---------------------------------------------------------------- pass ---- */

/* Is any recipient due? An entry with none pending (a crash came between the last
 * update and the removal) is due too: the pass removes it. */
static bool due(const struct qentry *e, bool flush, int64_t now, int64_t *next)
{
    bool d = true;
    for (size_t i = 0; i < e->nrcpt; i++)
        if (e->rcpt[i].state == QR_PENDING)
            d = false;
    for (size_t i = 0; i < e->nrcpt; i++) {
        const struct qrcpt *r = &e->rcpt[i];
        if (r->state != QR_PENDING)
            continue;
        if (flush || r->next_try <= now)
            d = true;
        else if (*next == 0 || r->next_try < *next)
            *next = r->next_try;
    }
    return d;
}

/* Read the due entries (at most QRUN_BATCH); *next gets the earliest later try. */
static void load_items(struct pass *p, int64_t *next)
{
    char **ids;
    size_t n;
    if (queue_list_ids(p->q->qdir, &ids, &n) < 0) {
        log_err("runner: cannot list %s: %s", p->q->qdir, strerror(errno));
        *next = p->now + 60;
        return;
    }
    p->items = calloc(n ? n : 1, sizeof *p->items);
    for (size_t i = 0; p->items && i < n; i++) {
        struct item *it = &p->items[p->nitems];
        if (queue_read(p->q->qdir, ids[i], &it->e) < 0)
            continue;
        if (p->nitems >= QRUN_BATCH || !due(&it->e, p->q->flush, p->now, next) ||
            !(it->mark = calloc(it->e.nrcpt, 1))) {
            if (p->nitems >= QRUN_BATCH)
                *next = p->now;
            qentry_free(&it->e);
            continue;
        }
        p->nitems++;
    }
    queue_free_ids(ids, n);
}

int64_t qrun_pass(struct qrun *q, int64_t now)
{
    struct pass p = { .q = q, .now = now };
    int64_t next = 0;
    load_items(&p, &next);
    for (size_t i = 0; i < p.nitems; i++)
        route_item(&p, i);
    for (size_t h = 0; h < p.nhops; h++)
        deliver_hop(&p, &p.hops[h]);
    for (size_t i = 0; i < p.nitems; i++) {
        struct item *it = &p.items[i];
        finish_item(&p, it);
        for (size_t r = 0; r < it->e.nrcpt; r++)       /* still pending: when next? */
            if (it->e.rcpt[r].state == QR_PENDING) {
                int64_t t = it->e.rcpt[r].next_try > now ? it->e.rcpt[r].next_try : now;
                next = (next == 0 || t < next) ? t : next;
            }
        qentry_free(&it->e);
        free(it->mark);
    }
    for (size_t h = 0; h < p.nhops; h++)
        free(p.hops[h].refs);
    free(p.hops);
    free(p.doms);
    free(p.items);
    if (p.again)
        next = now;
    return next;
}
