/* dkim_feed: giving a message to libopendkim, the one way both DKIM sides do it (the
 * signer, dkim_sign.c, and the verifier, check_dkim_lib.c): the header fields one by one
 * (dkim_header), then the end of the header (dkim_eoh) and the body (dkim_body). Not
 * dkim_chunk: its own header splitting aborts the process on an empty field (an
 * assertion, found by fuzz_dmarc). A field with a NUL, or longer than DKIM_FEED_FIELD_MAX,
 * is left out: libopendkim reads fields as C strings and copies a signature's tags past
 * a NUL (a heap overflow, found by fuzz_dmarc). A malformed field is left out too.
 * The text has LF line ends (the library's DKIM_LIBFLAGS_FIXCRLF makes them CRLF).
 * Result codes: libopendkim's DKIM_STAT (DKIM_STAT_OK; DKIM_STAT_NOSIG from the
 * verifier's end of header when the message is unsigned; the first failing status). */
#ifndef MS_DKIM_FEED_H
#define MS_DKIM_FEED_H
#include <opendkim/dkim.h>
#include <stdbool.h>
#include <stddef.h>

#define DKIM_FEED_FIELD_MAX 65536      /* one header field, folded lines included */

struct dkim_msg;

/* One message being fed to one DKIM handle. */
struct dkim_feed {
    DKIM *d;
    char *f;                           /* the field being collected (DKIM_FEED_FIELD_MAX) */
    size_t n;
    bool bol, body, skip;              /* at a line start; in the body; field left out */
};

/* Start feeding D. DKIM_STAT_OK or DKIM_STAT_NORESOURCE. */
DKIM_STAT dkim_feed_init(struct dkim_feed *fd, DKIM *d);
/* The next LEN octets of the message. */
DKIM_STAT dkim_feed_bytes(struct dkim_feed *fd, const char *buf, size_t len);
/* The message is complete: the end of the header if no body came (the caller then calls
 * dkim_eom). */
DKIM_STAT dkim_feed_end(struct dkim_feed *fd);
/* Release FD (not the handle). */
void dkim_feed_free(struct dkim_feed *fd);

/* The whole of MSG to D, stopping at the first status that is not DKIM_STAT_OK (NOSIG:
 * unsigned, the body is not read); DKIM_STAT_INTERNAL when MSG cannot be read. */
DKIM_STAT dkim_feed_msg(DKIM *d, const struct dkim_msg *msg);

#endif
