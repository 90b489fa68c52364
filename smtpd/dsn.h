/* dsn: RFC 3464 delivery status notifications (bounces and delay warnings) as sent
 * by the queue runner: multipart/report with a readable text part, a
 * message/delivery-status part and the original headers (text/rfc822-headers).
 * From: MAILER-DAEMON@hostname; the caller sends it with the null sender <>.
 * Pure: builds text (LF line endings) from the facts given. */
#ifndef MS_DSN_H
#define MS_DSN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dsn_rcpt {
    const char *addr;      /* final recipient */
    const char *status;    /* "5.1.1" ("" -> 5.0.0 / 4.0.0) */
    const char *remote;    /* remote MTA that answered, "" if none */
    const char *diag;      /* the remote reply ("550 5.1.1 ...") or our own error text */
};

struct dsn_info {
    const char *hostname;  /* reporting MTA */
    const char *queue_id;
    const char *sender;    /* envelope sender of the original (the DSN goes there) */
    int64_t arrival;       /* unix time the original was queued */
    int64_t now;
    bool delayed;          /* a delay warning, not a failure */
    int64_t retry_until;   /* for delay warnings */
    const struct dsn_rcpt *rcpt;
    size_t nrcpt;
    const char *headers;   /* the original message's header section (LF endings) */
    size_t hlen;
};

/* RFC 5322 date of t ("Mon, 02 Jan 2006 15:04:05 +0000"). */
void dsn_date(int64_t t, char *buf, size_t len);
/* The whole DSN message; malloc'd, *len set; NULL on allocation failure. */
char *dsn_build(const struct dsn_info *d, size_t *len);

#endif
