/* testrelay: `smtpd -c FILE --test-relay INSTANCE --client IP [--auth USER]
 * [--from ADDR] --to ADDR`: a dry run of the daemon's own connect, MAIL FROM and
 * RCPT TO check rows (checks.h, offline) against the live store (POP-auth cache
 * included). Prints one line, "ACCEPT rule=NAME" or
 * "REJECT CODE ENHANCED rule=NAME TEXT"; exit 0 on ACCEPT, 1 on REJECT, 2 on a usage
 * error. --from '' or '<>' or no --from is the null sender. Nothing is sent. */
#ifndef MS_TESTRELAY_H
#define MS_TESTRELAY_H
#include <stdio.h>

#include "config.h"
#include "policy.h"

/* ARGV is smtpd's whole command line; -c FILE and -f are skipped. Opens the store
 * under cfg->data_dir itself. */
int testrelay_main(int argc, char **argv, const struct config *cfg);

/* The same dry run with the lookups given (tests): writes the line to OUT and returns
 * the exit code. */
int testrelay_run(int argc, char **argv, const struct config *cfg,
                  const struct policy_lookup *lk, FILE *out);

/* For smtpd's on_option hook: handles --check-config and --test-relay; returns the
 * exit code, or -1 when neither option is on the command line. */
int policy_option(int argc, char **argv, const struct config *cfg);

#endif
