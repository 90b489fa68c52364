/* srs: the Sender Rewriting Scheme (SPEC.md "The outbound queue") in the format of
 * libsrs2, Mail::SRS and postsrsd, so that our addresses look like everyone's:
 *   SRS0=HHHH=TT=orig.domain=orig-local@our.domain          (first forward)
 *   SRS1=HHHH=first.domain==HHHH=TT=orig.domain=orig-local@our.domain
 *                                                           (forwarding an SRS address)
 * HHHH: the first 4 characters of base64(HMAC-SHA1(secret, lower-cased fields)),
 * compared case-insensitively; TT: the day number modulo 1024 in two base32 digits;
 * an SRS0 address is good for SRS_MAX_AGE_DAYS days.
 *
 * The encode/decode functions are pure (the caller passes the secret and the time) and
 * unit-tested with vectors computed independently; srs_secret() is the one I/O part:
 * the per-installation secret, DATA_DIR/srs_secret (32 random bytes), created 0600 with
 * O_NOFOLLOW|O_EXCL by the first daemon process that needs it and read once per
 * process. */
#ifndef MS_SRS_H
#define MS_SRS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRS_HASH_LEN      4
#define SRS_MAX_AGE_DAYS  21
#define SRS_SECRET_LEN    32
#define SRS_LOCAL_MAX     64      /* RFC 5321 local-part limit (our parser enforces it) */

enum srs_result {
    SRS_OK = 0,
    SRS_NOT_SRS,      /* the local part does not start with SRS0/SRS1 and a separator */
    SRS_BAD,          /* malformed, or the hash does not match: forged */
    SRS_EXPIRED,      /* SRS0 whose day stamp is older than SRS_MAX_AGE_DAYS */
    SRS_TOO_LONG,     /* the result would not fit (out, or a local part over 64) */
};

/* Does this local part start with "SRS0" or "SRS1" and a separator (= + -)? */
bool srs_is_srs(const char *local);

/* Rewrite the envelope SENDER ("local@domain") for forwarding by ALIAS_DOMAIN at unix
 * time NOW. A sender that is already SRS0/SRS1 becomes SRS1 (bounded length however
 * often it is forwarded). SRS_OK with out set, or SRS_BAD (no '@'), SRS_TOO_LONG. */
enum srs_result srs_forward(const unsigned char *key, size_t klen, const char *sender,
                            const char *alias_domain, int64_t now, char *out, size_t outlen);

/* Undo one level for a recipient at one of our domains, given its LOCAL part: SRS0 ->
 * the original "local@domain"; SRS1 -> the "SRS0=...@first.domain" it was made from
 * (which may be ours again: the caller decodes again). */
enum srs_result srs_reverse(const unsigned char *key, size_t klen, const char *local,
                            int64_t now, char *out, size_t outlen);

/* The secret of DATA_DIR (created on first use, see above), cached for the process.
 * NULL on error (errno set; logged by the caller). */
const unsigned char *srs_secret(const char *data_dir);

#endif
