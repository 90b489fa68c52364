/* workq: a small thread pool for slow work (password hashing, fsync) so that it
 * never stalls the event loop. work() runs in a worker thread; done() runs after it
 * in the event loop thread that owns the queue. */
#ifndef MS_WORKQ_H
#define MS_WORKQ_H

struct event_base;
struct workq;

struct workq *workq_new(struct event_base *base, unsigned nthreads);
/* 0, or -1 if the job could not be queued (then nothing is called). */
int workq_submit(struct workq *q, void (*work)(void *arg), void (*done)(void *arg), void *arg);
/* Waits for running jobs, runs pending done callbacks, stops the threads. */
void workq_free(struct workq *q);

#endif
