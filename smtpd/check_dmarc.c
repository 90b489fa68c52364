/* check_dmarc: the DMARC row of the end of data; its records through our resolver (see
 * check_dmarc.h). */
#include "check_dmarc.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antispam.h"
#include "check_spf.h"
#include "dkim_hdr.h"
#include "dkim_sign.h"
#include "dns.h"
#include "log.h"
#include "util.h"

#define DMARC_PKT 65536                /* a DNS answer over TCP at most */
#define HEAD_MAX 65536                 /* the header looked at for From: */

enum { FOUND = 0, NO_RECORD = 1, SEVERAL = 2, BROKEN = -1, DNS_FAILED = -2 };

/* The record of _dmarc.DOMAIN into rec (size n): FOUND, NO_RECORD, SEVERAL, BROKEN,
 * DNS_FAILED. */
static int lookup(const char *domain, char *rec, size_t n)
{
    char name[DNS_NAME_MAX];
    int w = snprintf(name, sizeof name, "_dmarc.%s", domain);
    if (w < 0 || (size_t)w >= sizeof name)
        return NO_RECORD;              /* no such name can exist */
    unsigned char *pkt = malloc(DMARC_PKT);
    if (!pkt)
        return DNS_FAILED;
    enum dns_status st;
    int len = dns_sync_query(name, ns_t_txt, pkt, DMARC_PKT, &st);
    int r;
    if (len < 0)
        r = st == DNS_NXDOMAIN || st == DNS_NODATA ? NO_RECORD : DNS_FAILED;
    else
        r = dmarcv_pick(pkt, (size_t)len, rec, n);
    free(pkt);
    return r;
}

/* The From: domain of the spooled message into from; 0, or -1 (none, several, unread). */
static int from_domain(const struct check_msg *m, char *from, size_t n)
{
    char *head = malloc(HEAD_MAX);
    if (!head)
        return -1;
    struct dkim_msg dm = { m->fd, (off_t)m->off, NULL, m->len };
    ssize_t got = dkim_msg_read(&dm, 0, head, HEAD_MAX);
    int r = got > 0 ? dkim_from_domain(head, (size_t)got, from, n) : -1;
    free(head);
    return r == 0 ? 0 : -1;
}

bool check_dmarc_wanted(const struct check_run *run)
{
    const struct check_ctx *x = &run->ctx;
    const struct smtp_instance *inst = x->pc->inst;
    return inst && inst->dmarc != AUTHRES_OFF && !x->offline && x->as && x->msg &&
           !antispam_exempt(x);
}

/* Find and evaluate the policy of as->dmarc_from: the result, out filled on FAIL/PASS. */
static enum dmarcv_result evaluate(struct antispam_client *as, struct dmarcv_out *out)
{
    char rec[DMARCV_RECORD_MAX], org[DNS_NAME_MAX];
    struct dmarcv_in in = { .from = as->dmarc_from, .record = rec };
    int r = lookup(as->dmarc_from, rec, sizeof rec);
    if (r == NO_RECORD && dmarcv_org_domain(as->dmarc_from, org, sizeof org) == 0 &&
        strcmp(org, as->dmarc_from) != 0) {
        in.at_org = true;
        r = lookup(org, rec, sizeof rec);
    }
    if (r != FOUND)
        return r == NO_RECORD || r == SEVERAL ? DMARCV_NONE
               : r == BROKEN                  ? DMARCV_PERMERROR
                                              : DMARCV_TEMPERROR;
    in.spf_pass = as->spf_ran && as->spf == SPF_PASS;
    in.spf_domain = as->spf_domain;
    in.dkim = as->dkim;
    in.ndkim = as->dkim_ran ? as->ndkim : 0;
    if (dmarcv_evaluate(&in, out) < 0)
        return DMARCV_TEMPERROR;       /* the library failed: nothing known */
    return out->result;
}

enum check_status check_dmarc(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    if (x->as) {
        x->as->dmarc_ran = false;
        x->as->dmarc_why[0] = '\0';
    }
    if (!check_dmarc_wanted(run))
        return CHECK_DONE;
    struct antispam_client *as = x->as;
    struct dmarcv_out out = { .result = DMARCV_NONE, .policy = 'n', .pct = 100 };
    as->dmarc_ran = true;
    if (from_domain(x->msg, as->dmarc_from, sizeof as->dmarc_from) < 0) {
        as->dmarc = DMARCV_PERMERROR;  /* no single From: domain (RFC 7489 6.6.1) */
        str_copy(as->dmarc_from, "", sizeof as->dmarc_from);
        log_info("dmarc: id=%s result=permerror (no single From: domain)", x->msg->id);
        return CHECK_DONE;
    }
    as->dmarc = evaluate(as, &out);
    if (as->dmarc == DMARCV_PASS || as->dmarc == DMARCV_FAIL)
        snprintf(as->dmarc_why, sizeof as->dmarc_why, "p=%s",
                 out.policy == 'r' ? "reject" : out.policy == 'q' ? "quarantine" : "none");
    enum dmarcv_action act = dmarcv_decide(x->pc->inst->dmarc, &out, (int)arc4random_uniform(100));
    log_info("dmarc: id=%s from=%s result=%s%s%s action=%s", x->msg->id, as->dmarc_from,
             dmarcv_result_name((enum dmarcv_result)as->dmarc), as->dmarc_why[0] ? " " : "",
             as->dmarc_why, act == DMARCV_ACT_REJECT ? "reject"
                            : act == DMARCV_ACT_QUARANTINE ? "quarantine" : "none");
    if (act == DMARCV_ACT_REJECT) {
        snprintf(as->dmarc_text, sizeof as->dmarc_text,
                 "Message rejected: DMARC policy of %s", as->dmarc_from);
        v->answer = CHECK_REJECT;
        v->res = (struct policy_result){ false, 550, "5.7.1", as->dmarc_text, RULE_DMARC };
    } else if (act == DMARCV_ACT_QUARANTINE) {
        v->answer = CHECK_ADD_HEADER;
        v->header = "X-Spam-Flag: YES";
    }
    return CHECK_DONE;
}
