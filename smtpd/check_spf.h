/* check_spf: SPF (RFC 7208) of the MAIL FROM domain, the HELO name for <> (SPEC
 * "Anti-spam on an instance": [smtp NAME] spf = off|tag|reject). A blocking MAIL row
 * (checks.h): libspf2 evaluates the record and its DNS lookups wait, so it runs on a
 * worker, its lookups going through our resolver (spf_dns.h: dns_servers, dns_timeout).
 * tag: a Received-SPF: header; reject: also 550 5.7.23 on fail and 451 4.7.24 on
 * temperror (RFC 7372). Exempt clients (antispam.h) are not checked; --test-relay
 * (offline) does not look up. With spf = off and dmarc on, SPF is evaluated for DMARC
 * (check_dmarc.h) and reported in Authentication-Results: only. spf_decide is the pure part (tested). */
#ifndef MS_CHECK_SPF_H
#define MS_CHECK_SPF_H
#include <stddef.h>

#include "checks.h"

#define RULE_SPF "spf"

enum spf_result {
    SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR
};

/* The RFC 7208/8601 word of a result ("pass", "softfail"...). */
const char *spf_result_name(enum spf_result r);

/* What MODE makes of RESULT for DOMAIN: a REJECT (550 5.7.23) or TEMPFAIL (451 4.7.24)
 * with its text in text (size n; res.text points there), else ADD_HEADER with HEADER
 * (the Received-SPF: line, may be NULL: then CONTINUE). */
void spf_decide(enum authres_mode mode, enum spf_result result, const char *domain,
                const char *header, char *text, size_t n, struct check_verdict *v);

/* Does the row evaluate for this session (spf or dmarc on, not exempt, not offline)? */
bool check_spf_wanted(const struct check_run *run);
/* The row (blocking; waits: check_spf_wanted). */
enum check_status check_spf(struct check_run *run, struct check_verdict *v);

#endif
