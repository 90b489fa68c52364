/* mailbox: a Maildir as POP3 sees it (pure file handling, no protocol).
 * Open takes an exclusive flock on DIR/pop3d.lock (one session per mailbox, across
 * processes), moves new/ messages to cur/ with ":2,", lists them oldest first with
 * their wire sizes (CRLF) and UIDLs. Deletions are only marks until mailbox_commit;
 * closing without a commit (or a crash) deletes nothing. The stream converter turns
 * stored LF text into the dot-stuffed CRLF wire form for RETR/TOP, chunk by chunk. */
#ifndef MS_MAILBOX_H
#define MS_MAILBOX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { MBOX_OK = 0, MBOX_LOCKED = 1, MBOX_ERROR = -1 };

#define MBOX_UIDL_MAX 70

struct mbox_msg {
    char *name;                      /* file name in cur/ */
    char uidl[MBOX_UIDL_MAX + 1];
    uint64_t size;                   /* octets on the wire, CRLF line endings */
    int64_t sec;                     /* sort key: seconds.microseconds of the name */
    long usec;
    bool deleted;
};

struct mailbox;

/* Lock and scan the Maildir at PATH (created if missing). MBOX_LOCKED when another
 * session holds it; MBOX_ERROR (errno kept, if any) otherwise. */
int mailbox_open(const char *path, struct mailbox **out);
/* Release the lock and free; deletes nothing. NULL is fine. */
void mailbox_close(struct mailbox *mb);

size_t mailbox_count(const struct mailbox *mb);            /* all, deleted included */
/* Message N (1-based), NULL if out of range. Deleted messages are returned too. */
const struct mbox_msg *mailbox_msg(const struct mailbox *mb, size_t n);
/* Not deleted: count and total size. */
void mailbox_stat(const struct mailbox *mb, size_t *count, uint64_t *octets);
/* Mark N deleted: MBOX_OK, or MBOX_ERROR if out of range or already deleted. */
int mailbox_delete(struct mailbox *mb, size_t n);
void mailbox_undelete_all(struct mailbox *mb);
/* Remove the marked messages from the maildrop: rename them into DIR/trash/ (unlink
 * where that fails), then fsync cur/. Returns how many could not be removed (0 on
 * full success). Call mailbox_trash_purge afterwards to free the space. */
size_t mailbox_commit(struct mailbox *mb);
/* Unlink everything in PATH/trash/ (no lock needed: only removed messages are there).
 * Returns how many could not be unlinked, or -1 if trash/ cannot be read. */
long mailbox_trash_purge(const char *path);
/* The Maildir path the mailbox was opened with. */
const char *mailbox_path(const struct mailbox *mb);
/* Open message N for reading (O_RDONLY); -1 on error. */
int mailbox_open_msg(const struct mailbox *mb, size_t n);

/* ---- pure helpers (exposed for tests) ---- */
/* UIDL for a Maildir file name: the unique part (before ':') when it is 1-70
 * characters of 0x21-0x7E, else 32 hex digits of a hash of it. */
void mailbox_uidl(const char *name, char out[MBOX_UIDL_MAX + 1]);
/* Sort key from the name's "SECONDS.MICROSECONDS" or Dovecot "SECONDS.M<usec>" prefix;
 * false if the name has no leading number. */
bool mailbox_name_time(const char *name, int64_t *sec, long *usec);
/* The ",W=<n>" wire size carried by the name, if any. */
bool mailbox_name_wsize(const char *name, uint64_t *size);
/* Wire size of a stored text: bytes + LFs not preceded by CR (prev_cr carries state
 * between chunks; start with false). */
uint64_t mailbox_wire_size(const char *buf, size_t len, bool *prev_cr);

/* Stored LF text -> CRLF, dot-stuffed. For TOP, body_lines >= 0 stops after the
 * header, the blank line and that many body lines; -1 for the whole message. */
struct mbox_conv {
    bool bol;            /* at the beginning of a line */
    bool prev_cr;        /* last input octet was CR */
    bool in_body;
    size_t line_len;     /* octets of the current line so far (CR included) */
    long body_left;      /* body lines still to send; -1 unlimited */
    bool done;           /* limit reached: ignore further input */
};
void mbox_conv_init(struct mbox_conv *cv, long body_lines);
/* Convert input into out (outcap >= 2 is enough for progress). Returns octets
 * written; *used is set to the input octets consumed. */
size_t mbox_conv_run(struct mbox_conv *cv, const char *in, size_t inlen, size_t *used,
                     char *out, size_t outcap);
/* The end of a multi-line reply: CRLF if the text did not end a line, then ".\r\n".
 * out needs 5 octets; returns octets written. */
size_t mbox_conv_finish(const struct mbox_conv *cv, char *out);

#endif
