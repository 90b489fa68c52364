/* stats: the daemons' activity counters for `userdb status` and the Prometheus
 * textfile (status.h). Where an event happens one call counts it (stats_count: one
 * relaxed atomic add, nothing else on the hot path). Every few seconds, and at exit,
 * a timer of the process (server.c's main loop; the queue runner's own loop) takes a
 * snapshot (stats_publish): the totals since start, the counts of the last hour (a
 * ring of 60 per-minute snapshots of the totals: last hour = now - the snapshot of an
 * hour ago) and the live connections per instance, written as a small text file
 * DATA_DIR/run/DAEMON.stats (tmp file, then rename: a reader never sees half of it).
 * The ring, the file's format and its parser are pure (unit test_stats).
 * Result codes: 0 success, -1 error (errno kept). */
#ifndef MS_STATS_H
#define MS_STATS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_VERSION "1.0"

enum stat_id {
    STAT_DELIVER_LOCAL,           /* smtpd: recipients delivered to a Maildir */
    STAT_RELAY_QUEUED,            /* smtpd: recipients queued for relaying */
    STAT_QUEUE_DELIVERED,         /* runner: recipients delivered from the queue */
    STAT_QUEUE_BOUNCED,           /* runner: recipients bounced */
    STAT_QUEUE_DEFERRED,          /* runner: delivery attempts deferred (4xx, no answer) */
    STAT_POP3_LOGIN,              /* pop3d: successful logins */
    STAT_REJ_RELAY,               /* rejections by reason class: relay denied */
    STAT_REJ_AUTH,                /* failed logins (SMTP AUTH, POP3) */
    STAT_REJ_DNSBL,
    STAT_REJ_GREYLIST,
    STAT_REJ_SPF_DMARC,
    STAT_REJ_CONTENT,             /* the content filter */
    STAT_REJ_OTHER,
    STAT_N,
    STAT_NONE = STAT_N            /* stats_count ignores it */
};
#define STAT_REJ_FIRST STAT_REJ_RELAY

/* Count one event (any thread; async-signal-safe). */
void stats_count(enum stat_id id);
void stats_add(enum stat_id id, uint64_t n);
/* Zero the counters (the queue runner after its fork: the parent's are not its own). */
void stats_reset(void);
/* The counter's name in the stats file and the label value in Prometheus
 * ("deliver_local", "rejected_relay"...); NULL for an unknown id. */
const char *stats_name(enum stat_id id);
/* The id of a name, or STAT_NONE. */
enum stat_id stats_id(const char *name);

/* ---- pure: the last hour from per-minute snapshots of the totals ---- */
#define STATS_RING_MIN 60
struct stats_ring {
    int64_t minute[STATS_RING_MIN + 1];   /* unix minute of the snapshot; -1 none */
    uint64_t snap[STATS_RING_MIN + 1][STAT_N];
};
void stats_ring_init(struct stats_ring *r);
/* Record TOTALS as the snapshot of NOW's minute unless that minute has one. */
void stats_ring_note(struct stats_ring *r, int64_t now, const uint64_t *totals);
/* The counts of the last hour at NOW: TOTALS minus the oldest snapshot not older than
 * an hour (TOTALS themselves when there is none, e.g. in the first minute). */
void stats_ring_hour(const struct stats_ring *r, int64_t now, const uint64_t *totals,
                     uint64_t *out);

/* ---- pure: the file DATA_DIR/run/DAEMON.stats ---- */
#define STATS_CONN_MAX 64
#define STATS_NAME_MAX 64
struct stats_file {
    char daemon[16];              /* "smtpd", "pop3d", "queue" */
    long pid;
    char version[32];
    int64_t started, written;
    int64_t stopped;              /* 0 while running; the time of a clean exit */
    unsigned interval;            /* seconds between writes */
    size_t nconn;
    struct { char name[STATS_NAME_MAX]; unsigned n; } conn[STATS_CONN_MAX];
    uint64_t total[STAT_N], hour[STAT_N];
};
/* The text (NUL-terminated) into buf; its length, or -1 when it does not fit. */
int stats_format(const struct stats_file *f, char *buf, size_t len);
/* Parse the text; unknown lines are skipped (a newer writer). 0, or -1 when it is
 * not a stats file. */
int stats_parse(const char *text, struct stats_file *out);

/* ---- I/O ---- */
#define STATS_INTERVAL 5          /* seconds between snapshots */
/* The path DATA_DIR/run/DAEMON.stats into out; -1 when it does not fit. */
int stats_path(const char *data_dir, const char *daemon, char *out, size_t len);
/* Begin counting for DAEMON (at the start of the process: the ring's first snapshot). */
void stats_begin(const char *daemon, int64_t now);
/* Snapshot now and write the file (DATA_DIR/run made 0700 if missing); CONN: the
 * live connections of NCONN instances; STOPPED: the last write of a clean exit. */
int stats_publish(const char *data_dir, const char *const *names, const unsigned *conn,
                  size_t nconn, bool stopped);
/* Write TEXT (len bytes) to PATH through PATH.tmp and a rename, file mode MODE. */
int stats_write_atomic(const char *path, const char *text, size_t len, unsigned mode);

#endif
