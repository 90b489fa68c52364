/* received: the Received: trace header smtpd prepends to every message (RFC 5321
 * 4.4, protocol names of RFC 3848, over TLS a comment naming the protocol version and
 * cipher as RFC 8314 4.3 asks, in Postfix's words). Pure formatting, no I/O, so it is
 * unit-tested:
 *   Received: from HELO (RDNS [IP])\n
 *   \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\n      (over TLS only)
 *   \tby HOST with PROTO id ID\n\tfor <RCPT>; DATE\n */
#ifndef MS_RECEIVED_H
#define MS_RECEIVED_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct received_info {
    const char *helo;       /* as the client sent it; NULL or "" if none */
    const char *rdns;       /* NULL: "unknown" (we do no DNS lookups on the event loop) */
    const char *ip;         /* "192.0.2.1" or "2001:db8::1" */
    const char *hostname;   /* our name */
    bool esmtp;             /* EHLO (else HELO) */
    bool tls;
    const char *tls_info;   /* with tls: conn_tls_info(), "VERSION:CIPHER"; anything
                             * else (NULL, "TLS") gives "(using TLS)" */
    bool auth;
    const char *id;         /* queue id */
    const char *rcpt;       /* the one recipient, or NULL when there are several */
    time_t when;
};

/* RFC 3848 name: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA. */
const char *received_proto(bool esmtp, bool tls, bool auth);
/* RFC 5322 date-time in local time, e.g. "Tue, 01 Jul 2003 10:52:37 +0200". -1 if it
 * does not fit. */
int received_date(time_t t, char *out, size_t len);
/* The whole header with LF line endings, folded; returns its length, or -1 if it does
 * not fit in len. Characters of the HELO name (and of the TLS parameters) that would
 * break the header (controls, spaces, parentheses, backslash, 8-bit) are replaced by
 * '?'; the HELO name is cut at 255. */
int received_format(const struct received_info *ri, char *out, size_t len);

/* Mail loops (SPEC.md "SMTP", max_hops): counting the "Received:" lines of a message's
 * header section (LF line ends; the name case-insensitive, blanks allowed before the
 * colon; continuation lines and the body do not count). Incremental, so DATA can feed
 * the text as it comes; chunk boundaries may fall anywhere. */
struct hopcount {
    unsigned count;
    unsigned char st;       /* internal state */
    unsigned char pos;      /* characters of "received" matched */
};
void hopcount_init(struct hopcount *h);
void hopcount_feed(struct hopcount *h, const char *buf, size_t len);
/* The same over a whole message (or its first part). */
unsigned received_count(const char *msg, size_t len);

#endif
