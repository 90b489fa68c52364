/* checks: the SMTP session's checks pipeline (model: Postfix's smtpd_*_restrictions
 * lists, OpenSMTPD's ruleset.c). Per stage of the session (connect, HELO, MAIL, RCPT,
 * DATA, end of data) a short table of rows {rule name, fn}; the runner calls them in
 * order. A row answers at once (CHECK_DONE) or later (CHECK_PENDING: it keeps the run
 * and calls checks_resume() from the event loop, e.g. on a DNS answer or a scanner's
 * verdict; the session reads no input meanwhile). A verdict is:
 *   CONTINUE    no opinion: the next row decides;
 *   ACCEPT      the stage ends positively (RCPT: a local recipient, the relay table);
 *   REJECT      the stage ends with res.code/enh/text (5xx);
 *   TEMPFAIL    the same with a 4xx;
 *   ADD_HEADER  a header line for the message (collected, see below), then go on.
 * res.rule names the rule for the decision log line and --test-relay; a row that
 * leaves it NULL is named by its row. When no row decides, the stage ends with a
 * default: at MAIL accept (250 2.1.0, rule sender_ok), at RCPT 451 4.3.0 (rule
 * undecided: the relay row is last there and always decides), elsewhere accept (rule
 * ok). At RCPT an ACCEPT must fill ctx.rcpt_out (kind and target, policy.h): only the
 * srs, local and relay rows accept there; other rows refuse or answer CONTINUE.
 *
 * Gate rows (after_accept): they run only once an earlier row accepted the stage and
 * may still turn the accept into a TEMPFAIL or REJECT (CONTINUE keeps it); when no row
 * accepted they are skipped, and after an accept only gate rows run. Greylisting is
 * one (check_greylist.c): only a RCPT that would be accepted is greylisted, so a
 * refused relay attempt gets its 550 and an unknown user his 550 5.1.1, not a 451.
 *
 * Where a new check goes: one function in a smtpd/check_*.c file (or here when it is a
 * thin wrapper over policy.h) and one row in the stage's table in checks.c. Rows that
 * need the network must answer CONTINUE when ctx.offline (--test-relay runs the
 * connect, MAIL and RCPT rows in that mode, so its output is the daemon's).
 *
 * Not rows: the command sequencing (session.c's command table), the AUTH lockout (the
 * shared AUTH flow, auth.h / lockout.h: it guards logins, not mail), and the
 * harvesting delay and error limit (penalty.h, paced by session.c: they count the
 * answers the rows gave, whatever row gave them, and act on the next reply or command).
 *
 * Headers: ADD_HEADER texts (one "Name: value" line, no line end) are kept in the run,
 * those of the connect and HELO stages for the session, the others for the mail
 * transaction, and written below the Received: line at DATA. End-of-data rows come
 * after the text is spooled: their headers (checks_eod_headers) are put at the top of
 * the spooled message (deliver.h's spool_prepend, over mstore_tx_insert) on the worker,
 * before the durable delivery.
 *
 * Blocking rows: a row that reads the store (users, aliases, the POP-auth cache) is
 * marked blocking. On an event-loop thread the runner first runs the consecutive
 * blocking rows in place (the store never waits there, store.h); when a store call
 * was refused (store_take_again) the run is rolled back to where they began (next
 * row, verdict, headers, rcpt_out zeroed) and handed to the owner's offload hook,
 * which runs checks_work() on a worker thread (it goes on through the consecutive
 * blocking rows) and then checks_worked() on the loop (it goes on with the rest,
 * which may be pending rows that wait for the network). So a stage costs no
 * hand-off in the common case, one when the store is busy. On a thread that is not
 * a loop's, the hook is used at once; without one (--test-relay, tests) blocking
 * rows run in place. A blocking row whose waits() says it would wait for the network
 * now is never run in place on a loop thread: the run goes to a worker from it.
 *
 * No allocation: the run lives in the session; a stage with no rows costs one call. */
#ifndef MS_CHECKS_H
#define MS_CHECKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "policy.h"

enum check_stage {
    CHECK_CONNECT, CHECK_HELO, CHECK_MAIL, CHECK_RCPT, CHECK_DATA, CHECK_EOD, CHECK_NSTAGES
};

enum check_answer { CHECK_CONTINUE, CHECK_ACCEPT, CHECK_REJECT, CHECK_TEMPFAIL, CHECK_ADD_HEADER };

#define RULE_CHECKS_OK          "ok"
#define RULE_CHECKS_UNDECIDED   "undecided"

struct check_verdict {
    enum check_answer answer;
    struct policy_result res;          /* REJECT/TEMPFAIL: the reply; ACCEPT: rule (and
                                        * 250 text); res.accept is set by the runner */
    const char *header;                /* ADD_HEADER: copied by the runner */
};

enum check_status { CHECK_DONE, CHECK_PENDING };

struct check_run;
struct antispam_client;

/* End of data: the stored message text and its envelope (for a content scanner). */
struct check_msg {
    int fd;                            /* the spool file; the text at off, len octets */
    long long off;
    size_t len;
    const char *id;                    /* the queue id */
    char *const *local, *const *relay; /* the delivery targets */
    size_t nlocal, nrelay;
};

/* What the rows see. Pointers stay valid until the stage ends. */
struct check_ctx {
    const struct policy_client *pc;
    const struct policy_lookup *lk;
    int64_t now;                       /* unix time at the start of the stage */
    bool offline;                      /* --test-relay: no network I/O, never PENDING */
    void *loop;                        /* the session's struct event_base (NULL offline) */
    const char *helo;                  /* HELO and later ("" before) */
    const struct mailaddr *from;       /* MAIL and later */
    const struct mailaddr *rcpt;       /* RCPT */
    struct policy_rcpt *rcpt_out;      /* RCPT: zeroed; the accepting row fills it */
    const struct check_msg *msg;       /* EOD: the message (NULL elsewhere, offline) */
    void *owner;                       /* the caller's (the session; a test's state) */
    /* the anti-spam rows' facts about the client (antispam.h: as->whitelisted, the
     * exemption); NULL offline */
    struct antispam_client *as;
    /* Run checks_work(run) on a worker, then checks_worked(run) on the loop; 0, or -1
     * when it cannot (then the stage ends 451 4.3.0). NULL: blocking rows run in place. */
    int (*offload)(struct check_run *run);
};

typedef enum check_status (*check_fn)(struct check_run *run, struct check_verdict *v);

struct check_row {
    const char *rule;                  /* the name when the verdict gives none */
    check_fn fn;
    bool blocking;                     /* reads the store: in place or on a worker (above) */
    bool after_accept;                 /* a gate row (above) */
    /* A blocking row that would now wait for the network (DNS: SPF, DKIM keys, DMARC
     * records): it never runs in place on a loop thread but always on a worker. NULL:
     * it never waits. */
    bool (*waits)(const struct check_run *run);
};

#define CHECK_HEADERS_MAX 1024

struct check_run {
    struct check_ctx ctx;
    struct check_verdict v;            /* the stage's outcome: ACCEPT, REJECT or TEMPFAIL,
                                        * res.accept set accordingly */
    bool pending;                      /* a row answers later, or blocking rows run on
                                        * a worker: the stage is not over */
    bool ended;                        /* checks_work decided the stage */
    /* the stage's end after a pending row (not called when checks_start says DONE) */
    void (*done)(struct check_run *run);
    const struct check_row *rows;
    size_t nrows, next;
    enum check_stage stage;
    char hdrs[CHECK_HEADERS_MAX];      /* collected "Name: value\n" lines */
    size_t hdrs_len, hdrs_connect, hdrs_session, hdrs_eod;
};

/* The daemon's rows for STAGE (*n of them). */
const struct check_row *checks_rows(enum check_stage stage, size_t *n);

/* Run ROWS (N) for STAGE from the first; run->ctx and run->done are set by the caller.
 * CHECK_DONE: run->v holds the outcome. CHECK_PENDING: run->done(run) is called when
 * the stage ends, from the row's checks_resume(). */
enum check_status checks_start(struct check_run *run, enum check_stage stage,
                               const struct check_row *rows, size_t n);
/* A pending row's verdict (from the event loop, never from inside its fn): go on with
 * the next rows; run->done is called when the stage ends. */
void checks_resume(struct check_run *run, const struct check_verdict *v);

/* On a worker: the consecutive blocking rows from where the run stopped. */
void checks_work(struct check_run *run);
/* Back on the loop after checks_work: go on; run->done is called when the stage ends. */
void checks_worked(struct check_run *run);

/* Forget the transaction's headers (MAIL to end of data); all of them with ALL. */
void checks_headers_reset(struct check_run *run, bool all);
/* The collected headers (LF line ends) and their length. */
const char *checks_headers(const struct check_run *run, size_t *len);
/* Those the end-of-data rows added (*len 0 outside that stage). */
const char *checks_eod_headers(const struct check_run *run, size_t *len);

/* A verdict from a policy.h result: ACCEPT, TEMPFAIL (4xx) or REJECT. */
void checks_from_policy(const struct policy_result *r, struct check_verdict *v);

#endif
