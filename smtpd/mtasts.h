/* mtasts: MTA-STS for the queue (RFC 8461; SPEC "Signing and publishing (outbound)"):
 * which TLS a delivery to a recipient domain must have. On a delivery thread (it
 * blocks): the `_mta-sts.DOMAIN` TXT record through our resolver (dns_sync_query:
 * dns_servers), the policy from https://mta-sts.DOMAIN/.well-known/mta-sts.txt
 * (mtasts_fetch: libcurl, the name resolved by our resolver too), kept in
 * data_dir/mta-sts/DOMAIN so that it survives a restart. A cached policy is used while
 * its max_age lasts and the TXT id is unchanged; a new id or an expired policy is
 * fetched again, and when that fetch fails a cached policy that has not expired stays
 * in force (RFC 8461 section 5.1); no usable policy means opportunistic TLS.
 *
 * Result codes: 0 success, negative error. */
#ifndef MS_MTASTS_H
#define MS_MTASTS_H
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "mtasts_parse.h"
#include "tls_policy.h"

/* The outbound TLS settings of cfg (tls_ca_file, data_dir, mta_sts_fetch_port): the
 * verifying context (tlsp_configure) and ours. At the runner's start and at each
 * reload; any thread. 0, or -1 (logged; the old settings stay). */
int outbound_tls_configure(const struct config *cfg);

/* --check-config's findings on the outbound TLS keys (error: a tls_ca_file that does
 * not load; warning: a published MTA-STS policy that no STARTTLS listener can serve).
 * Returns the number of errors. */
int outbound_tls_check_config(const struct config *cfg, FILE *out);

/* The policy for a delivery to DOMAIN into *out (opportunistic when it has none). */
void mtasts_lookup(const char *domain, struct tls_policy *out);

/* ---- mtasts_fetch.c ---- */
/* GET https://mta-sts.DOMAIN[:port]/.well-known/mta-sts.txt (no redirects, at most
 * MTASTS_POLICY_MAX octets, text/plain, verified against CA_FILE or the system store)
 * into buf (size MTASTS_POLICY_MAX + 1, NUL-terminated), *len its length. 0, or -1
 * with err. */
int mtasts_fetch(const char *domain, unsigned port, const char *ca_file, char *buf,
                 size_t *len, char *err, size_t errlen);
/* libcurl's global set-up, once, before any thread fetches. 0 or -1. */
int mtasts_fetch_init(void);

/* ---- cache file (pure helpers, tested) ---- */
/* The cache text: "id=ID\nfetched=UNIX\n" then the policy. malloc'd, or NULL. */
char *mtasts_cache_format(const char *id, long long fetched, const char *policy, size_t plen,
                          size_t *outlen);
/* Read it back: 0 with id, *fetched and the policy (pointing into text), or -1. */
int mtasts_cache_parse(const char *text, size_t len, char *id, size_t idlen,
                       long long *fetched, const char **policy, size_t *plen);

#endif
