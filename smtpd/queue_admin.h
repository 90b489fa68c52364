/* queue_admin: `smtpd -c FILE --queue list|flush`, the admin's view of the outbound
 * queue. Started as root it first drops to run_as_user (privdrop_admin), so nothing
 * under data_dir is opened, created or signalled with root's rights. list: one line
 * per entry (id, age, size, sender, each recipient with its state, the last error).
 * flush: makes every deferred recipient due now by creating DATA_DIR/queue/flush
 * (O_EXCL|O_NOFOLLOW; the runner watches the directory) and sending SIGUSR1 to the
 * runner whose pid is in DATA_DIR/queue/runner.pid; without a running runner the
 * flush happens at its start. Read-only on the envelopes: only the runner rewrites
 * them. */
#ifndef MS_QUEUE_ADMIN_H
#define MS_QUEUE_ADMIN_H
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queue_file.h"

/* Exit code: 0, 1 on error, 2 on a usage error. */
int queue_admin_main(int argc, char **argv, const struct config *cfg);

/* Pure: the listing line of one entry at NOW (no newline). */
void queue_admin_line(const struct qentry *e, int64_t now, char *buf, size_t len);
/* Pure: "45s", "12m", "3h", "2d". */
void queue_admin_age(int64_t secs, char *buf, size_t len);

#endif
