/* auth_flow: one login, the same for both daemons and every method: SASL AUTH
 * (SMTP RFC 4954, POP3 RFC 5034) and POP3 USER/PASS. It runs the early lockout look
 * when an exchange starts, the SASL steps (sasl_glue.h: the message that carries
 * the credentials is verified inside the lockout gate), the plain password check
 * inside the same gate (auth.h), failure counting with its one stable log line
 * ("auth failed: service=... ip=... user=...", auth.c), and gives one result that
 * each daemon turns into its own wording (334/235/535/454/501/504 in
 * smtpd/auth_cmd.c, "+ "/+OK/-ERR [AUTH] in pop3d/cmd_auth.c). What follows a
 * success (smtpd: the session's user; pop3d: the POP-auth record, the mailbox) is
 * the daemon's.
 *
 * Threads (common/store.h): auth_flow_new, auth_flow_answer and auth_flow_free make
 * no store call. auth_flow_start and auth_flow_step call the store: on a worker they
 * may sleep (the lockout gate waits for a slot); on an event-loop thread they never
 * wait and answer AUTHF_AGAIN when a store call was refused before the exchange
 * changed (redo the same call on a worker), or a result with auth_flow_pending()
 * true (run auth_flow_flush on a worker before sending it). Only mechanisms without
 * a slow hash belong in the loop (smtpd: CRAM-MD5, SCRAM-SHA-256).
 * auth_flow_password verifies a slow hash: workers only. A flow is used by one
 * thread at a time. */
#ifndef MS_AUTH_FLOW_H
#define MS_AUTH_FLOW_H
#include <stdbool.h>
#include <stddef.h>

#include "authsrc.h"
#include "config.h"
#include "ipmatch.h"
#include "sasl_glue.h"
#include "store.h"

/* A step's outcome: compared by name (the daemons' reply tables are indexed by it);
 * AUTHF_OK (0) is the success. */
enum authf_result {
    AUTHF_OK = 0,      /* authenticated as auth_flow_user() */
    AUTHF_CHALLENGE,   /* send the challenge in out, read one more client line */
    AUTHF_FINAL,       /* authenticated, but send out (final server data, e.g. SCRAM's
                        * signature) first and pass the answer to auth_flow_answer */
    AUTHF_FAIL,        /* bad credentials, unknown or disabled user (counted, logged) */
    AUTHF_LOCKED,      /* the client IP is locked out (SPEC "Lockout") */
    AUTHF_TEMPFAIL,    /* store or library error, or no verification slot */
    AUTHF_CANCELLED,   /* the client sent "*" */
    AUTHF_BADPROT,     /* invalid base64 or a line out of sequence */
    AUTHF_NOMECH,      /* mechanism unknown or not offered */
    AUTHF_AGAIN,       /* event-loop thread only: nothing happened, redo on a worker */
};
#define AUTHF_NRESULTS (AUTHF_AGAIN + 1)

/* Who logs in, from where. mechs: the MECH_* bits offered now (auth_offered_mechs);
 * 0 for a flow that only checks a password (no SASL context is made). */
struct authf_client {
    const char *service;          /* "smtp" or "pop3": the logs and the SASL service */
    struct store *st;
    const struct config *cfg;     /* the session's; must outlive the flow */
    const struct ipaddr *local;
    int local_port;
    const struct ipaddr *remote;  /* the lockout counts per this address */
    int remote_port;
    bool tls;
    unsigned mechs;
    const struct authsrc *src;    /* who may log in and how (authsrc.h); NULL: the store.
                                   * Copied: it need not outlive the flow */
};

struct auth_flow;

/* NULL when out of memory or when the SASL context cannot be made (logged). */
struct auth_flow *auth_flow_new(const struct authf_client *c);
void auth_flow_free(struct auth_flow *f);

/* SASL: the exchange begins (an early look at the lockout, then the mechanism's
 * first step). initial: the initial response as sent ("=" empty, NULL none). out
 * receives base64 text without the protocol's prefix. */
enum authf_result auth_flow_start(struct auth_flow *f, const char *mech, const char *initial,
                                  char *out, size_t outlen);
/* SASL: the client's line after AUTHF_CHALLENGE ("*" cancels and counts as a failure). */
enum authf_result auth_flow_step(struct auth_flow *f, const char *line, char *out, size_t outlen);
/* SASL: the client's line after AUTHF_FINAL: empty -> AUTHF_OK, "*" -> AUTHF_CANCELLED,
 * anything else AUTHF_BADPROT. No store call. */
enum authf_result auth_flow_answer(struct auth_flow *f, const char *line);
/* USER/PASS: LOGIN and PASSWORD verified inside the lockout gate: AUTHF_OK, AUTHF_FAIL
 * (counted, logged), AUTHF_LOCKED or AUTHF_TEMPFAIL. */
enum authf_result auth_flow_password(struct auth_flow *f, const char *login, const char *password);

/* After a result on an event-loop thread: lockout bookkeeping the store refused
 * (the reservation given back, a failure counted) waits for auth_flow_flush, which
 * a worker runs before the result is sent. */
bool auth_flow_pending(const struct auth_flow *f);
void auth_flow_flush(struct auth_flow *f);

/* After AUTHF_OK or AUTHF_FINAL: the canonical address. Otherwise the name tried,
 * or "-" (for logs). */
const char *auth_flow_user(const struct auth_flow *f);
/* After AUTHF_OK or AUTHF_FINAL: true when the source decided the relay right itself
 * (system: membership of system_relay_group), then in *relay; false: the store's
 * relay flag applies. */
bool auth_flow_source_relay(const struct auth_flow *f, bool *relay);

/* Pure: the flow's result for a sasl_glue result; OUT is the text it produced (final
 * server data makes an SASLG_OK an AUTHF_FINAL). */
enum authf_result authf_from_saslg(enum saslg_result r, const char *out);

#endif
