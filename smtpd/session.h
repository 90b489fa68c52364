/* session: the smtpd SMTP session (RFC 5321, SPEC.md "SMTP"), shared by session.c
 * (input loop, the command table with the stages each command is allowed in, replies,
 * framework callbacks, running the checks of checks.h) and the per-command files
 * cmd_basic.c (HELO/EHLO/NOOP/RSET/QUIT/VRFY/HELP/STARTTLS), cmd_mail.c (MAIL, RCPT),
 * cmd_data.c (DATA and delivery) and auth_cmd.c (AUTH), one function per command.
 *
 * The session's stage (enum check_stage) is where the mail dialogue stands: CONNECT
 * (no HELO yet), HELO, MAIL (a sender accepted), RCPT (a recipient accepted), DATA
 * (reading the text), EOD (the text is in: end-of-data checks and the delivery job).
 * Each stage has its check rows (checks.h); a command runs them with sess_check(). */
#ifndef MS_SESSION_H
#define MS_SESSION_H
#include <stdbool.h>
#include <stddef.h>

#include "antispam.h"
#include "auth_flow.h"
#include "checks.h"
#include "conn.h"
#include "data.h"
#include "penalty.h"
#include "policy.h"
#include "server.h"
#include "smtp_parse.h"

struct spool;
struct event;

/* What the next input line is (the message text: stage CHECK_DATA). */
enum sess_state {
    SS_CMD,         /* reading commands */
    SS_AUTH,        /* reading SASL responses */
    SS_AUTH_FINAL,  /* sent final server data, waiting for the empty line */
    SS_CLOSED,      /* QUIT/421 sent or connection gone */
};

struct session {
    struct conn *c;                    /* NULL once the connection is gone */
    const struct config *cfg;
    const struct smtp_instance *inst;
    enum sess_state state;
    enum check_stage stage;
    bool busy;                         /* a worker job runs; input paused */
    bool stopping;                     /* SIGTERM seen: say 421 when the job ends */
    struct policy_client pc;
    struct policy_lookup lk;
    /* the checks of the current stage (chk.pending: a row answers later, input paused);
     * proceed(s) goes on with the command when they are over */
    struct check_run chk;
    struct antispam_client *as;        /* anti-spam facts (antispam.h), chk.ctx.as: made at
                                        * the first check of an instance with anti-spam on
                                        * (3 KB: 10,000 idle sessions must not carry it) */
    struct check_msg msg;              /* end of data: the text for the rows (checks.h) */
    void (*proceed)(struct session *s);
    /* greeting and authentication */
    bool esmtp;
    char helo[256];                    /* authenticated: pc.authenticated */
    /* the mail transaction (what is allocated lives only as long as it needs to:
     * tx from MAIL to its end, dm during DATA, ab during an AUTH exchange) */
    struct sess_tx *tx;                /* non-NULL from MAIL (its checks) to the end */
    char id[48];
    size_t nrcpt;                      /* accepted RCPTs */
    size_t nlocal, nrelay;             /* in tx->local, tx->relay */
    /* DATA */
    struct data_machine *dm;
    struct spool *sp;
    size_t msg_size;                   /* stored size, for the log */
    int deliver_rc, deliver_errno;     /* delivery job result */
    /* AUTH */
    struct auth_flow *sasl;            /* the exchange (common/auth_flow.h) */
    char mech[32];
    const char *auth_arg;              /* initial response / response line (in ab->line) */
    int auth_rc;                       /* job result (enum authf_result) */
    struct sess_auth *ab;
    char line[SMTP_LINE_MAX + 1];      /* current command line (AUTH ones go to ab->line) */
    /* abuse limits (penalty.h) */
    struct penalty pen;
    bool error_limit;                  /* the error limit was reached: 421 next */
    bool delaying;                     /* a harvesting delay runs; input paused */
    struct event *delay_ev;            /* its timer (made on first use) */
    char delayed[128];                 /* the reply sent when it ends */
};

/* One mail transaction, allocated at MAIL with room for max_recipients targets each. */
struct sess_tx {
    struct mailaddr from;
    struct mailaddr rcpt;              /* the RCPT being checked */
    struct policy_rcpt pr;             /* ... and where it goes (the checks' rcpt_out) */
    char first_rcpt[ADDR_PATH_MAX + 1];
    char **local, **relay;             /* delivery targets (canonical local / relayed) */
};

/* The buffers of one AUTH exchange (SASL lines may be long). */
struct sess_auth {
    char out[SASLG_LINE_MAX + 64];     /* the next challenge */
    char line[SASLG_LINE_MAX + 1];     /* the AUTH command or a response line */
};

/* session.c */
void sess_reply(struct session *s, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sess_reply_r(struct session *s, const struct smtp_reply *r);
/* A reply that does not count toward the error limit (penalty.h): failed logins, which
 * the lockout (lockout.h) limits instead. */
void sess_reply_uncounted(struct session *s, int code, const char *enh, const char *text);
/* Forget the mail transaction (spool discarded, recipients and buffers freed). */
void sess_reset_tx(struct session *s);
/* Start a mail transaction (s->tx); -1 when out of memory. */
int sess_begin_tx(struct session *s);
/* Is a mail transaction open (MAIL accepted)? */
static inline bool sess_in_mail(const struct session *s)
{
    return s->stage >= CHECK_MAIL;
}
/* Run the check rows of STAGE (checks.h) on the session's facts; then PROCEED(s) looks
 * at s->chk.v, at once or, when a row answers later, with input paused meanwhile (not
 * called if the connection went away). */
void sess_check(struct session *s, enum check_stage stage, void (*proceed)(struct session *s));
/* The AUTH buffers (s->ab), made on first use (empty strings) and kept until the
 * exchange ends; NULL when out of memory. */
struct sess_auth *sess_auth_bufs(struct session *s);
/* Run a job on the worker pool with input paused; done() runs on the loop, then input
 * processing resumes. If the connection went away meanwhile, done() sees s->c == NULL. */
int sess_submit(struct session *s, void (*work)(struct session *s),
                void (*done)(struct session *s));
/* Input processing (after a job, after STARTTLS...). */
void sess_process(struct session *s);
/* Say 421 and close (timeout, shutdown). */
void sess_close_421(struct session *s, const char *enh, const char *text);
const char *sess_hostname(const struct session *s);
/* A RCPT was refused 550 5.1.1 (unknown user, reply R): count it (penalty.h) and answer
 * now, after a delay (input paused, the loop keeps running), or with 421 and close. */
void sess_unknown_rcpt(struct session *s, const struct policy_result *r);
/* A RCPT was refused by policy (relaying denied...): answer R, counted for the whole
 * session (a delivery does not forgive it; penalty.h). */
void sess_refused_rcpt(struct session *s, const struct policy_result *r);

/* cmd_*.c and auth_cmd.c: one smtp_cmd_* function per command, called by session.c's
 * command table once the stage allows it (and, for those the table marks, without
 * argument and after STARTTLS where TLS is required); c->arg is the text after the verb. */
void smtp_cmd_helo(struct session *s, const struct smtp_cmd *c);   /* HELO and EHLO */
void smtp_cmd_noop(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_rset(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_quit(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_vrfy(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_help(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_starttls(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_mail(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_rcpt(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_data(struct session *s, const struct smtp_cmd *c);
void smtp_cmd_auth(struct session *s, const char *arg);  /* its own sequencing (auth_cmd.c) */
/* cmd_data.c: feed buffered input in stage CHECK_DATA */
void smtp_data_input(struct session *s);
/* auth_cmd.c: one response line in SS_AUTH / SS_AUTH_FINAL */
void smtp_auth_input(struct session *s, const char *line, size_t len);
void smtp_auth_abort(struct session *s);
/* The mechanisms this session may use (MECH_* bits). */
unsigned sess_auth_mechs(const struct session *s);
bool sess_tls_required(const struct session *s);

/* server_proto callbacks (main.c builds the struct) */
void sess_on_accept(struct conn *c);
void sess_on_refuse(struct conn *c, enum server_refusal why);
void sess_on_input(struct conn *c);
void sess_on_timeout(struct conn *c);
void sess_on_shutdown(struct conn *c);
void sess_on_close(struct conn *c);

#endif
