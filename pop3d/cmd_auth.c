/* cmd_auth: the AUTHORIZATION-state commands that need the connection and the store:
 * USER, PASS, AUTH (RFC 5034), STLS (RFC 2595) and QUIT (UPDATE state). Logins go
 * through the shared flow (common/auth_flow.h: lockout, SASL, failure counting);
 * this file words its results for POP3 and does what follows a login. The slow
 * parts (flow steps, opening and locking the mailbox, the POP-auth write, the commit
 * at QUIT) run on the worker queue while the connection is paused.
 *
 * A login whose credentials are verified (any method) is, in SPEC's terms, a
 * successful login: it writes IP -> (user, time) to the POP-auth cache first, as
 * its own step, and only then opens the mailbox. So a correct password on a mailbox
 * in use by another session (-ERR [IN-USE]) or one that cannot be opened still
 * records the IP for POP-before-SMTP: the client proved the password from there,
 * which is what the record vouches for. A client refused by the lockout, even with
 * the right password, proved nothing and is not recorded.
 *
 * A relay-only account (userdb add --no-mailbox) has no mailbox: after its password
 * is verified it gets "-ERR [AUTH] This account has no mailbox." (not counted as a
 * failure, not recorded for POP-before-SMTP, no Maildir made). The wording differs
 * from a bad password's only for a client that proved the password, so it tells a
 * guesser nothing, and it tells the admin of a misconfigured client what is wrong. */
#include "pop3.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_flow.h"
#include "conn.h"
#include "log.h"
#include "server.h"
#include "stats.h"
#include "util.h"
#include "workq.h"

enum job_kind { J_PASS, J_SASL_START, J_SASL_STEP, J_LOGIN, J_QUIT };
/* What followed a successful login: the mailbox opened, in use, or an error. */
enum job_res { R_OK, R_INUSE, R_MBERR, R_NOMAILBOX, R_LOOKUP };

/* POP3's words for the flow's failures (AUTH and USER/PASS alike). */
static const char *const refusal[AUTHF_NRESULTS] = {
    [AUTHF_FAIL] = "-ERR [AUTH] Authentication failed.",
    [AUTHF_LOCKED] = "-ERR [AUTH] Too many failed logins from your address; try again later.",
    [AUTHF_TEMPFAIL] = "-ERR [SYS/TEMP] Authentication temporarily unavailable.",
    [AUTHF_CANCELLED] = "-ERR Authentication cancelled.",
    [AUTHF_BADPROT] = "-ERR Invalid authentication data.",
    [AUTHF_NOMECH] = "-ERR Unsupported authentication mechanism.",
};

struct p3_job {
    struct pop3_session *s;
    enum job_kind kind;
    struct store *st;
    const struct config *cfg;
    struct ipaddr ip;
    char ipstr[64];
    char login[STORE_ADDR_MAX];
    char *text;                  /* password, SASL line or initial response (wiped) */
    size_t textlen;
    bool has_text;
    char method[24];
    struct auth_flow *flow;      /* J_PASS: its own; SASL jobs: the session's */
    bool own_flow;
    enum authf_result ar;
    char out[4096];
    enum job_res res;
    char canon[STORE_ADDR_MAX];
    struct mailbox *mb;
    size_t commit_failed;
};

static void job_free(struct p3_job *j)
{
    if (j->text) {
        explicit_bzero(j->text, j->textlen);
        free(j->text);
    }
    if (j->own_flow)
        auth_flow_free(j->flow);
    mailbox_close(j->mb);
    explicit_bzero(j, sizeof *j);
    free(j);
}

static struct p3_job *job_new(struct pop3_session *s, enum job_kind kind, const char *text)
{
    struct p3_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->s = s;
    j->kind = kind;
    j->st = server_store();
    j->cfg = s->cfg;
    j->ip = *conn_peer(s->c);
    j->flow = s->sasl;
    str_copy(j->ipstr, conn_peer_str(s->c), sizeof j->ipstr);
    str_copy(j->login, s->login, sizeof j->login);
    str_copy(j->method, s->mech, sizeof j->method);
    if (text) {
        j->has_text = true;
        j->textlen = strlen(text) + 1;
        j->text = malloc(j->textlen);
        if (!j->text) {
            free(j);
            return NULL;
        }
        memcpy(j->text, text, j->textlen);
    }
    return j;
}

/* The flow of a login by this session: SASL with the mechanisms offered now, or
 * (mechs 0) USER/PASS. */
static struct auth_flow *flow_new(struct pop3_session *s, unsigned mechs)
{
    struct authf_client cl = {
        .service = "pop3", .st = server_store(), .cfg = s->cfg,
        .local = conn_local(s->c), .local_port = conn_local_port(s->c),
        .remote = conn_peer(s->c), .remote_port = conn_peer_port(s->c),
        .tls = s->pol.tls_active, .mechs = mechs,
    };
    return auth_flow_new(&cl);
}

void pop3_auth_end(struct pop3_session *s)
{
    auth_flow_free(s->sasl);
    s->sasl = NULL;
    s->sasl_state = P3A_NONE;
}

static void job_submit(struct p3_job *j, void (*work)(void *), void (*done)(void *))
{
    struct pop3_session *s = j->s;
    pop3_session_wait(s);
    if (workq_submit(server_workq(), work, done, j) != 0) {
        bool quit = j->kind == J_QUIT;
        job_free(j);
        if (quit) {
            pop3_session_close(s, "-ERR [SYS/TEMP] Server busy; nothing was deleted.");
            return;
        }
        pop3_auth_end(s);
        pop3_reply(s, "-ERR [SYS/TEMP] Server busy, try again later.");
        pop3_session_continue(s);
    }
}

/* ---- worker side ---------------------------------------------------------------- */

/* Authenticated as j->canon: lock the mailbox, log. */
static void open_mailbox(struct p3_job *j)
{
    int rc = mailbox_open(j->cfg->data_dir, j->canon, &j->mb);
    if (rc == MBOX_LOCKED) {
        log_info("pop3: mailbox in use: ip=%s user=%s", j->ipstr, j->canon);
        j->res = R_INUSE;
        return;
    }
    if (rc != MBOX_OK) {
        log_err("pop3: cannot open the mailbox of %s: %m", j->canon);
        j->res = R_MBERR;
        return;
    }
    log_info("login: service=pop3 ip=%s user=%s method=%s", j->ipstr, j->canon, j->method);
    stats_count(STAT_POP3_LOGIN);
    j->res = R_OK;
}

/* POP-before-SMTP (SPEC "POP3"): the verified login writes IP -> (user, time). */
static void record_popauth(struct p3_job *j)
{
    if (store_popauth_put(j->st, &j->ip, j->canon, (int64_t)time(NULL)) != STORE_OK)
        log_warn("pop3: cannot record POP-auth entry for ip=%s", j->ipstr);
}

/* A relay-only account has no mailbox (store.h no_mailbox): R_NOMAILBOX, R_LOOKUP on
 * a store error, else R_OK. */
static enum job_res mailbox_kind(struct p3_job *j)
{
    struct user_rec u;
    int rc = store_user_get(j->st, j->canon, &u);
    bool none = rc == STORE_OK && u.no_mailbox;
    explicit_bzero(&u, sizeof u);
    if (rc == STORE_ERROR)
        return R_LOOKUP;
    if (none)
        log_info("pop3: login refused: ip=%s user=%s reason=no-mailbox", j->ipstr, j->canon);
    return none ? R_NOMAILBOX : R_OK;
}

/* The credentials of j->flow's user are verified: what follows, in this order. */
static void logged_in(struct p3_job *j)
{
    j->ar = AUTHF_OK;
    str_copy(j->canon, auth_flow_user(j->flow), sizeof j->canon);
    j->res = mailbox_kind(j);
    if (j->res != R_OK)
        return;
    record_popauth(j);
    open_mailbox(j);
}

/* USER/PASS: the password is verified inside the lockout gate, like every SASL
 * mechanism (auth_flow.h). */
static void pass_work(void *arg)
{
    struct p3_job *j = arg;
    j->ar = auth_flow_password(j->flow, j->login, j->text);
    if (j->ar == AUTHF_OK)
        logged_in(j);
}

/* One SASL step of the flow. A "*" after a challenge comes here too (J_SASL_STEP):
 * it counts as a failure. */
static void sasl_work(void *arg)
{
    struct p3_job *j = arg;
    if (j->kind == J_SASL_START)
        j->ar = auth_flow_start(j->flow, j->method, j->has_text ? j->text : NULL, j->out,
                                sizeof j->out);
    else
        j->ar = auth_flow_step(j->flow, j->text, j->out, sizeof j->out);
    if (j->ar == AUTHF_OK)
        logged_in(j);
}

/* After final server data and the client's empty answer. */
static void login_work(void *arg)
{
    logged_in(arg);
}

static void quit_work(void *arg)
{
    struct p3_job *j = arg;
    j->commit_failed = mailbox_commit(j->s->mb);
}

/* ---- event loop side ------------------------------------------------------------- */

static void reply_refusal(struct pop3_session *s, enum authf_result r)
{
    if ((unsigned)r >= AUTHF_NRESULTS || !refusal[r])
        r = AUTHF_TEMPFAIL;
    pop3_reply(s, "%s", refusal[r]);
}

/* Report a finished login attempt (any method). */
static void login_result(struct pop3_session *s, struct p3_job *j)
{
    pop3_auth_end(s);
    s->have_user = false;
    if (j->ar != AUTHF_OK) {
        reply_refusal(s, j->ar);
        return;
    }
    switch (j->res) {
    case R_OK: {
        size_t n;
        uint64_t oct;
        s->mb = j->mb;
        j->mb = NULL;
        s->state = P3S_TRANSACTION;
        str_copy(s->user, j->canon, sizeof s->user);
        mailbox_stat(s->mb, &n, &oct);
        pop3_reply(s, "+OK Logged in: %zu messages (%" PRIu64 " octets).", n, oct);
        break;
    }
    case R_INUSE:
        pop3_reply(s, "-ERR [IN-USE] mailbox locked by another session");
        break;
    case R_NOMAILBOX:
        pop3_reply(s, "-ERR [AUTH] This account has no mailbox.");
        break;
    case R_LOOKUP:
        pop3_reply(s, "-ERR [SYS/TEMP] Authentication temporarily unavailable.");
        break;
    default:
        pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox.");
        break;
    }
}

static void login_done(void *arg)
{
    struct p3_job *j = arg;
    struct pop3_session *s = j->s;
    login_result(s, j);
    job_free(j);
    pop3_session_continue(s);
}

static void sasl_done(void *arg)
{
    struct p3_job *j = arg;
    struct pop3_session *s = j->s;
    if (j->ar == AUTHF_CHALLENGE || j->ar == AUTHF_FINAL) {
        s->sasl_state = j->ar == AUTHF_FINAL ? P3A_FINAL : P3A_STEP;
        pop3_reply(s, "+ %s", j->out);
    } else {
        login_result(s, j);
    }
    job_free(j);
    pop3_session_continue(s);
}

/* After the reply: free the space of the messages QUIT moved to trash/ (worker thread,
 * no lock needed; leftovers, e.g. after a crash, go at the next QUIT with deletions). */
static void purge_work(void *arg)
{
    char *path = arg;
    long left = mailbox_trash_purge(path);
    if (left != 0)
        log_warn("pop3: cannot empty %s/trash (%ld left)", path, left);
}

static void purge_done(void *arg)
{
    free(arg);
}

static void quit_done(void *arg)
{
    struct p3_job *j = arg;
    struct pop3_session *s = j->s;
    size_t failed = j->commit_failed;
    job_free(j);
    log_info("logout: service=pop3 ip=%s user=%s retr=%lu dele=%lu%s", conn_peer_str(s->c),
             s->user, s->nretr, s->ndele, failed ? " commit=partial" : "");
    char *path = s->mb ? strdup(mailbox_path(s->mb)) : NULL;
    pop3_session_close(s, failed ? "-ERR [SYS/TEMP] Some deleted messages were not removed."
                                 : "+OK Logging out, messages deleted.");
    if (path && workq_submit(server_workq(), purge_work, purge_done, path) != 0)
        free(path);      /* purged at a later QUIT */
}

/* ---- commands -------------------------------------------------------------------- */

/* Refuse with the policy's reason; true if refused. */
static bool refused(struct pop3_session *s, enum pop3_verdict v)
{
    if (v == P3V_TLS_REQUIRED)
        pop3_reply(s, POP3_MSG_TLS_REQUIRED);
    else if (v == P3V_PLAINTEXT_DENIED)
        pop3_reply(s, POP3_MSG_PLAINTEXT);
    else if (v == P3V_NOMECH)
        reply_refusal(s, AUTHF_NOMECH);
    return v != P3V_OK;
}

void pop3_cmd_user(struct pop3_session *s, struct pop3_req *r)
{
    if (refused(s, pop3_user_allowed(&s->pol)))
        return;
    str_copy(s->login, r->argv[0], sizeof s->login);
    s->have_user = true;
    pop3_reply(s, "+OK");
}

void pop3_cmd_pass(struct pop3_session *s, struct pop3_req *r)
{
    if (refused(s, pop3_user_allowed(&s->pol)))
        return;
    if (!s->have_user) {
        pop3_reply(s, "-ERR No username given.");
        return;
    }
    str_copy(s->mech, "USER", sizeof s->mech);
    struct p3_job *j = job_new(s, J_PASS, r->rest);
    s->have_user = false;
    if (j) {
        j->flow = flow_new(s, 0);
        j->own_flow = true;
    }
    if (!j || !j->flow) {
        if (j)
            job_free(j);
        pop3_reply(s, "-ERR [SYS/TEMP] Out of memory.");
        return;
    }
    job_submit(j, pass_work, login_done);
}

static void list_mechs(struct pop3_session *s)
{
    char names[64];
    mech_names(pop3_offered_mechs(&s->pol), ' ', names, sizeof names);
    pop3_reply(s, "+OK");
    for (char *p = names, *t; (t = strsep(&p, " ")) != NULL;)
        if (*t)
            pop3_reply(s, "%s", t);
    pop3_emit(s, ".\r\n", 3);
}

void pop3_cmd_auth(struct pop3_session *s, struct pop3_req *r)
{
    if (r->argc == 0) {
        list_mechs(s);
        return;
    }
    if (refused(s, pop3_mech_allowed(&s->pol, r->argv[0])))
        return;
    const char *initial = r->argc == 2 ? r->argv[1] : NULL;
    if (initial && strcmp(initial, "*") == 0) {
        reply_refusal(s, AUTHF_CANCELLED);
        return;
    }
    str_copy(s->mech, r->argv[0], sizeof s->mech);
    for (char *p = s->mech; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    s->sasl = flow_new(s, pop3_offered_mechs(&s->pol));
    struct p3_job *j = s->sasl ? job_new(s, J_SASL_START, initial) : NULL;
    if (!j) {
        pop3_auth_end(s);
        reply_refusal(s, AUTHF_TEMPFAIL);
        return;
    }
    job_submit(j, sasl_work, sasl_done);
}

/* The next job of a SASL exchange; out of memory ends the exchange. */
static void sasl_job(struct pop3_session *s, enum job_kind kind, const char *text,
                     void (*work)(void *), void (*done)(void *))
{
    struct p3_job *j = job_new(s, kind, text);
    if (!j) {
        pop3_auth_end(s);
        pop3_reply(s, "-ERR [SYS/TEMP] Out of memory.");
        return;
    }
    job_submit(j, work, done);
}

/* The client's answer to final server data: no store call, so on the loop; the
 * login (POP-auth record, mailbox) then runs on a worker. */
static void final_answer(struct pop3_session *s, const char *line)
{
    enum authf_result r = auth_flow_answer(s->sasl, line);
    if (r != AUTHF_OK) {
        pop3_auth_end(s);
        reply_refusal(s, r == AUTHF_BADPROT ? AUTHF_FAIL : r);
        return;
    }
    sasl_job(s, J_LOGIN, NULL, login_work, login_done);
}

void pop3_sasl_line(struct pop3_session *s, char *line)
{
    if (s->sasl_state == P3A_FINAL) {
        final_answer(s, line);
        return;
    }
    sasl_job(s, J_SASL_STEP, line, sasl_work, sasl_done);
}

void pop3_cmd_stls(struct pop3_session *s)
{
    if (s->pol.tls_active) {
        pop3_reply(s, "-ERR TLS is already active.");
        return;
    }
    if (!pop3_stls_offered(&s->pol)) {
        pop3_reply(s, "-ERR STLS is not available.");
        return;
    }
    pop3_reply(s, "+OK Begin TLS negotiation now.");
    if (conn_starttls(s->c) != 0) {
        pop3_session_close(s, "-ERR [SYS/TEMP] TLS is not available.");
        return;
    }
    s->pol.tls_active = true;
    s->have_user = false;       /* RFC 2595: forget what was said in plaintext */
    s->login[0] = '\0';
}

void pop3_cmd_quit(struct pop3_session *s)
{
    if (s->state != P3S_TRANSACTION) {
        pop3_session_close(s, "+OK Logging out.");
        return;
    }
    s->state = P3S_UPDATE;
    if (s->ndele == 0) {
        log_info("logout: service=pop3 ip=%s user=%s retr=%lu dele=0", conn_peer_str(s->c),
                 s->user, s->nretr);
        pop3_session_close(s, "+OK Logging out.");
        return;
    }
    struct p3_job *j = job_new(s, J_QUIT, NULL);
    if (!j) {
        pop3_session_close(s, "-ERR [SYS/TEMP] Out of memory; nothing deleted.");
        return;
    }
    job_submit(j, quit_work, quit_done);
}
