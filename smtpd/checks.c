/* checks: the runner of the session's check rows and the daemon's tables per stage;
 * the rows here are thin wrappers over the pure decisions of policy.h. See checks.h. */
#include "checks.h"

#include <string.h>

#include "antispam.h"
#include "authres.h"
#include "check_dkim.h"
#include "check_dmarc.h"
#include "check_dnsbl.h"
#include "check_greylist.h"
#include "check_rspamd.h"
#include "check_spf.h"
#include "log.h"
#include "reject_class.h"
#include "store.h"

/* ---- rows ------------------------------------------------------------------- */

void checks_from_policy(const struct policy_result *r, struct check_verdict *v)
{
    v->answer = r->accept ? CHECK_ACCEPT : r->code / 100 == 4 ? CHECK_TEMPFAIL : CHECK_REJECT;
    v->res = *r;
}

/* connect: deny_clients / allow_clients */
static enum check_status row_client(struct check_run *run, struct check_verdict *v)
{
    const struct policy_client *pc = run->ctx.pc;
    if (!policy_client_admitted(pc->inst, &pc->ip)) {
        struct policy_result r = { false, 554, "5.7.1", "Access denied", RULE_CLIENT_DENIED };
        checks_from_policy(&r, v);
    }
    return CHECK_DONE;
}

/* MAIL: reject_local_spoof */
static enum check_status row_spoof(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    struct policy_result r;
    if (policy_mail_spoof(x->pc, x->lk, x->from, x->now, &r))
        checks_from_policy(&r, v);
    return CHECK_DONE;
}

/* MAIL: sender_login_match */
static enum check_status row_login_match(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    struct policy_result r;
    if (policy_mail_login_match(x->pc, x->lk, x->from, &r))
        checks_from_policy(&r, v);
    return CHECK_DONE;
}

/* RCPT: a bounce to one of our SRS addresses */
static enum check_status row_srs(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    if (policy_rcpt_srs(x->pc, x->lk, x->rcpt, x->now, x->rcpt_out))
        checks_from_policy(&x->rcpt_out->res, v);
    return CHECK_DONE;
}

/* RCPT: local users, aliases, postmaster */
static enum check_status row_local(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    if (policy_rcpt_local(x->pc, x->lk, x->rcpt, x->rcpt_out))
        checks_from_policy(&x->rcpt_out->res, v);
    return CHECK_DONE;
}

/* RCPT: the relay table (relay.h) for everything else; always decides */
static enum check_status row_relay(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    policy_rcpt_relay(x->pc, x->lk, x->from, x->rcpt, x->now, x->rcpt_out);
    checks_from_policy(&x->rcpt_out->res, v);
    return CHECK_DONE;
}

static const struct check_row connect_rows[] = {
    { RULE_CLIENT_DENIED, row_client, false, false, NULL },
};
static const struct check_row mail_rows[] = {
    { RULE_ANTISPAM_POPAUTH, antispam_row_popauth, true, false, NULL },   /* notes, never decides */
    { RULE_LOCAL_SPOOF, row_spoof, true, false, NULL },
    { RULE_SENDER_LOGIN_MATCH, row_login_match, true, false, NULL },
    /* after popauth (the exemption); DNS waits: on a worker */
    { RULE_SPF, check_spf, true, false, check_spf_wanted },
};
static const struct check_row rcpt_rows[] = {
    { RULE_DNSBL, check_dnsbl, false, false, NULL },  /* before any accepting row; answers later */
    { RULE_SRS, row_srs, true, false, NULL },
    { RULE_LOCAL, row_local, true, false, NULL },
    { "relay", row_relay, true, false, NULL },
    /* gates: only a recipient accepted above */
    { RULE_GREYLIST, check_greylist, true, true, NULL },
};
static const struct check_row eod_rows[] = {
    /* DKIM keys and DMARC records: DNS waits, on a worker (before the scanner: a DMARC
     * reject costs no scan) */
    { RULE_DKIM, check_dkim, true, false, check_dkim_wanted },
    { RULE_DMARC, check_dmarc, true, false, check_dmarc_wanted },
    { RULE_CONTENT_FILTER, check_rspamd, false, false, NULL },   /* answers later */
    { RULE_CONTENT_FILTER_SCORE, check_rspamd_score, false, false, NULL },
    { RULE_AUTHRES, check_authres, false, false, NULL },   /* reports what the rows above found */
};

#define ROWS(a) { (a), sizeof(a) / sizeof((a)[0]) }
static const struct {
    const struct check_row *rows;
    size_t n;
} tables[CHECK_NSTAGES] = {
    [CHECK_CONNECT] = ROWS(connect_rows),
    [CHECK_MAIL] = ROWS(mail_rows),
    [CHECK_RCPT] = ROWS(rcpt_rows),
    [CHECK_EOD] = ROWS(eod_rows),
    /* CHECK_HELO, CHECK_DATA: no rows yet */
};

const struct check_row *checks_rows(enum check_stage stage, size_t *n)
{
    *n = stage < CHECK_NSTAGES ? tables[stage].n : 0;
    return *n ? tables[stage].rows : NULL;
}

/* ---- headers ---------------------------------------------------------------- */

static void add_header(struct check_run *run, const char *rule, const char *h)
{
    size_t n = h ? strlen(h) : 0;
    if (n == 0 || strpbrk(h, "\r\n") || n + 1 > sizeof run->hdrs - run->hdrs_len) {
        log_info("checks: rule=%s header dropped (empty, multi-line or no room)", rule);
        return;
    }
    memcpy(run->hdrs + run->hdrs_len, h, n);
    run->hdrs[run->hdrs_len + n] = '\n';
    run->hdrs_len += n + 1;
}

void checks_headers_reset(struct check_run *run, bool all)
{
    if (all)
        run->hdrs_connect = run->hdrs_session = 0;
    run->hdrs_len = run->hdrs_session;
}

const char *checks_headers(const struct check_run *run, size_t *len)
{
    *len = run->stage == CHECK_EOD ? run->hdrs_eod : run->hdrs_len;
    return run->hdrs;
}

const char *checks_eod_headers(const struct check_run *run, size_t *len)
{
    size_t from = run->stage == CHECK_EOD ? run->hdrs_eod : run->hdrs_len;
    if (from > run->hdrs_len)           /* the transaction was reset since */
        from = run->hdrs_len;
    *len = run->hdrs_len - from;
    return run->hdrs + from;
}

/* ---- the runner ------------------------------------------------------------- */

/* Does the row not run now: a gate row before an accept, another after one? */
static bool skipped(const struct check_run *run, const struct check_row *row)
{
    return row->after_accept != (run->v.answer == CHECK_ACCEPT);
}

/* Would ROW wait for the network now (checks.h: never in place on a loop thread)? */
static bool row_waits(const struct check_run *run, const struct check_row *row)
{
    return row->waits && row->waits(run);
}

/* Is a gate row left after run->next? */
static bool gate_follows(const struct check_run *run)
{
    for (size_t i = run->next; i < run->nrows; i++)
        if (run->rows[i].after_accept)
            return true;
    return false;
}

/* Take ROW's verdict V; true when it ends the stage (an accept with gate rows left
 * does not). */
static bool apply(struct check_run *run, const struct check_row *row,
                  const struct check_verdict *v)
{
    if (v->answer == CHECK_CONTINUE)
        return false;
    if (v->answer == CHECK_ADD_HEADER) {
        add_header(run, row->rule, v->header);
        return false;
    }
    run->v = *v;
    run->v.header = NULL;
    run->v.res.accept = v->answer == CHECK_ACCEPT;
    if (!run->v.res.rule)
        run->v.res.rule = row->rule;
    return v->answer != CHECK_ACCEPT || !gate_follows(run);
}

/* No row decided: the stage's default (see checks.h). */
static void default_outcome(struct check_run *run)
{
    static const struct policy_result ok = { true, 250, "2.0.0", "OK", RULE_CHECKS_OK },
        undecided = { false, 451, "4.3.0", "Error: no check decided, try again later",
                      RULE_CHECKS_UNDECIDED };
    if (run->stage == CHECK_MAIL)
        policy_mail_accept(&run->v.res);
    else
        run->v.res = run->stage == CHECK_RCPT ? undecided : ok;
    run->v.answer = run->v.res.accept ? CHECK_ACCEPT : CHECK_TEMPFAIL;
}

static void stage_end(struct check_run *run)
{
    run->next = run->nrows;
    if (run->v.answer == CHECK_CONTINUE)
        default_outcome(run);
    if (!run->v.res.accept && !run->ctx.offline)    /* the status counters (stats.h) */
        stats_count(reject_class(run->v.res.rule));
    if (run->stage == CHECK_CONNECT)
        run->hdrs_connect = run->hdrs_len;
    if (run->stage <= CHECK_HELO)
        run->hdrs_session = run->hdrs_len;
}

/* A blocking row could not be handed to a worker. */
static void offload_failed(struct check_run *run)
{
    static const struct policy_result busy = { false, 451, "4.3.0",
                                               "Error: server busy, try again", NULL };
    checks_from_policy(&busy, &run->v);
    run->v.res.rule = run->rows[run->next].rule;
}

/* On an event-loop thread: the consecutive blocking rows in place, where the store
 * never waits (store.h). True when they ran; false when a store call was refused
 * (store_take_again): the run is rolled back to where they began, for a worker. */
static bool blocking_in_place(struct check_run *run)
{
    size_t next = run->next, hdrs_len = run->hdrs_len;
    (void)store_take_again();
    run->ended = false;
    checks_work(run);
    if (!store_take_again())
        return true;
    run->next = next;
    run->hdrs_len = hdrs_len;
    run->ended = false;
    memset(&run->v, 0, sizeof run->v);
    run->v.answer = CHECK_CONTINUE;
    if (run->ctx.rcpt_out)
        memset(run->ctx.rcpt_out, 0, sizeof *run->ctx.rcpt_out);
    return false;
}

/* Run the rows from run->next until one decides, one is pending or blocking (with an
 * offload hook, when the store refused them in place), or none is left. */
static enum check_status run_rows(struct check_run *run)
{
    while (run->next < run->nrows) {
        const struct check_row *row = &run->rows[run->next];
        if (skipped(run, row)) {
            run->next++;
            continue;
        }
        if (row->blocking && run->ctx.offload) {
            if (store_loop_thread() && !row_waits(run, row) && blocking_in_place(run)) {
                if (run->ended)
                    break;
                continue;
            }
            run->pending = true;
            run->ended = false;
            if (run->ctx.offload(run) == 0)
                return CHECK_PENDING;
            run->pending = false;
            offload_failed(run);
            break;
        }
        run->next++;
        struct check_verdict v = { .answer = CHECK_CONTINUE };
        if (row->fn(run, &v) == CHECK_PENDING) {
            run->pending = true;
            return CHECK_PENDING;
        }
        if (apply(run, row, &v))
            break;
    }
    stage_end(run);
    return CHECK_DONE;
}

enum check_status checks_start(struct check_run *run, enum check_stage stage,
                               const struct check_row *rows, size_t n)
{
    memset(&run->v, 0, sizeof run->v);
    run->v.answer = CHECK_CONTINUE;
    run->pending = false;
    run->ended = false;
    run->stage = stage;
    run->rows = rows;
    run->nrows = rows ? n : 0;
    run->next = 0;
    if (stage == CHECK_CONNECT)
        checks_headers_reset(run, true);
    else if (stage == CHECK_HELO)
        run->hdrs_len = run->hdrs_session = run->hdrs_connect;
    else if (stage == CHECK_EOD)
        run->hdrs_eod = run->hdrs_len;     /* those before are in the spool already */
    return run_rows(run);
}

void checks_work(struct check_run *run)
{
    while (run->next < run->nrows) {
        const struct check_row *row = &run->rows[run->next];
        if (skipped(run, row)) {
            run->next++;
            continue;
        }
        if (!row->blocking || (store_loop_thread() && row_waits(run, row)))
            return;                    /* a loop thread's in-place run stops here */
        run->next++;
        struct check_verdict v = { .answer = CHECK_CONTINUE };
        (void)row->fn(run, &v);        /* blocking rows answer at once */
        if (apply(run, row, &v)) {
            run->ended = true;
            return;
        }
    }
}

void checks_worked(struct check_run *run)
{
    if (!run->pending)
        return;
    run->pending = false;
    if (run->ended)
        stage_end(run);
    else if (run_rows(run) == CHECK_PENDING)
        return;
    if (run->done)
        run->done(run);
}

void checks_resume(struct check_run *run, const struct check_verdict *v)
{
    if (!run->pending || run->next == 0)
        return;                        /* not waiting for anyone */
    run->pending = false;
    if (apply(run, &run->rows[run->next - 1], v))
        stage_end(run);
    else if (run_rows(run) == CHECK_PENDING)
        return;
    if (run->done)
        run->done(run);
}
