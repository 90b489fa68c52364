/* lockout: the pure rule against password guessing (SPEC.md "Lockout").
 * Failures are counted per IP within a window; when they reach the limit the IP
 * is locked for the lockout time. Attempts while locked do not extend the lock;
 * a success does not reset the count. */
#ifndef MS_LOCKOUT_H
#define MS_LOCKOUT_H
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

bool lockout_is_locked(const struct authfail_rec *r, int64_t now);
/* Apply one failure at NOW to r (r zeroed for a new IP). */
void lockout_apply_failure(struct authfail_rec *r, int64_t now,
                           unsigned limit, unsigned window, unsigned lockout);

#endif
