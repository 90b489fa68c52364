/* dkim_sign: DKIM signatures (RFC 6376, c=relaxed/relaxed; rsa-sha256, and
 * ed25519-sha256 of RFC 8463 as a second signature where the domain has such a key)
 * with OpenSSL over our canonicalization (dkim_canon.h), over the keys of dkim_keys.h.
 * SPEC.md "Signing and publishing (outbound)". Slow (a file read, RSA): call it on a
 * worker thread, never on an event loop. Keys are read and parsed once per process
 * and cached per domain; a domain's keys are read again when its key directory changes
 * (userdb dkim add/del write there), so no SIGHUP is needed. Thread-safe.
 * Result codes (0 success, negative error, positive a named outcome): DKIMS_SIGNED 0,
 * DKIMS_NOKEY 1 (the domain has no key, or the message no From: domain), -1 error. */
#ifndef MS_DKIM_SIGN_H
#define MS_DKIM_SIGN_H
#include <stddef.h>
#include <sys/types.h>

enum { DKIMS_SIGNED = 0, DKIMS_NOKEY = 1 };

/* The message text (LF line endings): LEN octets at OFF of FD, or BUF when not NULL. */
struct dkim_msg {
    int fd;
    off_t off;
    const char *buf;
    size_t len;
};

/* Up to LEN octets of MSG at POS into BUF: the count (0 past the end), or -1. */
ssize_t dkim_msg_read(const struct dkim_msg *m, size_t pos, char *buf, size_t len);

/* Sign MSG for DOMAIN, or (DOMAIN NULL) for its From: domain, with every key the domain
 * has under DATA_DIR. *hdrs: the DKIM-Signature fields (LF endings, folded) to put
 * above the message's headers, malloc'd, *hlen its length. */
int dkim_sign_msg(const char *data_dir, const char *domain, const struct dkim_msg *msg,
                  char **hdrs, size_t *hlen);

#endif
