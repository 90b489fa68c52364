/* test_checks: the session's checks pipeline (smtpd/checks.c): the runner over test
 * rows (order, first decision wins, rule names, stage defaults, headers), a row that
 * answers later from a libevent timer (as a DNS or scanner row will), and the daemon's
 * tables, blocking rows in place on a loop thread and rolled back to a worker when the
 * store refuses a call there. The rows' decisions themselves are policy.h's (test_policy.c, which also runs
 * --test-relay over these tables). */
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "antispam.h"
#include "check_dnsbl.h"
#include "check_rspamd.h"
#include "check_dkim.h"
#include "check_dmarc.h"
#include "checks.h"
#include "authres.h"
#include "check_spf.h"
#include "cu.h"
#include "store.h"
#include "store_bdb_env.h"
#include "tutil.h"
#include "util.h"

static int calls[8];

static enum check_status r_continue(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    (void)v;
    calls[0]++;
    return CHECK_DONE;
}

static enum check_status r_header(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    calls[1]++;
    v->answer = CHECK_ADD_HEADER;
    v->header = "X-Checked: yes";
    return CHECK_DONE;
}

static enum check_status r_reject(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    calls[2]++;
    v->answer = CHECK_REJECT;
    v->res = (struct policy_result){ false, 554, "5.7.1", "Go away", NULL };
    return CHECK_DONE;
}

static enum check_status r_accept_named(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    calls[3]++;
    v->answer = CHECK_ACCEPT;
    v->res = (struct policy_result){ true, 250, "2.1.5", "OK", "finer_rule" };
    return CHECK_DONE;
}

static void start(struct check_run *run, enum check_stage st, const struct check_row *rows,
                  size_t n, enum check_status want)
{
    memset(calls, 0, sizeof calls);
    CU_ASSERT_EQUAL(checks_start(run, st, rows, n), want);
}

static void test_first_decision_wins(void)
{
    static const struct check_row rows[] = {
        { "a", r_continue, false, false, NULL }, { "hdr", r_header, false, false, NULL },
        { "block", r_reject, false, false, NULL }, { "late", r_accept_named, false, false, NULL },
    };
    static struct check_run run;
    memset(&run, 0, sizeof run);
    start(&run, CHECK_RCPT, rows, 4, CHECK_DONE);
    CU_ASSERT_EQUAL(run.v.answer, CHECK_REJECT);
    CU_ASSERT_FALSE(run.v.res.accept);
    CU_ASSERT_EQUAL(run.v.res.code, 554);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "block");        /* named by its row */
    CU_ASSERT_EQUAL(calls[0] + calls[1] + calls[2], 3);
    CU_ASSERT_EQUAL(calls[3], 0);                            /* after the decision */
    /* a verdict's own rule name wins over the row's */
    start(&run, CHECK_RCPT, rows + 3, 1, CHECK_DONE);
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "finer_rule");
}

static void test_stage_defaults(void)
{
    static const struct check_row rows[] = { { "a", r_continue, false, false, NULL } };
    static struct check_run run;
    memset(&run, 0, sizeof run);
    start(&run, CHECK_MAIL, rows, 1, CHECK_DONE);
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, RULE_SENDER_OK);
    CU_ASSERT_EQUAL(run.v.res.code, 250);
    start(&run, CHECK_RCPT, rows, 1, CHECK_DONE);           /* nobody decided */
    CU_ASSERT_FALSE(run.v.res.accept);
    CU_ASSERT_EQUAL(run.v.answer, CHECK_TEMPFAIL);
    CU_ASSERT_EQUAL(run.v.res.code, 451);
    start(&run, CHECK_HELO, NULL, 0, CHECK_DONE);            /* no rows at all */
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_EQUAL(calls[0], 0);
}

static void test_headers(void)
{
    static const struct check_row hrow[] = { { "hdr", r_header, false, false, NULL } };
    static struct check_run run;
    size_t len = 0;
    memset(&run, 0, sizeof run);
    start(&run, CHECK_CONNECT, hrow, 1, CHECK_DONE);
    start(&run, CHECK_HELO, NULL, 0, CHECK_DONE);
    start(&run, CHECK_RCPT, hrow, 1, CHECK_DONE);
    const char *h = checks_headers(&run, &len);
    CU_ASSERT_EQUAL(len, 2 * strlen("X-Checked: yes\n"));
    CU_ASSERT_NSTRING_EQUAL(h, "X-Checked: yes\nX-Checked: yes\n", len);
    checks_headers_reset(&run, false);       /* the transaction ends: the connect one stays */
    (void)checks_headers(&run, &len);
    CU_ASSERT_EQUAL(len, strlen("X-Checked: yes\n"));
    CU_ASSERT_PTR_NOT_NULL(checks_eod_headers(&run, &len));
    CU_ASSERT_EQUAL(len, 0);                                /* no end of data yet */
    start(&run, CHECK_EOD, hrow, 1, CHECK_DONE);            /* kept apart, for the store */
    (void)checks_headers(&run, &len);
    CU_ASSERT_EQUAL(len, strlen("X-Checked: yes\n"));
    h = checks_eod_headers(&run, &len);
    CU_ASSERT_EQUAL(len, strlen("X-Checked: yes\n"));
    CU_ASSERT_NSTRING_EQUAL(h, "X-Checked: yes\n", len);
    checks_headers_reset(&run, false);                      /* the transaction ends */
    (void)checks_eod_headers(&run, &len);
    CU_ASSERT_EQUAL(len, 0);
    start(&run, CHECK_HELO, NULL, 0, CHECK_DONE);           /* a new HELO keeps connect's */
    (void)checks_headers(&run, &len);
    CU_ASSERT_EQUAL(len, strlen("X-Checked: yes\n"));
    checks_headers_reset(&run, true);
    (void)checks_headers(&run, &len);
    CU_ASSERT_EQUAL(len, 0);
}

/* ---- a row that answers later, from a timer on the event loop ----------------- */

struct later {
    struct event *ev;
    struct check_run *run;
    struct check_verdict v;
    int done_calls;
};
static struct later later;

static void later_fire(evutil_socket_t fd, short what, void *arg)
{
    struct later *l = arg;
    (void)fd;
    (void)what;
    checks_resume(l->run, &l->v);
}

/* Like a DNSBL lookup: asks, says PENDING, answers when the "reply" comes. */
static enum check_status r_later(struct check_run *run, struct check_verdict *v)
{
    struct timeval tv = { 0, 20000 };
    (void)v;
    calls[4]++;
    later.run = run;
    later.ev = evtimer_new(run->ctx.loop, later_fire, &later);
    if (!later.ev || evtimer_add(later.ev, &tv) != 0)
        return CHECK_DONE;                 /* no opinion when it cannot ask */
    return CHECK_PENDING;
}

static void later_done(struct check_run *run)
{
    (void)run;
    later.done_calls++;
}

static void run_later(const struct check_row *rows, size_t n, const struct check_verdict *v,
                      struct check_run *run)
{
    struct event_base *base = event_base_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    memset(run, 0, sizeof *run);
    memset(&later, 0, sizeof later);
    later.v = *v;
    run->ctx.loop = base;
    run->done = later_done;
    start(run, CHECK_RCPT, rows, n, CHECK_PENDING);
    CU_ASSERT_TRUE(run->pending);
    CU_ASSERT_EQUAL(calls[4], 1);
    CU_ASSERT_EQUAL(calls[2] + calls[3], 0);                 /* waiting: nothing after it */
    CU_ASSERT_EQUAL(later.done_calls, 0);
    CU_ASSERT(event_base_dispatch(base) >= 0);              /* the timer fires, then idle */
    CU_ASSERT_FALSE(run->pending);
    CU_ASSERT_EQUAL(later.done_calls, 1);
    if (later.ev)
        event_free(later.ev);
    event_base_free(base);
}

static void test_async_reject(void)
{
    static const struct check_row rows[] = {
        { "a", r_continue, false, false, NULL }, { "dnsbl", r_later, false, false, NULL },
        { "late", r_accept_named, false, false, NULL },
    };
    static struct check_run run;
    struct check_verdict v = { .answer = CHECK_REJECT,
                               .res = { false, 554, "5.7.1", "Listed", NULL } };
    run_later(rows, 3, &v, &run);
    CU_ASSERT_EQUAL(calls[3], 0);
    CU_ASSERT_EQUAL(run.v.answer, CHECK_REJECT);
    CU_ASSERT_EQUAL(run.v.res.code, 554);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "dnsbl");
}

static void test_async_continue(void)
{
    static const struct check_row rows[] = {
        { "scan", r_later, false, false, NULL }, { "hdr", r_header, false, false, NULL },
        { "late", r_accept_named, false, false, NULL },
    };
    static struct check_run run;
    struct check_verdict v = { .answer = CHECK_CONTINUE };
    run_later(rows, 3, &v, &run);             /* no opinion: the next rows run */
    CU_ASSERT_EQUAL(calls[1], 1);
    CU_ASSERT_EQUAL(calls[3], 1);
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "finer_rule");
    size_t len = 0;
    (void)checks_headers(&run, &len);
    CU_ASSERT_EQUAL(len, strlen("X-Checked: yes\n"));
    checks_resume(&run, &v);                  /* a second answer is ignored */
    CU_ASSERT_EQUAL(later.done_calls, 1);
}

/* ---- blocking rows on a worker ---------------------------------------------- */

static struct {
    int offloads;
    bool on_worker_seen;
    pthread_t loop;
} off;

static enum check_status r_block_continue(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    (void)v;
    calls[5]++;
    if (!pthread_equal(pthread_self(), off.loop))
        off.on_worker_seen = true;
    return CHECK_DONE;
}

static void *worker(void *arg)
{
    checks_work(arg);
    return NULL;
}

/* The session's hook does this through the worker pool: checks_work on another
 * thread, then checks_worked back on the loop. Here: a thread, joined, then go on. */
static int offload_now(struct check_run *run)
{
    pthread_t t;
    off.offloads++;
    return pthread_create(&t, NULL, worker, run) == 0 && pthread_join(t, NULL) == 0 ? 0 : -1;
}

static void test_blocking_rows_offloaded(void)
{
    static const struct check_row rows[] = {
        { "store1", r_block_continue, true, false, NULL }, { "store2", r_block_continue, true, false, NULL },
        { "hdr", r_header, false, false, NULL }, { "store3", r_block_continue, true, false, NULL },
        { "late", r_accept_named, false, false, NULL },
    };
    static struct check_run run;
    memset(&run, 0, sizeof run);
    memset(&off, 0, sizeof off);
    off.loop = pthread_self();
    run.ctx.offload = offload_now;
    run.done = later_done;
    later.done_calls = 0;
    /* the first blocking row hands the stage to the worker, which runs both blocking
     * rows in a row and stops before the next non-blocking one */
    start(&run, CHECK_RCPT, rows, 5, CHECK_PENDING);
    CU_ASSERT_EQUAL(off.offloads, 1);
    CU_ASSERT_EQUAL(calls[5], 2);
    CU_ASSERT_TRUE(off.on_worker_seen);
    CU_ASSERT_EQUAL(calls[1] + calls[3], 0);
    CU_ASSERT_TRUE(run.pending);
    /* back on the loop: the header row, then a second hand-off for store3 */
    checks_worked(&run);
    CU_ASSERT_EQUAL(calls[1], 1);
    CU_ASSERT_EQUAL(off.offloads, 2);
    CU_ASSERT_EQUAL(calls[5], 3);
    CU_ASSERT_EQUAL(later.done_calls, 0);
    checks_worked(&run);
    CU_ASSERT_FALSE(run.pending);
    CU_ASSERT_EQUAL(calls[3], 1);
    CU_ASSERT_EQUAL(later.done_calls, 1);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "finer_rule");
    /* without a hook (--test-relay) blocking rows run in place */
    run.ctx.offload = NULL;
    start(&run, CHECK_RCPT, rows, 5, CHECK_DONE);
    CU_ASSERT_EQUAL(calls[5], 3);
    CU_ASSERT_TRUE(run.v.res.accept);
}

static enum check_status r_block_reject(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    calls[6]++;
    v->answer = CHECK_REJECT;
    v->res = (struct policy_result){ false, 550, "5.1.1", "No such user", NULL };
    return CHECK_DONE;
}

static int offload_fails(struct check_run *run)
{
    (void)run;
    off.offloads++;
    return -1;
}

static void test_blocking_row_decides_on_worker(void)
{
    static const struct check_row rows[] = {
        { "unknown", r_block_reject, true, false, NULL }, { "late", r_accept_named, false, false, NULL },
    };
    static struct check_run run;
    memset(&run, 0, sizeof run);
    memset(&off, 0, sizeof off);
    off.loop = pthread_self();
    run.ctx.offload = offload_now;
    run.done = later_done;
    later.done_calls = 0;
    start(&run, CHECK_RCPT, rows, 2, CHECK_PENDING);
    checks_worked(&run);
    CU_ASSERT_EQUAL(later.done_calls, 1);
    CU_ASSERT_EQUAL(calls[3], 0);                     /* the worker's row decided */
    CU_ASSERT_EQUAL(run.v.res.code, 550);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "unknown");
    /* no worker to be had: 451, named after the row that could not run */
    run.ctx.offload = offload_fails;
    start(&run, CHECK_RCPT, rows, 2, CHECK_DONE);
    CU_ASSERT_EQUAL(calls[6], 0);
    CU_ASSERT_EQUAL(run.v.answer, CHECK_TEMPFAIL);
    CU_ASSERT_EQUAL(run.v.res.code, 451);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "unknown");
    CU_ASSERT_FALSE(run.pending);
}

/* ---- blocking rows in place on a loop thread, rolled back when refused ---------- */

static struct {
    struct store *st;
    int offloads, reads;
    size_t next_at_offload, hdrs_at_offload;
    enum check_answer answer_at_offload;
    bool ended_at_offload;
    char target_at_offload;
} inplace;

static enum check_status r_store_header(struct check_run *run, struct check_verdict *v)
{
    struct user_rec u;
    (void)run;
    inplace.reads++;
    if (store_user_get(inplace.st, "alice@example.test", &u) == STORE_OK) {
        v->answer = CHECK_ADD_HEADER;
        v->header = "X-Store: read";
    }
    return CHECK_DONE;
}

static enum check_status r_store_accept(struct check_run *run, struct check_verdict *v)
{
    struct user_rec u;
    struct policy_rcpt *out = run->ctx.rcpt_out;
    int rc = store_user_get(inplace.st, "alice@example.test", &u);
    out->kind = RCPT_LOCAL;
    str_copy(out->target, "alice@example.test", sizeof out->target);
    out->res = rc == STORE_OK ? (struct policy_result){ true, 250, "2.1.5", "OK", "local" }
                              : (struct policy_result){ false, 451, "4.3.0", "x", "lookup_error" };
    checks_from_policy(&out->res, v);
    return CHECK_DONE;
}

/* The session's hook, seen from the run: rolled back to the first blocking row. The
 * test held the store's lock for writing (a reopen under way): it lets go here. */
static int offload_rolled_back(struct check_run *run)
{
    pthread_t t;
    inplace.offloads++;
    inplace.next_at_offload = run->next;
    inplace.hdrs_at_offload = run->hdrs_len;
    inplace.answer_at_offload = run->v.answer;
    inplace.ended_at_offload = run->ended;
    inplace.target_at_offload = run->ctx.rcpt_out->target[0];
    (void)pthread_rwlock_unlock(&inplace.st->rw);
    return pthread_create(&t, NULL, worker, run) == 0 && pthread_join(t, NULL) == 0 ? 0 : -1;
}

static void test_blocking_rows_in_place(void)
{
    static const struct check_row rows[] = {
        { "hdr", r_header, false, false, NULL }, { "store_hdr", r_store_header, true, false, NULL },
        { "store_accept", r_store_accept, true, false, NULL },
    };
    static struct check_run run;
    struct policy_rcpt out;
    struct user_rec u;
    size_t len;
    char dir[128];
    snprintf(dir, sizeof dir, "build/tmp-test_checks-%d", (int)getpid());
    (void)mkdir("build", 0755);
    (void)tu_rmtree(dir);
    memset(&inplace, 0, sizeof inplace);
    CU_ASSERT_EQUAL_FATAL(store_open(dir, &inplace.st), STORE_OK);
    memset(&u, 0, sizeof u);
    str_copy(u.address, "alice@example.test", sizeof u.address);
    CU_ASSERT_EQUAL_FATAL(store_user_put(inplace.st, &u, false), STORE_OK);
    memset(&run, 0, sizeof run);
    run.ctx.offload = offload_rolled_back;
    run.ctx.rcpt_out = &out;
    run.done = later_done;
    store_mark_loop_thread(true);
    /* the common case: the store answers in the loop, no hand-off */
    memset(&out, 0, sizeof out);
    start(&run, CHECK_RCPT, rows, 3, CHECK_DONE);
    CU_ASSERT_EQUAL(inplace.offloads, 0);
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "local");
    CU_ASSERT_STRING_EQUAL(checks_headers(&run, &len), "X-Checked: yes\nX-Store: read\n");
    /* a reopen under way: refused in place, rolled back, redone on a worker */
    checks_headers_reset(&run, true);
    memset(&out, 0, sizeof out);
    later.done_calls = 0;
    CU_ASSERT_EQUAL_FATAL(pthread_rwlock_wrlock(&inplace.st->rw), 0);
    start(&run, CHECK_RCPT, rows, 3, CHECK_PENDING);
    CU_ASSERT_EQUAL(inplace.offloads, 1);
    CU_ASSERT_EQUAL(inplace.next_at_offload, 1);             /* the first blocking row */
    CU_ASSERT_EQUAL(inplace.hdrs_at_offload, strlen("X-Checked: yes\n"));
    CU_ASSERT_EQUAL(inplace.answer_at_offload, CHECK_CONTINUE);
    CU_ASSERT_FALSE(inplace.ended_at_offload);
    CU_ASSERT_EQUAL(inplace.target_at_offload, '\0');        /* rcpt_out zeroed */
    CU_ASSERT_EQUAL(inplace.reads, 3);                       /* 2 in place, 1 on the worker */
    checks_worked(&run);
    CU_ASSERT_EQUAL(later.done_calls, 1);
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "local");
    CU_ASSERT_STRING_EQUAL(out.target, "alice@example.test");
    CU_ASSERT_STRING_EQUAL(checks_headers(&run, &len), "X-Checked: yes\nX-Store: read\n");
    store_mark_loop_thread(false);
    CU_ASSERT_FALSE(store_take_again());
    store_close(inplace.st);
    (void)tu_rmtree(dir);
}

/* ---- blocking rows that wait for the network: never in place on a loop thread --- */

static bool net_waits;

static bool r_waits(const struct check_run *run)
{
    (void)run;
    return net_waits;
}

static void test_waiting_rows_on_worker(void)
{
    static const struct check_row rows[] = {
        { "store1", r_block_continue, true, false, NULL },
        { "dns", r_block_continue, true, false, r_waits },
        { "late", r_accept_named, false, false, NULL },
    };
    static struct check_run run;
    memset(&run, 0, sizeof run);
    memset(&off, 0, sizeof off);
    memset(calls, 0, sizeof calls);
    off.loop = pthread_self();
    run.ctx.offload = offload_now;
    run.done = later_done;
    later.done_calls = 0;
    store_mark_loop_thread(true);
    /* it would wait: the store row runs in place, the DNS row goes to a worker */
    net_waits = true;
    start(&run, CHECK_RCPT, rows, 3, CHECK_PENDING);
    CU_ASSERT_EQUAL(off.offloads, 1);
    CU_ASSERT_EQUAL(calls[5], 2);
    CU_ASSERT_TRUE(off.on_worker_seen);
    checks_worked(&run);
    CU_ASSERT_EQUAL(later.done_calls, 1);
    CU_ASSERT_TRUE(run.v.res.accept);
    /* it would not (its check is off for this session): all in place, no hand-off */
    net_waits = false;
    off.on_worker_seen = false;
    start(&run, CHECK_RCPT, rows, 3, CHECK_DONE);
    CU_ASSERT_EQUAL(off.offloads, 1);
    CU_ASSERT_FALSE(off.on_worker_seen);
    CU_ASSERT_EQUAL(calls[5], 2);
    CU_ASSERT_TRUE(run.v.res.accept);
    store_mark_loop_thread(false);
}

/* ---- the daemon's tables ------------------------------------------------------ */

/* ---- gate rows (after_accept) ------------------------------------------------- */

static enum check_status r_gate_tempfail(struct check_run *run, struct check_verdict *v)
{
    (void)run;
    calls[7]++;
    v->answer = CHECK_TEMPFAIL;
    v->res = (struct policy_result){ false, 451, "4.7.1", "Greylisted", "grey" };
    return CHECK_DONE;
}

static void test_gate_rows(void)
{
    static const struct check_row rows[] = {
        { "a", r_continue, false, false, NULL }, { "gate", r_gate_tempfail, true, true, NULL },
        { "block", r_reject, false, false, NULL }, { "late", r_accept_named, true, false, NULL },
        { "gate2", r_gate_tempfail, false, true, NULL },
    };
    static struct check_run run;
    memset(&run, 0, sizeof run);
    /* a refusal ends the stage before any gate: the 554 stays a 554 */
    start(&run, CHECK_RCPT, rows, 5, CHECK_DONE);
    CU_ASSERT_EQUAL(run.v.res.code, 554);
    CU_ASSERT_EQUAL(calls[7], 0);
    CU_ASSERT_EQUAL(calls[0], 1);
    /* rows "late" then "gate2": the accept goes through the gate, which tempfails it */
    start(&run, CHECK_RCPT, rows + 3, 2, CHECK_DONE);
    CU_ASSERT_EQUAL(calls[3], 1);
    CU_ASSERT_EQUAL(calls[7], 1);
    CU_ASSERT_EQUAL(run.v.answer, CHECK_TEMPFAIL);
    CU_ASSERT_FALSE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "grey");
    /* a gate before the accepting row is skipped; no row accepted: the default */
    start(&run, CHECK_RCPT, rows, 2, CHECK_DONE);
    CU_ASSERT_EQUAL(calls[7], 0);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, RULE_CHECKS_UNDECIDED);
    /* a gate with no opinion keeps the accept (r_continue as a gate) */
    static const struct check_row keep[] = {
        { "late", r_accept_named, true, false, NULL }, { "quiet", r_continue, true, true, NULL },
    };
    memset(&off, 0, sizeof off);
    off.loop = pthread_self();
    run.ctx.offload = offload_now;
    run.done = later_done;
    later.done_calls = 0;
    start(&run, CHECK_RCPT, keep, 2, CHECK_PENDING);   /* both on one worker hand-off */
    checks_worked(&run);
    CU_ASSERT_EQUAL(off.offloads, 1);
    CU_ASSERT_EQUAL(calls[0], 1);
    CU_ASSERT_TRUE(run.v.res.accept);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, "finer_rule");
    CU_ASSERT_EQUAL(later.done_calls, 1);
    run.ctx.offload = NULL;
}

static void test_daemon_tables(void)
{
    size_t n = 0;
    const struct check_row *r = checks_rows(CHECK_MAIL, &n);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(r[0].rule, RULE_ANTISPAM_POPAUTH);
    CU_ASSERT_STRING_EQUAL(r[1].rule, RULE_LOCAL_SPOOF);
    CU_ASSERT_STRING_EQUAL(r[2].rule, RULE_SENDER_LOGIN_MATCH);
    CU_ASSERT_STRING_EQUAL(r[3].rule, RULE_SPF);          /* after popauth: the exemption */
    for (size_t i = 0; i < n; i++)                    /* the store; SPF's DNS waits */
        CU_ASSERT_TRUE(r[i].blocking && (r[i].waits != NULL) == (i == 3));
    r = checks_rows(CHECK_RCPT, &n);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(r[0].rule, RULE_DNSBL);      /* before any accepting row */
    CU_ASSERT_FALSE(r[0].blocking);                     /* DNS on the loop, answers later */
    CU_ASSERT_STRING_EQUAL(r[1].rule, RULE_SRS);
    CU_ASSERT_STRING_EQUAL(r[2].rule, RULE_LOCAL);
    CU_ASSERT_STRING_EQUAL(r[4].rule, "greylist");
    for (size_t i = 1; i < n; i++) {
        CU_ASSERT_TRUE(r[i].blocking);                  /* they read the store */
        CU_ASSERT_EQUAL(r[i].after_accept, i == 4);     /* greylisting: accepted rcpts */
    }
    r = checks_rows(CHECK_CONNECT, &n);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(r[0].rule, RULE_CLIENT_DENIED);
    CU_ASSERT_FALSE(r[0].blocking);                     /* a pattern match */
    CU_ASSERT_PTR_NULL(checks_rows(CHECK_HELO, &n));
    CU_ASSERT_EQUAL(n, 0);
    r = checks_rows(CHECK_EOD, &n);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(r[0].rule, RULE_DKIM);                 /* DMARC uses its results */
    CU_ASSERT_STRING_EQUAL(r[1].rule, RULE_DMARC);
    for (size_t i = 0; i < 2; i++)                      /* DNS waits: always on a worker */
        CU_ASSERT_TRUE(r[i].blocking && r[i].waits != NULL);
    CU_ASSERT_STRING_EQUAL(r[2].rule, RULE_CONTENT_FILTER);
    CU_ASSERT_FALSE(r[2].blocking);                               /* answers later */
    CU_ASSERT_STRING_EQUAL(r[3].rule, RULE_CONTENT_FILTER_SCORE);
    CU_ASSERT_STRING_EQUAL(r[4].rule, RULE_AUTHRES);              /* reports the rows above */
    CU_ASSERT_PTR_NULL(checks_rows(CHECK_NSTAGES, &n));
}

static void test_from_policy(void)
{
    struct check_verdict v;
    struct policy_result a = { true, 250, "2.1.5", "OK", "local" },
                         t = { false, 451, "4.3.0", "x", "lookup_error" },
                         r = { false, 550, "5.7.1", "x", "denied" };
    checks_from_policy(&a, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_ACCEPT);
    checks_from_policy(&t, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_TEMPFAIL);
    checks_from_policy(&r, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_REJECT);
    CU_ASSERT_STRING_EQUAL(v.res.rule, "denied");
}

static CU_TestInfo tests[] = {
    { "rows in order, the first decision wins, rule names", test_first_decision_wins },
    { "stage defaults when no row decides", test_stage_defaults },
    { "headers: session, transaction, end of data", test_headers },
    { "a row answering later (timer) rejects", test_async_reject },
    { "a row answering later with no opinion: the next rows run", test_async_continue },
    { "blocking rows run on a worker, one hand-off per run of them", test_blocking_rows_offloaded },
    { "a blocking row decides on the worker; no worker: 451", test_blocking_row_decides_on_worker },
    { "gate rows: only after an accept, may turn it into a 451", test_gate_rows },
    { "rows waiting for the network go to a worker from a loop thread", test_waiting_rows_on_worker },
    { "blocking rows in place on a loop thread; refused: rolled back to a worker",
      test_blocking_rows_in_place },
    { "the daemon's tables", test_daemon_tables },
    { "verdicts from policy results", test_from_policy },
    CU_TEST_INFO_NULL,
};

CU_MAIN("checks", tests)
