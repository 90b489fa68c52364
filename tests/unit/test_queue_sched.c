/* test_queue_sched: the queue runner's scheduling rules (queue_sched.h): connections
 * per next hop and in all, round-robin between next hops so a silent one that holds
 * its share starves no other, and the retry counted from the end of the attempt. */
#include "cu.h"
#include "queue_run.h"
#include "queue_sched.h"

static const struct qsched_limits LIM = { 20, 5 };

static struct qsched_view hop(unsigned active, size_t waiting, bool resolved)
{
    return (struct qsched_view){ .active = active, .waiting = waiting, .resolved = resolved };
}

static void test_wanted(void)
{
    struct qsched_view v = hop(0, 0, true);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 0);          /* nothing waits */
    v = hop(0, 40, false);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 1);          /* hosts unknown: one, it looks */
    v = hop(0, 3, true);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 1);          /* a few: one connection, reused */
    v = hop(0, 25, true);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 3);
    v = hop(0, 1000, true);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 5);          /* queue_destination_concurrency */
    v = hop(4, 1, true);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 4);          /* never fewer than are open */
    v = hop(1, 1000, true);
    v.lowered = 2;
    CU_ASSERT_EQUAL(qsched_wanted(&v, &LIM), 2);          /* the hop refused a third */
    const struct qsched_limits two = { 20, 2 };
    v = hop(0, 1000, true);
    CU_ASSERT_EQUAL(qsched_wanted(&v, &two), 2);
}

static void test_silent_hop_starves_nobody(void)
{
    /* a silent hop holds its 5 connections with 90 messages waiting; one message for a
     * healthy hop arrives: it gets a connection at once */
    struct qsched_view v[2] = { hop(5, 90, true), hop(0, 1, true) };
    unsigned start[2];
    CU_ASSERT_EQUAL(qsched_plan(v, 2, 5, &LIM, 0, start), 1);
    CU_ASSERT_EQUAL(start[0], 0);
    CU_ASSERT_EQUAL(start[1], 1);
    /* a hop whose MX lookup hangs holds one connection, not more */
    struct qsched_view w[2] = { hop(1, 90, false), hop(0, 1, false) };
    CU_ASSERT_EQUAL(qsched_plan(w, 2, 1, &LIM, 0, start), 1);
    CU_ASSERT_EQUAL(start[0], 0);
    CU_ASSERT_EQUAL(start[1], 1);
}

static void test_total_limit_round_robin(void)
{
    struct qsched_view v[3] = { hop(0, 100, true), hop(0, 100, true), hop(0, 100, true) };
    const struct qsched_limits lim = { 4, 5 };
    unsigned start[3];
    CU_ASSERT_EQUAL(qsched_plan(v, 3, 0, &lim, 0, start), 4);
    CU_ASSERT_EQUAL(start[0], 2);
    CU_ASSERT_EQUAL(start[1], 1);
    CU_ASSERT_EQUAL(start[2], 1);
    CU_ASSERT_EQUAL(qsched_plan(v, 3, 2, &lim, 1, start), 2);   /* 2 already open */
    CU_ASSERT_EQUAL(start[0], 0);
    CU_ASSERT_EQUAL(start[1], 1);                               /* rr: hop 1 first */
    CU_ASSERT_EQUAL(start[2], 1);
    CU_ASSERT_EQUAL(qsched_plan(v, 3, 4, &lim, 0, start), 0);   /* all slots taken */
    CU_ASSERT_EQUAL(start[0] + start[1] + start[2], 0);
    const struct qsched_limits huge = { 100000000, 100000000 };
    struct qsched_view big = hop(0, 100000, true);
    unsigned s1;
    CU_ASSERT_EQUAL(qsched_plan(&big, 1, 0, &huge, 0, &s1), QSCHED_MAX_CONNS);
    CU_ASSERT_EQUAL(qsched_plan(NULL, 0, 0, &lim, 0, NULL), 0);
}

static void test_retry_from_end_of_attempt(void)
{
    /* an attempt that started at 1000 and timed out at 1600: the retry (5m) is due at
     * 1900, not at 1300 (which would retry the silent hop at once) */
    CU_ASSERT_EQUAL(qsched_retry_at(300, 1, 1600), 1900);
    CU_ASSERT_EQUAL(qsched_retry_at(300, 2, 1600), 2200);       /* backing off */
    CU_ASSERT_EQUAL(qsched_retry_at(300, 50, 1600), 1600 + QRUN_MAX_BACKOFF);
    CU_ASSERT_EQUAL(qsched_retry_at(300, 0, 1600), 1900);       /* treated as the first */
}

static CU_TestInfo tests[] = {
    { "connections wanted per next hop", test_wanted },
    { "a silent next hop starves no other", test_silent_hop_starves_nobody },
    { "queue_concurrency shared round-robin", test_total_limit_round_robin },
    { "a retry counts from the end of the attempt", test_retry_from_end_of_attempt },
    CU_TEST_INFO_NULL,
};

CU_MAIN("queue_sched", tests)
