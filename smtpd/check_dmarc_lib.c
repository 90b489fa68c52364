/* check_dmarc_lib: DMARC's record choice, alignment and policy over libopendmarc's
 * record parser and libpsl's organizational domains. See check_dmarc.h. */
#include "check_dmarc.h"

#include <libpsl.h>
#include <opendmarc/dmarc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "log.h"
#include "util.h"

#include <arpa/nameser.h>

#define VERSION_TAG "v=DMARC1"

const char *dmarcv_result_name(enum dmarcv_result r)
{
    static const char *const names[] = { "none", "pass", "fail", "temperror", "permerror" };
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "none";
}

/* Does the record data RD start with the version tag (its first character-string)? */
static bool is_dmarc(const unsigned char *rd, size_t rdlen)
{
    static const char tag[] = VERSION_TAG;
    size_t t = sizeof tag - 1;
    if (rdlen == 0 || rd[0] < t || rd[0] > rdlen - 1 || memcmp(rd + 1, tag, t) != 0)
        return false;
    if (rd[0] == t)                    /* "v=DMARC1" alone in its string */
        return true;
    unsigned char next = rd[1 + t];
    return next == ';' || next == ' ' || next == '\t';
}

int dmarcv_pick(const unsigned char *pkt, size_t len, char *out, size_t n)
{
    struct dns_answer a;
    if (dns_parse_answer(pkt, len, ns_t_txt, &a) < 0)
        return -1;
    if (a.status != DNS_OK)
        return 1;
    size_t found = 0, which = 0;
    for (size_t i = 0; i < a.n; i++)
        if (is_dmarc(a.rdata[i], a.rdlen[i])) {
            found++;
            which = i;
        }
    if (found != 1)
        return found ? 2 : 1;          /* several: no policy at all (6.6.3 step 5) */
    return dns_txt_join(a.rdata[which], a.rdlen[which], out, n) < 0 ? -1 : 0;
}

/* ---- organizational domains (libpsl) ----------------------------------------- */

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl;

static void psl_init(void)
{
    psl = psl_latest(NULL);            /* Debian's publicsuffix list, else the built-in */
    if (!psl)
        psl = psl_builtin();
    if (!psl)
        log_err("dmarc: no public suffix list (relaxed alignment needs equal domains)");
}

int dmarcv_org_domain(const char *domain, char *out, size_t n)
{
    char low[DNS_NAME_MAX];
    if (str_copy(low, domain, sizeof low) >= sizeof low)
        return -1;
    str_lower(low);
    size_t l = strlen(low);
    if (l > 0 && low[l - 1] == '.')
        low[l - 1] = '\0';
    if (pthread_once(&psl_once, psl_init) != 0)
        return -1;
    const char *reg = psl ? psl_registrable_domain(psl, low) : low;
    if (!reg || str_copy(out, reg, n) >= n)
        return -1;
    return 0;
}

bool dmarcv_aligned(const char *id, const char *from, bool strict)
{
    if (!id || !from || !*id || !*from)
        return false;
    if (strcasecmp(id, from) == 0)
        return true;
    if (strict)
        return false;
    char a[DNS_NAME_MAX], b[DNS_NAME_MAX];
    return dmarcv_org_domain(id, a, sizeof a) == 0 && dmarcv_org_domain(from, b, sizeof b) == 0 &&
           strcmp(a, b) == 0;
}

/* ---- evaluation --------------------------------------------------------------- */

int dmarcv_evaluate(const struct dmarcv_in *in, struct dmarcv_out *out)
{
    memset(out, 0, sizeof *out);
    out->policy = DMARC_RECORD_P_NONE;
    out->pct = 100;
    char from[DNS_NAME_MAX], rec[DMARCV_RECORD_MAX];
    if (str_copy(from, in->from, sizeof from) >= sizeof from ||
        str_copy(rec, in->record, sizeof rec) >= sizeof rec) {
        out->result = DMARCV_PERMERROR;
        return 0;
    }
    /* the client address serves reports only, which are not sent */
    DMARC_POLICY_T *pctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0);
    if (!pctx)
        return -1;
    int p = 0, sp = 0, pct = 100, adkim = 0, aspf = 0;
    if (opendmarc_policy_parse_dmarc(pctx, (u_char *)from, (u_char *)rec) != DMARC_PARSE_OKAY ||
        opendmarc_policy_fetch_p(pctx, &p) != DMARC_PARSE_OKAY ||
        opendmarc_policy_fetch_sp(pctx, &sp) != DMARC_PARSE_OKAY ||
        opendmarc_policy_fetch_pct(pctx, &pct) != DMARC_PARSE_OKAY ||
        opendmarc_policy_fetch_adkim(pctx, &adkim) != DMARC_PARSE_OKAY ||
        opendmarc_policy_fetch_aspf(pctx, &aspf) != DMARC_PARSE_OKAY) {
        (void)opendmarc_policy_connect_shutdown(pctx);
        out->result = DMARCV_PERMERROR;
        return 0;
    }
    (void)opendmarc_policy_connect_shutdown(pctx);
    out->policy = (char)(in->at_org && sp != DMARC_RECORD_P_UNSPECIFIED ? sp : p);
    out->pct = pct < 0 ? 100 : pct > 100 ? 100 : pct;
    for (size_t i = 0; i < in->ndkim && !out->dkim_aligned; i++)
        out->dkim_aligned = in->dkim[i].result == DKIMV_PASS &&
                            dmarcv_aligned(in->dkim[i].domain, in->from,
                                           adkim == DMARC_RECORD_A_STRICT);
    out->spf_aligned = in->spf_pass &&
                       dmarcv_aligned(in->spf_domain, in->from, aspf == DMARC_RECORD_A_STRICT);
    out->result = out->dkim_aligned || out->spf_aligned ? DMARCV_PASS : DMARCV_FAIL;
    return 0;
}

enum dmarcv_action dmarcv_decide(enum authres_mode mode, const struct dmarcv_out *out, int roll)
{
    if (mode != AUTHRES_ACT || out->result != DMARCV_FAIL)
        return DMARCV_ACT_NONE;
    enum dmarcv_action a = out->policy == DMARC_RECORD_P_REJECT       ? DMARCV_ACT_REJECT
                           : out->policy == DMARC_RECORD_P_QUARANTINE ? DMARCV_ACT_QUARANTINE
                                                                      : DMARCV_ACT_NONE;
    if (a != DMARCV_ACT_NONE && roll >= out->pct)   /* not sampled: the next milder one */
        a = a == DMARCV_ACT_REJECT ? DMARCV_ACT_QUARANTINE : DMARCV_ACT_NONE;
    return a;
}
