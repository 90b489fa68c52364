/* lockout: the pure rule against password guessing (SPEC.md "Lockout").
 * No I/O: store_authfail_record/reserve/release apply it inside a transaction, and
 * tests/unit/test_lockout.c checks every clause of the rule. */
#include "lockout.h"

#include <limits.h>

bool lockout_is_locked(const struct authfail_rec *r, int64_t now)
{
    return r->locked_until != 0 && now < r->locked_until;
}

void lockout_apply_failure(struct authfail_rec *r, int64_t now,
                           unsigned limit, unsigned window, unsigned lockout)
{
    if (lockout_is_locked(r, now))
        return;                         /* attempts while locked do not extend it */
    if (r->locked_until != 0) {         /* a lock that ran out starts a new count */
        r->locked_until = 0;
        r->failures = 0;
    }
    if (r->failures == 0 || now < r->first_failure ||
        now - r->first_failure >= (int64_t)window) {
        r->failures = 1;                /* the window restarts at this failure */
        r->first_failure = now;
    } else if (r->failures < UINT_MAX) {
        r->failures++;
    }
    if (limit > 0 && lockout > 0 && r->failures >= limit)
        r->locked_until = now + (int64_t)lockout;
}

bool lockout_reserve(struct authfail_rec *r, int64_t now, unsigned limit, unsigned window,
                     unsigned lockout)
{
    if (r->inflight != 0 && (now < r->inflight_at || now - r->inflight_at > LOCKOUT_INFLIGHT_TTL))
        r->inflight = 0;                /* left by a process that died verifying */
    if (limit > 0 && lockout > 0) {
        if (lockout_is_locked(r, now))
            return false;
        unsigned counted = r->failures;
        if (r->locked_until != 0 || now < r->first_failure ||
            now - r->first_failure >= (int64_t)window)
            counted = 0;                /* a lock or a window that ran out counts no more */
        if (counted >= limit || r->inflight >= limit - counted)
            return false;
    }
    if (r->inflight < UINT_MAX)
        r->inflight++;
    r->inflight_at = now;
    return true;
}

void lockout_release(struct authfail_rec *r, int64_t now, bool failed,
                     unsigned limit, unsigned window, unsigned lockout)
{
    if (r->inflight > 0)
        r->inflight--;
    if (failed)
        lockout_apply_failure(r, now, limit, window, lockout);
}
