/* dkim_canon: DKIM "relaxed" canonicalization (RFC 6376 3.4.2, 3.4.4) and the header
 * selection of 5.4.2, for the ed25519-sha256 signature that dkim_sign.c makes with
 * OpenSSL itself: libopendkim 2.11.0~beta2 (Debian 12) signs Ed25519 but leaks the key
 * (about 1.3 KB) on every such signature, which a daemon cannot afford; its RSA
 * signatures are used as they are. Pure: text in, canonical text out through a sink.
 * Input is the stored text (LF or CRLF line endings); output has CRLF. */
#ifndef MS_DKIM_CANON_H
#define MS_DKIM_CANON_H
#include <stdbool.h>
#include <stddef.h>

typedef void (*dkim_sink)(void *ctx, const char *data, size_t len);

/* The body, streamed: WSP runs become one SP, WSP at line ends goes, empty lines at the
 * end go, every line ends in CRLF. */
struct dkim_body {
    dkim_sink out;
    void *ctx;
    size_t blank;          /* empty lines held back (dropped if nothing follows) */
    bool wsp;              /* WSP held back (dropped at the end of the line) */
    bool text;             /* the current line has text */
    bool cr;               /* a CR held back (part of CRLF, or text) */
};
void dkim_body_init(struct dkim_body *b, dkim_sink out, void *ctx);
void dkim_body_feed(struct dkim_body *b, const char *p, size_t n);
void dkim_body_end(struct dkim_body *b);

/* One header field (name, colon, value, folded lines; without the final line end)
 * canonicalized: "name:value" in lower-case name, unfolded, WSP runs one SP, no WSP
 * around the colon or at the end; then CRLF when crlf. */
void dkim_header_canon(const char *f, size_t n, bool crlf, dkim_sink out, void *ctx);

/* The header fields of a header section (up to the empty line, or all of LEN). */
struct dkim_field {
    const char *p;
    size_t len;            /* without the final line end */
};
/* Split the header section at the start of TEXT into at most MAX fields; the count, or
 * -1 when there are more or the section does not end within LEN. *hlen: the section's
 * length with the empty line. */
int dkim_fields(const char *text, size_t len, struct dkim_field *f, size_t max, size_t *hlen);
/* RFC 6376 5.4.2: for each name of NAMES (NULL-terminated), the fields of that name
 * from the bottom up, each once; a name with no field left selects nothing (so a
 * name listed once more than it occurs oversigns it). sel[i]: index into F or -1.
 * NAMES built by dkim_h_list. */
void dkim_select(const struct dkim_field *f, size_t nf, const char *const *names, int *sel);
/* The h= list for the fields F: each name of SIGN as often as it occurs, then each of
 * OVERSIGN once more; into names (at most max-1 and a NULL). The count. */
size_t dkim_h_list(const struct dkim_field *f, size_t nf, const char *const *sign,
                   const char *const *oversign, const char **names, size_t max);

#endif
