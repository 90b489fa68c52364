/* check_dnsbl: the RCPT row for DNS block and allow lists ([smtp NAME] dnsbl, dnswl;
 * SPEC "Anti-spam on an instance"). The client is looked up once per session, at its
 * first RCPT, in every zone at once (IPv4 reversed octets, IPv6 reversed nibbles, an A
 * record in 127.0.0.0/8 means listed, RFC 5782; 127.255.255.x, the lists' own error
 * answers, does not), through dns.h on the session's loop: the row answers later
 * (checks_resume) and the session waits, nothing else does. Answers are kept in the
 * per-zone cache of dnsbl_cache.h. The outcome stays in the session (antispam.h):
 *   - a client listed in a dnswl zone is whitelisted: no dnsbl refusal (and the
 *     greylist row skips it: as->whitelisted);
 *   - else one listed in a dnsbl zone gets, at each RCPT, 554 5.7.1 "Service
 *     unavailable; client [IP] blocked using ZONE" (rule dnsbl);
 *   - a DNS error or timeout counts as not listed: the check passes, logged.
 * Exempt clients (antispam.h) are not looked up. Offline (--test-relay): no opinion. */
#ifndef MS_CHECK_DNSBL_H
#define MS_CHECK_DNSBL_H
#include <stdbool.h>
#include <stddef.h>

#include "checks.h"
#include "dns.h"

#define RULE_DNSBL "dnsbl"

struct antispam_client;

enum check_status check_dnsbl(struct check_run *run, struct check_verdict *v);

/* Drop the queries of a session that goes away (no callback follows). */
void dnsbl_abort(struct antispam_client *as);

#endif
