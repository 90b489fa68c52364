/* queue_run: the scheduler of the queue runner over DATA_DIR/queue, on the runner's one
 * thread: read the due entries (at most QRUN_MAX_LOADED in memory, at most
 * QRUN_DEST_BACKLOG messages waiting per next hop, so memory stays bounded whatever the
 * queue holds), deliver local recipients, hand the remote ones to their next hops
 * (queue_dest.h: parallel connections on threads), and when an entry is back from
 * every next hop: record the results (a retry counted from the end of the failed
 * attempt), bounce (RFC 3464, never to <>) what failed permanently or outlived
 * queue_lifetime, warn once about long delays, remove entries that are done. */
#ifndef MS_QUEUE_RUN_H
#define MS_QUEUE_RUN_H
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "queue_file.h"
#include "queue_park.h"

typedef struct ssl_ctx_st SSL_CTX;
struct store;

#define QRUN_MAX_BACKOFF 14400     /* retry interval cap, seconds (never below queue_retry) */
#define QRUN_DELAY_WARN  14400     /* delay warning after this many seconds in the queue */
#define QRUN_MAX_LOADED   1000     /* queue entries in memory at once */
#define QRUN_DEST_BACKLOG 100      /* messages waiting for one next hop before more are read */

struct qdests;
struct qitem;

struct qrun {
    const struct config *cfg;
    char qdir[QUEUE_DIR_MAX];
    SSL_CTX *tls;                  /* client context for STARTTLS, may be NULL */
    struct store *st;              /* for local delivery of bounces; may be NULL */
    bool flush;                    /* the next scan treats every pending recipient as due */
    /* set up by qrun_init: */
    int efd;                       /* readable when a delivery thread has news */
    struct qdests *dests;
    struct qitem *loaded;          /* entries in memory (being delivered) */
    size_t nloaded;
    int64_t next_due;              /* earliest next_try of the entries not loaded; 0 none */
    int64_t flush_at;              /* a flush asked then is still being served; 0 none */
    int64_t last_scan;
    bool retired;                  /* an entry was finished since the last scan */
    bool more;                     /* due entries were left on disk (no memory): scan again */
    bool scanned;                  /* the whole queue was read once */
    bool removed;                  /* entries removed, their directory not synced yet */
    struct qpark park;             /* known ids, entries parked for a full next hop */
};

/* Create the wake-up descriptor and the next-hop table. 0 or -1. */
int qrun_init(struct qrun *q);
/* Everything that can be done at NOW without waiting: finish the entries back from
 * their next hops, read the queue (all of it when a retry came due or at a flush; when
 * SCAN, the envelopes of new ids only), take parked entries back where their next hop
 * made room, start connections within the limits. Returns
 * the unix time to call again at the latest (0: no timer needed); call it as well
 * whenever q->efd is readable. */
int64_t qrun_step(struct qrun *q, int64_t now, bool scan);

/* Wait for the delivery threads, forget what is in memory (the queue is on disk). */
void qrun_close(struct qrun *q);

/* Pure: the delay before the next attempt after ATTEMPTS temporary failures (>= 1):
 * retry * 2^(attempts-1), capped at max(retry, QRUN_MAX_BACKOFF). */
int64_t qrun_backoff(unsigned retry, unsigned attempts);
/* Pure: the loop guard. ADDR is in one of our local domains but is no local mailbox:
 * its local part routes on (user%remote@ours, remote!user@ours, "user@remote"@ours).
 * Sending it to our own domain's next hop would loop, so the runner bounces it (5.1.1). */
bool qrun_local_route_hack(const struct config *cfg, const char *addr);
/* Pure: has the entry outlived the lifetime at NOW? */
bool qrun_expired(const struct qentry *e, unsigned lifetime, int64_t now);

#endif
