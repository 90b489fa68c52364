/* checkconf: `smtpd -c FILE --check-config` (one line per [smtp] instance with its
 * effective policy, then warning:/error: findings; exit 1 on any error) and the
 * startup check by which the daemon refuses to run an open relay or an instance whose
 * auth_source cannot work (SPEC.md), and the store check of the fixed accounts. */
#ifndef MS_CHECKCONF_H
#define MS_CHECKCONF_H
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

/* Print the report for a loaded config to OUT; returns the number of errors. */
int checkconf_report(const struct config *cfg, FILE *out);

/* The --check-config action on a loaded config: report on stdout; returns the exit
 * code (1 if any error, else 0). */
int checkconf_main(const struct config *cfg);

/* --check-config on a file: loads it; a load error is printed as "error: MESSAGE"
 * and gives 1; otherwise as checkconf_main. */
int checkconf_run(const char *path);

/* Startup: 0 when no instance is an open relay without allow_open_relay = yes and
 * every auth_source can work (authsrc_config_problem); else -1 with "instance NAME
 * is an open relay ..." or the auth_source problem in err (the daemon logs it and
 * refuses to start / refuses the reload). */
int checkconf_refuse_open_relay(const struct config *cfg, char *err, size_t errlen);

/* Every auth_source = fixed instance's auth_fixed_user is in the store: 0, else -1
 * with the error in err (a store call: not on an event-loop thread). */
int checkconf_fixed_accounts(const struct config *cfg, struct store *st, char *err, size_t errlen);

#endif
