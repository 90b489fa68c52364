/* mailstore: where local mail lives, behind one header. smtpd delivers through the
 * mstore_tx calls, pop3d reads through the mailbox calls; only the implementation
 * (mailstore_maildir.c: Maildirs under DATA_DIR/mail, LF line endings, names from
 * maildir.h) knows paths and file names. Another store, or an IMAP daemon, plugs in here.
 * Result codes (0 success, negative error, positive a named outcome): MBOX_OK 0,
 * MBOX_LOCKED 1, MBOX_ERROR -1 (errno kept) for mailbox_open and mailbox_delete; 0 or
 * -1 with errno for the rest, but for the counts of mailbox_commit and
 * mailbox_trash_purge (how many could not be removed). */
#ifndef MS_MAILSTORE_H
#define MS_MAILSTORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- delivery: one message into N mailboxes, durable before the SMTP 250 ---- */

struct mstore_tx;

/* Start a message: a new temporary file in FIRST's mailbox (placing it there is then a
 * rename), or in DATA_DIR/spool when FIRST is NULL (all recipients relayed). Directories
 * are made only when missing. ID names the message in logs. NULL on error (errno set). */
struct mstore_tx *mstore_tx_begin(const char *data_dir, const char *hostname, const char *id,
                                  const char *first);
/* The file to write the message to (LF line endings). */
int mstore_tx_fd(const struct mstore_tx *tx);
/* Insert LEN octets of TEXT at offset AT of the file (a header field above the others,
 * e.g. a DKIM signature): what follows moves down. 0, or -1 with errno (the file is then
 * unusable: end the transaction). */
int mstore_tx_insert(struct mstore_tx *tx, uint64_t at, const char *text, size_t len);
/* Remove LEN octets at offset AT of the file (a header field that must go, e.g. a forged
 * Authentication-Results:): what follows moves up. 0, or -1 with errno (the file is then
 * unusable: end the transaction). */
int mstore_tx_remove(struct mstore_tx *tx, uint64_t at, uint64_t len);
/* fsync the file of SIZE octets (WIRE with CRLF), put it into every mailbox of ADDRS
 * (canonical addresses; repeats skipped; one file hard-linked to all) and fsync each
 * directory entry (concurrent deliveries share one directory fsync). 0, or -1 with
 * errno set and nothing placed kept. */
int mstore_tx_deliver(struct mstore_tx *tx, char *const *addrs, size_t n, uint64_t size,
                      uint64_t wire);
/* The message's unique name in the store ("" before mstore_tx_deliver). */
const char *mstore_tx_name(const struct mstore_tx *tx);
/* Take back what mstore_tx_deliver placed (a later step of the delivery failed). */
void mstore_tx_undo(struct mstore_tx *tx);
/* Close, remove the temporary file unless delivered, free. NULL is fine. */
void mstore_tx_end(struct mstore_tx *tx);
/* Remove temporary files left in DATA_DIR/spool by processes that no longer run. */
void mstore_clean_spool(const char *data_dir);

/* ---- reading: one POP3 session on a mailbox ---- */

enum { MBOX_OK = 0, MBOX_LOCKED = 1, MBOX_ERROR = -1 };

#define MBOX_UIDL_MAX 70

struct mbox_msg {
    char uidl[MBOX_UIDL_MAX + 1];    /* unique and stable across sessions */
    uint64_t size;                   /* octets on the wire, CRLF line endings */
    bool deleted;                    /* marked; removed only by mailbox_commit */
};

struct mailbox;

/* Lock ADDRESS's mailbox (created if missing) for this session: one session per mailbox
 * across processes; new mail is taken in and listed oldest first. MBOX_LOCKED when
 * another session holds it; MBOX_ERROR otherwise. */
int mailbox_open(const char *data_dir, const char *address, struct mailbox **out);
/* Release the lock and free; deletes nothing. NULL is fine. */
void mailbox_close(struct mailbox *mb);

size_t mailbox_count(const struct mailbox *mb);            /* all, deleted included */
/* Message N (1-based), NULL if out of range. Deleted messages are returned too. */
const struct mbox_msg *mailbox_msg(const struct mailbox *mb, size_t n);
/* Not deleted: count and total size. */
void mailbox_stat(const struct mailbox *mb, size_t *count, uint64_t *octets);
/* Open message N for reading its stored text (LF line endings); -1 on error. */
int mailbox_open_msg(const struct mailbox *mb, size_t n);
/* Mark N deleted: MBOX_OK, or MBOX_ERROR if out of range or already deleted. */
int mailbox_delete(struct mailbox *mb, size_t n);
void mailbox_undelete_all(struct mailbox *mb);
/* Remove the marked messages, durably. Returns how many could not be removed (0 on
 * full success). Closing without a commit (or a crash) deletes nothing. The space may
 * be freed only by mailbox_trash_purge, which can run after the reply. */
size_t mailbox_commit(struct mailbox *mb);
/* Where the mailbox is, as a string for mailbox_trash_purge (valid until close). */
const char *mailbox_path(const struct mailbox *mb);
/* Free the space of committed deletions at PATH (no lock needed). Returns how many
 * could not be freed, or -1 on error. */
long mailbox_trash_purge(const char *path);

#endif
