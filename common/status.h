/* status: is the server healthy? What `userdb status` prints and what the queue
 * runner writes to [server] metrics_textfile for node_exporter's textfile collector.
 * status_gather reads the daemons' stats files (stats.h: pid, uptime, connections per
 * instance, deliveries and rejections of the last hour), the queue (size, the oldest
 * deferred message), the store (locked-out IPs, the health check) and tls_cert (its
 * expiry); status_judge (pure) turns that into a level, the exit code of the command
 * as a Nagios plugin would have it: 0 healthy, 1 degraded (a certificate expiring
 * within STATUS_CERT_WARN_DAYS, the queue runner down, the store check failing), 2
 * down (a daemon the config has instances for is not running or not answering, the
 * store cannot be opened, the certificate expired). The printers (status_fmt.c) are
 * pure: the few lines for the admin, and the Prometheus text exposition format. */
#ifndef MS_STATUS_H
#define MS_STATUS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "stats.h"
#include "store.h"

enum status_level { STATUS_OK = 0, STATUS_DEGRADED = 1, STATUS_DOWN = 2 };
enum { ST_SMTPD, ST_POP3D, ST_QUEUE, ST_NDAEMONS };

#define STATUS_CERT_WARN_DAYS 14
#define STATUS_STALE_INTERVALS 3     /* a file not rewritten for this many intervals */

struct status_daemon {
    const char *name;             /* "smtpd", "pop3d", "queue" */
    bool expected;                /* the config has instances for it */
    bool present;                 /* its stats file was read */
    bool alive;                   /* its pid runs (and it did not stop cleanly) */
    bool stale;                   /* alive, but the file is not being rewritten */
    struct stats_file f;
};

struct status {
    int64_t now;
    struct status_daemon d[ST_NDAEMONS];
    long queue_messages;          /* -1: could not be read */
    long queue_deferred;          /* entries with a recipient deferred at least once */
    int64_t oldest_deferred;      /* creation time of the oldest of those; 0 none */
    long lockouts;                /* locked-out client IPs; -1 unknown */
    int store_ok;                 /* 1 ok, 0 failed, -1 no store */
    char store_msg[160];
    bool cert_done;               /* status_read_cert ran */
    char cert_path[512];          /* "" when tls_cert is not set */
    int64_t cert_not_after;       /* 0 when unknown */
    char cert_err[160];
    enum status_level level;
    char why[512];                /* the reasons of a level above OK, "; " between */
};

/* Read the certificate's expiry (call as root before the privilege drop when the file
 * is root's; status_gather does it when it was not done). */
void status_read_cert(struct status *s, const char *path);
/* Everything else at NOW; ST may be NULL (the store could not be opened). */
void status_gather(struct status *s, const struct config *cfg, struct store *st, int64_t now);

/* ---- pure (status_fmt.c) ---- */
void status_judge(struct status *s);
/* The few lines for the admin. */
void status_print_text(FILE *out, const struct status *s);
/* Prometheus text exposition format (version 0.0.4): mailserver_* with HELP and TYPE. */
void status_print_prom(FILE *out, const struct status *s);
/* "3d4h", "2h5m", "12m30s", "45s" */
void status_age(int64_t secs, char *buf, size_t len);

/* Gather, judge and write the Prometheus text to PATH atomically (mode 0644, for
 * node_exporter): the queue runner's metrics_textfile. 0 or -1 (errno). */
int status_write_textfile(const char *path, const struct config *cfg, struct store *st);

#endif
