/* queue: the durable outbound queue under DATA_DIR/queue (SPEC.md: relayed mail is
 * durable before the 250). The runner that delivers it lives in smtpd/ (queue_run.h).
 * Result codes (0 success, negative error, positive a named outcome): 0, or -1 with
 * errno. */
#ifndef MS_QUEUE_H
#define MS_QUEUE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* Copy bytes [offset, offset+len) of fd (the message with LF line endings, Received:
 * header included, no Return-Path) into a new queue entry for SENDER ("" for <>) and
 * RCPTS, durably (fsync of file and directory) before returning 0; -1 on error (logged,
 * errno kept: ENOSPC means the disk is full). ID is the session's message id. */
int queue_enqueue(const struct config *cfg, const char *id, const char *sender,
                  char *const *rcpts, size_t nrcpt, int fd, off_t offset, size_t len);

#endif
