/* check_dkim: DKIM verification of a received message (RFC 6376; rsa-sha256 and the
 * ed25519-sha256 of RFC 8463), SPEC "Anti-spam on an instance": [smtp NAME]
 * dkim_verify = yes reports every signature in the Authentication-Results: header
 * (authres.h); DMARC (check_dmarc.h) uses the passing ones. An end-of-data row,
 * blocking and waiting for the network: it runs on a worker (checks.h), reads the
 * spooled text and lets OpenDKIM's libopendkim verify it, the keys fetched through our
 * resolver (dns_sync_query: dns_servers and dns_timeout apply). It also runs when only
 * dmarc is on (DMARC needs its results). Exempt clients (antispam.h) are not checked.
 *
 * check_dkim_lib.c: the library glue over a key lookup hook (no DNS of its own, so it is
 * unit-tested and fuzzed with keys of the test's own) and the pure parts: the result of
 * a signature as RFC 8601 names it, and a key record out of a DNS answer. */
#ifndef MS_CHECK_DKIM_H
#define MS_CHECK_DKIM_H
#include <stdbool.h>
#include <stddef.h>

#include "checks.h"

#define RULE_DKIM "dkim"

/* RFC 8601 2.7.1 results of one signature. */
enum dkimv_result {
    DKIMV_NONE, DKIMV_PASS, DKIMV_FAIL, DKIMV_NEUTRAL, DKIMV_TEMPERROR, DKIMV_PERMERROR
};

#define DKIMV_SIGS_MAX 4               /* signatures reported per message */

struct dkimv_sig {
    enum dkimv_result result;
    char domain[254];                  /* d= (lower case) */
    char selector[64];                 /* s= */
    char b[9];                         /* the first 8 characters of b= (RFC 6008) */
    char why[48];                      /* a short reason for a non-pass, or "" */
};

/* The word of a result ("pass", "permerror"...). */
const char *dkimv_result_name(enum dkimv_result r);

/* A signature's result from libopendkim's facts: its DKIM_SIGERROR_* code, whether the
 * header signature verified (DKIM_SIGFLAG_PASSED) and the body hash matched, and
 * whether the key lookup failed for a temporary reason. Pure. */
enum dkimv_result dkimv_classify(int sigerror, bool passed, bool bh_match, bool key_tempfail);

/* The key record (RFC 6376 3.6.2.2: the character-strings of one TXT record joined) out
 * of a wire-format answer to a TXT query: 0 with out (size n) filled; 1 when there is
 * no TXT record; -1 when the answer is malformed or the record does not fit. Pure. */
int dkimv_key_txt(const unsigned char *pkt, size_t len, char *out, size_t n);

/* The key lookup: the TXT record of NAME ("SELECTOR._domainkey.DOMAIN") into out. */
enum dkimv_key { DKIMV_KEY_OK, DKIMV_KEY_NOTFOUND, DKIMV_KEY_TEMPFAIL, DKIMV_KEY_BAD };
typedef enum dkimv_key (*dkimv_keyfn)(void *ctx, const char *name, char *out, size_t n);

struct dkim_msg;
/* Verify every DKIM-Signature of MSG (dkim_sign.h: LF line ends) with libopendkim, the
 * keys from KEYFN: at most max results into out, *n their count (0: unsigned). 0, or -1
 * when the library failed (nothing known). Thread-safe. */
int dkimv_verify(const struct dkim_msg *msg, dkimv_keyfn keyfn, void *kctx,
                 struct dkimv_sig *out, size_t max, size_t *n);

/* Does the row verify for this session (dkim_verify or dmarc on, not exempt)? */
bool check_dkim_wanted(const struct check_run *run);
/* The row (blocking; waits: check_dkim_wanted). */
enum check_status check_dkim(struct check_run *run, struct check_verdict *v);

#endif
