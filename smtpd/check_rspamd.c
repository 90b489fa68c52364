/* check_rspamd: the content scanner rows over evhttp. See the header. */
#include "check_rspamd.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "antispam.h"
#include "log.h"
#include "util.h"

/* One message's scan, from the request to the answer (or the timer). */
struct rspamd_scan {
    struct check_run *run;
    struct antispam_client *as;
    struct event_base *base;
    struct evhttp_connection *conn;
    struct evhttp_request *req;        /* in flight, else NULL */
    struct event *timer;               /* the timeout; made active by the answer */
    bool tempfail;
    bool answered;
    struct rspamd_result result;       /* RSPAMD_FAILED until an answer is read */
    char id[48];
};

/* Free the scan and its connection (with a request still in it: no callback). */
static void scan_free(struct rspamd_scan *sc)
{
    if (sc->timer)
        event_free(sc->timer);
    if (sc->conn)
        evhttp_connection_free(sc->conn);
    free(sc);
}

/* The scan is over with sc->result: the verdict for the row, then the run goes on.
 * Always from the timer's callback: never inside evhttp's (the connection is freed
 * here) nor inside the row's fn (checks_resume may not be called from there). */
static void conclude(struct rspamd_scan *sc)
{
    struct rspamd_outcome o;
    struct check_run *run = sc->run;
    struct antispam_client *as = sc->as;
    const struct rspamd_result *r = &sc->result;
    rspamd_map(r, sc->tempfail, &o);
    if (r->action == RSPAMD_FAILED)
        log_warn("content_filter: id=%s scanner down, too slow or unreadable: %s", sc->id,
                 sc->tempfail ? "451 4.7.1" : "accepted unchecked");
    else
        log_info("content_filter: id=%s action=%s score=%.2f/%.2f", sc->id,
                 rspamd_action_name(r->action), r->score, r->required);
    as->scan = NULL;
    str_copy(as->cf_score, o.header2, sizeof as->cf_score);
    scan_free(sc);
    struct check_verdict v = { .answer = CHECK_CONTINUE };
    if (o.code) {
        struct policy_result pr = { false, o.code, o.enh, o.text, RULE_CONTENT_FILTER };
        checks_from_policy(&pr, &v);
    } else if (o.header[0]) {
        v.answer = CHECK_ADD_HEADER;
        v.header = o.header;
    }
    checks_resume(run, &v);
}

/* evhttp's answer (or its error: REQ NULL or no status): kept, then concluded from the
 * timer, made active now. */
static void on_reply(struct evhttp_request *req, void *arg)
{
    struct rspamd_scan *sc = arg;
    sc->req = NULL;
    sc->answered = true;
    if (req && evhttp_request_get_response_code(req) == 200) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        const char *body = n <= RSPAMD_REPLY_MAX ? (const char *)evbuffer_pullup(in, -1) : NULL;
        if (rspamd_parse_reply(body, n, &sc->result) < 0)
            log_warn("content_filter: id=%s unreadable answer (%zu octets)", sc->id, n);
    } else if (req && evhttp_request_get_response_code(req) != 0) {
        log_warn("content_filter: id=%s HTTP status %d", sc->id,
                 evhttp_request_get_response_code(req));
    }
    event_active(sc->timer, EV_TIMEOUT, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct rspamd_scan *sc = arg;
    if (!sc->answered)
        log_warn("content_filter: id=%s no answer within content_filter_timeout", sc->id);
    conclude(sc);                      /* frees the connection and any request: no callback */
}

void rspamd_abort(struct antispam_client *as)
{
    if (!as->scan)
        return;
    scan_free(as->scan);
    as->scan = NULL;
}

static int add_list(struct evkeyvalq *h, const char *name, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (evhttp_add_header(h, name, v[i]) < 0)
            return -1;
    return 0;
}

/* The request headers: rspamd's envelope fields. */
static int add_headers(struct evkeyvalq *h, const struct check_ctx *x)
{
    const struct check_msg *m = x->msg;
    if (evhttp_add_header(h, "IP", x->pc->ipstr) < 0 ||
        evhttp_add_header(h, "Queue-Id", m->id) < 0 ||
        evhttp_add_header(h, "From", x->from ? x->from->text : "") < 0 ||
        add_list(h, "Rcpt", m->local, m->nlocal) < 0 || add_list(h, "Rcpt", m->relay, m->nrelay) < 0)
        return -1;
    if (x->pc->authenticated && evhttp_add_header(h, "User", x->pc->user) < 0)
        return -1;
    if (x->helo && x->helo[0] && evhttp_add_header(h, "Helo", x->helo) < 0)
        log_info("content_filter: id=%s HELO not passed on", m->id);
    return 0;
}

/* Send the message; 0, or -1 (nothing in flight). */
static int send_scan(struct rspamd_scan *sc, const struct check_ctx *x,
                     const struct smtp_instance *inst)
{
    const struct check_msg *m = x->msg;
    sc->conn = evhttp_connection_base_new(sc->base, NULL, inst->cf_host, (uint16_t)inst->cf_port);
    sc->timer = evtimer_new(sc->base, on_timer, sc);
    if (!sc->conn || !sc->timer)
        return -1;
    evhttp_connection_set_timeout(sc->conn, (int)inst->cf_timeout);
    struct evhttp_request *req = evhttp_request_new(on_reply, sc);
    if (!req)
        return -1;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    int fd = dup(m->fd);
    if (evhttp_add_header(h, "Host", inst->cf_host) < 0 || add_headers(h, x) < 0 || fd < 0 ||
        evbuffer_add_file(evhttp_request_get_output_buffer(req), fd, m->off,
                          (ev_off_t)m->len) < 0) {
        if (fd >= 0)
            (void)close(fd);
        evhttp_request_free(req);
        return -1;
    }
    struct timeval tv = { (time_t)inst->cf_timeout, 0 };
    if (evtimer_add(sc->timer, &tv) < 0)
        return -1;                     /* the request is not sent yet: freed with conn */
    if (evhttp_make_request(sc->conn, req, EVHTTP_REQ_POST, "/checkv2") < 0)
        return -1;                     /* evhttp freed the request */
    sc->req = req;
    return 0;
}

enum check_status check_rspamd(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    const struct smtp_instance *inst = x->pc->inst;
    if (x->as)
        x->as->cf_score[0] = '\0';
    if (x->offline || !x->as || !x->loop || !x->msg || !inst || !inst->cf_host ||
        !inst->cf_host[0] || antispam_exempt(x))
        return CHECK_DONE;
    struct rspamd_scan *sc = xcalloc(1, sizeof *sc);
    sc->run = run;
    sc->as = x->as;
    sc->base = x->loop;
    sc->tempfail = inst->cf_tempfail;
    sc->result.action = RSPAMD_FAILED;
    str_copy(sc->id, x->msg->id, sizeof sc->id);
    if (send_scan(sc, x, inst) < 0) {
        log_warn("content_filter: id=%s request not sent", sc->id);
        scan_free(sc);
        struct rspamd_result r = { .action = RSPAMD_FAILED };
        struct rspamd_outcome o;
        rspamd_map(&r, inst->cf_tempfail, &o);
        if (o.code) {
            struct policy_result pr = { false, o.code, o.enh, o.text, RULE_CONTENT_FILTER };
            checks_from_policy(&pr, v);
        } else {
            static char unchecked[] = "X-Spam-Status: unchecked";
            v->answer = CHECK_ADD_HEADER;
            v->header = unchecked;
        }
        return CHECK_DONE;
    }
    x->as->scan = sc;
    return CHECK_PENDING;
}

enum check_status check_rspamd_score(struct check_run *run, struct check_verdict *v)
{
    struct antispam_client *as = run->ctx.as;
    if (as && as->cf_score[0]) {
        v->answer = CHECK_ADD_HEADER;
        v->header = as->cf_score;
    }
    return CHECK_DONE;
}
