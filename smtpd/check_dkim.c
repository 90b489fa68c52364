/* check_dkim: the DKIM verification row of the end of data; its keys through our
 * resolver (see check_dkim.h). */
#include "check_dkim.h"

#include <arpa/nameser.h>
#include <stdlib.h>

#include "antispam.h"
#include "dkim_sign.h"
#include "dns.h"
#include "log.h"

#define KEY_PKT 65536                  /* a DNS answer over TCP at most */

/* The key lookup of production: dns_sync_query on the worker (dns_servers, dns_timeout). */
static enum dkimv_key dns_key(void *ctx, const char *name, char *out, size_t n)
{
    (void)ctx;
    unsigned char *pkt = malloc(KEY_PKT);
    if (!pkt)
        return DKIMV_KEY_TEMPFAIL;
    enum dns_status st;
    int len = dns_sync_query(name, ns_t_txt, pkt, KEY_PKT, &st);
    enum dkimv_key r;
    if (len < 0)
        r = st == DNS_NXDOMAIN || st == DNS_NODATA ? DKIMV_KEY_NOTFOUND : DKIMV_KEY_TEMPFAIL;
    else
        switch (dkimv_key_txt(pkt, (size_t)len, out, n)) {
        case 0: r = DKIMV_KEY_OK; break;
        case 1: r = DKIMV_KEY_NOTFOUND; break;
        default: r = DKIMV_KEY_BAD; break;   /* malformed, or too big for a key */
        }
    free(pkt);
    if (r != DKIMV_KEY_OK)
        log_info("dkim: key %s: %s", name, r == DKIMV_KEY_NOTFOUND ? "not found"
                                          : r == DKIMV_KEY_TEMPFAIL ? "DNS error" : "unusable");
    return r;
}

bool check_dkim_wanted(const struct check_run *run)
{
    const struct check_ctx *x = &run->ctx;
    const struct smtp_instance *inst = x->pc->inst;
    return inst && (inst->dkim_verify || inst->dmarc != AUTHRES_OFF) && !x->offline && x->as &&
           x->msg && !antispam_exempt(x);
}

enum check_status check_dkim(struct check_run *run, struct check_verdict *v)
{
    (void)v;                           /* reports only (authres.h, check_dmarc.h) */
    const struct check_ctx *x = &run->ctx;
    if (x->as) {
        x->as->dkim_ran = false;
        x->as->ndkim = 0;
    }
    if (!check_dkim_wanted(run))
        return CHECK_DONE;
    struct antispam_client *as = x->as;
    struct dkim_msg m = { x->msg->fd, (off_t)x->msg->off, NULL, x->msg->len };
    if (dkimv_verify(&m, dns_key, NULL, as->dkim, DKIMV_SIGS_MAX, &as->ndkim) < 0) {
        log_err("dkim: id=%s cannot verify (library error)", x->msg->id);
        return CHECK_DONE;
    }
    as->dkim_ran = true;
    for (size_t i = 0; i < as->ndkim; i++)
        log_info("dkim: id=%s d=%s s=%s result=%s%s%s", x->msg->id, as->dkim[i].domain,
                 as->dkim[i].selector, dkimv_result_name(as->dkim[i].result),
                 as->dkim[i].why[0] ? " " : "", as->dkim[i].why);
    if (as->ndkim == 0)
        log_info("dkim: id=%s result=none", x->msg->id);
    return CHECK_DONE;
}
