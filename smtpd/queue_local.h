/* queue_local: hand a message from the queue runner to a local recipient: the
 * recipient is resolved like an SMTP RCPT (users, aliases, postmaster; policy.h) and
 * the message is stored with deliver.h (Maildir with "Return-Path:", or back into the
 * queue for an alias that points outside, with an SRS envelope sender (srs.h) unless
 * the sender is <> or local; a message over max_hops is refused 554 5.4.6 there instead).
 * Used for bounces (DSNs) to local senders, for any queued recipient in a local
 * domain, and for our own bounces to our SRS addresses (sent on to the original
 * sender). */
#ifndef MS_QUEUE_LOCAL_H
#define MS_QUEUE_LOCAL_H
#include <stddef.h>

#include "config.h"
#include "store.h"

/* Result codes (0 success, negative error, positive a named outcome). */
enum {
    QLOCAL_OK = 0,           /* delivered */
    QLOCAL_REFUSED = 1,      /* permanent failure: bounce (err says why, "550 5.1.1 ...") */
    QLOCAL_TEMPFAIL = -1,    /* temporary failure: retry later (err says why) */
};

/* Deliver the message bytes buf (LF line ends) from SENDER ("" for <>) to RCPT. ST may be
 * NULL (then the address is only canonicalised: no alias lookup). QLOCAL_*. */
int qlocal_deliver(const struct config *cfg, struct store *st, const char *msgid,
                   const char *sender, const char *rcpt, const char *buf, size_t len,
                   char *err, size_t errlen);

#endif
