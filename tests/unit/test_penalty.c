/* test_penalty: the smtpd abuse counters (smtpd/penalty.c): harvesting delays and
 * disconnect, the error limit. */
#include "cu.h"
#include "penalty.h"

static void test_delay_sequence(void)
{
    CU_ASSERT_EQUAL(penalty_delay_ms(0, 0), 0);
    CU_ASSERT_EQUAL(penalty_delay_ms(1, 0), 0);
    CU_ASSERT_EQUAL(penalty_delay_ms(2, 0), 0);
    CU_ASSERT_EQUAL(penalty_delay_ms(3, 0), 0);
    CU_ASSERT_EQUAL(penalty_delay_ms(4, 0), 500);
    CU_ASSERT_EQUAL(penalty_delay_ms(5, 0), 1000);
    CU_ASSERT_EQUAL(penalty_delay_ms(9, 0), 3000);
    CU_ASSERT_EQUAL(penalty_delay_ms(13, 0), 5000);
    CU_ASSERT_EQUAL(penalty_delay_ms(14, 0), 5000);                   /* capped */
    CU_ASSERT_EQUAL(penalty_delay_ms(1000000, 0), 5000);
    CU_ASSERT_EQUAL(penalty_delay_ms(4, 100), 100);
    CU_ASSERT_EQUAL(penalty_delay_ms(6, 100), 300);
    CU_ASSERT_EQUAL(penalty_delay_ms(9, 0xF0000000u), 0xFFFFFFFFu);   /* no overflow */
}

static void test_harvest_actions(void)
{
    struct penalty p = { 0 };
    unsigned d = 77, prev = 0;
    for (unsigned n = 1; n <= 3; n++) {
        CU_ASSERT_EQUAL(penalty_unknown_rcpt(&p, 0, &d), PENALTY_NONE);
        CU_ASSERT_EQUAL(d, 0);
    }
    for (unsigned n = 4; n < PENALTY_HARVEST_LIMIT; n++) {
        CU_ASSERT_EQUAL(penalty_unknown_rcpt(&p, 0, &d), PENALTY_DELAY);
        CU_ASSERT(d > prev && d <= 5000);            /* grows */
        prev = d;
    }
    CU_ASSERT_EQUAL(prev, 3000);                     /* the 9th */
    CU_ASSERT_EQUAL(penalty_unknown_rcpt(&p, 0, &d), PENALTY_DISCONNECT);   /* the 10th */
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_EQUAL(p.unknown_rcpts, 10);
    CU_ASSERT_EQUAL(p.errors, 0);                    /* not counted as errors */
    penalty_delivered(&p);                           /* a delivery does not forgive */
    CU_ASSERT_EQUAL(penalty_unknown_rcpt(&p, 0, &d), PENALTY_DISCONNECT);
}

static void test_error_limit(void)
{
    struct penalty p = { 0 };
    CU_ASSERT_FALSE(penalty_error(&p, 250));
    CU_ASSERT_FALSE(penalty_error(&p, 354));
    CU_ASSERT_FALSE(penalty_error(&p, 421));
    CU_ASSERT_FALSE(penalty_error(&p, 600));
    CU_ASSERT_EQUAL(p.errors, 0);
    for (int i = 1; i < PENALTY_ERROR_LIMIT; i++)
        CU_ASSERT_FALSE(penalty_error(&p, i % 2 ? 500 : 451));
    CU_ASSERT_TRUE(penalty_error(&p, 503));          /* the 20th */
    CU_ASSERT_EQUAL(p.errors, 20);
}

static void test_delivery_resets_errors(void)
{
    struct penalty p = { 0 };
    for (int i = 1; i < PENALTY_ERROR_LIMIT; i++)
        CU_ASSERT_FALSE(penalty_error(&p, 550));
    penalty_delivered(&p);
    CU_ASSERT_EQUAL(p.errors, 0);
    for (int i = 1; i < PENALTY_ERROR_LIMIT; i++)
        CU_ASSERT_FALSE(penalty_error(&p, 550));
    CU_ASSERT_TRUE(penalty_error(&p, 550));
}

static CU_TestInfo tests[] = {
    { "delay grows by 0.5 s from the 4th, capped at 5 s", test_delay_sequence },
    { "three free, then delays, the 10th disconnects", test_harvest_actions },
    { "the 20th error reply ends the session", test_error_limit },
    { "a delivery resets the error count", test_delivery_resets_errors },
    CU_TEST_INFO_NULL,
};

CU_MAIN("penalty", tests)
