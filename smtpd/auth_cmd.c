/* auth_cmd: the SMTP AUTH command (RFC 4954) over sasl_glue.h: sequencing, an early
 * lockout check, every SASL step on the worker pool (slow hashes, and the store
 * calls of the lockout gate in sasl_glue.c: see common/store.h), 334 challenges,
 * final server data as a 334 answered by an empty line, and one log line per
 * result. Failures are counted toward the lockout by sasl_glue.c. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "session.h"
#include "util.h"

static unsigned mech_bit(const char *mech)
{
    static const struct { const char *name; unsigned bit; } m[] = {
        { "SCRAM-SHA-256", MECH_SCRAM_SHA256 }, { "CRAM-MD5", MECH_CRAM_MD5 },
        { "LOGIN", MECH_LOGIN }, { "PLAIN", MECH_PLAIN },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (str_ieq(mech, m[i].name))
            return m[i].bit;
    return 0;
}

static void auth_log(struct session *s, const char *user, const char *result, const char *why)
{
    log_info("auth: ip=%s user=%s mech=%s result=%s%s%s", s->pc.ipstr,
             user && user[0] ? user : "-", s->mech, result, why ? " reason=" : "", why ? why : "");
}

void auth_abort(struct session *s)
{
    if (s->sasl)
        saslg_free(s->sasl);
    s->sasl = NULL;
    s->state = SS_CMD;
    if (!s->busy) {                    /* the buffers live as long as the exchange */
        free(s->ab);
        s->ab = NULL;
    }
}

static void auth_success(struct session *s)
{
    const char *user = saslg_user(s->sasl);
    s->authenticated = true;
    policy_client_set_user(&s->pc, user);
    auth_log(s, user, "ok", NULL);
    sess_reply(s, 235, "2.7.0", "Authentication successful");
    auth_abort(s);
}

/* Worker thread: an early lockout check (a read) when the exchange starts, then one
 * SASL step; the step that verifies credentials checks the lock again and counts
 * (sasl_glue.c), so an exchange begun before a lock fails after it. */
static void auth_work(struct session *s)
{
    if (s->state == SS_CMD && auth_is_locked(server_store(), s->cfg, &s->pc.ip)) {
        s->auth_rc = AUTH_LOCKED;
        return;
    }
    if (s->state == SS_CMD)
        s->auth_rc = saslg_start(s->sasl, s->mech, s->auth_arg, s->ab->out, sizeof s->ab->out);
    else
        s->auth_rc = saslg_step(s->sasl, s->auth_arg, s->ab->out, sizeof s->ab->out);
}

static void auth_fail(struct session *s, int code, const char *enh, const char *text,
                      const char *why)
{
    auth_log(s, s->sasl ? saslg_user(s->sasl) : "-", "fail", why);
    sess_reply_uncounted(s, code, enh, text);   /* the lockout limits guessing */
    auth_abort(s);
}

static void auth_done(struct session *s)
{
    switch (s->auth_rc) {
    case SASLG_CONTINUE:
        s->state = SS_AUTH;
        if (s->c)
            conn_printf(s->c, "334 %s\r\n", s->ab->out);
        return;
    case SASLG_OK:
        if (s->ab->out[0] && s->c) {
            s->state = SS_AUTH_FINAL;   /* e.g. SCRAM's server signature */
            conn_printf(s->c, "334 %s\r\n", s->ab->out);
            return;
        }
        auth_success(s);
        return;
    case AUTH_LOCKED:
    case SASLG_LOCKED:
        auth_fail(s, 454, "4.7.0", "Temporary authentication failure", "locked");
        return;
    case SASLG_FAIL:
        auth_fail(s, 535, "5.7.8", "Error: authentication failed", NULL);
        return;
    case SASLG_CANCELLED:
        auth_fail(s, 501, "5.7.0", "Authentication aborted", "cancelled");
        return;
    case SASLG_BADPROT:
        auth_fail(s, 501, "5.5.2", "Error: invalid authentication data", "protocol");
        return;
    case SASLG_NOMECH:
        auth_fail(s, 504, "5.5.4", "Unrecognized authentication type", "mechanism");
        return;
    default:
        auth_fail(s, 454, "4.7.0", "Temporary authentication failure", "tempfail");
        return;
    }
}

/* Run the step on s->auth_arg on the workq: LOGIN and PLAIN verify a slow hash,
 * and every step may call the store (the lockout gate, the secrets), which may
 * back off or recover: never in the event loop (common/store.h). */
static void auth_run(struct session *s)
{
    s->ab->out[0] = '\0';
    if (sess_submit(s, auth_work, auth_done) < 0)
        auth_fail(s, 454, "4.7.0", "Temporary authentication failure", "workq");
}

static bool auth_allowed(struct session *s)
{
    const char *err = NULL;
    int code = 503;
    if (!s->inst->auth_mechs)
        err = "Error: authentication not enabled";
    else if (sess_tls_required(s))
        code = 530, err = "Must issue a STARTTLS command first";
    else if (!s->esmtp)
        err = "Error: send EHLO first";
    else if (s->authenticated)
        err = "Error: already authenticated";
    else if (sess_in_mail(s))
        err = "Error: MAIL transaction in progress";
    if (err)
        sess_reply(s, code, code == 530 ? "5.7.0" : "5.5.1", "%s", err);
    return err == NULL;
}

void cmd_auth(struct session *s, const char *arg)
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
    if (!bit || !(s->inst->auth_mechs & bit)) {
        sess_reply(s, 504, "5.5.4", "Unrecognized authentication type");
        return;
    }
    if (!(sess_auth_mechs(s) & bit)) {
        sess_reply(s, 538, "5.7.11", "Encryption required for requested authentication mechanism");
        return;
    }
    str_copy(s->mech, mech, sizeof s->mech);
    s->sasl = saslg_new("smtp", s->cfg, conn_local(s->c), conn_local_port(s->c), conn_peer(s->c),
                        conn_peer_port(s->c), conn_is_tls(s->c), sess_auth_mechs(s));
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

void auth_input(struct session *s, const char *line, size_t len)
{
    if (s->state == SS_AUTH_FINAL) {
        if (len == 0)
            auth_success(s);
        else if (strcmp(line, "*") == 0)
            auth_fail(s, 501, "5.7.0", "Authentication aborted", "cancelled");
        else
            auth_fail(s, 501, "5.5.2", "Error: invalid authentication data", "protocol");
        return;
    }
    s->auth_arg = line;
    auth_run(s);
}
