/* authsrc: the authentication source of a login (SPEC "Authentication source",
 * [smtp NAME] auth_source): `store` (the users of userdb), `fixed` (only the one
 * store account auth_fixed_user may log in: a scanner, a copier, a web application)
 * and `system` (the machine's accounts through PAM, pamauth.h; the relay right is
 * membership of system_relay_group). The login flow (auth_flow.h) and the SASL glue
 * ask this module who may log in and check LOGIN/PLAIN/USER-PASS passwords through
 * it, so the lockout gate, failure counting and the log line stay the flow's for
 * every source.
 *
 * Identity of a system user: the login name is taken as a local address (a bare
 * name, or name@ a local domain) and canonicalised like a store login, so the
 * session's user is name@primary-domain: sender_login_match and the logs work as
 * for store users, and aliases pointing to name@domain count as his. PAM is asked
 * about the bare name (the local part).
 *
 * Result codes as auth.h's (AUTH_OK 0, negative AUTH_FAIL / AUTH_TEMPFAIL). */
#ifndef MS_AUTHSRC_H
#define MS_AUTHSRC_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "store.h"

/* The mechanisms a system source can check (only the password itself can be handed
 * to PAM): LOGIN and PLAIN. */
#define AUTHSRC_SYSTEM_MECHS (MECH_LOGIN | MECH_PLAIN)

struct authsrc {
    enum auth_source kind;
    char fixed_user[STORE_ADDR_MAX];   /* fixed: the canonical address ("" unset or bad) */
    const char *pam_service;           /* system: these point into the config */
    const char *relay_group;
};

/* Pure: the source of an [smtp NAME] instance (NULL: store, as for POP3). */
void authsrc_from_instance(const struct config *cfg, const struct smtp_instance *in,
                           struct authsrc *out);

/* Pure: may CANON (a canonical address) log in through SRC at all? store and system:
 * yes; fixed: only the fixed account. A name refused here fails exactly like an
 * unknown user (same reply, same cost, counted). */
bool authsrc_allows(const struct authsrc *src, const char *canon);

/* Pure: the configuration problems of an instance's source, one at a time into why:
 * 1 when there is one, else 0. fixed without (or with a non-local) auth_fixed_user;
 * system with a mechanism other than PLAIN and LOGIN in auth_mechanisms. */
int authsrc_config_problem(const struct config *cfg, const struct smtp_instance *in,
                           char *why, size_t whylen);

/* Check LOGIN/PASSWORD through SRC (NULL: store). store: auth_check_password; fixed:
 * the same, for the fixed account only (others fail like an unknown user); system:
 * PAM (blocks: worker threads only), then the relay right from system_relay_group
 * (*relay; left false for the other sources, whose privilege is in the store). On
 * AUTH_OK the canonical address is in canon. */
int authsrc_check_password(const struct authsrc *src, struct store *st, const struct config *cfg,
                           const char *login, const char *password, char *canon,
                           size_t canonlen, bool *relay);

#endif
