/* check_greylist: the greylisting row of the RCPT stage (checks.h), a blocking gate
 * row: it runs only for a recipient an earlier row accepted, reads and writes the
 * triplet in the store (policy_lookup's greylist), and turns a new or too early
 * triplet into 451 4.7.1 (rule greylist). The rule itself is common/greylist.h. */
#ifndef MS_CHECK_GREYLIST_H
#define MS_CHECK_GREYLIST_H
#include <stdbool.h>

#include "checks.h"

#define RULE_GREYLIST "greylist"

/* SPEC: sessions that authenticated, lan clients, always_relay_from hosts, DNSWL-listed
 * clients (ctx.as->whitelisted, antispam.h) and, looked up last, fresh POP-before-SMTP clients are
 * never greylisted. 0 (*exempt set), or -1 on a lookup error. */
int check_greylist_exempt(const struct check_ctx *x, bool *exempt);

/* The row. --test-relay (ctx.offline) runs it dry: it says what would happen and
 * writes no triplet. */
enum check_status check_greylist(struct check_run *run, struct check_verdict *v);

#endif
