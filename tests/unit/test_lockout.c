/* test_lockout: the pure lockout rule (common/lockout.c): counting within the
 * window, window restart, locking at the limit, no extension while locked,
 * a fresh count after the lock ends; reserved verifications (no more than the
 * limit under way plus failed, reservations of dead processes expire). */
#include <string.h>

#include "cu.h"
#include "lockout.h"

#define LIMIT 5u
#define WINDOW 900u
#define LOCK 600u

static void fail_n(struct authfail_rec *r, int64_t t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        lockout_apply_failure(r, t, LIMIT, WINDOW, LOCK);
}

static void test_new_ip_counts_one(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    lockout_apply_failure(&r, 1000, LIMIT, WINDOW, LOCK);
    CU_ASSERT_EQUAL(r.failures, 1);
    CU_ASSERT_EQUAL(r.first_failure, 1000);
    CU_ASSERT_EQUAL(r.locked_until, 0);
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1000));
}

static void test_locks_at_limit(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    fail_n(&r, 1000, LIMIT - 1);
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1000));
    CU_ASSERT_EQUAL(r.failures, LIMIT - 1);
    lockout_apply_failure(&r, 1010, LIMIT, WINDOW, LOCK);
    CU_ASSERT_TRUE(lockout_is_locked(&r, 1010));
    CU_ASSERT_EQUAL(r.locked_until, 1010 + LOCK);
    CU_ASSERT_TRUE(lockout_is_locked(&r, 1010 + LOCK - 1));
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1010 + LOCK));
}

static void test_failures_spread_within_window(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    for (unsigned i = 0; i < LIMIT; i++)
        lockout_apply_failure(&r, 1000 + i * 200, LIMIT, WINDOW, LOCK);   /* last at +800 */
    CU_ASSERT_TRUE(lockout_is_locked(&r, 1800));
}

static void test_window_restarts(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    fail_n(&r, 1000, LIMIT - 1);
    /* the window has passed: this failure starts a new count */
    lockout_apply_failure(&r, 1000 + WINDOW, LIMIT, WINDOW, LOCK);
    CU_ASSERT_EQUAL(r.failures, 1);
    CU_ASSERT_EQUAL(r.first_failure, 1000 + WINDOW);
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1000 + WINDOW));
    fail_n(&r, 1000 + WINDOW + 1, LIMIT - 2);
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1000 + WINDOW + 1));
    lockout_apply_failure(&r, 1000 + WINDOW + 2, LIMIT, WINDOW, LOCK);
    CU_ASSERT_TRUE(lockout_is_locked(&r, 1000 + WINDOW + 2));
}

static void test_no_extension_while_locked(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    fail_n(&r, 1000, LIMIT);
    int64_t until = r.locked_until;
    CU_ASSERT_EQUAL(until, 1000 + LOCK);
    fail_n(&r, 1000 + LOCK - 1, 20);
    CU_ASSERT_EQUAL(r.locked_until, until);
    CU_ASSERT_FALSE(lockout_is_locked(&r, until));
}

static void test_after_lock_fresh_count(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    fail_n(&r, 1000, LIMIT);
    int64_t t = 1000 + LOCK;             /* lock over, window (900) is not */
    lockout_apply_failure(&r, t, LIMIT, WINDOW, LOCK);
    CU_ASSERT_FALSE(lockout_is_locked(&r, t));
    CU_ASSERT_EQUAL(r.failures, 1);
    CU_ASSERT_EQUAL(r.locked_until, 0);
    fail_n(&r, t + 1, LIMIT - 1);
    CU_ASSERT_TRUE(lockout_is_locked(&r, t + 1));
}

static void test_zero_limit_never_locks(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 100; i++)
        lockout_apply_failure(&r, 1000, 0, WINDOW, LOCK);
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1000));
    CU_ASSERT_EQUAL(r.failures, 100);
}

static void test_clock_going_back_restarts(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    fail_n(&r, 5000, 2);
    lockout_apply_failure(&r, 4000, LIMIT, WINDOW, LOCK);
    CU_ASSERT_EQUAL(r.failures, 1);
    CU_ASSERT_EQUAL(r.first_failure, 4000);
}

/* Parallel attempts: failures plus verifications under way never pass the limit. */
static void test_reserve_caps_parallel(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    unsigned granted = 0;
    for (int i = 0; i < 12; i++)               /* 12 guesses arrive together */
        granted += lockout_reserve(&r, 1000, LIMIT, WINDOW, LOCK);
    CU_ASSERT_EQUAL(granted, LIMIT);
    CU_ASSERT_EQUAL(r.inflight, LIMIT);
    for (unsigned i = 0; i < LIMIT; i++)       /* all wrong */
        lockout_release(&r, 1001, true, LIMIT, WINDOW, LOCK);
    CU_ASSERT_EQUAL(r.inflight, 0);
    CU_ASSERT_EQUAL(r.failures, LIMIT);
    CU_ASSERT_TRUE(lockout_is_locked(&r, 1001));
    CU_ASSERT_FALSE(lockout_reserve(&r, 1002, LIMIT, WINDOW, LOCK));   /* locked */
    CU_ASSERT_EQUAL(r.locked_until, 1001 + LOCK);                     /* not extended */
    CU_ASSERT_TRUE(lockout_reserve(&r, 1001 + LOCK, LIMIT, WINDOW, LOCK));   /* lock over */
}

/* A success gives its reservation back without counting; failures still count. */
static void test_reserve_release(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    fail_n(&r, 1000, LIMIT - 1);
    CU_ASSERT_TRUE(lockout_reserve(&r, 1001, LIMIT, WINDOW, LOCK));
    CU_ASSERT_FALSE(lockout_reserve(&r, 1001, LIMIT, WINDOW, LOCK));   /* last slot taken */
    lockout_release(&r, 1002, false, LIMIT, WINDOW, LOCK);             /* right password */
    CU_ASSERT_EQUAL(r.failures, LIMIT - 1);
    CU_ASSERT_FALSE(lockout_is_locked(&r, 1002));
    CU_ASSERT_TRUE(lockout_reserve(&r, 1003, LIMIT, WINDOW, LOCK));
    lockout_release(&r, 1004, true, LIMIT, WINDOW, LOCK);
    CU_ASSERT_TRUE(lockout_is_locked(&r, 1004));
    /* failures out of the window count no more */
    memset(&r, 0, sizeof r);
    fail_n(&r, 1000, LIMIT - 1);
    CU_ASSERT_TRUE(lockout_reserve(&r, 1000 + WINDOW, LIMIT, WINDOW, LOCK));
    CU_ASSERT_TRUE(lockout_reserve(&r, 1000 + WINDOW, LIMIT, WINDOW, LOCK));
    /* lockout off (limit 0): never refused */
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 50; i++)
        CU_ASSERT_TRUE(lockout_reserve(&r, 1000, 0, WINDOW, LOCK));
    lockout_release(&r, 1000, false, 0, WINDOW, LOCK);
    CU_ASSERT_EQUAL(r.inflight, 49);
}

/* Reservations left by a process that died mid-verification expire. */
static void test_reserve_stale(void)
{
    struct authfail_rec r;
    memset(&r, 0, sizeof r);
    for (unsigned i = 0; i < LIMIT; i++)
        CU_ASSERT_TRUE(lockout_reserve(&r, 1000, LIMIT, WINDOW, LOCK));
    CU_ASSERT_FALSE(lockout_reserve(&r, 1000 + LOCKOUT_INFLIGHT_TTL, LIMIT, WINDOW, LOCK));
    CU_ASSERT_TRUE(lockout_reserve(&r, 1001 + LOCKOUT_INFLIGHT_TTL, LIMIT, WINDOW, LOCK));
    CU_ASSERT_EQUAL(r.inflight, 1);
    lockout_release(&r, 1002 + LOCKOUT_INFLIGHT_TTL, false, LIMIT, WINDOW, LOCK);
    lockout_release(&r, 1002 + LOCKOUT_INFLIGHT_TTL, false, LIMIT, WINDOW, LOCK);   /* extra */
    CU_ASSERT_EQUAL(r.inflight, 0);
}

static CU_TestInfo tests[] = {
    { "parallel attempts capped at the limit", test_reserve_caps_parallel },
    { "reserve and release", test_reserve_release },
    { "stale reservations expire", test_reserve_stale },
    { "new IP counts one", test_new_ip_counts_one },
    { "locks at the limit", test_locks_at_limit },
    { "failures spread within the window", test_failures_spread_within_window },
    { "window restarts after it passes", test_window_restarts },
    { "attempts while locked do not extend", test_no_extension_while_locked },
    { "a fresh count after the lock", test_after_lock_fresh_count },
    { "limit 0 never locks", test_zero_limit_never_locks },
    { "clock going back restarts the window", test_clock_going_back_restarts },
    CU_TEST_INFO_NULL,
};

CU_MAIN("lockout", tests)
