/* authsrc: who may log in on an instance and how a password is checked there
 * (authsrc.h): the store, one fixed store account, or the machine's accounts (PAM). */
#include "authsrc.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "pamauth.h"
#include "util.h"

void authsrc_from_instance(const struct config *cfg, const struct smtp_instance *in,
                           struct authsrc *out)
{
    memset(out, 0, sizeof *out);
    out->kind = in ? in->auth_source : AUTH_SOURCE_STORE;
    if (!in)
        return;
    out->pam_service = in->pam_service;
    out->relay_group = in->system_relay_group;
    if (in->auth_fixed_user && in->auth_fixed_user[0] &&
        auth_canon_user(cfg, in->auth_fixed_user, out->fixed_user, sizeof out->fixed_user) != 0)
        out->fixed_user[0] = '\0';
}

bool authsrc_allows(const struct authsrc *src, const char *canon)
{
    if (!src || src->kind != AUTH_SOURCE_FIXED)
        return true;
    return canon && src->fixed_user[0] && strcmp(canon, src->fixed_user) == 0;
}

int authsrc_config_problem(const struct config *cfg, const struct smtp_instance *in,
                           char *why, size_t whylen)
{
    char canon[STORE_ADDR_MAX], names[64];
    if (in->auth_source == AUTH_SOURCE_FIXED) {
        if (!in->auth_fixed_user || !in->auth_fixed_user[0]) {
            snprintf(why, whylen, "auth_source = fixed needs auth_fixed_user (the one account "
                     "that may log in, made with userdb add ADDRESS --relay --no-mailbox)");
            return 1;
        }
        if (auth_canon_user(cfg, in->auth_fixed_user, canon, sizeof canon) != 0) {
            snprintf(why, whylen, "auth_fixed_user '%s' is not an address in a local domain",
                     in->auth_fixed_user);
            return 1;
        }
    }
    unsigned other = in->common.auth_mechs & ~(unsigned)AUTHSRC_SYSTEM_MECHS;
    if (in->auth_source == AUTH_SOURCE_SYSTEM && other) {
        snprintf(why, whylen, "auth_source = system can check only PLAIN and LOGIN, but "
                 "auth_mechanisms has %s (set auth_mechanisms = PLAIN LOGIN)",
                 mech_names(other, ' ', names, sizeof names));
        return 1;
    }
    return 0;
}

/* The system source: PAM for the local part of the canonical address, then the group. */
static int check_system(const struct authsrc *src, const struct config *cfg, const char *login,
                        const char *password, char *canon, size_t canonlen, bool *relay)
{
    char addr[STORE_ADDR_MAX];
    if (auth_canon_user(cfg, login, addr, sizeof addr) != 0)
        return AUTH_FAIL;              /* not a local name: no account of this machine */
    char *at = strchr(addr, '@');
    if (!at)
        return AUTH_FAIL;
    *at = '\0';
    int rc = pamauth_check(src->pam_service, addr, password);
    if (rc != AUTH_OK)
        return rc;
    int g = pamauth_in_group(addr, src->relay_group);
    if (g < 0)
        log_warn("auth: cannot read the members of group %s; %s may not relay",
                 src->relay_group, addr);
    if (relay)
        *relay = g == 1;
    *at = '@';
    if (canon && canonlen && str_copy(canon, addr, canonlen) >= canonlen)
        return AUTH_FAIL;
    return AUTH_OK;
}

int authsrc_check_password(const struct authsrc *src, struct store *st, const struct config *cfg,
                           const char *login, const char *password, char *canon,
                           size_t canonlen, bool *relay)
{
    char addr[STORE_ADDR_MAX];
    if (relay)
        *relay = false;
    if (src && src->kind == AUTH_SOURCE_SYSTEM)
        return check_system(src, cfg, login, password, canon, canonlen, relay);
    if (src && src->kind == AUTH_SOURCE_FIXED &&
        (auth_canon_user(cfg, login, addr, sizeof addr) != 0 || !authsrc_allows(src, addr))) {
        auth_fail_cost(password);     /* as for an unknown user */
        return AUTH_FAIL;
    }
    return auth_check_password(st, cfg, login, password, canon, canonlen);
}
