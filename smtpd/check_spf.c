/* check_spf: the SPF row of the MAIL stage over libspf2 (see check_spf.h). */
#include "check_spf.h"

#include <stdio.h>
#include <string.h>

#include "antispam.h"
#include "log.h"
#include "spf_dns.h"
#include "util.h"

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#undef MECH_ALL      /* mechs.h's; libspf2 has its own */
#include <spf2/spf.h>

const char *spf_result_name(enum spf_result r)
{
    static const char *const names[] = { "none", "neutral", "pass", "fail", "softfail",
                                         "temperror", "permerror" };
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "none";
}

void spf_decide(enum authres_mode mode, enum spf_result result, const char *domain,
                const char *header, char *text, size_t n, struct check_verdict *v)
{
    v->answer = CHECK_CONTINUE;
    if (mode == AUTHRES_ACT && (result == SPF_FAIL || result == SPF_TEMPERROR)) {
        bool fail = result == SPF_FAIL;
        if (fail)
            snprintf(text, n, "SPF: %s does not allow this client to send its mail", domain);
        else
            snprintf(text, n, "SPF: temporary DNS error for %s, try again later", domain);
        v->answer = fail ? CHECK_REJECT : CHECK_TEMPFAIL;
        v->res = (struct policy_result){ false, fail ? 550 : 451, fail ? "5.7.23" : "4.7.24",
                                         text, RULE_SPF };
        return;
    }
    if (mode != AUTHRES_OFF && header && *header) {
        v->answer = CHECK_ADD_HEADER;
        v->header = header;
    }
}

static enum spf_result from_lib(SPF_result_t r)
{
    switch (r) {
    case SPF_RESULT_PASS: return SPF_PASS;
    case SPF_RESULT_FAIL: return SPF_FAIL;
    case SPF_RESULT_SOFTFAIL: return SPF_SOFTFAIL;
    case SPF_RESULT_NEUTRAL: return SPF_NEUTRAL;
    case SPF_RESULT_TEMPERROR: return SPF_TEMPERROR;
    case SPF_RESULT_PERMERROR: return SPF_PERMERROR;
    default: return SPF_NONE;
    }
}

/* Evaluate SPF for the session's client, HELO and envelope sender (postmaster@HELO for
 * <>); the Received-SPF: line into hdr. The result (TEMPERROR when libspf2 fails). */
static enum spf_result evaluate(const struct check_ctx *x, const char *sender, char *hdr,
                                size_t n)
{
    enum spf_result res = SPF_TEMPERROR;
    SPF_server_t *srv = SPF_server_new_dns(spf_dns_layer(), 0);
    SPF_request_t *req = srv ? SPF_request_new(srv) : NULL;
    SPF_response_t *resp = NULL;
    *hdr = '\0';
    if (!req || SPF_server_set_rec_dom(srv, x->pc->cfg->hostname) != SPF_E_SUCCESS)
        goto out;
    SPF_errcode_t e = x->pc->ip.family == AF_INET6
                          ? SPF_request_set_ipv6_str(req, x->pc->ipstr)
                          : SPF_request_set_ipv4_str(req, x->pc->ipstr);
    if (e != SPF_E_SUCCESS || (*x->helo && SPF_request_set_helo_dom(req, x->helo)) ||
        SPF_request_set_env_from(req, sender) != 0)
        goto out;
    e = SPF_request_query_mailfrom(req, &resp);
    if (!resp)
        goto out;
    if (e == SPF_E_DNS_ERROR) {   /* the record could not be fetched: resp says none */
        snprintf(hdr, n, "Received-SPF: temperror (%s: DNS error looking up the SPF record) "
                 "client-ip=%s; envelope-from=%s; helo=%s;", x->pc->cfg->hostname,
                 x->pc->ipstr, sender, *x->helo ? x->helo : "unknown");
        goto out;
    }
    res = from_lib(SPF_response_result(resp));
    const char *h = SPF_response_get_received_spf(resp);
    if (h && !strpbrk(h, "\r\n"))
        str_copy(hdr, h, n);
out:
    if (resp)
        SPF_response_free(resp);
    if (req)
        SPF_request_free(req);
    if (srv)
        SPF_server_free(srv);
    return res;
}

bool check_spf_wanted(const struct check_run *run)
{
    const struct check_ctx *x = &run->ctx;
    const struct smtp_instance *inst = x->pc->inst;
    return inst && (inst->spf != AUTHRES_OFF || inst->dmarc != AUTHRES_OFF) && !x->offline &&
           x->as && !antispam_exempt(x);
}

enum check_status check_spf(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    /* spf = off with dmarc on: evaluated for DMARC, no Received-SPF:, no reply */
    enum authres_mode mode = x->pc->inst ? x->pc->inst->spf : AUTHRES_OFF;
    if (x->as)
        x->as->spf_ran = false;
    if (!check_spf_wanted(run))
        return CHECK_DONE;
    char sender[600];
    const char *domain = x->from->domain;
    if (x->from->null || !*domain) {   /* <>: the HELO identity */
        domain = x->helo;
        snprintf(sender, sizeof sender, "postmaster@%s", *x->helo ? x->helo : "unknown");
    } else {
        str_copy(sender, x->from->text, sizeof sender);
    }
    char hdr[1024];
    enum spf_result r = evaluate(x, sender, hdr, sizeof hdr);
    str_copy(x->as->spf_domain, domain, sizeof x->as->spf_domain);
    x->as->spf = r;
    x->as->spf_ran = true;
    x->as->spf_helo = x->from->null || !*x->from->domain;
    log_info("spf: ip=%s from=<%s> helo=%s result=%s", x->pc->ipstr, x->from->text, x->helo,
             spf_result_name(r));
    str_copy(x->as->spf_header, hdr, sizeof x->as->spf_header);
    spf_decide(mode, r, domain, x->as->spf_header, x->as->spf_text, sizeof x->as->spf_text, v);
    return CHECK_DONE;
}
