/* check_dnsbl: the dnsbl/dnswl RCPT row over dns.h and dnsbl_cache.h. See the header. */
#include "check_dnsbl.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "antispam.h"
#include "dnsbl_cache.h"
#include "log.h"
#include "util.h"

/* One zone's query. */
struct zone_q {
    struct dnsbl_lookup *l;
    const char *zone;
    bool wl;                           /* a dnswl zone */
    bool listed;
    struct dns_query *q;               /* in flight, else NULL */
};

/* The session's lookup in every zone (freed when the last answer came). */
struct dnsbl_lookup {
    struct check_run *run;
    struct antispam_client *as;
    struct ipaddr ip;
    char ipstr[46];
    size_t nz, outstanding;
    struct zone_q z[];
};

/* Every zone answered: the session's outcome, and the verdict for this RCPT. */
static void conclude(struct antispam_client *as, const struct zone_q *z, size_t nz,
                     const char *ipstr)
{
    as->dns_done = true;
    as->whitelisted = false;
    as->blocked_zone[0] = '\0';
    for (size_t i = 0; i < nz; i++)
        if (z[i].listed && z[i].wl)
            as->whitelisted = true;
    for (size_t i = 0; i < nz && !as->whitelisted && !as->blocked_zone[0]; i++)
        if (z[i].listed && !z[i].wl) {
            str_copy(as->blocked_zone, z[i].zone, sizeof as->blocked_zone);
            snprintf(as->text, sizeof as->text,
                     "Service unavailable; client [%s] blocked using %.200s", ipstr, z[i].zone);
        }
    if (as->whitelisted)
        log_info("dnsbl: ip=%s whitelisted by a dnswl zone", ipstr);
    else if (as->blocked_zone[0])
        log_info("dnsbl: ip=%s listed in %s", ipstr, as->blocked_zone);
}

static void verdict(const struct antispam_client *as, struct check_verdict *v)
{
    if (as->whitelisted || !as->blocked_zone[0])
        return;                        /* CHECK_CONTINUE */
    struct policy_result r = { false, 554, "5.7.1", as->text, RULE_DNSBL };
    checks_from_policy(&r, v);
}

static void on_answer(void *arg, const struct dns_answer *a)
{
    struct zone_q *z = arg;
    struct dnsbl_lookup *l = z->l;
    z->q = NULL;
    if (a->status == DNS_OK || a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) {
        z->listed = dnsbl_answer_lists(a);
        dnsbl_cache_global_put(z->zone, &l->ip, z->listed, a->ttl, (int64_t)time(NULL));
    } else {
        log_warn("dnsbl: ip=%s zone=%s lookup %s: counted as not listed", l->ipstr, z->zone,
                 a->status == DNS_TIMEOUT ? "timed out" : "failed");
    }
    if (--l->outstanding > 0)
        return;
    struct antispam_client *as = l->as;
    struct check_run *run = l->run;
    conclude(as, l->z, l->nz, l->ipstr);
    as->lookup = NULL;
    free(l);
    struct check_verdict v = { .answer = CHECK_CONTINUE };
    verdict(as, &v);
    checks_resume(run, &v);
}

void dnsbl_abort(struct antispam_client *as)
{
    struct dnsbl_lookup *l = as->lookup;
    if (!l)
        return;
    for (size_t i = 0; i < l->nz; i++)
        dns_cancel(l->z[i].q);
    as->lookup = NULL;
    free(l);
}

/* Each zone from the cache or a query; the lookup, with l->outstanding queries. */
static struct dnsbl_lookup *start(struct check_run *run, const struct smtp_instance *inst)
{
    const struct check_ctx *x = &run->ctx;
    size_t nz = inst->dnswl.n + inst->dnsbl.n;
    struct dnsbl_lookup *l = xcalloc(1, sizeof *l + nz * sizeof l->z[0]);
    l->run = run;
    l->as = x->as;
    l->ip = x->pc->ip;
    str_copy(l->ipstr, x->pc->ipstr, sizeof l->ipstr);
    l->nz = nz;
    for (size_t i = 0; i < nz; i++) {
        struct zone_q *z = &l->z[i];
        z->l = l;
        z->wl = i < inst->dnswl.n;
        z->zone = z->wl ? inst->dnswl.v[i] : inst->dnsbl.v[i - inst->dnswl.n];
        if (dnsbl_cache_global_get(z->zone, &l->ip, x->now, &z->listed))
            continue;
        char name[DNS_NAME_MAX];
        if (dns_reverse_name(&l->ip, z->zone, name, sizeof name) < 0) {
            log_warn("dnsbl: zone %s: name too long", z->zone);
            continue;
        }
        l->outstanding++;              /* before the query: its answer may not come now */
        z->q = dns_query(x->loop, name, ns_t_a, on_answer, z);
        if (!z->q) {
            l->outstanding--;
            log_warn("dnsbl: ip=%s zone=%s lookup not started: counted as not listed",
                     l->ipstr, z->zone);
        }
    }
    return l;
}

enum check_status check_dnsbl(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    const struct smtp_instance *inst = x->pc->inst;
    struct antispam_client *as = x->as;
    if (x->offline || !as || !x->loop || !inst || (inst->dnsbl.n == 0 && inst->dnswl.n == 0) ||
        antispam_exempt(x))
        return CHECK_DONE;
    if (!as->dns_done) {
        struct dnsbl_lookup *l = start(run, inst);
        if (l->outstanding > 0) {
            as->lookup = l;
            return CHECK_PENDING;
        }
        conclude(as, l->z, l->nz, l->ipstr);
        free(l);
    }
    verdict(as, v);
    return CHECK_DONE;
}
