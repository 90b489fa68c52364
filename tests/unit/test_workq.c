/* test_workq: the worker pool runs work() off the loop thread and done() on it,
 * in numbers, and workq_free with jobs still queued runs every job exactly once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "cu.h"
#include "workq.h"

struct job_state {
    pthread_t loop_thread;
    pthread_t work_thread;
    bool work_ran, done_ran;
    bool done_on_loop;
    bool done_after_work;
    int order;
};

static atomic_int work_count;
static int done_count;
static int done_target;
static struct event_base *test_base;

static struct event_base *new_base(void)
{
    static bool threads_on;
    if (!threads_on) {
        CU_ASSERT_FATAL(evthread_use_pthreads() == 0);
        threads_on = true;
    }
    struct event_base *b = event_base_new();
    CU_ASSERT_FATAL(b != NULL);
    return b;
}

static void work_record(void *arg)
{
    struct job_state *s = arg;
    s->work_thread = pthread_self();
    usleep(1000);
    s->work_ran = true;
    atomic_fetch_add(&work_count, 1);
}

static void done_record(void *arg)
{
    struct job_state *s = arg;
    s->done_on_loop = pthread_equal(pthread_self(), s->loop_thread);
    s->done_after_work = s->work_ran;
    s->done_ran = true;
    s->order = ++done_count;
    if (done_count == done_target)
        event_base_loopbreak(test_base);
}

/* Runs the loop until done_target done callbacks ran (or 10 s passed). */
static void run_loop(void)
{
    struct timeval tv = { 10, 0 };
    CU_ASSERT_FATAL(event_base_loopexit(test_base, &tv) == 0);
    CU_ASSERT(event_base_dispatch(test_base) == 0);
}

static void test_off_loop_and_back(void)
{
    struct job_state s = { .loop_thread = pthread_self() };

    test_base = new_base();
    struct workq *q = workq_new(test_base, 2);
    CU_ASSERT_FATAL(q != NULL);
    done_count = 0;
    done_target = 1;
    CU_ASSERT(workq_submit(q, work_record, done_record, &s) == 0);
    run_loop();
    CU_ASSERT(s.work_ran);
    CU_ASSERT(s.done_ran);
    CU_ASSERT(!pthread_equal(s.work_thread, s.loop_thread));   /* work off the loop */
    CU_ASSERT(s.done_on_loop);                                 /* done on the loop */
    CU_ASSERT(s.done_after_work);
    workq_free(q);
    event_base_free(test_base);
}

static void test_many_jobs(void)
{
    enum { N = 500 };
    struct job_state *s = calloc(N, sizeof *s);

    CU_ASSERT_FATAL(s != NULL);
    test_base = new_base();
    struct workq *q = workq_new(test_base, 4);
    CU_ASSERT_FATAL(q != NULL);
    atomic_store(&work_count, 0);
    done_count = 0;
    done_target = N;
    for (int i = 0; i < N; i++) {
        s[i].loop_thread = pthread_self();
        CU_ASSERT(workq_submit(q, work_record, done_record, &s[i]) == 0);
    }
    run_loop();
    CU_ASSERT_EQUAL(done_count, N);
    CU_ASSERT_EQUAL(atomic_load(&work_count), N);
    int bad = 0;
    for (int i = 0; i < N; i++)
        if (!s[i].done_ran || !s[i].done_on_loop || !s[i].done_after_work)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    workq_free(q);
    event_base_free(test_base);
    free(s);
}

static void slow_work(void *arg)
{
    usleep(20000);
    work_record(arg);
}

static struct workq *resubmit_q;
static int resubmit_result = 99;

static void done_resubmit(void *arg)
{
    done_record(arg);
    /* while workq_free runs, new jobs are refused */
    resubmit_result = workq_submit(resubmit_q, work_record, NULL, arg);
}

static void test_free_with_pending(void)
{
    enum { N = 20 };
    struct job_state s[N];

    memset(s, 0, sizeof s);
    test_base = new_base();
    struct workq *q = workq_new(test_base, 1);
    CU_ASSERT_FATAL(q != NULL);
    resubmit_q = q;
    atomic_store(&work_count, 0);
    done_count = 0;
    done_target = -1;        /* never break: the loop does not run at all here */
    for (int i = 0; i < N; i++) {
        s[i].loop_thread = pthread_self();
        CU_ASSERT(workq_submit(q, slow_work, i == N - 1 ? done_resubmit : done_record, &s[i]) == 0);
    }
    workq_free(q);           /* jobs are still queued: all run, all done() called here */
    CU_ASSERT_EQUAL(atomic_load(&work_count), N);
    CU_ASSERT_EQUAL(done_count, N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT(s[i].done_on_loop);
        CU_ASSERT(s[i].done_after_work);
        CU_ASSERT_EQUAL(s[i].order, i + 1);   /* one worker: FIFO */
    }
    CU_ASSERT_EQUAL(resubmit_result, -1);
    event_base_free(test_base);
}

static void test_null_work_refused(void)
{
    test_base = new_base();
    struct workq *q = workq_new(test_base, 1);
    CU_ASSERT_FATAL(q != NULL);
    CU_ASSERT(workq_submit(q, NULL, NULL, NULL) == -1);
    CU_ASSERT(workq_submit(NULL, work_record, NULL, NULL) == -1);
    workq_free(q);
    event_base_free(test_base);
}

static CU_TestInfo tests[] = {
    { "work off the loop, done on it", test_off_loop_and_back },
    { "500 jobs on 4 threads", test_many_jobs },
    { "free with jobs pending", test_free_with_pending },
    { "bad submissions refused", test_null_work_refused },
    CU_TEST_INFO_NULL,
};

CU_MAIN("workq", tests)
