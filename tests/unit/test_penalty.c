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

/* A relay prober that delivers one local message now and then must still reach the
 * limit: RCPTs refused 5xx by policy are not forgiven by a delivery (before: they were
 * ordinary errors, reset by every delivery, and the session could probe forever). */
static void test_refused_rcpts_not_forgiven(void)
{
    struct penalty p = { 0 };
    unsigned n = 0;
    bool closed = false;
    while (!closed && n < 1000) {
        closed = penalty_refused_rcpt(&p, 550);   /* relaying denied */
        n++;
        penalty_delivered(&p);                    /* a local message in between */
    }
    CU_ASSERT_TRUE(closed);
    CU_ASSERT_EQUAL(n, PENALTY_ERROR_LIMIT);
    CU_ASSERT_EQUAL(p.refused_rcpts, PENALTY_ERROR_LIMIT);
    CU_ASSERT_EQUAL(p.errors, 0);
    /* refused RCPTs and ordinary errors share the one limit */
    struct penalty q = { 0 };
    for (int i = 0; i < 10; i++)
        CU_ASSERT_FALSE(penalty_refused_rcpt(&q, 530));
    penalty_delivered(&q);
    for (int i = 0; i < 9; i++)
        CU_ASSERT_FALSE(penalty_error(&q, 500));
    CU_ASSERT_EQUAL(penalty_error_count(&q), 19);
    penalty_delivered(&q);                        /* forgives the 9 errors, not the 10 */
    CU_ASSERT_EQUAL(penalty_error_count(&q), 10);
    for (int i = 0; i < 9; i++)
        CU_ASSERT_FALSE(penalty_error(&q, 501));
    CU_ASSERT_TRUE(penalty_error(&q, 503));
    /* a temporary refusal (451 lookup failure) is an ordinary, forgivable error */
    struct penalty t = { 0 };
    CU_ASSERT_FALSE(penalty_refused_rcpt(&t, 451));
    CU_ASSERT_EQUAL(t.refused_rcpts, 0);
    CU_ASSERT_EQUAL(t.errors, 1);
    penalty_delivered(&t);
    CU_ASSERT_EQUAL(penalty_error_count(&t), 0);
    CU_ASSERT_FALSE(penalty_refused_rcpt(&t, 421));   /* closes anyway: not counted */
    CU_ASSERT_EQUAL(penalty_error_count(&t), 0);
}

static CU_TestInfo tests[] = {
    { "delay grows by 0.5 s from the 4th, capped at 5 s", test_delay_sequence },
    { "three free, then delays, the 10th disconnects", test_harvest_actions },
    { "the 20th error reply ends the session", test_error_limit },
    { "a delivery resets the error count", test_delivery_resets_errors },
    { "a delivery does not forgive refused RCPTs", test_refused_rcpts_not_forgiven },
    CU_TEST_INFO_NULL,
};

CU_MAIN("penalty", tests)
