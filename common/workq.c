/* workq: a fixed pool of worker threads for slow work (password hashing, fsync).
 * Jobs wait in a FIFO under a mutex + condition variable; finished jobs go to a
 * second list, and an event made active on the loop's base (libevent built with
 * evthread_use_pthreads) runs their done callbacks in the loop thread. */
#include "workq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"

struct job {
    struct job *next;
    void (*work)(void *arg);
    void (*done)(void *arg);
    void *arg;
};

struct jobq {
    struct job *head, *tail;
};

struct workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct jobq pending;     /* waiting for a worker */
    struct jobq finished;    /* work done, done() not yet run */
    bool stopping;
    unsigned idle;           /* workers waiting on cv */
    unsigned nthreads;
    pthread_t *threads;
    struct event *ev_done;
};

static void jobq_push(struct jobq *q, struct job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static struct job *jobq_pop(struct jobq *q)
{
    struct job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
    }
    return j;
}

/* One lock hold per job in the common case: the finished job is handed back and the
 * next one taken together; the loop is told (event_active) outside the mutex, so the
 * loop thread taking it in run_finished or workq_submit does not wait on a worker
 * that waits on the base's lock. */
static void *worker(void *arg)
{
    struct workq *q = arg;
    struct job *done = NULL;

    for (;;) {
        pthread_mutex_lock(&q->mu);
        bool tell = false;
        if (done) {
            tell = q->finished.head == NULL;
            jobq_push(&q->finished, done);
            done = NULL;
        }
        struct job *j = jobq_pop(&q->pending);
        if (!j && tell) {               /* tell the loop before sleeping */
            pthread_mutex_unlock(&q->mu);
            event_active(q->ev_done, EV_READ, 0);
            tell = false;
            pthread_mutex_lock(&q->mu);
            j = jobq_pop(&q->pending);
        }
        while (!j && !q->stopping) {
            q->idle++;
            pthread_cond_wait(&q->cv, &q->mu);
            q->idle--;
            j = jobq_pop(&q->pending);
        }
        pthread_mutex_unlock(&q->mu);
        if (tell)
            event_active(q->ev_done, EV_READ, 0);
        if (!j)                         /* stopping, and every submitted job has run */
            break;
        j->work(j->arg);
        done = j;
    }
    return NULL;
}

/* Runs in the loop thread: done callbacks in the order the work finished. */
static void run_finished(struct workq *q)
{
    pthread_mutex_lock(&q->mu);
    struct job *list = q->finished.head;
    q->finished.head = q->finished.tail = NULL;
    pthread_mutex_unlock(&q->mu);
    while (list) {
        struct job *j = list;
        list = j->next;
        if (j->done)
            j->done(j->arg);
        free(j);
    }
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_finished(arg);
}

struct workq *workq_new(struct event_base *base, unsigned nthreads)
{
    struct workq *q = calloc(1, sizeof *q);

    if (!q)
        return NULL;
    if (nthreads == 0)
        nthreads = 1;
    q->threads = calloc(nthreads, sizeof *q->threads);
    q->ev_done = event_new(base, -1, 0, done_cb, q);
    if (!q->threads || !q->ev_done || pthread_mutex_init(&q->mu, NULL) != 0) {
        if (q->ev_done)
            event_free(q->ev_done);
        free(q->threads);
        free(q);
        return NULL;
    }
    if (pthread_cond_init(&q->cv, NULL) != 0) {
        pthread_mutex_destroy(&q->mu);
        event_free(q->ev_done);
        free(q->threads);
        free(q);
        return NULL;
    }
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0) {
            log_err("workq: cannot start thread %u of %u", i + 1, nthreads);
            break;
        }
        q->nthreads++;
    }
    if (q->nthreads == 0) {
        workq_free(q);
        return NULL;
    }
    return q;
}

int workq_submit(struct workq *q, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
    if (!q || !work)
        return -1;
    struct job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&q->mu);
    if (q->stopping) {
        pthread_mutex_unlock(&q->mu);
        free(j);
        return -1;
    }
    jobq_push(&q->pending, j);
    bool wake = q->idle > 0;
    pthread_mutex_unlock(&q->mu);
    if (wake)        /* after the unlock: the woken worker does not block on q->mu */
        pthread_cond_signal(&q->cv);
    return 0;
}

void workq_free(struct workq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    run_finished(q);   /* done callbacks here may not submit again (-1) */
    event_free(q->ev_done);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q);
}
