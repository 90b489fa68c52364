/* mtasts_parse: the pure parts of MTA-STS (RFC 8461): the `_mta-sts` TXT record
 * (section 3.1) and the policy file (section 3.2). No I/O: the lookup, fetch and cache
 * are mtasts.c's. Fuzzed (tests/fuzz/fuzz_mtasts.c).
 *
 * Result codes: 0 success, negative error, positive a named outcome. */
#ifndef MS_MTASTS_PARSE_H
#define MS_MTASTS_PARSE_H
#include <stddef.h>

#include "tls_policy.h"

#define MTASTS_ID_MAX 33            /* 1*32 alphanumerics and the NUL */
#define MTASTS_MAX_AGE_MAX 31557600 /* RFC 8461 3.2: at most a year */
#define MTASTS_POLICY_MAX 65536     /* a larger policy file is refused */

enum mtasts_mode { MTASTS_NONE = 0, MTASTS_TESTING = 1, MTASTS_ENFORCE = 2 };

struct mtasts_policy {
    enum mtasts_mode mode;
    unsigned long max_age;                /* seconds */
    size_t nmx;                           /* mx patterns kept (at most TLSP_MX_MAX) */
    char mx[TLSP_MX_MAX][TLSP_NAME_MAX];
};

/* One TXT record's text (its strings joined): 0 with the id (size >= MTASTS_ID_MAX),
 * 1 when it is not an MTA-STS record (does not start with v=STSv1), -1 malformed. */
int mtasts_txt_parse(const char *txt, char *id, size_t idlen);
/* The policy file (LEN octets, not NUL-terminated): 0 with *p, -1 when it is not a
 * valid policy (version STSv1, a mode, max_age, and an mx line unless mode none). */
int mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *p);
/* What the policy asks of a delivery to DOMAIN, as the seam's struct. */
void mtasts_to_tls_policy(const struct mtasts_policy *p, const char *domain,
                          struct tls_policy *out);
const char *mtasts_mode_name(enum mtasts_mode m);   /* "none", "testing", "enforce" */

#endif
