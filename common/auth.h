/* auth: login policy shared by smtpd and pop3d: login names, the lockout check,
 * failure recording (with the stable fail2ban log line) and the plain password check
 * (POP3 USER/PASS; SASL PLAIN/LOGIN go through sasl_glue.h which calls this too). */
#ifndef MS_AUTH_H
#define MS_AUTH_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ipmatch.h"
#include "store.h"

/* Result codes (0 success, negative error, positive a named outcome): AUTH_OK, or a
 * negative AUTH_* when the login did not succeed; the rest 0 or -1. AUTH_AGAIN: on an
 * event-loop thread only, a store call was refused (store.h): nothing was reserved,
 * written or logged; redo the call on a worker. */
enum { AUTH_OK = 0, AUTH_FAIL = -1, AUTH_TEMPFAIL = -2, AUTH_REFUSED = -3, AUTH_AGAIN = -4 };

/* Canonical user address for a login name: lower case; a bare local part gets the
 * primary domain; a domain alias becomes the primary domain. -1 if not a local login. */
int auth_canon_user(const struct config *cfg, const char *login, char *out, size_t len);

/* The mechanisms to offer: the configured MECH_* bits less LOGIN/PLAIN where
 * plaintext_auth = tls and the session is neither TLS nor from secure_networks. */
unsigned auth_offered_mechs(unsigned configured, enum plaintext_auth pa, bool tls_or_secure);

/* A cheap early look (a read) when an exchange starts; auth_attempt_begin decides.
 * A refused read (store_take_again) says not locked. */
bool auth_is_locked(struct store *st, const struct config *cfg, const struct ipaddr *ip);

/* Every verification of credentials, by every login method of both daemons, runs
 * between these two (SPEC "Lockout"): the lock is checked where the credentials
 * are verified, and the check and the count are one store transaction, so an
 * exchange begun before a lock fails after it and parallel attempts from one client
 * never get more than auth_fail_limit guesses verified per window.
 *   auth_attempt_begin: AUTH_OK (one verification reserved), AUTH_REFUSED (locked;
 *     logged as "auth refused"), AUTH_TEMPFAIL (store error, or no slot within 5 s;
 *     nothing reserved). While failures plus verifications under way take the
 *     limit, it waits (polling the store) for one to end: on a worker thread; on an
 *     event-loop thread it answers AUTH_AGAIN instead (as for a refused store call).
 *   auth_attempt_end: after AUTH_OK only; gives the reservation back and, if FAILED,
 *     records the failure exactly as auth_record_failure does (log lines included).
 *     AUTH_OK, AUTH_TEMPFAIL (logged), or on a loop thread AUTH_AGAIN: nothing was
 *     written or logged, the reservation is still held: call again on a worker. */
int auth_attempt_begin(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                       const char *service, const char *user);
int auth_attempt_end(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                      bool failed, const char *service, const char *user);

/* Log a login refused because IP is locked out, in the one form
 *   "auth refused: service=SERVICE ip=IP user=USER reason=locked"
 * (auth_attempt_begin does; so does the early look of auth_flow.h). */
void auth_log_refused(const struct ipaddr *ip, const char *service, const char *user);

/* Count one failed login that was not verified (e.g. a cancel after a challenge) from IP and log, always in this one stable form:
 *   "auth failed: service=SERVICE ip=IP user=USER"
 * (user "-" when unknown), plus "auth lockout: ip=IP until=..." when it locks.
 * Returns as auth_attempt_end. */
int auth_record_failure(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                         const char *service, const char *user);

/* Check LOGIN/PASSWORD against the salted hash of an enabled user. On AUTH_OK the
 * canonical address is in canon. Unknown user, wrong password and disabled user are
 * all AUTH_FAIL (a dummy hash is verified for unknown users so timing does not tell).
 * The user record is read from the store every time; a successful verification is
 * remembered in authcache.h (keyed to the stored hash) so a repeat login skips yescrypt. */
int auth_check_password(struct store *st, const struct config *cfg, const char *login,
                        const char *password, char *canon, size_t canonlen);

/* What a login refused without a look at its password costs: the dummy hash verified,
 * as for an unknown user (authsrc.h: a name the source does not allow). */
void auth_fail_cost(const char *password);

#endif
