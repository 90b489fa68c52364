/* sasl_glue: Cyrus SASL server glue shared by smtpd (AUTH, RFC 4954) and pop3d
 * (AUTH, RFC 5034). No /etc/sasl2, no sasldb: options come from our GETOPT callback,
 * secrets from our own auxprop plugin over the store (CRAM-MD5 precalc state as
 * cmusaslsecretCRAM-MD5, SCRAM-SHA-256 as authPassword), LOGIN/PLAIN from the
 * USERDB_CHECKPASS callback (auth_check_password). Base64 framing is done here,
 * so protocols pass and get the text that goes on the wire.
 *
 * The lockout is applied here, the same for both daemons: the client message that
 * carries the credentials (PLAIN's and CRAM-MD5's first, LOGIN's and SCRAM's
 * second, and any after) is verified only between auth_attempt_begin and
 * auth_attempt_end (auth.h), which check the lock and count the attempt in one
 * store transaction; a locked client gets SASLG_LOCKED even with the right
 * password. Failures (SASLG_FAIL) and a "*" cancel after a challenge are counted
 * and logged here. An unknown, disabled or non-local name gets a well-formed
 * SCRAM-SHA-256 challenge from a fake secret (scram_fake.h) and fails at the
 * proof, like a wrong password. The daemons do not call this directly: they run
 * a login through auth_flow.h (the early lockout look, the result they word).
 *
 * Thread use: saslg_init once per process (after fork); a struct saslg may be used
 * from any thread but by one thread at a time (the daemons run steps on workq, or
 * first in the event loop: SASLG_AGAIN, saslg_flush). */
#ifndef MS_SASL_GLUE_H
#define MS_SASL_GLUE_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ipmatch.h"
#include "store.h"

int saslg_init(struct store *st, const struct config *cfg);   /* 0 or -1 (logged) */
/* Point the glue at a reloaded config (SIGHUP). */
void saslg_set_config(const struct config *cfg);
void saslg_done(void);

/* A step's outcome: compared by name; SASLG_OK (0) is the success. */
enum saslg_result {
    SASLG_OK = 0,     /* authenticated; out may hold final server data (send as a challenge, expect an empty line) */
    SASLG_CONTINUE,   /* send the challenge in out (may be empty) and read one more line */
    SASLG_FAIL,       /* bad credentials, unknown or disabled user: 535 5.7.8 / -ERR [AUTH] */
    SASLG_CANCELLED,  /* client sent "*": 501 5.7.0 */
    SASLG_BADPROT,    /* invalid base64 or protocol error: 501 5.5.2 */
    SASLG_NOMECH,     /* mechanism not offered: 504 5.5.4 */
    SASLG_TEMPFAIL,   /* 454 4.7.0 */
    SASLG_LOCKED,     /* the client is locked out (auth_attempt_begin): 454 4.7.0 / -ERR [AUTH] */
    SASLG_AGAIN,      /* event-loop thread only: a store call was refused before the
                       * exchange changed (the gate; a start, begun anew): make the
                       * same call again on a worker (store.h) */
};

struct saslg;

/* service: "smtp" or "pop" (logged as "pop3"). cfg: the session's config, which must outlive the exchange
 * (NULL: the one set by saslg_init/saslg_set_config). mechs: MECH_* bits allowed (mechs.h). */
struct saslg *saslg_new(const char *service, const struct config *cfg,
                        const struct ipaddr *local, int lport, const struct ipaddr *remote,
                        int rport, bool tls_active, unsigned mechs);
/* initial: the base64 initial response as sent, "=" for empty, NULL for none.
 * out receives base64 text (no "334 " / "+ " prefix), NUL-terminated. */
enum saslg_result saslg_start(struct saslg *s, const char *mech, const char *initial,
                              char *out, size_t outlen);
/* line: the client's response line as sent ("*" cancels, and counts as a failure). */
enum saslg_result saslg_step(struct saslg *s, const char *line, char *out, size_t outlen);
/* After SASLG_OK: the canonical user address. After SASLG_FAIL: the login name tried, or "-". */
const char *saslg_user(const struct saslg *s);
/* After SASLG_OK with final server data in out: the client's answer (an empty line) may be
 * passed to saslg_step, which returns SASLG_OK again ("*" gives SASLG_CANCELLED). */
/* On an event-loop thread the lockout bookkeeping after a result (the reservation
 * given back, a failure counted) may be refused by the store: then saslg_deferred
 * is true and saslg_flush, on a worker, must write it before the result is sent.
 * A store read refused after the gate gives SASLG_TEMPFAIL, never a counted failure. */
bool saslg_deferred(const struct saslg *s);
void saslg_flush(struct saslg *s);
void saslg_free(struct saslg *s);

/* The instance's authentication source (authsrc.h; not set: the store). SRC must
 * outlive the exchange. A fixed source lets only its account log in (others fail like
 * unknown users, at the same point); a system source checks LOGIN/PLAIN through PAM. */
struct authsrc;
void saslg_set_source(struct saslg *s, const struct authsrc *src);
/* After SASLG_OK on a system source: may the user relay (system_relay_group)? */
bool saslg_source_relay(const struct saslg *s);

/* Longest AUTH line we accept (RFC 4954: at least 12,288 octets). */
#define SASLG_LINE_MAX 12288

#endif
