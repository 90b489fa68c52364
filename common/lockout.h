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

/* Verifications are reserved before credentials are checked, so that parallel
 * attempts cannot overshoot the limit (a check-then-count race):
 * lockout_reserve refuses while locked or while failures in the window plus
 * verifications under way reach LIMIT (limit or lockout 0: the lockout is off,
 * never refused); else it counts one verification under way. A reservation
 * older than LOCKOUT_INFLIGHT_TTL seconds is taken for one whose process died. */
#define LOCKOUT_INFLIGHT_TTL 300
bool lockout_reserve(struct authfail_rec *r, int64_t now, unsigned limit, unsigned window,
                     unsigned lockout);
/* The verification is over: give the reservation back, and if it FAILED apply
 * the failure (lockout_apply_failure). */
void lockout_release(struct authfail_rec *r, int64_t now, bool failed,
                     unsigned limit, unsigned window, unsigned lockout);

#endif
