/* queue_sched: the pure scheduling rules of the queue runner: how many connections to
 * open to each next hop within queue_concurrency (in all) and
 * queue_destination_concurrency (per next hop), shared round-robin so that no next hop
 * starves the others, and when a deferred recipient is tried again (from the END of
 * the failed attempt). No I/O, no threads: unit-tested (tests/unit/test_queue_sched.c). */
#ifndef MS_QUEUE_SCHED_H
#define MS_QUEUE_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A connection takes the messages of its next hop one after another (RSET between
 * them); another connection to the same hop is opened per this many waiting messages. */
#define QSCHED_MSGS_PER_CONN 10
/* Hard cap on connections in all, whatever queue_concurrency says (one thread each). */
#define QSCHED_MAX_CONNS 500

struct qsched_limits {
    unsigned total;            /* queue_concurrency */
    unsigned per_dest;         /* queue_destination_concurrency */
};

struct qsched_view {           /* one next hop as the planner sees it */
    unsigned active;           /* connections open or opening */
    unsigned lowered;          /* 0, or the hop refused more than this many at once */
    size_t waiting;            /* messages not yet taken by a connection */
    bool resolved;             /* its hosts are known (static route, or DNS done) */
};

/* How many connections this hop should have now: one while its hosts are unknown (the
 * connection does the DNS lookup), else one per QSCHED_MSGS_PER_CONN waiting messages
 * (never fewer than are open), within per_dest and lowered. 0 if nothing waits. */
unsigned qsched_wanted(const struct qsched_view *v, const struct qsched_limits *lim);
/* Plan new connections: start[i] gets how many to open to hop i (n hops), at most
 * lim->total - active in all, one hop after another from index rr (round-robin, one
 * connection per hop per round). Returns the number planned. */
unsigned qsched_plan(const struct qsched_view *v, size_t n, unsigned active,
                     const struct qsched_limits *lim, size_t rr, unsigned *start);
/* When a recipient deferred for the ATTEMPTS-th time (>= 1) by an attempt that ENDED at
 * that time is tried again: ended + retry * 2^(attempts-1), capped at max(retry, 4 h). */
int64_t qsched_retry_at(unsigned retry, unsigned attempts, int64_t ended);

#endif
