/* auth_flow: one login for both daemons (auth_flow.h): the early lockout look, the
 * SASL steps over sasl_glue.h, the password check inside the lockout gate, and the
 * one result the daemons word. */
#include "auth_flow.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "util.h"

enum flow_state { F_NEW, F_STEP, F_FINAL, F_DONE, F_FAILED };

struct auth_flow {
    struct saslg *sasl;              /* NULL for a password-only flow */
    enum flow_state state;
    struct store *st;
    const struct config *cfg;
    struct ipaddr ip;
    bool has_ip;
    char service[8];
    char user[STORE_ADDR_MAX];       /* canonical after a success, else the name tried */
    struct authsrc src;              /* the source (kind store when none was given) */
    bool src_relay;                  /* auth_flow_password on a system source */
};

struct auth_flow *auth_flow_new(const struct authf_client *c)
{
    if (!c || !c->service)
        return NULL;
    struct auth_flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->st = c->st;
    f->cfg = c->cfg;
    if (c->remote) {
        f->ip = *c->remote;
        f->has_ip = true;
    }
    str_copy(f->service, c->service, sizeof f->service);
    str_copy(f->user, "-", sizeof f->user);
    if (c->src)
        f->src = *c->src;
    if (c->mechs) {
        /* Cyrus's service name for POP3 is "pop" (RFC 5034 section 7) */
        f->sasl = saslg_new(strcmp(c->service, "pop3") == 0 ? "pop" : c->service, c->cfg,
                            c->local, c->local_port, c->remote, c->remote_port, c->tls, c->mechs);
        if (!f->sasl) {
            free(f);
            return NULL;
        }
        saslg_set_source(f->sasl, &f->src);
    }
    return f;
}

void auth_flow_free(struct auth_flow *f)
{
    if (!f)
        return;
    saslg_free(f->sasl);
    explicit_bzero(f, sizeof *f);
    free(f);
}

enum authf_result authf_from_saslg(enum saslg_result r, const char *out)
{
    switch (r) {
    case SASLG_CONTINUE: return AUTHF_CHALLENGE;
    case SASLG_OK: return out && out[0] ? AUTHF_FINAL : AUTHF_OK;
    case SASLG_FAIL: return AUTHF_FAIL;
    case SASLG_CANCELLED: return AUTHF_CANCELLED;
    case SASLG_BADPROT: return AUTHF_BADPROT;
    case SASLG_NOMECH: return AUTHF_NOMECH;
    case SASLG_LOCKED: return AUTHF_LOCKED;
    case SASLG_AGAIN: return AUTHF_AGAIN;
    default: return AUTHF_TEMPFAIL;
    }
}

/* Keep USER for the daemon's logs (NULL: keep the one known) and move on. */
static enum authf_result conclude(struct auth_flow *f, enum authf_result r, const char *user)
{
    if (user)
        str_copy(f->user, user[0] ? user : "-", sizeof f->user);
    if (r == AUTHF_CHALLENGE)
        f->state = F_STEP;
    else if (r == AUTHF_FINAL)
        f->state = F_FINAL;
    else if (r == AUTHF_OK)
        f->state = F_DONE;
    else
        f->state = F_FAILED;
    return r;
}

enum authf_result auth_flow_start(struct auth_flow *f, const char *mech, const char *initial,
                                  char *out, size_t outlen)
{
    if (!f || !f->sasl || f->state != F_NEW || !out || outlen == 0)
        return AUTHF_BADPROT;
    out[0] = '\0';
    /* a cheap early look; the gate at the credentials decides (sasl_glue.h) */
    (void)store_take_again();
    bool locked = f->has_ip && auth_is_locked(f->st, f->cfg, &f->ip);
    if (store_take_again())
        return AUTHF_AGAIN;           /* a loop thread: nothing happened yet */
    if (locked) {
        auth_log_refused(&f->ip, f->service, "-");
        return conclude(f, AUTHF_LOCKED, NULL);
    }
    enum saslg_result r = saslg_start(f->sasl, mech, initial, out, outlen);
    if (r == SASLG_AGAIN)
        return AUTHF_AGAIN;
    return conclude(f, authf_from_saslg(r, out), saslg_user(f->sasl));
}

enum authf_result auth_flow_step(struct auth_flow *f, const char *line, char *out, size_t outlen)
{
    if (!f || !f->sasl || !line || !out || outlen == 0)
        return AUTHF_BADPROT;
    out[0] = '\0';
    if (f->state != F_STEP)
        return conclude(f, AUTHF_BADPROT, NULL);
    enum saslg_result r = saslg_step(f->sasl, line, out, outlen);
    if (r == SASLG_AGAIN)
        return AUTHF_AGAIN;
    return conclude(f, authf_from_saslg(r, out), saslg_user(f->sasl));
}

enum authf_result auth_flow_answer(struct auth_flow *f, const char *line)
{
    if (!f)
        return AUTHF_BADPROT;
    if (!line || f->state != F_FINAL)
        return conclude(f, AUTHF_BADPROT, NULL);
    if (line[0] == '\0')
        return conclude(f, AUTHF_OK, NULL);
    return conclude(f, strcmp(line, "*") == 0 ? AUTHF_CANCELLED : AUTHF_BADPROT, NULL);
}

enum authf_result auth_flow_password(struct auth_flow *f, const char *login, const char *password)
{
    char canon[STORE_ADDR_MAX];
    if (!f || f->state != F_NEW || !login)
        return AUTHF_BADPROT;
    if (!f->has_ip)
        return conclude(f, AUTHF_TEMPFAIL, login);
    int g = auth_attempt_begin(f->st, f->cfg, &f->ip, f->service, login);
    if (g != AUTH_OK)
        return conclude(f, g == AUTH_REFUSED ? AUTHF_LOCKED : AUTHF_TEMPFAIL, login);
    int rc = authsrc_check_password(&f->src, f->st, f->cfg, login, password, canon, sizeof canon,
                                    &f->src_relay);
    (void)auth_attempt_end(f->st, f->cfg, &f->ip, rc == AUTH_FAIL, f->service, login);
    if (rc == AUTH_OK)
        return conclude(f, AUTHF_OK, canon);
    return conclude(f, rc == AUTH_FAIL ? AUTHF_FAIL : AUTHF_TEMPFAIL, login);
}

bool auth_flow_source_relay(const struct auth_flow *f, bool *relay)
{
    if (!f || f->src.kind != AUTH_SOURCE_SYSTEM || (f->state != F_DONE && f->state != F_FINAL))
        return false;
    *relay = f->sasl ? saslg_source_relay(f->sasl) : f->src_relay;
    return true;
}

bool auth_flow_pending(const struct auth_flow *f)
{
    return f && saslg_deferred(f->sasl);
}

void auth_flow_flush(struct auth_flow *f)
{
    if (f)
        saslg_flush(f->sasl);
}

const char *auth_flow_user(const struct auth_flow *f)
{
    return f && f->user[0] ? f->user : "-";
}
