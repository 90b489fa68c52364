/* queue_file: reading, updating, listing and removing entries of the durable outbound
 * queue (the on-disk format is described at the top of queue.c). The envelope text
 * parser and formatter are pure; the rest does the crash-safe file work
 * (tmp write, fsync, rename, directory fsync). Only the runner rewrites envelopes. */
#ifndef MS_QUEUE_FILE_H
#define MS_QUEUE_FILE_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define QUEUE_ID_MAX 64
#define QUEUE_DIR_MAX 2048     /* buffer size for a QDIR path (longer data_dir: error) */

enum qr_state { QR_PENDING = 0, QR_DONE = 1, QR_BOUNCED = 2 };

struct qrcpt {
    char *addr;             /* envelope recipient */
    enum qr_state state;
    unsigned attempts;      /* delivery attempts that ended in a temporary failure */
    int64_t next_try;       /* unix time; 0 = at once */
    char status[16];        /* last enhanced status, "4.4.1"; "" if none yet */
    char *remote;           /* last remote MTA that answered, "" if none */
    char *diag;             /* last error / diagnostic text, "" if none */
};

struct qentry {
    char id[QUEUE_ID_MAX];
    char *msgid;            /* the receiving session's message id */
    int64_t created;
    uint64_t size;          /* message bytes as stored (LF line endings) */
    char *sender;           /* "" for <> */
    int warned;             /* delay warning sent */
    struct qrcpt *rcpt;
    size_t nrcpt;
};

/* ---- pure ---- */
/* Parse envelope text; 0 or -1 (malformed). e must be zeroed; free with qentry_free. */
int qentry_parse(const char *text, size_t len, struct qentry *e);
/* Format; returns a malloc'd NUL-terminated text (length in *len) or NULL. */
char *qentry_format(const struct qentry *e, size_t *len);
void qentry_free(struct qentry *e);
/* Add a recipient (copies addr); 0 or -1. */
int qentry_add_rcpt(struct qentry *e, const char *addr);
/* Replace a recipient's diagnostic fields (copies; tabs and line breaks become spaces). */
void qrcpt_set_error(struct qrcpt *r, const char *status, const char *remote, const char *diag);
/* Is ID a safe queue id (1..63 chars of [A-Za-z0-9._-], not starting with '.')? */
int queue_id_valid(const char *id);

/* ---- files under QDIR (= DATA_DIR/queue) ---- */
/* QDIR of a data dir into out; -1 if it does not fit. */
int queue_dir(const char *data_dir, char *out, size_t len);
/* Create QDIR and its tmp/, msg/, env/ (0700). */
int queue_make_dirs(const char *qdir);
/* Write data to DIR/tmp/NAME, fsync, rename to DIR/SUB/FINAL, fsync DIR/SUB. */
int queue_write_atomic(const char *qdir, const char *sub, const char *final,
                       const void *data, size_t len);
int queue_read(const char *qdir, const char *id, struct qentry *e);
/* Rewrite the envelope atomically. */
int queue_update(const char *qdir, const struct qentry *e);
/* Remove an entry: envelope first (the commit point), then the message. */
int queue_remove(const char *qdir, const char *id);
/* The same without waiting for the disk: for many entries removed at once, followed by
 * one queue_sync_removed (a crash before it may bring envelopes back: delivered again,
 * never lost; a message file left without its envelope is an orphan queue_cleanup
 * removes). */
int queue_unlink(const char *qdir, const char *id);
int queue_sync_removed(const char *qdir);
/* Open the message file read-only; fd or -1. */
int queue_open_msg(const char *qdir, const char *id);
/* Ids of committed entries (those with an envelope), sorted; *ids malloc'd. */
int queue_list_ids(const char *qdir, char ***ids, size_t *n);
void queue_free_ids(char **ids, size_t n);
/* Remove tmp files and orphan messages (no envelope) not modified for max_age seconds.
 * Returns the number removed. */
int queue_cleanup(const char *qdir, time_t max_age);

#endif
