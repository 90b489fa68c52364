/* cmd_auth: the AUTHORIZATION-state commands that need the connection and the store:
 * USER, PASS, AUTH (RFC 5034 over sasl_glue), STLS (RFC 2595) and QUIT (UPDATE state).
 * The slow parts (lockout check, password hashing, SASL steps, opening and locking the
 * mailbox, the POP-auth cache write, the commit at QUIT) run on the worker queue
 * while the connection is paused. */
#include "pop3.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "conn.h"
#include "log.h"
#include "sasl_glue.h"
#include "server.h"
#include "util.h"
#include "workq.h"

enum job_kind { J_PASS, J_SASL_START, J_SASL_STEP, J_LOGIN, J_QUIT };
enum job_res { R_OK, R_FAIL, R_LOCKED, R_TEMP, R_INUSE, R_MBERR, R_SASL };

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
    enum saslg_result sres;
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
        if (s->sasl)
            saslg_free(s->sasl);
        s->sasl = NULL;
        s->sasl_state = P3A_NONE;
        pop3_reply(s, "-ERR [SYS/TEMP] Server busy, try again later.");
        pop3_session_continue(s);
    }
}

/* ---- worker side ---------------------------------------------------------------- */

/* Authenticated as j->canon: lock the mailbox, write the POP-auth cache, log. */
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
    if (store_popauth_put(j->st, &j->ip, j->canon, (int64_t)time(NULL)) != STORE_OK)
        log_warn("pop3: cannot record POP-auth entry for ip=%s", j->ipstr);
    log_info("login: service=pop3 ip=%s user=%s method=%s", j->ipstr, j->canon, j->method);
    j->res = R_OK;
}

/* USER/PASS: the password is verified inside the lockout gate (auth.h), the same
 * flow as every SASL mechanism (sasl_glue.c). */
static void pass_work(void *arg)
{
    struct p3_job *j = arg;
    int g = auth_attempt_begin(j->st, j->cfg, &j->ip, "pop3", j->login);
    if (g != AUTH_OK) {
        j->res = g == AUTH_REFUSED ? R_LOCKED : R_TEMP;
        return;
    }
    int rc = auth_check_password(j->st, j->cfg, j->login, j->text, j->canon, sizeof j->canon);
    auth_attempt_end(j->st, j->cfg, &j->ip, rc == AUTH_FAIL, "pop3", j->login);
    if (rc == AUTH_OK)
        open_mailbox(j);
    else
        j->res = rc == AUTH_FAIL ? R_FAIL : R_TEMP;
}

/* One SASL step; sasl_glue.c applies the lockout and counts failures. A "*" after a
 * challenge comes here too (J_SASL_STEP): it counts as a failure. */
static void sasl_work(void *arg)
{
    struct p3_job *j = arg;
    struct saslg *sa = j->s->sasl;
    if (j->kind == J_SASL_START && auth_is_locked(j->st, j->cfg, &j->ip)) {
        log_info("auth refused: service=pop3 ip=%s reason=locked", j->ipstr);
        j->res = R_LOCKED;
        return;
    }
    j->res = R_SASL;
    if (j->kind == J_SASL_START)
        j->sres = saslg_start(sa, j->method, j->has_text ? j->text : NULL, j->out, sizeof j->out);
    else
        j->sres = saslg_step(sa, j->text, j->out, sizeof j->out);
    if (j->sres == SASLG_LOCKED) {
        j->res = R_LOCKED;
    } else if (j->sres == SASLG_OK) {
        str_copy(j->canon, saslg_user(sa), sizeof j->canon);
        if (!j->out[0])
            open_mailbox(j);
    }
}

static void login_work(void *arg)
{
    open_mailbox(arg);
}

static void quit_work(void *arg)
{
    struct p3_job *j = arg;
    j->commit_failed = mailbox_commit(j->s->mb);
}

/* ---- event loop side ------------------------------------------------------------- */

static void end_sasl(struct pop3_session *s)
{
    if (s->sasl)
        saslg_free(s->sasl);
    s->sasl = NULL;
    s->sasl_state = P3A_NONE;
}

/* Report a finished login attempt (any method). */
static void login_result(struct pop3_session *s, struct p3_job *j)
{
    end_sasl(s);
    s->have_user = false;
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
    case R_LOCKED:
        pop3_reply(s, "-ERR [AUTH] Too many failed logins from your address; try again later.");
        break;
    case R_INUSE:
        pop3_reply(s, "-ERR [IN-USE] mailbox locked by another session");
        break;
    case R_MBERR:
        pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox.");
        break;
    case R_TEMP:
        pop3_reply(s, "-ERR [SYS/TEMP] Authentication temporarily unavailable.");
        break;
    default:
        pop3_reply(s, "-ERR [AUTH] Authentication failed.");
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
    if (j->res != R_SASL) {
        login_result(s, j);
    } else if (j->sres == SASLG_CONTINUE) {
        s->sasl_state = P3A_STEP;
        pop3_reply(s, "+ %s", j->out);
    } else if (j->sres == SASLG_OK) {
        s->sasl_state = P3A_FINAL;
        str_copy(s->user, j->canon, sizeof s->user);
        pop3_reply(s, "+ %s", j->out);
    } else {
        end_sasl(s);
        switch (j->sres) {
        case SASLG_CANCELLED: pop3_reply(s, "-ERR Authentication cancelled."); break;
        case SASLG_BADPROT: pop3_reply(s, "-ERR Invalid authentication data."); break;
        case SASLG_NOMECH: pop3_reply(s, "-ERR Unsupported authentication mechanism."); break;
        case SASLG_TEMPFAIL:
            pop3_reply(s, "-ERR [SYS/TEMP] Authentication temporarily unavailable.");
            break;
        default: pop3_reply(s, "-ERR [AUTH] Authentication failed."); break;
        }
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
        pop3_reply(s, "-ERR Unsupported authentication mechanism.");
    return v != P3V_OK;
}

void cmd_user(struct pop3_session *s, struct pop3_req *r)
{
    if (refused(s, pop3_user_allowed(&s->pol)))
        return;
    str_copy(s->login, r->argv[0], sizeof s->login);
    s->have_user = true;
    pop3_reply(s, "+OK");
}

void cmd_pass(struct pop3_session *s, struct pop3_req *r)
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
    if (!j) {
        pop3_reply(s, "-ERR [SYS/TEMP] Out of memory.");
        return;
    }
    job_submit(j, pass_work, login_done);
}

static void list_mechs(struct pop3_session *s)
{
    char names[64];
    config_mech_names(pop3_offered_mechs(&s->pol), names, sizeof names);
    pop3_reply(s, "+OK");
    for (char *p = names, *t; (t = strsep(&p, " ")) != NULL;)
        if (*t)
            pop3_reply(s, "%s", t);
    pop3_emit(s, ".\r\n", 3);
}

void cmd_auth(struct pop3_session *s, struct pop3_req *r)
{
    if (r->argc == 0) {
        list_mechs(s);
        return;
    }
    if (refused(s, pop3_mech_allowed(&s->pol, r->argv[0])))
        return;
    const char *initial = r->argc == 2 ? r->argv[1] : NULL;
    if (initial && strcmp(initial, "*") == 0) {
        pop3_reply(s, "-ERR Authentication cancelled.");
        return;
    }
    str_copy(s->mech, r->argv[0], sizeof s->mech);
    for (char *p = s->mech; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    s->sasl = saslg_new("pop", s->cfg, conn_local(s->c), conn_local_port(s->c), conn_peer(s->c),
                        conn_peer_port(s->c), s->pol.tls_active, pop3_offered_mechs(&s->pol));
    struct p3_job *j = s->sasl ? job_new(s, J_SASL_START, initial) : NULL;
    if (!j) {
        end_sasl(s);
        pop3_reply(s, "-ERR [SYS/TEMP] Authentication temporarily unavailable.");
        return;
    }
    job_submit(j, sasl_work, sasl_done);
}

void pop3_sasl_line(struct pop3_session *s, char *line)
{
    if (strcmp(line, "*") == 0 && s->sasl_state == P3A_FINAL) {
        end_sasl(s);
        pop3_reply(s, "-ERR Authentication cancelled.");
        return;
    }
    if (s->sasl_state == P3A_FINAL) {
        if (line[0] != '\0') {
            end_sasl(s);
            pop3_reply(s, "-ERR [AUTH] Authentication failed.");
            return;
        }
        struct p3_job *j = job_new(s, J_LOGIN, NULL);
        if (!j) {
            end_sasl(s);
            pop3_reply(s, "-ERR [SYS/TEMP] Out of memory.");
            return;
        }
        str_copy(j->canon, s->user, sizeof j->canon);
        s->user[0] = '\0';
        job_submit(j, login_work, login_done);
        return;
    }
    struct p3_job *j = job_new(s, J_SASL_STEP, line);
    if (!j) {
        end_sasl(s);
        pop3_reply(s, "-ERR [SYS/TEMP] Out of memory.");
        return;
    }
    job_submit(j, sasl_work, sasl_done);
}

void cmd_stls(struct pop3_session *s)
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

void cmd_quit(struct pop3_session *s)
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
