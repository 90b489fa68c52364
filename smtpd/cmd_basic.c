/* cmd_basic: the SMTP commands that touch no mail transaction data: HELO, EHLO,
 * NOOP, RSET, QUIT, VRFY, HELP and STARTTLS (RFC 5321 4.1.1, RFC 3207). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "session.h"
#include "authsrc.h"
#include "util.h"

bool sess_tls_required(const struct session *s)
{
    return s->inst->common.tls == TLS_REQUIRED && !conn_is_tls(s->c);
}

unsigned sess_auth_mechs(const struct session *s)
{
    bool secure = conn_is_tls(s->c) || iplist_match(s->cfg->secure_networks, &s->pc.ip);
    unsigned conf = s->inst->common.auth_mechs;
    if (s->inst->auth_source == AUTH_SOURCE_SYSTEM)
        conf &= AUTHSRC_SYSTEM_MECHS;   /* --check-config refuses others; never offer them */
    return auth_offered_mechs(conf, s->inst->common.plaintext_auth, secure);
}

static bool starttls_offered(const struct session *s)
{
    return s->inst->common.tls != TLS_OFF && !conn_is_tls(s->c) && conn_tls_available(s->c);
}

/* The EHLO reply: built whole and written at once (one segment). */
static void ehlo_reply(struct session *s)
{
    char ext[8][128], mechs[128], out[2048];
    size_t n = 0, o = 0;
    snprintf(ext[n++], sizeof ext[0], "%s", sess_hostname(s));
    snprintf(ext[n++], sizeof ext[0], "PIPELINING");
    snprintf(ext[n++], sizeof ext[0], "SIZE %" PRIu64, s->cfg->max_message_size);
    snprintf(ext[n++], sizeof ext[0], "8BITMIME");
    snprintf(ext[n++], sizeof ext[0], "ENHANCEDSTATUSCODES");
    if (starttls_offered(s))
        snprintf(ext[n++], sizeof ext[0], "STARTTLS");
    unsigned m = sess_auth_mechs(s);
    if (m && !sess_tls_required(s))
        snprintf(ext[n++], sizeof ext[0], "AUTH %s", mech_names(m, ' ', mechs, sizeof mechs));
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(out + o, sizeof out - o, "250%c%s\r\n", i + 1 < n ? '-' : ' ', ext[i]);
        if (k < 0 || (size_t)k >= sizeof out - o)
            break;
        o += (size_t)k;
    }
    conn_write(s->c, out, o);
}

/* The HELO checks are over. */
static void helo_proceed(struct session *s)
{
    const struct policy_result *r = &s->chk.v.res;
    if (!r->accept) {
        s->stage = CHECK_CONNECT;
        s->esmtp = false;
        s->helo[0] = '\0';
        sess_reply(s, r->code, r->enh, "%s", r->text);
        return;
    }
    s->stage = CHECK_HELO;
    if (s->esmtp)
        ehlo_reply(s);
    else
        sess_reply(s, 250, NULL, "%s", sess_hostname(s));
}

void smtp_cmd_helo(struct session *s, const struct smtp_cmd *c)
{
    struct smtp_reply r;
    char name[sizeof s->helo];
    if (smtp_parse_helo(c->arg, name, sizeof name, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    sess_reset_tx(s);
    str_copy(s->helo, name, sizeof s->helo);
    s->esmtp = c->verb == SMTP_EHLO;
    sess_check(s, CHECK_HELO, helo_proceed);
}

void smtp_cmd_noop(struct session *s, const struct smtp_cmd *c)
{
    (void)c;
    sess_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_rset(struct session *s, const struct smtp_cmd *c)
{
    (void)c;
    sess_reset_tx(s);
    sess_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_quit(struct session *s, const struct smtp_cmd *c)
{
    (void)c;   /* RFC 5321 4.1.1.10: QUIT has no parameters, but say goodbye anyway */
    sess_reset_tx(s);
    sess_reply(s, 221, "2.0.0", "Bye");
    s->state = SS_CLOSED;
    conn_close(s->c);
}

void smtp_cmd_vrfy(struct session *s, const struct smtp_cmd *c)
{
    if (!c->arg[0]) {
        sess_reply(s, 501, "5.5.4", "Syntax: VRFY address");
        return;
    }
    sess_reply(s, 252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

void smtp_cmd_help(struct session *s, const struct smtp_cmd *c)
{
    (void)c;
    sess_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP%s%s",
               starttls_offered(s) ? " STARTTLS" : "", s->inst->common.auth_mechs ? " AUTH" : "");
}

void smtp_cmd_starttls(struct session *s, const struct smtp_cmd *c)
{
    (void)c;
    if (conn_is_tls(s->c)) {
        sess_reply(s, 503, "5.5.1", "Error: TLS already active");
        return;
    }
    if (!starttls_offered(s)) {
        sess_reply(s, 454, "4.7.0", "TLS not available");
        return;
    }
    sess_reply(s, 220, "2.0.0", "Ready to start TLS");
    if (conn_starttls(s->c) < 0) {
        log_err("starttls: ip=%s: cannot start TLS", conn_peer_str(s->c));
        s->state = SS_CLOSED;
        conn_close(s->c);
        return;
    }
    /* RFC 3207 4.2: forget everything learned before TLS (the login: policy_client_init) */
    sess_reset_tx(s);
    s->stage = CHECK_CONNECT;
    s->esmtp = false;
    s->helo[0] = '\0';
    policy_client_init(&s->pc, s->cfg, s->inst, conn_peer(s->c));
}
