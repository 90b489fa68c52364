/* dkim_hdr: the pure header work of DKIM signing (dkim_sign.h): which headers are
 * signed (the list the big providers expect, From twice against a second From added
 * in transit) and the signing domain, the domain of the message's From: address.
 * The text is untrusted (a client's message): bounded, no allocation; fuzzed. */
#ifndef MS_DKIM_HDR_H
#define MS_DKIM_HDR_H
#include <stddef.h>

/* The signed header fields, NULL-terminated, in libopendkim's option format; From is
 * also in dkim_oversign_headers (signed once more than it occurs). */
extern const char *const dkim_sign_headers[];
extern const char *const dkim_oversign_headers[];

/* The domain (lower case) of the address in the one From: field of the header section
 * at the start of TEXT (LF or CRLF line endings; it ends at the first empty line or at
 * LEN). 0 found; 1 when there is no From:, more than one From: field, or no usable
 * address in it (such a message is not signed); -1 when the domain does not fit. */
int dkim_from_domain(const char *text, size_t len, char *dom, size_t domlen);

#endif
