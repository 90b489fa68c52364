/* cmd_data: DATA (RFC 5321 4.1.1.4): the DATA checks (checks.h), the spool file with
 * the Received: header first and the checks' headers below it, the message text
 * through the data.h machine (dot-unstuffing, <CRLF>.<CRLF> only, smuggling and size
 * checks), the end-of-data checks (their headers go on top of the spooled text), then
 * the durable delivery on a worker thread (deliver.h) and only then "250 2.0.0 Ok: queued as ID". */
#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authres.h"
#include "deliver.h"
#include "log.h"
#include "queue.h"
#include "received.h"
#include "runner.h"
#include "session.h"
#include "stats.h"

static int data_sink(void *ctx, const char *buf, size_t len)
{
    struct session *s = ctx;
    return spool_write(s->sp, buf, len);
}

static void storage_error(struct session *s, int err)
{
    if (err == ENOSPC || err == EDQUOT || err == EFBIG)
        sess_reply(s, 452, "4.3.1", "Error: insufficient system storage");
    else
        sess_reply(s, 451, "4.3.0", "Error: local error in processing");
}

static int write_received(struct session *s)
{
    char hdr[2048];
    struct received_info ri = {
        .helo = s->helo, .rdns = NULL, .ip = s->pc.ipstr, .hostname = s->cfg->hostname,
        .esmtp = s->esmtp, .tls = conn_is_tls(s->c), .tls_info = conn_tls_info(s->c),
        .auth = s->pc.authenticated, .id = s->id,
        .rcpt = s->nrcpt == 1 ? s->tx->first_rcpt : NULL, .when = time(NULL),
    };
    int n = received_format(&ri, hdr, sizeof hdr);
    if (n < 0)
        return errno = ENAMETOOLONG, -1;
    if (spool_write(s->sp, hdr, (size_t)n) < 0)
        return errno = spool_error(s->sp), -1;
    size_t hlen = 0;
    const char *h = checks_headers(&s->chk, &hlen);
    if (hlen > 0 && spool_write(s->sp, h, hlen) < 0)
        return errno = spool_error(s->sp), -1;
    return 0;
}

/* A DATA or end-of-data row refused: log it and answer. */
static void refuse(struct session *s, const struct policy_result *res)
{
    log_info("rejected: id=%s from=<%s> ip=%s reply=%d %s rule=%s", s->id, s->tx->from.text,
             s->pc.ipstr, res->code, res->enh, res->rule);
    sess_reply(s, res->code, res->enh, "%s", res->text);
}

/* The DATA checks are over: open the spool and ask for the text. */
static void data_proceed(struct session *s)
{
    const struct policy_result *res = &s->chk.v.res;
    if (!res->accept) {
        refuse(s, res);
        return;
    }
    s->sp = spool_open(s->cfg, s->id, s->tx->from.text, s->nlocal ? s->tx->local[0] : NULL);
    if (!s->sp || write_received(s) < 0) {
        int e = errno;
        log_err("spool for %s: %s", s->id, strerror(e));
        spool_discard(s->sp);
        s->sp = NULL;
        storage_error(s, e);
        return;
    }
    s->dm = malloc(sizeof *s->dm);     /* only while the text comes in */
    if (!s->dm) {
        log_err("no memory for the DATA of %s", s->id);
        spool_discard(s->sp);
        s->sp = NULL;
        sess_reply(s, 451, "4.3.0", "Error: local error in processing");
        return;
    }
    data_init(s->dm, s->cfg->max_message_size, data_sink, s);
    s->dm->max_hops = s->cfg->max_hops;    /* mail loops: 554 5.4.6 at the end */
    s->stage = CHECK_DATA;
    sess_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

void smtp_cmd_data(struct session *s, const struct smtp_cmd *c)
{
    (void)c;                           /* the command table checked the sequence */
    sess_check(s, CHECK_DATA, data_proceed);
}

/* SPEC "Signing and publishing": mail from our own users is DKIM-signed: an
 * authenticated session, a LAN client or a POP-before-SMTP client. On the worker (the
 * POP-auth look reads the store). */
static bool signs(const struct session *s)
{
    bool fresh = false;
    if (s->pc.authenticated || s->pc.in_lan)
        return true;
    return s->inst->relay_pop_before_smtp &&
           policy_client_pop_fresh(&s->pc, &s->lk, (int64_t)time(NULL), &fresh) == 0 && fresh;
}

static void deliver_work(struct session *s)
{
    struct spool *sp = s->sp;
    s->sp = NULL;   /* deliver_commit consumes it */
    errno = 0;
    size_t hlen = 0;
    const char *h = checks_eod_headers(&s->chk, &hlen);   /* the end-of-data rows' */
    /* SPEC: with our Authentication-Results:, forged ones claiming our name go */
    if ((s->as && s->as->spf_ran && authres_strip(sp, s->cfg->hostname) < 0) ||
        (hlen > 0 && spool_prepend(sp, h, hlen) < 0) || (signs(s) && spool_sign(sp) < 0)) {
        s->deliver_errno = errno;
        s->deliver_rc = -1;
        spool_discard(sp);
        return;
    }
    s->deliver_rc = deliver_commit(sp, s->tx->local, s->nlocal, s->tx->relay, s->nrelay,
                                   queue_enqueue, NULL, 0);
    s->deliver_errno = errno;
}

static void deliver_done(struct session *s)
{
    if (s->deliver_rc == 0) {
        log_info("accepted: id=%s size=%zu from=<%s> rcpts=%zu local=%zu relay=%zu", s->id,
                 s->msg_size, s->tx->from.text, s->nrcpt, s->nlocal, s->nrelay);
        sess_reply(s, 250, "2.0.0", "Ok: queued as %s", s->id);
        penalty_delivered(&s->pen);   /* the error limit counts errors between deliveries */
        if (s->nrelay > 0)
            runner_kick();   /* SPEC: queued mail is tried at once */
    } else {
        log_err("delivery failed: id=%s from=<%s>: %s", s->id, s->tx->from.text,
                strerror(s->deliver_errno));
        storage_error(s, s->deliver_errno);
    }
    sess_reset_tx(s);
}

/* The end-of-data checks are over: deliver, or refuse. */
static void eod_proceed(struct session *s)
{
    const struct policy_result *res = &s->chk.v.res;
    if (!res->accept) {
        refuse(s, res);
        sess_reset_tx(s);
        return;
    }
    if (sess_submit(s, deliver_work, deliver_done) < 0) {
        log_err("cannot queue the delivery job for %s", s->id);
        sess_reply(s, 451, "4.3.0", "Error: local error in processing");
        sess_reset_tx(s);
    }
}

/* The stored text and its envelope for the end-of-data rows (a content scanner). */
static int eod_msg(struct session *s)
{
    struct check_msg *m = &s->msg;
    off_t off = 0;
    memset(m, 0, sizeof *m);
    if (spool_text(s->sp, &m->fd, &off, &m->len) < 0)
        return -1;
    m->off = (long long)off;
    m->id = s->id;
    m->local = s->tx->local;
    m->nlocal = s->nlocal;
    m->relay = s->tx->relay;
    m->nrelay = s->nrelay;
    return 0;
}

/* The end of the message text was read. */
static void data_end(struct session *s)
{
    struct smtp_reply r;
    data_result(s->dm, &r);
    free(s->dm);
    s->dm = NULL;
    s->stage = CHECK_EOD;
    if (r.code != 250) {
        int err = spool_error(s->sp);
        log_info("rejected: id=%s from=<%s> ip=%s reply=%d %s", s->id, s->tx->from.text,
                 s->pc.ipstr, r.code, r.enh);
        if (r.code / 100 == 5)         /* bare LF, size, hops: status counters (stats.h) */
            stats_count(STAT_REJ_OTHER);
        if (r.code == 451 && err)
            storage_error(s, err);
        else
            sess_reply_r(s, &r);
        sess_reset_tx(s);
        return;
    }
    s->msg_size = spool_msg_size(s->sp);
    if (eod_msg(s) < 0) {
        storage_error(s, spool_error(s->sp));
        sess_reset_tx(s);
        return;
    }
    sess_check(s, CHECK_EOD, eod_proceed);
}

void smtp_data_input(struct session *s)
{
    struct evbuffer *in = conn_inbuf(s->c);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        bool done = false;
        size_t used = data_feed(s->dm, v.iov_base, v.iov_len, &done);
        if (evbuffer_drain(in, used) < 0) {
            sess_close_421(s, "4.3.0", "Error: local error in processing");
            return;
        }
        if (done) {
            data_end(s);
            return;
        }
    }
}
