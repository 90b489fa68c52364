/* loops: the extra event-loop threads. The main thread's loop owns the listeners,
 * signals and maintenance; each extra loop (one per further CPU) owns the connections
 * handed to it and its own worker pool, so sessions of different loops run in
 * parallel. Everything of a connection (I/O, timers, worker done callbacks) happens
 * in the thread of the loop it was handed to. */
#ifndef MS_LOOPS_H
#define MS_LOOPS_H
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct workq;

#define LOOPS_MAX 16              /* extra loops at most */

/* Start n extra loops with `workers` worker threads each; on_exit(void) runs in each
 * loop's thread after its loop ended and its workers finished (force-close what is
 * left). Returns how many started. */
unsigned loops_start(unsigned n, unsigned workers, void (*on_exit)(void));
/* Hand the next connection to the least loaded loop: the main one (returns false: run
 * it here; here_load is its connection count) or an extra one (fn(arg) is queued to
 * run there, and that loop's load counts it until loops_conn_gone). */
bool loops_dispatch(void (*fn)(void *arg), void *arg, size_t here_load);
/* In a loop's thread: a connection handed to it is gone (or never came to be). */
void loops_conn_gone(void);
/* Run fn() once in every extra loop's thread (shutdown). */
void loops_broadcast(void (*fn)(void));
/* The calling thread's loop and worker pool (NULL in the main thread and workers). */
struct event_base *loops_base(void);
struct workq *loops_workq(void);
/* Wait until every extra loop has ended (each ends by event_base_loopbreak on its own
 * base once it has no connections left while stopping) and free them. */
void loops_join(void);

#endif
