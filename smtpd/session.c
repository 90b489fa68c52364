/* session: the smtpd side of the framework (server.h callbacks): greeting, the input
 * loop over commands / message text / SASL responses, replies, worker jobs and pending
 * checks (checks.h) with input paused, the command table (which stages allow each
 * command) dispatching to the smtp_cmd_* functions (session.h), and the abuse limits
 * (penalty.h): harvesting delays on a loop timer, 421 at the limits. */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "check_dnsbl.h"
#include "check_rspamd.h"
#include "deliver.h"
#include "log.h"
#include "util.h"

const char *sess_hostname(const struct session *s)
{
    return s->cfg->hostname;
}

enum count_as { COUNT_NONE, COUNT_ERROR, COUNT_REFUSED_RCPT };

/* Write one reply and count it toward the error limit as HOW says. */
static void reply_text(struct session *s, int code, const char *enh, const char *text,
                       enum count_as how)
{
    if (!s->c)
        return;
    if (enh)
        conn_printf(s->c, "%d %s %s\r\n", code, enh, text);
    else
        conn_printf(s->c, "%d %s\r\n", code, text);
    if ((how == COUNT_ERROR && penalty_error(&s->pen, code)) ||
        (how == COUNT_REFUSED_RCPT && penalty_refused_rcpt(&s->pen, code)))
        s->error_limit = true;         /* sess_process says 421 before the next command */
}

void sess_reply(struct session *s, int code, const char *enh, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    reply_text(s, code, enh, text, COUNT_ERROR);
}

void sess_reply_uncounted(struct session *s, int code, const char *enh, const char *text)
{
    reply_text(s, code, enh, text, COUNT_NONE);
}

void sess_refused_rcpt(struct session *s, const struct policy_result *r)
{
    reply_text(s, r->code, r->enh, r->text, COUNT_REFUSED_RCPT);
}

void sess_reply_r(struct session *s, const struct smtp_reply *r)
{
    sess_reply(s, r->code, r->enh, "%s", r->text);
}

void sess_reset_tx(struct session *s)
{
    spool_discard(s->sp);
    s->sp = NULL;
    free(s->dm);
    s->dm = NULL;
    if (s->tx) {
        for (size_t i = 0; i < s->nlocal; i++)
            free(s->tx->local[i]);
        for (size_t i = 0; i < s->nrelay; i++)
            free(s->tx->relay[i]);
        free(s->tx);
        s->tx = NULL;
    }
    s->nlocal = s->nrelay = s->nrcpt = 0;
    s->id[0] = '\0';
    if (s->stage > CHECK_HELO)
        s->stage = CHECK_HELO;
    checks_headers_reset(&s->chk, false);
}

int sess_begin_tx(struct session *s)
{
    size_t max = s->inst->max_recipients ? s->inst->max_recipients : 1;
    sess_reset_tx(s);
    /* one block: the struct, then the two target arrays */
    struct sess_tx *tx = calloc(1, sizeof *tx + 2 * max * sizeof(char *));
    if (!tx)
        return -1;
    tx->local = (char **)(tx + 1);
    tx->relay = tx->local + max;
    s->tx = tx;
    return 0;
}

struct sess_auth *sess_auth_bufs(struct session *s)
{
    if (!s->ab) {
        s->ab = malloc(sizeof *s->ab);
        if (s->ab)
            s->ab->out[0] = s->ab->line[0] = '\0';
    }
    return s->ab;
}

/* Drop the AUTH buffers unless an exchange (or its job) still uses them. */
static void auth_bufs_release(struct session *s)
{
    if (s->ab && !s->busy && s->state != SS_AUTH && s->state != SS_AUTH_FINAL) {
        free(s->ab);
        s->ab = NULL;
    }
}

static void delay_cancel(struct session *s)
{
    if (s->delaying && s->delay_ev)
        (void)event_del(s->delay_ev);
    s->delaying = false;
}

static void sess_free(struct session *s)
{
    delay_cancel(s);
    if (s->delay_ev)
        event_free(s->delay_ev);
    sess_reset_tx(s);
    auth_flow_free(s->sasl);
    if (s->as) {
        dnsbl_abort(s->as);            /* none in flight unless the loop is ending */
        rspamd_abort(s->as);
        free(s->as);
    }
    free(s->ab);
    free(s);
}

void sess_close_421(struct session *s, const char *enh, const char *text)
{
    delay_cancel(s);                   /* the delayed reply is superseded by the 421 */
    if (s->state == SS_AUTH || s->state == SS_AUTH_FINAL)
        smtp_auth_abort(s);
    if (!s->chk.pending)               /* a pending row still looks at it: sess_free */
        sess_reset_tx(s);
    sess_reply(s, 421, enh, "%s %s", sess_hostname(s), text);
    s->state = SS_CLOSED;
    if (s->c)
        conn_close(s->c);
}

/* ---- abuse limits ----------------------------------------------------------- */

/* The harvesting delay step in ms: PENALTY_DELAY_UNIT_MS, or MS_SMTPD_HARVEST_DELAY_MS
 * (1..60000) so that end-to-end tests need not wait the real seconds. */
static unsigned delay_unit_ms(void)
{
    const char *e = getenv("MS_SMTPD_HARVEST_DELAY_MS");
    char *end = NULL;
    unsigned long v = e && *e ? strtoul(e, &end, 10) : 0;
    if (!e || !*e || *end || v < 1 || v > 60000)
        return PENALTY_DELAY_UNIT_MS;
    return (unsigned)v;
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;
    s->delaying = false;
    if (!s->c || s->state == SS_CLOSED)
        return;
    conn_write(s->c, s->delayed, strlen(s->delayed));
    conn_resume(s->c);
    sess_process(s);
}

/* Pause input and send s->delayed after MS milliseconds; -1 if no timer can be set. */
static int delay_start(struct session *s, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    if (!s->delay_ev)
        s->delay_ev = evtimer_new(conn_base(s->c), delay_done, s);
    if (!s->delay_ev || evtimer_add(s->delay_ev, &tv) != 0)
        return -1;
    s->delaying = true;
    conn_pause(s->c);
    return 0;
}

void sess_unknown_rcpt(struct session *s, const struct policy_result *r)
{
    unsigned ms = 0;
    enum penalty_action a = penalty_unknown_rcpt(&s->pen, delay_unit_ms(), &ms);
    if (a != PENALTY_NONE)
        log_info("harvest: ip=%s unknown_rcpts=%u action=%s", s->pc.ipstr,
                 s->pen.unknown_rcpts, a == PENALTY_DELAY ? "delay" : "disconnect");
    if (a == PENALTY_DISCONNECT) {
        sess_close_421(s, "4.7.0", "Error: too many unknown recipients; closing connection");
        return;
    }
    snprintf(s->delayed, sizeof s->delayed, "%d %s %s\r\n", r->code, r->enh, r->text);
    if (a == PENALTY_DELAY && delay_start(s, ms) == 0)
        return;
    reply_text(s, r->code, r->enh, r->text, COUNT_NONE);   /* not an error: counted above */
}

/* ---- worker jobs ----------------------------------------------------------- */
struct sess_job {
    struct session *s;
    void (*work)(struct session *s);
    void (*done)(struct session *s);
};

static void job_work(void *arg)
{
    struct sess_job *j = arg;
    j->work(j->s);
}

/* After a job or pending checks: free the session if the client went away meanwhile,
 * else say 421 if shutting down, else read on (unless another pause began). */
static void after_pause(struct session *s)
{
    if (!s->c) {
        if (!s->busy && !s->chk.pending)
            sess_free(s);
        return;
    }
    if (s->state == SS_CLOSED || s->busy || s->chk.pending || s->delaying)
        return;
    if (s->stopping) {
        sess_close_421(s, "4.3.2", "Service shutting down, closing transmission channel");
        return;
    }
    conn_resume(s->c);
    sess_process(s);
}

static void job_done(void *arg)
{
    struct sess_job *j = arg;
    struct session *s = j->s;
    void (*done)(struct session *) = j->done;
    free(j);
    s->busy = false;
    done(s);
    after_pause(s);
}

int sess_submit(struct session *s, void (*work)(struct session *s),
                void (*done)(struct session *s))
{
    struct sess_job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->s = s;
    j->work = work;
    j->done = done;
    s->busy = true;
    conn_pause(s->c);
    if (workq_submit(server_workq(), job_work, job_done, j) < 0) {
        free(j);
        s->busy = false;
        conn_resume(s->c);
        return -1;
    }
    return 0;
}

/* ---- checks ---------------------------------------------------------------- */

/* A pending row answered and the stage is over. */
static void check_done(struct check_run *run)
{
    struct session *s = run->ctx.owner;
    if (s->c && s->state != SS_CLOSED)      /* not after a 421 (timeout) meanwhile */
        s->proceed(s);
    after_pause(s);
}

/* Blocking rows (checks.h) on the worker pool. */
static void check_work(struct session *s)
{
    checks_work(&s->chk);
}

/* Back on the loop: the rest of the rows; proceed here when the stage is over (not
 * through check_done: job_done resumes input itself, and may free the session). */
static void check_worked(struct session *s)
{
    s->chk.done = NULL;
    checks_worked(&s->chk);
    s->chk.done = check_done;
    if (!s->chk.pending && s->c && s->state != SS_CLOSED)
        s->proceed(s);
}

static int check_offload(struct check_run *run)
{
    return sess_submit(run->ctx.owner, check_work, check_worked);
}

void sess_check(struct session *s, enum check_stage stage, void (*proceed)(struct session *s))
{
    size_t n = 0;
    const struct check_row *rows = checks_rows(stage, &n);
    struct check_ctx *x = &s->chk.ctx;
    x->pc = &s->pc;
    x->lk = &s->lk;
    x->now = (int64_t)time(NULL);
    x->offline = false;
    x->loop = conn_base(s->c);
    x->helo = s->helo;
    x->from = s->tx ? &s->tx->from : NULL;
    x->rcpt = s->tx ? &s->tx->rcpt : NULL;
    x->rcpt_out = s->tx ? &s->tx->pr : NULL;
    x->msg = stage == CHECK_EOD ? &s->msg : NULL;
    x->owner = s;
    if (!s->as && antispam_on(s->inst) && !(s->as = calloc(1, sizeof *s->as)))
        log_err("session: no memory for the anti-spam state: ip=%s (checks skipped)",
                s->pc.ipstr);
    x->as = s->as;
    x->offload = check_offload;
    s->chk.done = check_done;
    s->proceed = proceed;
    if (checks_start(&s->chk, stage, rows, n) == CHECK_DONE)
        proceed(s);
    else
        conn_pause(s->c);
}

/* ---- commands -------------------------------------------------------------- */

#define CMD_NOARG 0x1u          /* 501 5.5.4 for an argument, before anything else */
#define CMD_TLS   0x2u          /* 530 5.7.0 before STARTTLS where TLS is required */

#define NEED_HELO   "Error: send HELO/EHLO first"
#define NEED_MAIL   "Error: need MAIL command"
#define NEED_RCPT   "Error: need RCPT command"
#define NESTED_MAIL "Error: nested MAIL command"

/* One command: its function, flags, and per stage NULL (allowed) or the 503 5.5.1 text.
 * (DATA and EOD never see commands: the text is read, or input is paused.) */
struct cmd_row {
    void (*fn)(struct session *s, const struct smtp_cmd *c);
    unsigned flags;
    const char *refuse[CHECK_NSTAGES];
};

static void cmd_auth_row(struct session *s, const struct smtp_cmd *c)
{
    smtp_cmd_auth(s, c->arg);   /* AUTH checks its own sequence (auth_cmd.c) */
}

static void cmd_not_implemented(struct session *s, const struct smtp_cmd *c)
{
    (void)c;
    sess_reply(s, 502, "5.5.1", "Error: command not implemented");
}

static void cmd_unknown(struct session *s, const struct smtp_cmd *c)
{
    (void)c;
    sess_reply(s, 500, "5.5.2", "Error: command not recognized");
}

static const struct cmd_row commands[] = {
    [SMTP_UNKNOWN] = { cmd_unknown, 0, { NULL } },
    [SMTP_HELO] = { smtp_cmd_helo, 0, { NULL } },
    [SMTP_EHLO] = { smtp_cmd_helo, 0, { NULL } },
    [SMTP_MAIL] = { smtp_cmd_mail, CMD_TLS, { [CHECK_CONNECT] = NEED_HELO,
                                         [CHECK_MAIL] = NESTED_MAIL,
                                         [CHECK_RCPT] = NESTED_MAIL } },
    [SMTP_RCPT] = { smtp_cmd_rcpt, 0, { [CHECK_CONNECT] = NEED_MAIL, [CHECK_HELO] = NEED_MAIL } },
    [SMTP_DATA] = { smtp_cmd_data, CMD_NOARG, { [CHECK_CONNECT] = NEED_MAIL,
                                           [CHECK_HELO] = NEED_MAIL,
                                           [CHECK_MAIL] = NEED_RCPT } },
    [SMTP_RSET] = { smtp_cmd_rset, CMD_NOARG, { NULL } },
    [SMTP_NOOP] = { smtp_cmd_noop, 0, { NULL } },
    [SMTP_QUIT] = { smtp_cmd_quit, 0, { NULL } },
    [SMTP_VRFY] = { smtp_cmd_vrfy, 0, { NULL } },
    [SMTP_EXPN] = { cmd_not_implemented, 0, { NULL } },
    [SMTP_HELP] = { smtp_cmd_help, 0, { NULL } },
    [SMTP_STARTTLS] = { smtp_cmd_starttls, CMD_NOARG, { NULL } },
    [SMTP_AUTH] = { cmd_auth_row, 0, { NULL } },
    [SMTP_BDAT] = { cmd_not_implemented, 0, { NULL } },
};

static void dispatch(struct session *s, const struct smtp_cmd *c)
{
    size_t v = (size_t)c->verb < sizeof commands / sizeof commands[0] ? (size_t)c->verb : 0;
    const struct cmd_row *row = &commands[v];
    struct smtp_reply r;
    if ((row->flags & CMD_NOARG) && smtp_check_noarg(c, &r) < 0)
        sess_reply_r(s, &r);
    else if ((row->flags & CMD_TLS) && sess_tls_required(s))
        sess_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
    else if (row->refuse[s->stage])
        sess_reply(s, 503, "5.5.1", "%s", row->refuse[s->stage]);
    else
        row->fn(s, c);
}

static void command_line(struct session *s, const char *line, size_t len)
{
    struct smtp_cmd c;
    struct smtp_reply r;
    /* Only AUTH may exceed the 512-octet command line (its initial response). */
    if (len > SMTP_LINE_MAX - 2 && strncasecmp(line, "AUTH ", 5) != 0) {
        sess_reply(s, 500, "5.5.2", "Error: line too long");
        return;
    }
    if (smtp_parse_line(line, len, &c, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    dispatch(s, &c);
}

/* Does the buffered input start with an AUTH command too long for s->line? (Short
 * ones, and the start of any line, are read into s->line: the AUTH buffers are made
 * only for a line that needs them.) */
static bool long_auth_next(struct session *s)
{
    struct evbuffer *in = conn_inbuf(s->c);
    char head[5];
    return evbuffer_get_length(in) > SMTP_LINE_MAX - 1 &&
           evbuffer_copyout(in, head, sizeof head) == (ev_ssize_t)sizeof head &&
           strncasecmp(head, "AUTH ", 5) == 0;
}

/* Where the next line goes: SASL exchanges and long AUTH commands use the AUTH buffers
 * (up to SASLG_LINE_MAX), everything else s->line. NULL when out of memory. */
static char *line_buffer(struct session *s, size_t *max)
{
    if (s->state == SS_AUTH || s->state == SS_AUTH_FINAL || long_auth_next(s)) {
        struct sess_auth *ab = sess_auth_bufs(s);
        *max = SASLG_LINE_MAX;
        return ab ? ab->line : NULL;
    }
    *max = SMTP_LINE_MAX - 2;
    return s->line;
}

/* Read and handle one line; false when there is none yet. */
static bool one_line(struct session *s)
{
    size_t len = 0, max = 0;
    char *buf = line_buffer(s, &max);
    if (!buf) {
        sess_close_421(s, "4.3.0", "Error: out of memory");
        return false;
    }
    enum conn_line lr = conn_getline(s->c, buf, max, &len);
    if (lr == CONN_LINE_NONE)
        return false;
    bool in_auth = s->state == SS_AUTH || s->state == SS_AUTH_FINAL;
    if (lr == CONN_LINE_TOOLONG) {
        if (in_auth) {
            smtp_auth_abort(s);
            sess_reply(s, 500, "5.5.6", "Authentication exchange line is too long");
        } else {
            sess_reply(s, 500, "5.5.2", "Error: line too long");
        }
    } else {
        buf[len] = '\0';
        if (in_auth)
            smtp_auth_input(s, buf, len);
        else
            command_line(s, buf, len);
    }
    auth_bufs_release(s);
    return true;
}

void sess_process(struct session *s)
{
    while (s->c && !s->busy && !s->chk.pending && !s->delaying && s->state != SS_CLOSED) {
        if (s->error_limit) {
            log_info("error_limit: ip=%s errors=%u action=disconnect refused_rcpts=%u",
                     s->pc.ipstr, penalty_error_count(&s->pen), s->pen.refused_rcpts);
            sess_close_421(s, "4.7.0", "Error: too many errors");
            break;
        }
        if (s->stage == CHECK_DATA) {
            smtp_data_input(s);
            if (s->stage == CHECK_DATA && !s->busy)
                break;   /* wants more input */
            continue;
        }
        if (!one_line(s))
            break;
    }
}

/* ---- framework callbacks --------------------------------------------------- */

/* The connect checks are over: greet, or refuse as the listener does (sess_on_refuse). */
static void connect_proceed(struct session *s)
{
    const struct policy_result *r = &s->chk.v.res;
    if (!r->accept) {
        log_info("connect: instance=%s ip=%s rule=%s result=REJECT %d",
                 s->inst->common.name ? s->inst->common.name : "-", s->pc.ipstr, r->rule, r->code);
        conn_printf(s->c, "%d %s %s %s\r\n", r->code, r->enh, sess_hostname(s), r->text);
        s->state = SS_CLOSED;
        conn_close(s->c);
        return;
    }
    conn_printf(s->c, "220 %s ESMTP mailserver\r\n", sess_hostname(s));
}

void sess_on_accept(struct conn *c)
{
    struct session *s = calloc(1, sizeof *s);
    const struct smtp_instance *inst = conn_instance(c);
    if (!s) {
        log_err("out of memory for a new session from %s", conn_peer_str(c));
        conn_printf(c, "421 4.3.0 Error: out of memory\r\n");
        conn_close(c);
        return;
    }
    s->c = c;
    s->cfg = conn_config(c);
    s->inst = inst;
    policy_client_init(&s->pc, s->cfg, inst, conn_peer(c));
    policy_lookup_store(&s->lk, server_store());
    conn_set_proto(c, s);
    sess_check(s, CHECK_CONNECT, connect_proceed);
}

void sess_on_refuse(struct conn *c, enum server_refusal why)
{
    const struct config *cfg = conn_config(c);
    const char *host = cfg ? cfg->hostname : "mailserver";
    if (why == REFUSE_DENIED)
        conn_printf(c, "554 5.7.1 %s Access denied\r\n", host);
    else if (why == REFUSE_TOO_MANY_IP)
        conn_printf(c, "421 4.7.0 %s Error: too many connections from your address\r\n", host);
    else
        conn_printf(c, "421 4.7.0 %s Error: too many connections\r\n", host);
}

void sess_on_input(struct conn *c)
{
    struct session *s = conn_proto(c);
    if (s)
        sess_process(s);
}

void sess_on_timeout(struct conn *c)
{
    struct session *s = conn_proto(c);
    if (!s) {
        conn_close(c);
        return;
    }
    log_info("timeout: ip=%s conn=%lu", conn_peer_str(c), conn_id(c));
    sess_close_421(s, "4.4.2", "Error: timeout exceeded");
}

void sess_on_shutdown(struct conn *c)
{
    struct session *s = conn_proto(c);
    if (!s) {
        conn_close(c);
        return;
    }
    if (s->busy || s->chk.pending) {  /* finish (a delivery is answered), then 421 */
        s->stopping = true;
        return;
    }
    if (s->state != SS_CLOSED)
        sess_close_421(s, "4.3.2", "Service shutting down, closing transmission channel");
}

void sess_on_close(struct conn *c)
{
    struct session *s = conn_proto(c);
    if (!s)
        return;
    conn_set_proto(c, NULL);
    s->c = NULL;
    if (!s->busy && !s->chk.pending)
        sess_free(s);
}
