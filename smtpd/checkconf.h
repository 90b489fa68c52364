/* checkconf: `smtpd -c FILE --check-config` (one line per [smtp] instance with its
 * effective policy, then warning:/error: findings; exit 1 on any error) and the
 * startup check by which the daemon refuses to run an open relay (SPEC.md). */
#ifndef MS_CHECKCONF_H
#define MS_CHECKCONF_H
#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* Print the report for a loaded config to OUT; returns the number of errors. */
int checkconf_report(const struct config *cfg, FILE *out);

/* The --check-config action on a loaded config: report on stdout; returns the exit
 * code (1 if any error, else 0). */
int checkconf_main(const struct config *cfg);

/* --check-config on a file: loads it; a load error is printed as "error: MESSAGE"
 * and gives 1; otherwise as checkconf_main. */
int checkconf_run(const char *path);

/* Startup: 0 when no instance is an open relay without allow_open_relay = yes;
 * else -1 with "instance NAME is an open relay ..." in err (the daemon logs it and
 * refuses to start / refuses the reload). */
int checkconf_refuse_open_relay(const struct config *cfg, char *err, size_t errlen);

#endif
