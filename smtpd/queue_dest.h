/* queue_dest: the next hops of the queue runner and their delivery threads. The runner
 * (queue_run, one thread) hands each due recipient to the next hop of its domain; each
 * next hop keeps the messages waiting for it in order, and up to
 * queue_destination_concurrency connections (queue_concurrency in all, queue_sched.h)
 * take them one after another, each on its own thread: the MX lookup, the connection
 * and the SMTP dialogue block that thread only, so a silent, slow or dead next hop
 * delays no other. Results are marked in the shared entry (under its mutex), delivered
 * recipients written to the envelope at once; when every recipient handed out of an
 * entry is done, the entry is given back to the runner (qdests_take_finished), which
 * alone bounces, reschedules and removes entries. */
#ifndef MS_QUEUE_DEST_H
#define MS_QUEUE_DEST_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queue_file.h"

typedef struct ssl_ctx_st SSL_CTX;

enum qmark { M_NONE = 0, M_DONE, M_BOUNCE, M_DEFER };

/* A queue entry in memory while the runner works on it. */
struct qitem {
    struct qentry e;
    unsigned char *mark;       /* per recipient: enum qmark of this round */
    int64_t *ended;            /* per recipient: when the attempt that marked it ended */
    pthread_mutex_t mu;        /* e's recipients, mark, ended, envelope writes */
    size_t refs;               /* recipients out with next hops (+1 while routing) */
    struct qitem *next;        /* the runner's list of loaded entries */
    struct qitem *fin_next;    /* the list of finished entries */
};

/* Mark recipient r (locks it->mu): result, diagnostics, end of attempt = now. */
void qitem_mark(struct qitem *it, size_t r, enum qmark m, const char *status,
                const char *remote, const char *diag);

struct qdests;

/* notify_fd is written (8 bytes, eventfd style) whenever a connection ends, an entry
 * finishes or a next hop gets its hosts: the runner then calls qdests_take_finished
 * and qdests_start. NULL on allocation failure. */
struct qdests *qdests_new(const char *qdir, SSL_CTX *tls, int notify_fd);
/* Hand recipients rcpts[0..n) of it (all of one domain) to that domain's next hop;
 * it->refs grows by n. 0, or -1 (out of memory: nothing was handed over). */
int qdests_add(struct qdests *d, const struct config *cfg, const char *domain,
               struct qitem *it, const size_t *rcpts, size_t n);
/* Does the next hop of domain already have max messages waiting? */
bool qdests_full(struct qdests *d, const struct config *cfg, const char *domain, size_t max);
/* Drop the runner's own reference on it (taken before routing); true if that was the
 * last one (nothing is out with a next hop: the caller finishes it now). */
bool qdests_release(struct qdests *d, struct qitem *it);
/* Open the connections the limits allow (threads; HELO name copied). Forgets next hops
 * with nothing waiting and no connection. Returns how many are open. */
unsigned qdests_start(struct qdests *d, const char *helo, unsigned total, unsigned per_dest);
/* Wait for the open connections to end (they end when their hop has nothing waiting)
 * and free the table. */
void qdests_free(struct qdests *d);
/* The entries whose recipients are all back (each once), as a fin_next list. */
struct qitem *qdests_take_finished(struct qdests *d);

#endif
