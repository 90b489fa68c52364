/* test_queue_park: the queue runner's memory between its reads of the queue
 * (queue_park.h): entries parked per next-hop domain come back oldest first, a domain's
 * group is case-insensitive, a group emptied and refilled keeps its order, the known
 * listing answers for new mail, clearing forgets the parked ids but not the listing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "queue_park.h"

static char **listing(const char *const *v, size_t n)
{
    char **ids = malloc(n * sizeof *ids);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = strdup(v[i]);
    return ids;
}

static void test_groups_fifo(void)
{
    struct qpark p;
    memset(&p, 0, sizeof p);
    CU_ASSERT_EQUAL(qpark_add(&p, "Slow.Test", "a1"), 0);
    CU_ASSERT_EQUAL(qpark_add(&p, "relay.test", "a2"), 0);
    CU_ASSERT_EQUAL(qpark_add(&p, "slow.test", "a3"), 0);
    CU_ASSERT_EQUAL(qpark_add(&p, "", "a4"), 0);              /* the memory limit */
    CU_ASSERT_EQUAL(qpark_count(&p), 4);
    CU_ASSERT_EQUAL(qpark_groups(&p), 3);
    CU_ASSERT_STRING_EQUAL(qpark_domain(&p, 0), "slow.test");
    CU_ASSERT_STRING_EQUAL(qpark_peek(&p, 0), "a1");
    qpark_drop_head(&p, 0);
    CU_ASSERT_STRING_EQUAL(qpark_peek(&p, 0), "a3");        /* oldest first, same group */
    qpark_drop_head(&p, 0);
    CU_ASSERT_PTR_NULL(qpark_peek(&p, 0));
    qpark_drop_head(&p, 0);                                 /* empty: nothing happens */
    CU_ASSERT_EQUAL(qpark_count(&p), 2);
    CU_ASSERT_STRING_EQUAL(qpark_peek(&p, 1), "a2");
    CU_ASSERT_STRING_EQUAL(qpark_domain(&p, 2), "");
    CU_ASSERT_PTR_NULL(qpark_peek(&p, 7));                  /* no such group */
    qpark_free(&p);
    CU_ASSERT_EQUAL(qpark_count(&p), 0);
}

static void test_many_keep_order(void)
{
    struct qpark p;
    char id[32];
    memset(&p, 0, sizeof p);
    /* 20,000 parked for one hop, taken back in two halves with refills between: every id
     * comes back once, in the order parked */
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "m%05d", i);
        CU_ASSERT_EQUAL_FATAL(qpark_add(&p, "relay.test", id), 0);
    }
    int next = 0, bad = 0;
    for (int i = 0; i < 10000; i++, next++) {
        snprintf(id, sizeof id, "m%05d", next);
        bad += strcmp(qpark_peek(&p, 0), id) != 0;
        qpark_drop_head(&p, 0);
    }
    for (int i = 20000; i < 25000; i++) {                  /* more arrive meanwhile */
        snprintf(id, sizeof id, "m%05d", i);
        CU_ASSERT_EQUAL_FATAL(qpark_add(&p, "relay.test", id), 0);
    }
    for (; qpark_peek(&p, 0); next++) {
        snprintf(id, sizeof id, "m%05d", next);
        bad += strcmp(qpark_peek(&p, 0), id) != 0;
        qpark_drop_head(&p, 0);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(next, 25000);
    CU_ASSERT_EQUAL(qpark_count(&p), 0);
    CU_ASSERT_EQUAL(qpark_add(&p, "relay.test", "again"), 0);   /* emptied, then reused */
    CU_ASSERT_STRING_EQUAL(qpark_peek(&p, 0), "again");
    qpark_free(&p);
}

static void test_known_listing(void)
{
    struct qpark p;
    static const char *const v[] = { "1700000000.a", "1700000000.b", "1700000001.a" };
    memset(&p, 0, sizeof p);
    CU_ASSERT_FALSE(qpark_known(&p, "1700000000.a"));       /* nothing listed yet */
    qpark_set_known(&p, listing(v, 3), 3);
    CU_ASSERT_TRUE(qpark_known(&p, "1700000000.b"));
    CU_ASSERT_TRUE(qpark_known(&p, "1700000001.a"));
    CU_ASSERT_FALSE(qpark_known(&p, "1700000002.a"));       /* new mail */
    CU_ASSERT_EQUAL(qpark_add(&p, "relay.test", "1700000000.b"), 0);
    qpark_clear(&p);                                        /* a full read follows */
    CU_ASSERT_EQUAL(qpark_count(&p), 0);
    CU_ASSERT_TRUE(qpark_known(&p, "1700000000.a"));        /* the listing stays */
    qpark_set_known(&p, listing(v + 2, 1), 1);              /* replaced */
    CU_ASSERT_FALSE(qpark_known(&p, "1700000000.a"));
    qpark_free(&p);
    CU_ASSERT_FALSE(qpark_known(&p, "1700000001.a"));
}

static CU_TestInfo tests[] = {
    { "parked per domain, oldest first", test_groups_fifo },
    { "20,000 parked and refilled keep their order", test_many_keep_order },
    { "the known listing", test_known_listing },
    CU_TEST_INFO_NULL,
};

CU_MAIN("queue_park", tests)
