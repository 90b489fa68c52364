/* queue_run: the queue runner's scheduler (see queue_run.h). Results are first marked
 * in memory per recipient; delivered recipients are written to the envelope right
 * after each message (by the delivery thread), bounces only after the DSN is durable. */
#include "queue_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "dkim_sign.h"
#include "dsn.h"
#include "fsutil.h"
#include "log.h"
#include "msgtext.h"
#include "queue.h"
#include "queue_dest.h"
#include "queue_local.h"
#include "queue_sched.h"
#include "received.h"
#include "stats.h"
#include "util.h"

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

/* ---------------------------------------------------------------- bounces ---- */

static char *read_msg(const char *qdir, const struct qentry *e, size_t max, size_t *len)
{
    int fd = queue_open_msg(qdir, e->id);
    if (fd < 0)
        return NULL;
    size_t want = e->size < max ? (size_t)e->size : max, got = 0;
    char *buf = malloc(want + 1);
    ssize_t r = buf ? pread_full(fd, buf, want, 0) : -1;
    close(fd);
    if (r > 0)
        got = (size_t)r;
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
static int deliver_dsn(struct qrun *q, const struct qitem *it, const char *dsn, size_t len,
                       const char *tag)
{
    const struct config *cfg = q->cfg;
    char id[QUEUE_ID_MAX], err[512];
    snprintf(id, sizeof id, "%.40s.%s", it->e.id, tag);
    if (config_is_local_domain(cfg, domain_of(it->e.sender))) {
        int r = qlocal_deliver(cfg, q->st, id, "", it->e.sender, dsn, len, err, sizeof err);
        if (r == QLOCAL_REFUSED)
            log_warn("runner: %s: DSN to <%s> undeliverable (%s), dropped", it->e.id,
                     it->e.sender, err);
        return r < 0 ? -1 : 0;
    }
    if (enqueue_buf(cfg, id, it->e.sender, dsn, len) < 0) {
        log_err("runner: %s: cannot queue the DSN: %s", it->e.id, strerror(errno));
        return -1;
    }
    q->more = true;              /* read the queue again soon */
    return 0;
}

/* SPEC "Signing and publishing": our DSNs are signed for the primary domain when it
 * has keys (the From: is MAILER-DAEMON@hostname, aligned with it under DMARC's relaxed
 * rule). TEXT is consumed; the signed text, or TEXT as it was. */
static char *dsn_signed(const struct config *cfg, char *text, size_t *len)
{
    char *hdrs = NULL;
    size_t hlen = 0;
    struct dkim_msg m = { .fd = -1, .off = 0, .buf = text, .len = *len };
    if (!text || dkim_sign_msg(cfg->data_dir, cfg->domain, &m, &hdrs, &hlen) != DKIMS_SIGNED)
        return text;
    char *out = malloc(hlen + *len);
    if (out) {
        memcpy(out, hdrs, hlen);
        memcpy(out + hlen, text, *len);
        *len += hlen;
        free(text);
        text = out;
    }
    free(hdrs);
    return text;
}

/* Send one DSN for the recipients marked m (failure) or deferred (delay warning). */
static int send_dsn(struct qrun *q, int64_t now, const struct qitem *it, enum qmark m,
                    bool delayed)
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
    char *msg = read_msg(q->qdir, e, 256 * 1024, &mlen);
    struct dsn_info d = {
        .hostname = q->cfg->hostname, .queue_id = e->id, .sender = e->sender,
        .arrival = e->created, .now = now, .delayed = delayed,
        .retry_until = e->created + q->cfg->queue_lifetime, .rcpt = dr, .nrcpt = n,
        .headers = msg ? msg : "",
        .hlen = msg ? msgtext_header_len(msg, mlen, 64 * 1024) : 0,
    };
    char *text = n ? dsn_signed(q->cfg, dsn_build(&d, &len), &len) : NULL;
    int rc = text ? deliver_dsn(q, it, text, len, delayed ? "D" : "B") : (n ? -1 : 0);
    if (rc == 0 && n)
        log_info("runner: %s: %s sent to <%s> for %zu recipient(s)", e->id,
                 delayed ? "delay warning" : "bounce", e->sender, n);
    free(text);
    free(msg);
    free(dr);
    return rc;
}

/* ------------------------------------------------------------ finishing ---- */

static void finish_item(struct qrun *q, int64_t now, struct qitem *it)
{
    const struct config *cfg = q->cfg;
    struct qentry *e = &it->e;
    bool expired = qrun_expired(e, cfg->queue_lifetime, now);
    for (size_t i = 0; i < e->nrcpt; i++) {
        struct qrcpt *r = &e->rcpt[i];
        if (it->mark[i] != M_DEFER)
            continue;
        r->attempts++;
        /* from the end of the attempt: a silent hop's timeouts do not eat the delay */
        r->next_try = qsched_retry_at(cfg->queue_retry, r->attempts,
                                      it->ended[i] ? it->ended[i] : now);
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
    if (any_bounce && (e->sender[0] == '\0' || send_dsn(q, now, it, M_BOUNCE, false) == 0)) {
        for (size_t i = 0; i < e->nrcpt; i++)
            if (it->mark[i] == M_BOUNCE) {
                e->rcpt[i].state = QR_BOUNCED;
                log_info("runner: %s: <%s> bounced: %s%s", e->id, e->rcpt[i].addr,
                         e->rcpt[i].diag, e->sender[0] ? "" : " (null sender: no DSN)");
            }
    } else if (any_bounce) {
        for (size_t i = 0; i < e->nrcpt; i++)
            if (it->mark[i] == M_BOUNCE)
                e->rcpt[i].next_try = now + cfg->queue_retry;
    }
    for (size_t i = 0; i < e->nrcpt; i++)     /* this round's results, for status (stats.h) */
        stats_count(it->mark[i] == M_DONE ? STAT_QUEUE_DELIVERED
                    : it->mark[i] == M_BOUNCE && e->rcpt[i].state == QR_BOUNCED ? STAT_QUEUE_BOUNCED
                    : it->mark[i] == M_DEFER ? STAT_QUEUE_DEFERRED : STAT_NONE);
    bool pending = false, deferred = false;
    for (size_t i = 0; i < e->nrcpt; i++) {
        pending |= e->rcpt[i].state == QR_PENDING;
        deferred |= it->mark[i] == M_DEFER && e->rcpt[i].state == QR_PENDING;
    }
    if (deferred && !e->warned && e->sender[0] && now - e->created >= QRUN_DELAY_WARN &&
        send_dsn(q, now, it, M_DEFER, true) == 0)
        e->warned = 1;
    if (!pending) {                    /* made durable by qrun_step, once for all */
        if (queue_unlink(q->qdir, e->id) < 0)
            log_err("runner: cannot remove %s: %s", e->id, strerror(errno));
        else
            log_info("runner: %s: done, removed from the queue", e->id);
        q->removed = true;
    } else {
        (void)queue_update(q->qdir, e);
    }
}

/* ------------------------------------------------------------- routing ---- */

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

/* Is recipient r due at NOW? Also when its last attempt ended no later than a flush
 * asked at flush_at (its next_try minus the backoff that led there). */
static bool rcpt_due(const struct qrcpt *r, unsigned retry, int64_t flush_at, int64_t now)
{
    if (r->state != QR_PENDING)
        return false;
    if (r->next_try <= now)
        return true;
    return flush_at && r->next_try - qrun_backoff(retry, r->attempts) <= flush_at;
}

/* A recipient in a local domain (a bounce to a local sender, a forward): local delivery. */
static void deliver_local_rcpt(struct qrun *q, struct qitem *it, size_t r)
{
    size_t len;
    char err[512];
    char *buf = read_msg(q->qdir, &it->e, (size_t)it->e.size, &len);
    if (!buf) {
        qitem_mark(it, r, M_DEFER, "4.3.0", "", "queue file unreadable");
        return;
    }
    int rc = qlocal_deliver(q->cfg, q->st, it->e.msgid, it->e.sender,
                            it->e.rcpt[r].addr, buf, len, err, sizeof err);
    free(buf);
    char st[8] = "5.1.1";      /* or the one in err ("554 5.4.6 Too many hops") */
    if (rc == QLOCAL_REFUSED)
        (void)sscanf(err, "%*3d %7[0-9.]", st);
    if (rc == QLOCAL_OK)
        qitem_mark(it, r, M_DONE, "2.0.0", "local", "delivered to Maildir");
    else
        qitem_mark(it, r, rc == QLOCAL_REFUSED ? M_BOUNCE : M_DEFER,
                   rc == QLOCAL_REFUSED ? st : "4.3.0", "local", err);
}

/* Mail loops (SPEC "SMTP"): a message carrying more than max_hops Received: lines (ours
 * included) is not passed on (the next hop would refuse it): it bounces. */
static bool too_many_hops(const struct qrun *q, const struct qentry *e)
{
    size_t len = 0;
    char *buf = read_msg(q->qdir, e, 64 * 1024, &len);
    bool over = buf && received_count(buf, len) > q->cfg->max_hops;
    free(buf);
    return over;
}

/* Local recipients are delivered now, the others handed to their next hop, all the
 * due recipients of one domain together (one transaction). */
static void route_item(struct qrun *q, int64_t now, int64_t flush_at, struct qitem *it)
{
    struct qentry *e = &it->e;
    int over = -1;                      /* too_many_hops, looked up once */
    size_t *grp = calloc(e->nrcpt, sizeof *grp);
    unsigned char *seen = calloc(e->nrcpt, 1);
    for (size_t r = 0; r < e->nrcpt; r++) {
        if (!rcpt_due(&e->rcpt[r], q->cfg->queue_retry, flush_at, now) || (seen && seen[r]))
            continue;
        const char *domain = domain_of(e->rcpt[r].addr);
        if (config_is_local_domain(q->cfg, domain)) {
            if (qrun_local_route_hack(q->cfg, e->rcpt[r].addr)) {   /* loop guard */
                log_info("runner: %s: <%s> routes on through our own domain: bounced",
                         e->id, e->rcpt[r].addr);
                qitem_mark(it, r, M_BOUNCE, "5.1.1", "",
                           "percent/bang routing to a local domain is not supported");
            } else {
                deliver_local_rcpt(q, it, r);
            }
            continue;
        }
        if (over < 0)
            over = too_many_hops(q, e);
        if (over) {
            qitem_mark(it, r, M_BOUNCE, "5.4.6", "", "Too many hops (mail loop?): not passed on");
            continue;
        }
        if (!domain[0]) {
            qitem_mark(it, r, M_BOUNCE, "5.1.3", "", "bad recipient address (no domain)");
            continue;
        }
        size_t n = 0;
        for (size_t k = r; grp && seen && k < e->nrcpt; k++)
            if (!seen[k] && rcpt_due(&e->rcpt[k], q->cfg->queue_retry, flush_at, now) &&
                str_ieq(domain_of(e->rcpt[k].addr), domain)) {
                seen[k] = 1;
                grp[n++] = k;
            }
        if (n == 0 || qdests_add(q->dests, q->cfg, domain, it, grp, n) < 0)
            for (size_t k = 0; k < (n ? n : 1); k++)
                qitem_mark(it, n ? grp[k] : r, M_DEFER, "4.3.0", "", "out of memory");
    }
    free(grp);
    free(seen);
}

/* ------------------------------------------------------------ the queue ---- */

/* Has the entry anything due (or nothing pending: then it is due for removal)? *next
 * gets the earliest later try. */
static bool entry_due(const struct qrun *q, const struct qentry *e, int64_t flush_at,
                      int64_t now, int64_t *next)
{
    bool d = true;
    for (size_t i = 0; i < e->nrcpt; i++)
        if (e->rcpt[i].state == QR_PENDING)
            d = false;
    for (size_t i = 0; i < e->nrcpt; i++) {
        const struct qrcpt *r = &e->rcpt[i];
        if (r->state != QR_PENDING)
            continue;
        if (rcpt_due(r, q->cfg->queue_retry, flush_at, now))
            d = true;
        else if (*next == 0 || r->next_try < *next)
            *next = r->next_try;
    }
    return d;
}

/* Are the next hops of all of the entry's due recipients full (QRUN_DEST_BACKLOG)? The
 * first one's domain (the entry waits for it), or NULL. */
static const char *backlog_full(struct qrun *q, const struct qentry *e, int64_t flush_at,
                                int64_t now)
{
    const char *first = NULL;
    for (size_t i = 0; i < e->nrcpt; i++) {
        if (!rcpt_due(&e->rcpt[i], q->cfg->queue_retry, flush_at, now))
            continue;
        const char *domain = domain_of(e->rcpt[i].addr);
        if (!domain[0] || config_is_local_domain(q->cfg, domain) ||
            !qdests_full(q->dests, q->cfg, domain, QRUN_DEST_BACKLOG))
            return NULL;
        if (!first)
            first = domain;
    }
    return first;
}

static void free_item(struct qitem *it)
{
    qentry_free(&it->e);
    free(it->mark);
    free(it->ended);
    pthread_mutex_destroy(&it->mu);
    free(it);
}

/* Finish an entry back from its next hops, note its next try, forget it. */
static void retire(struct qrun *q, struct qitem *it)
{
    int64_t now = (int64_t)time(NULL);
    finish_item(q, now, it);
    for (size_t r = 0; r < it->e.nrcpt; r++)          /* still pending: when next? */
        if (it->e.rcpt[r].state == QR_PENDING) {
            int64_t t = it->e.rcpt[r].next_try > now ? it->e.rcpt[r].next_try : now;
            q->next_due = (q->next_due == 0 || t < q->next_due) ? t : q->next_due;
        }
    for (struct qitem **pp = &q->loaded; *pp; pp = &(*pp)->next)
        if (*pp == it) {
            *pp = it->next;
            q->nloaded--;
            break;
        }
    free_item(it);
}

/* Take e (read from disk, due) into memory and start it: e is moved into the item. */
static void load_entry(struct qrun *q, struct qentry *e, int64_t flush_at, int64_t now)
{
    struct qitem *it = calloc(1, sizeof *it);
    if (it && (!(it->mark = calloc(e->nrcpt ? e->nrcpt : 1, 1)) ||
               !(it->ended = calloc(e->nrcpt ? e->nrcpt : 1, sizeof *it->ended)) ||
               pthread_mutex_init(&it->mu, NULL) != 0)) {
        free(it->mark);
        free(it->ended);
        free(it);
        it = NULL;
    }
    if (!it) {
        qentry_free(e);
        q->more = true;
        return;
    }
    it->e = *e;
    memset(e, 0, sizeof *e);
    it->refs = 1;                     /* ours, while routing */
    it->next = q->loaded;
    q->loaded = it;
    q->nloaded++;
    route_item(q, now, flush_at, it);
    if (qdests_release(q->dests, it))
        retire(q, it);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids of the loaded entries, sorted (for bsearch); NULL if none or no memory. */
static char **loaded_ids(const struct qrun *q)
{
    char **v = q->nloaded ? malloc(q->nloaded * sizeof *v) : NULL;
    size_t n = 0;
    for (const struct qitem *it = q->loaded; v && it; it = it->next)
        v[n++] = (char *)it->e.id;
    if (v)
        qsort(v, n, sizeof *v, cmp_str);
    return v;
}

/* An envelope read from disk (moved from e): load it when due and there is room; park it
 * when its next hops are full or the memory limit is reached; else note its next try. */
static void consider(struct qrun *q, struct qentry *e, int64_t flush_at, int64_t now)
{
    int64_t next = 0;
    const char *wait_for = NULL;
    if (!entry_due(q, e, flush_at, now, &next)) {
        if (next && (q->next_due == 0 || next < q->next_due))
            q->next_due = next;
        qentry_free(e);
        return;
    }
    if (q->nloaded >= QRUN_MAX_LOADED)
        wait_for = "";
    else
        wait_for = backlog_full(q, e, flush_at, now);
    if (wait_for) {                    /* left on disk: taken back when room is made */
        if (qpark_add(&q->park, wait_for, e->id) < 0)
            q->more = true;
        qentry_free(e);
        return;
    }
    load_entry(q, e, flush_at, now);
}

/* Read the queue: the envelopes of the ids not loaded yet (ALL) or not known yet (new
 * mail), each considered; the listing becomes the known one. */
static void scan(struct qrun *q, int64_t now, bool all)
{
    char **ids;
    size_t n;
    if (all) {
        q->last_scan = now;
        q->retired = false;
        q->more = false;
        q->next_due = 0;
        q->scanned = true;
        qpark_clear(&q->park);
    }
    if (queue_list_ids(q->qdir, &ids, &n) < 0) {
        log_err("runner: cannot list %s: %s", q->qdir, strerror(errno));
        q->next_due = now + 60;
        return;
    }
    char **busy = all ? loaded_ids(q) : NULL;
    size_t nbusy = busy ? q->nloaded : 0;
    int64_t flush_at = q->flush_at;
    for (size_t i = 0; i < n; i++) {
        struct qentry e;
        memset(&e, 0, sizeof e);
        if ((all && nbusy && bsearch(&ids[i], busy, nbusy, sizeof *busy, cmp_str)) ||
            (!all && qpark_known(&q->park, ids[i])) || queue_read(q->qdir, ids[i], &e) < 0)
            continue;
        consider(q, &e, flush_at, now);
    }
    free(busy);
    qpark_set_known(&q->park, ids, n);
    if (all && !q->more && qpark_count(&q->park) == 0)
        q->flush_at = 0;                   /* every entry due by the flush was taken */
}

/* Parked entries whose next hop has room again (or any, under the memory limit) are read
 * back, oldest first. */
static void unpark(struct qrun *q, int64_t now)
{
    for (size_t i = 0; i < qpark_groups(&q->park); i++) {
        const char *domain = qpark_domain(&q->park, i), *id;
        while ((id = qpark_peek(&q->park, i)) && q->nloaded < QRUN_MAX_LOADED &&
               (!domain[0] || !qdests_full(q->dests, q->cfg, domain, QRUN_DEST_BACKLOG))) {
            struct qentry e;
            memset(&e, 0, sizeof e);
            int rc = queue_read(q->qdir, id, &e);
            qpark_drop_head(&q->park, i);
            if (rc == 0)
                consider(q, &e, q->flush_at, now);
        }
    }
    if (qpark_count(&q->park) == 0 && !q->more)
        q->flush_at = 0;
}

int qrun_init(struct qrun *q)
{
    q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->efd < 0)
        return -1;
    q->dests = qdests_new(q->qdir, q->tls, q->efd);
    return q->dests ? 0 : -1;
}

int64_t qrun_step(struct qrun *q, int64_t now, bool scan_now)
{
    uint64_t v;
    while (read(q->efd, &v, sizeof v) == (ssize_t)sizeof v)
        ;
    for (struct qitem *f = qdests_take_finished(q->dests), *nx; f; f = nx) {
        nx = f->fin_next;
        retire(q, f);
        q->retired = true;
    }

    bool all = !q->scanned;
    if (q->flush) {
        q->flush = false;
        q->flush_at = now;
        all = true;
    }
    if (all || (q->next_due && now >= q->next_due) ||
        (q->more && q->retired && now > q->last_scan))
        scan(q, now, true);
    else if (scan_now)
        scan(q, now, false);               /* new mail: only the new envelopes are read */
    if (qpark_count(&q->park))
        unpark(q, now);
    if (q->removed && queue_sync_removed(q->qdir) < 0)  /* one directory sync for all */
        log_err("runner: cannot sync %s/env: %s", q->qdir, strerror(errno));
    q->removed = false;
    const struct config *cfg = q->cfg;
    qdests_start(q->dests, cfg->hostname, cfg->queue_concurrency,
                 cfg->queue_destination_concurrency);
    int64_t wake = q->next_due;
    if (q->more && (wake == 0 || wake > now + 1))
        wake = now + 1;
    return wake;
}

void qrun_close(struct qrun *q)
{
    qdests_free(q->dests);
    q->dests = NULL;
    while (q->loaded) {
        struct qitem *it = q->loaded;
        q->loaded = it->next;
        free_item(it);
    }
    q->nloaded = 0;
    qpark_free(&q->park);
    q->scanned = false;
    if (q->efd >= 0)
        close(q->efd);
    q->efd = -1;
}
