/* check_dmarc: DMARC (RFC 7489) of a received message, SPEC "Anti-spam on an instance":
 * [smtp NAME] dmarc = off|tag|enforce. tag reports "dmarc=RESULT header.from=DOMAIN"
 * in the Authentication-Results: header (authres.h); enforce also acts on a failing
 * message: p=reject gives 550 5.7.1 after DATA, p=quarantine delivers it with
 * X-Spam-Flag: YES. sp= applies when the record was found at the organizational
 * domain of a subdomain; pct= samples (a message left out gets the next milder policy,
 * RFC 7489 6.6.4: reject -> quarantine -> none).
 *
 * An end-of-data row after check_dkim's (blocking, waits for the network: on a worker):
 * the From: domain of the spooled header, its _dmarc TXT record and, when none, the
 * organizational domain's, through our resolver (dns_sync_query). The record is parsed
 * by OpenDMARC's libopendmarc; the organizational domain comes from libpsl over
 * Debian's public suffix list: libopendmarc 1.4.2's own lookup has no default "*"
 * rule (a domain under a suffix not in the list gets no organizational domain) and is
 * not used. Identifiers: SPF's (check_spf.h: MAIL FROM's domain, HELO's for <>; SPF is
 * evaluated for DMARC even with spf = off) and the passing DKIM signatures
 * (check_dkim.h). Exempt clients (antispam.h) are not checked. A DNS failure gives
 * dmarc=temperror, a broken record (or more than one) permerror; neither acts.
 *
 * check_dmarc_lib.c: the library glue and the pure parts (record choice, alignment,
 * policy, pct), unit-tested and fuzzed. */
#ifndef MS_CHECK_DMARC_H
#define MS_CHECK_DMARC_H
#include <stdbool.h>
#include <stddef.h>

#include "check_dkim.h"
#include "checks.h"
#include "config.h"

#define RULE_DMARC "dmarc"
#define DMARCV_RECORD_MAX 2048         /* a longer record is refused (permerror) */

enum dmarcv_result { DMARCV_NONE, DMARCV_PASS, DMARCV_FAIL, DMARCV_TEMPERROR, DMARCV_PERMERROR };

/* What a failing message is given. */
enum dmarcv_action { DMARCV_ACT_NONE, DMARCV_ACT_QUARANTINE, DMARCV_ACT_REJECT };

const char *dmarcv_result_name(enum dmarcv_result r);

/* The DMARC record out of a wire-format answer to a TXT query for _dmarc.DOMAIN: the
 * one record starting "v=DMARC1" (RFC 7489 6.6.3), its character-strings joined, into
 * out (size n). 0 found; 1 none (then the organizational domain is asked); 2 more than
 * one (no policy applies, none is looked for); -1 malformed or too big (n at most).
 * Pure. */
int dmarcv_pick(const unsigned char *pkt, size_t len, char *out, size_t n);

/* Are identifier domain ID and the From: domain FROM aligned (RFC 7489 3.1): equal in
 * strict mode, the same organizational domain in relaxed mode? Case-insensitive. */
bool dmarcv_aligned(const char *id, const char *from, bool strict);
/* The organizational domain of DOMAIN (its registrable domain under the public suffix
 * list) into out; 0, or -1 (a public suffix itself, or it does not fit). */
int dmarcv_org_domain(const char *domain, char *out, size_t n);

struct dmarcv_in {
    const char *from;                  /* the From: domain (lower case) */
    const char *record;                /* the record found */
    bool at_org;                       /* ... at the organizational domain, not at from */
    bool spf_pass;                     /* SPF passed for spf_domain */
    const char *spf_domain;
    const struct dkimv_sig *dkim;      /* the verified signatures */
    size_t ndkim;
};

struct dmarcv_out {
    enum dmarcv_result result;         /* PASS, FAIL, or PERMERROR (a broken record) */
    char policy;                       /* the applicable p= or sp=: 'n', 'q', 'r' */
    int pct;                           /* 0..100 */
    bool dkim_aligned, spf_aligned;
};

/* Evaluate IN (libopendmarc parses the record). 0, or -1 when the library failed. */
int dmarcv_evaluate(const struct dmarcv_in *in, struct dmarcv_out *out);

/* What MODE does with a message whose evaluation is OUT; ROLL is a random number in
 * 0..99 for pct= (the message is sampled when ROLL < pct). Pure. */
enum dmarcv_action dmarcv_decide(enum authres_mode mode, const struct dmarcv_out *out, int roll);

/* Does the row look at this session's message (dmarc on, not exempt)? */
bool check_dmarc_wanted(const struct check_run *run);
/* The row (blocking; waits: check_dmarc_wanted). */
enum check_status check_dmarc(struct check_run *run, struct check_verdict *v);

#endif
