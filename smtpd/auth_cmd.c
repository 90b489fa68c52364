/* auth_cmd: the SMTP AUTH command (RFC 4954) over the shared login flow
 * (common/auth_flow.h): sequencing, where a flow step runs (CRAM-MD5 and SCRAM-SHA-256
 * in the event loop first, on the worker pool when the store refuses a call there;
 * PLAIN and LOGIN, slow hashes, on the pool: common/store.h), SMTP's wording of the
 * flow's results (334 challenges, final server data as a 334 answered by an empty
 * line, 235, 535, 454, 501, 504), and one log line per result. Failures are counted
 * toward the lockout by the flow, whatever the instance's auth_source (common/authsrc.h);
 * a system login's relay right (system_relay_group) goes to the session's policy. */
#include <stdlib.h>
#include <string.h>

#include "auth_flow.h"
#include "log.h"
#include "session.h"
#include "util.h"

/* SMTP's words for the flow's failures; why: the reason= of the log line. */
static const struct {
    int code;
    const char *enh, *text, *why;
} refusal[AUTHF_NRESULTS] = {
    [AUTHF_FAIL] = { 535, "5.7.8", "Error: authentication failed", NULL },
    [AUTHF_LOCKED] = { 454, "4.7.0", "Temporary authentication failure", "locked" },
    [AUTHF_TEMPFAIL] = { 454, "4.7.0", "Temporary authentication failure", "tempfail" },
    [AUTHF_CANCELLED] = { 501, "5.7.0", "Authentication aborted", "cancelled" },
    [AUTHF_BADPROT] = { 501, "5.5.2", "Error: invalid authentication data", "protocol" },
    [AUTHF_NOMECH] = { 504, "5.5.4", "Unrecognized authentication type", "mechanism" },
};

static void auth_log(struct session *s, const char *user, const char *result, const char *why)
{
    log_info("auth: ip=%s user=%s mech=%s result=%s%s%s", s->pc.ipstr,
             user && user[0] ? user : "-", s->mech, result, why ? " reason=" : "", why ? why : "");
}

void smtp_auth_abort(struct session *s)
{
    auth_flow_free(s->sasl);
    s->sasl = NULL;
    s->state = SS_CMD;
    if (!s->busy) {                    /* the buffers live as long as the exchange */
        free(s->ab);
        s->ab = NULL;
    }
}

static void auth_success(struct session *s)
{
    const char *user = auth_flow_user(s->sasl);
    bool relay = false;
    policy_client_set_user(&s->pc, user);   /* pc.authenticated: the one flag */
    if (auth_flow_source_relay(s->sasl, &relay))
        policy_client_set_relay(&s->pc, relay);
    auth_log(s, user, "ok", NULL);
    sess_reply(s, 235, "2.7.0", "Authentication successful");
    smtp_auth_abort(s);
}

/* Worker thread: one step of the flow (the early lockout look at the start, the
 * lockout gate at the credentials, failure counting: auth_flow.h). */
static void auth_work(struct session *s)
{
    if (s->state == SS_CMD)
        s->auth_rc = auth_flow_start(s->sasl, s->mech, s->auth_arg, s->ab->out, sizeof s->ab->out);
    else
        s->auth_rc = auth_flow_step(s->sasl, s->auth_arg, s->ab->out, sizeof s->ab->out);
}

static void auth_fail(struct session *s, int code, const char *enh, const char *text,
                      const char *why)
{
    auth_log(s, s->sasl ? auth_flow_user(s->sasl) : "-", "fail", why);
    sess_reply_uncounted(s, code, enh, text);   /* the lockout limits guessing */
    smtp_auth_abort(s);
}

/* Reply to one result of the flow. */
static void auth_reply(struct session *s, enum authf_result r)
{
    switch (r) {
    case AUTHF_CHALLENGE:
    case AUTHF_FINAL:              /* e.g. SCRAM's server signature, then an empty line */
        s->state = r == AUTHF_FINAL ? SS_AUTH_FINAL : SS_AUTH;
        if (s->c)
            conn_printf(s->c, "334 %s\r\n", s->ab->out);
        return;
    case AUTHF_OK:
        auth_success(s);
        return;
    default:
        if ((unsigned)r >= AUTHF_NRESULTS || !refusal[r].code)
            r = AUTHF_TEMPFAIL;
        auth_fail(s, refusal[r].code, refusal[r].enh, refusal[r].text, refusal[r].why);
        return;
    }
}

static void auth_done(struct session *s)
{
    auth_reply(s, (enum authf_result)s->auth_rc);
}

/* Worker thread: the lockout bookkeeping the store refused in the loop. */
static void auth_flush_work(struct session *s)
{
    auth_flow_flush(s->sasl);
}

/* Run the step on s->auth_arg. CRAM-MD5 and SCRAM-SHA-256 first in the loop, where
 * the store never waits (common/store.h); when it refused a call, the step again on
 * the workq (AUTHF_AGAIN), or the refused bookkeeping before the reply. LOGIN and
 * PLAIN verify a slow hash: always on the workq. */
static void auth_run(struct session *s)
{
    void (*work)(struct session *) = auth_work;
    s->ab->out[0] = '\0';
    if (mech_bit(s->mech) & (MECH_CRAM_MD5 | MECH_SCRAM_SHA256)) {
        auth_work(s);
        if (s->auth_rc != AUTHF_AGAIN && !auth_flow_pending(s->sasl)) {
            auth_done(s);
            return;
        }
        if (s->auth_rc == AUTHF_AGAIN)
            s->ab->out[0] = '\0';
        else
            work = auth_flush_work;
    }
    if (sess_submit(s, work, auth_done) < 0)
        auth_fail(s, 454, "4.7.0", "Temporary authentication failure", "workq");
}

static bool auth_allowed(struct session *s)
{
    const char *err = NULL;
    int code = 503;
    if (!s->inst->common.auth_mechs)
        err = "Error: authentication not enabled";
    else if (sess_tls_required(s))
        code = 530, err = "Must issue a STARTTLS command first";
    else if (!s->esmtp)
        err = "Error: send EHLO first";
    else if (s->pc.authenticated)
        err = "Error: already authenticated";
    else if (sess_in_mail(s))
        err = "Error: MAIL transaction in progress";
    if (err)
        sess_reply(s, code, code == 530 ? "5.7.0" : "5.5.1", "%s", err);
    return err == NULL;
}

void smtp_cmd_auth(struct session *s, const char *arg)
{
    struct smtp_reply r;
    char mech[sizeof s->mech];
    const char *initial = NULL;
    if (!auth_allowed(s))
        return;
    if (smtp_parse_auth(arg, mech, sizeof mech, &initial, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    unsigned bit = mech_bit(mech);
    if (!bit || !(s->inst->common.auth_mechs & bit)) {
        sess_reply(s, 504, "5.5.4", "Unrecognized authentication type");
        return;
    }
    if (!(sess_auth_mechs(s) & bit)) {
        sess_reply(s, 538, "5.7.11", "Encryption required for requested authentication mechanism");
        return;
    }
    str_copy(s->mech, mech, sizeof s->mech);
    struct authsrc src;
    authsrc_from_instance(s->cfg, s->inst, &src);
    struct authf_client cl = {
        .service = "smtp", .st = server_store(), .cfg = s->cfg,
        .local = conn_local(s->c), .local_port = conn_local_port(s->c),
        .remote = conn_peer(s->c), .remote_port = conn_peer_port(s->c),
        .tls = conn_is_tls(s->c), .mechs = sess_auth_mechs(s), .src = &src,
    };
    s->sasl = auth_flow_new(&cl);
    if (!s->sasl) {
        auth_fail(s, 454, "4.7.0", "Temporary authentication failure", "sasl");
        return;
    }
    if (!sess_auth_bufs(s)) {
        auth_fail(s, 454, "4.7.0", "Temporary authentication failure", "memory");
        return;
    }
    s->auth_arg = initial;
    auth_run(s);
}

void smtp_auth_input(struct session *s, const char *line, size_t len)
{
    if (s->state == SS_AUTH_FINAL) {
        /* the answer to final server data: no store call, so no worker */
        auth_reply(s, strlen(line) == len ? auth_flow_answer(s->sasl, line) : AUTHF_BADPROT);
        return;
    }
    s->auth_arg = line;
    auth_run(s);
}
