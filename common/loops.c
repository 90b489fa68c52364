/* loops: extra event-loop threads (loops.h). Work reaches a loop through its inbox: a
 * mutex-protected list plus an event made active on the loop's base (libevent built
 * with evthread_use_pthreads wakes the loop). */
#include "loops.h"

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "store.h"
#include "workq.h"

struct task {
    struct task *next;
    void (*fn)(void *arg);
    void *arg;
};

struct loop {
    struct event_base *base;
    struct workq *wq;
    struct event *ev_inbox;
    pthread_t thr;
    pthread_mutex_t mu;
    struct task *head, *tail;
    void (*bcast)(void);
    size_t load;                   /* connections handed to it and not yet gone (atomic) */
};

static struct loop loops[LOOPS_MAX];
static unsigned nloops, rr;
static void (*exit_fn)(void);
static __thread struct loop *self;

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
    struct loop *lp = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&lp->mu);
    struct task *t = lp->head;
    void (*b)(void) = lp->bcast;
    lp->head = lp->tail = NULL;
    lp->bcast = NULL;
    pthread_mutex_unlock(&lp->mu);
    while (t) {
        struct task *next = t->next;
        t->fn(t->arg);
        free(t);
        t = next;
    }
    if (b)
        b();
}

static void *loop_main(void *arg)
{
    struct loop *lp = arg;
    self = lp;
    store_mark_loop_thread(true);   /* store calls never wait here: store.h */
    if (event_base_loop(lp->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
        log_err("event loop failed");
    store_mark_loop_thread(false);
    workq_free(lp->wq);            /* running jobs end, their done callbacks run here */
    lp->wq = NULL;
    inbox_cb(-1, 0, lp);           /* handoffs that came late: they see the stop */
    if (exit_fn)
        exit_fn();
    return NULL;
}

static void loop_free(struct loop *lp)
{
    if (lp->wq)
        workq_free(lp->wq);
    if (lp->ev_inbox)
        event_free(lp->ev_inbox);
    if (lp->base)
        event_base_free(lp->base);
    pthread_mutex_destroy(&lp->mu);
    lp->wq = NULL;
    lp->ev_inbox = NULL;
    lp->base = NULL;
}

unsigned loops_start(unsigned n, unsigned workers, void (*on_exit)(void))
{
    exit_fn = on_exit;
    if (n > LOOPS_MAX)
        n = LOOPS_MAX;
    for (unsigned i = 0; i < n; i++) {
        struct loop *lp = &loops[nloops];
        if (pthread_mutex_init(&lp->mu, NULL) != 0)
            break;
        lp->head = lp->tail = NULL;
        lp->bcast = NULL;
        if (!(lp->base = event_base_new()) ||
            !(lp->ev_inbox = event_new(lp->base, -1, 0, inbox_cb, lp)) ||
            !(lp->wq = workq_new(lp->base, workers)) ||
            pthread_create(&lp->thr, NULL, loop_main, lp) != 0) {
            log_warn("cannot start event loop %u; going on with %u", i + 2, nloops + 1);
            loop_free(lp);
            break;
        }
        nloops++;
    }
    return nloops;
}

static void enqueue(struct loop *lp, struct task *t, void (*b)(void))
{
    pthread_mutex_lock(&lp->mu);
    if (t) {
        t->next = NULL;
        if (lp->tail)
            lp->tail->next = t;
        else
            lp->head = t;
        lp->tail = t;
    }
    if (b)
        lp->bcast = b;
    pthread_mutex_unlock(&lp->mu);
    event_active(lp->ev_inbox, EV_READ, 0);
}

/* The least loaded loop (0: the main one); a loop that falls behind keeps its
 * connections longer and so gets fewer new ones. Ties rotate. */
static unsigned pick(size_t here_load)
{
    unsigned best = 0;
    size_t best_load = here_load;
    for (unsigned k = 0; k <= nloops; k++) {
        unsigned i = (rr + k) % (nloops + 1);
        size_t l = i == 0 ? here_load : __atomic_load_n(&loops[i - 1].load, __ATOMIC_RELAXED);
        if (k == 0 || l < best_load) {
            best = i;
            best_load = l;
        }
    }
    rr = (rr + 1) % (nloops + 1);
    return best;
}

bool loops_dispatch(void (*fn)(void *arg), void *arg, size_t here_load)
{
    if (nloops == 0)
        return false;
    unsigned i = pick(here_load);
    if (i == 0)
        return false;
    struct task *t = malloc(sizeof *t);
    if (!t)
        return false;              /* out of memory: serve it in the main loop */
    t->fn = fn;
    t->arg = arg;
    __atomic_add_fetch(&loops[i - 1].load, 1, __ATOMIC_RELAXED);
    enqueue(&loops[i - 1], t, NULL);
    return true;
}

void loops_conn_gone(void)
{
    if (self)
        __atomic_sub_fetch(&self->load, 1, __ATOMIC_RELAXED);
}

void loops_broadcast(void (*fn)(void))
{
    for (unsigned i = 0; i < nloops; i++)
        enqueue(&loops[i], NULL, fn);
}

struct event_base *loops_base(void)
{
    return self ? self->base : NULL;
}

struct workq *loops_workq(void)
{
    return self ? self->wq : NULL;
}

void loops_join(void)
{
    for (unsigned i = 0; i < nloops; i++) {
        (void)pthread_join(loops[i].thr, NULL);
        loop_free(&loops[i]);
    }
    nloops = 0;
    rr = 0;
}
