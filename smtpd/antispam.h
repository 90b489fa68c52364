/* antispam: what the anti-spam rows of an instance (SPEC "Anti-spam on an instance":
 * dnsbl, dnswl, greylist, spf, dkim_verify, dmarc) know about the session's client, and the
 * one exemption rule they share: sessions that authenticated, clients in lan, clients
 * with a fresh POP-before-SMTP entry and always_relay_from hosts are exempt from every
 * anti-spam check. The state lives in the session (struct session's `as`), the rows see
 * it as check_ctx.as:
 *   as->whitelisted  the client is listed in a dnswl zone: dnsbl and greylist skip it
 *                    (set by the dnsbl row, check_dnsbl.h, which runs first at RCPT);
 *   antispam_exempt(&run->ctx)  the exemption above.
 * The POP-auth entry is read from the store, so it is looked up by a blocking MAIL row
 * (antispam_row_popauth, on a worker with the other MAIL rows: no extra hand-off). */
#ifndef MS_ANTISPAM_H
#define MS_ANTISPAM_H
#include <stdbool.h>
#include <stddef.h>

#include "check_dkim.h"
#include "checks.h"
#include "config.h"

#define RULE_ANTISPAM_POPAUTH "antispam_popauth"

struct dnsbl_lookup;
struct rspamd_scan;

struct antispam_client {
    bool popauth_fresh;                /* a POP-auth entry younger than the window */
    /* the DNS lists, looked up once per session (check_dnsbl.h) */
    bool dns_done;                     /* the lists below are known */
    bool whitelisted;                  /* listed in a dnswl zone: dnsbl, greylist skip */
    char blocked_zone[256];            /* the first dnsbl zone listing the client, or "" */
    char text[320];                    /* its 554 text */
    struct dnsbl_lookup *lookup;       /* queries in flight (the RCPT row is pending) */
    struct rspamd_scan *scan;          /* a content scan in flight (check_rspamd.h) */
    char cf_score[64];                 /* its X-Spam-Score header for the next row, or "" */
    /* SPF of the transaction's sender (check_spf.h), set by the MAIL row */
    bool spf_ran;                      /* this transaction's sender was checked */
    bool spf_helo;                     /* ... by its HELO name (MAIL FROM:<>) */
    int spf;                           /* enum spf_result */
    char spf_domain[256];              /* the domain checked (MAIL FROM's, or HELO's) */
    char spf_header[1024];             /* its Received-SPF: line */
    char spf_text[320];                /* its 550/451 text */
    char authres[1024];                /* the Authentication-Results: line (authres.h) */
    /* DKIM and DMARC of the message (check_dkim.h, check_dmarc.h), set at end of data */
    bool dkim_ran;                     /* the signatures were verified */
    size_t ndkim;
    struct dkimv_sig dkim[DKIMV_SIGS_MAX];
    bool dmarc_ran;
    int dmarc;                         /* enum dmarc_result */
    char dmarc_from[254];              /* the From: domain */
    char dmarc_why[64];                /* the policy found ("p=reject"...), or "" */
    char dmarc_text[320];              /* its 550 text */
};

/* Has the instance any anti-spam check on? */
bool antispam_on(const struct smtp_instance *inst);
/* The instance's anti-spam checks for --check-config's policy line, in the order they
 * run: "dnsbl(zone+zone),dnswl(zone),greylist,content_filter(rspamd:IP:PORT,accept)",
 * or "-" when none is on. A check added later appends its word here. */
void antispam_describe(const struct smtp_instance *inst, char *buf, size_t len);
/* Is the session's client exempt from every anti-spam check? (ctx->as may be NULL:
 * then only the policy_client facts count.) */
bool antispam_exempt(const struct check_ctx *ctx);
/* MAIL row (blocking: reads the POP-auth cache): notes a fresh POP-before-SMTP entry
 * in ctx.as when the instance has anti-spam on; never decides. */
enum check_status antispam_row_popauth(struct check_run *run, struct check_verdict *v);

#endif
