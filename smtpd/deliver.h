/* deliver: durable storage of one received message (SPEC.md "SMTP": durable before
 * the 250). During DATA the message (LF line endings, "Return-Path:" then Received:
 * first) goes, buffered, to the mail store's temporary file (mailstore.h: in the first
 * local recipient's mailbox, or DATA_DIR/spool/ when every recipient is relayed).
 * deliver_commit (run on a worker thread) has the store deliver it to every local
 * recipient durably, hands relayed recipients to the queue (without the Return-Path
 * line), and on any failure takes back everything it made: nothing is kept unless all
 * of it is durable. */
#ifndef MS_DELIVER_H
#define MS_DELIVER_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct spool;

/* The queue hand-off (queue.h's queue_enqueue has this type). */
typedef int (*deliver_enqueue_fn)(const struct config *cfg, const char *id, const char *sender,
                                  char *const *rcpts, size_t nrcpt, int fd, off_t offset,
                                  size_t len);

/* Start a spool file for message ID from SENDER ("" for <>). first_local: the canonical
 * address of the first local recipient, or NULL. Writes the Return-Path line.
 * NULL on error (errno set). */
struct spool *spool_open(const struct config *cfg, const char *id, const char *sender,
                         const char *first_local);
/* Append message bytes (buffered). Errors are sticky: -1 from then on. */
int spool_write(struct spool *sp, const void *data, size_t len);
/* errno of the first failure, 0 if none. */
int spool_error(const struct spool *sp);
/* Octets of message (Received: and what follows, not the Return-Path line) so far. */
size_t spool_msg_size(const struct spool *sp);
/* Drop the message: close, remove the spool file, free. NULL is fine. */
void spool_discard(struct spool *sp);

/* Put LEN octets of header fields (LF line ends) at the top of the spooled message,
 * below the Return-Path line (the end-of-data checks' headers, a DKIM signature). On a
 * worker. 0, or -1 with errno when the spool file could not be rewritten (discard it). */
int spool_prepend(struct spool *sp, const char *text, size_t len);

/* The first octets of the message (after the Return-Path line) into buf: how many (at
 * most n), or -1 with errno. On a worker. */
long spool_read_head(struct spool *sp, char *buf, size_t n);
/* Remove LEN octets at offset AT of the message (as spool_read_head counts). On a
 * worker. 0, or -1 with errno when the spool file could not be rewritten (discard it). */
int spool_remove(struct spool *sp, size_t at, size_t len);

/* DKIM-sign the spooled message for its From: domain when that has keys (dkim_sign.h;
 * on a worker thread): the DKIM-Signature fields go above the Received: line. 0 signed
 * or signing failed (logged; the message goes unsigned), 1 no key, -1 with errno when
 * the spool file could not be rewritten (the message is lost: discard it). */
int spool_sign(struct spool *sp);
/* The message text for a scanner: flush, then *fd, *off (after Return-Path) and *len.
 * 0, or -1 with errno (the spool's sticky error). */
int spool_text(struct spool *sp, int *fd, off_t *off, size_t *len);

/* Make the message durable for its recipients (canonical local addresses, relayed
 * addresses), see above. Always consumes sp. 0, or -1 with errno set (ENOSPC when the
 * disk is full) and nothing kept. The store's name for it is written to name if not NULL. */
int deliver_commit(struct spool *sp, char *const *local, size_t nlocal, char *const *relay,
                   size_t nrelay, deliver_enqueue_fn enqueue, char *name, size_t namelen);

#endif
