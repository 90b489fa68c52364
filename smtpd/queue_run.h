/* queue_run: one pass of the queue runner over DATA_DIR/queue: pick the due recipients,
 * group them by next hop, deliver (one connection per hop, reused with RSET for several
 * messages), record each result in the envelope, bounce (RFC 3464, never to <>) what
 * failed permanently or outlived queue_lifetime, warn once about long delays, and remove
 * entries whose recipients are all done or bounced. */
#ifndef MS_QUEUE_RUN_H
#define MS_QUEUE_RUN_H
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "queue_file.h"

typedef struct ssl_ctx_st SSL_CTX;
struct store;

#define QRUN_MAX_BACKOFF 14400     /* retry interval cap, seconds (never below queue_retry) */
#define QRUN_DELAY_WARN  14400     /* delay warning after this many seconds in the queue */
#define QRUN_BATCH       200       /* entries per pass */

struct qrun {
    const struct config *cfg;
    char qdir[QUEUE_DIR_MAX];
    SSL_CTX *tls;                  /* client context for STARTTLS, may be NULL */
    struct store *st;              /* for local delivery of bounces; may be NULL */
    bool flush;                    /* treat every pending recipient as due */
};

/* One pass at time NOW. Returns the unix time of the next due attempt, or 0 if nothing
 * is pending. */
int64_t qrun_pass(struct qrun *q, int64_t now);

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
