/* test_loops: extra event loops run handed-off work in their own threads, each with
 * its own worker pool whose done callbacks come back to that loop; the least loaded
 * loop gets the next connection; broadcast reaches every loop; join ends them all
 * and runs on_exit in each. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "cu.h"
#include "loops.h"
#include "workq.h"

#define NTASKS 100

static pthread_t main_thread;
static pthread_t seen[NTASKS];
static atomic_int ran, done_ok, done_bad, exits;
static atomic_int per_loop_a, per_loop_b;
static pthread_t loop_a;
static atomic_bool have_a;
static pthread_mutex_t a_mu = PTHREAD_MUTEX_INITIALIZER;

struct tjob {
    pthread_t owner;
};

static void job_work(void *arg)
{
    (void)arg;
}

static void job_done(void *arg)
{
    struct tjob *j = arg;
    if (pthread_equal(j->owner, pthread_self()))
        atomic_fetch_add(&done_ok, 1);
    else
        atomic_fetch_add(&done_bad, 1);
    free(j);
}

static void task(void *arg)
{
    int i = (int)(intptr_t)arg;
    seen[i] = pthread_self();
    pthread_mutex_lock(&a_mu);
    if (!atomic_load(&have_a)) {
        loop_a = pthread_self();
        atomic_store(&have_a, true);
    }
    bool is_a = pthread_equal(loop_a, pthread_self());
    pthread_mutex_unlock(&a_mu);
    atomic_fetch_add(is_a ? &per_loop_a : &per_loop_b, 1);
    if (loops_base() && loops_workq()) {
        struct tjob *j = malloc(sizeof *j);
        if (j) {
            j->owner = pthread_self();
            if (workq_submit(loops_workq(), job_work, job_done, j) != 0)
                free(j);
        }
    }
    atomic_fetch_add(&ran, 1);
}

static void on_exit_cb(void)
{
    atomic_fetch_add(&exits, 1);
}

static void stop_loop(void)
{
    event_base_loopbreak(loops_base());
}

static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 1000 && atomic_load(v) < want; i++)
        usleep(10000);
    return atomic_load(v) >= want;
}

static void test_dispatch_balance_broadcast_join(void)
{
    main_thread = pthread_self();
    CU_ASSERT_FATAL(evthread_use_pthreads() == 0);
    CU_ASSERT(loops_base() == NULL);
    CU_ASSERT(loops_workq() == NULL);
    CU_ASSERT_FATAL(loops_start(2, 1, on_exit_cb) == 2);

    /* the main loop reports a big load: every task goes to an extra loop, and as the
     * tasks never end (no loops_conn_gone), the two loops take turns */
    for (int i = 0; i < NTASKS; i++)
        CU_ASSERT(loops_dispatch(task, (void *)(intptr_t)i, 1000));
    CU_ASSERT(wait_for(&ran, NTASKS));
    CU_ASSERT(wait_for(&done_ok, NTASKS));
    CU_ASSERT_EQUAL(atomic_load(&done_bad), 0);
    for (int i = 0; i < NTASKS; i++)
        CU_ASSERT(!pthread_equal(seen[i], main_thread));
    CU_ASSERT_EQUAL(atomic_load(&per_loop_a) + atomic_load(&per_loop_b), NTASKS);
    CU_ASSERT(atomic_load(&per_loop_a) >= NTASKS / 2 - 1);
    CU_ASSERT(atomic_load(&per_loop_b) >= NTASKS / 2 - 1);

    /* now the main loop is the least loaded: it serves the next one itself */
    CU_ASSERT(!loops_dispatch(task, (void *)0, 0));

    loops_broadcast(stop_loop);
    loops_join();
    CU_ASSERT_EQUAL(atomic_load(&exits), 2);
    CU_ASSERT(!loops_dispatch(task, (void *)0, 1000));   /* none left */
}

static CU_TestInfo tests[] = {
    { "dispatch, balance, broadcast, join", test_dispatch_balance_broadcast_join },
    CU_TEST_INFO_NULL,
};

CU_MAIN("loops", tests)
