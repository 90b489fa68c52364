/* antispam: the exemption shared by the anti-spam rows, and the MAIL row that reads the
 * POP-auth cache for it. See antispam.h. */
#include "antispam.h"

#include <stdio.h>
#include <string.h>

#include "store.h"
#include "util.h"

bool antispam_on(const struct smtp_instance *inst)
{
    return inst && (inst->dnsbl.n > 0 || inst->dnswl.n > 0 || inst->greylist ||
                    (inst->cf_host && inst->cf_host[0]) || inst->spf != AUTHRES_OFF ||
                    inst->dkim_verify || inst->dmarc != AUTHRES_OFF);
}

/* Append S to BUF (LEN), truncated. */
static void append(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);
    if (used + 1 < len)
        (void)str_copy(buf + used, s, len - used);
}

/* Append "SEP WORD(zone+zone)" for a zone list. */
static void add_zones(char *buf, size_t len, const char *word, const struct strlist *z)
{
    if (z->n == 0)
        return;
    append(buf, len, buf[0] ? "," : "");
    append(buf, len, word);
    append(buf, len, "(");
    for (size_t i = 0; i < z->n; i++) {
        append(buf, len, i ? "+" : "");
        append(buf, len, z->v[i]);
    }
    append(buf, len, ")");
}

void antispam_describe(const struct smtp_instance *inst, char *buf, size_t len)
{
    char cf[128];
    buf[0] = '\0';
    add_zones(buf, len, "dnsbl", &inst->dnsbl);
    add_zones(buf, len, "dnswl", &inst->dnswl);
    if (inst->greylist)
        append(buf, len, buf[0] ? ",greylist" : "greylist");
    if (inst->cf_host && inst->cf_host[0]) {
        bool v6 = strchr(inst->cf_host, ':') != NULL;
        snprintf(cf, sizeof cf, "%scontent_filter(rspamd:%s%s%s:%d,%s)", buf[0] ? "," : "",
                 v6 ? "[" : "", inst->cf_host, v6 ? "]" : "", inst->cf_port,
                 inst->cf_tempfail ? "tempfail" : "accept");
        append(buf, len, cf);
    }
    if (inst->spf != AUTHRES_OFF)
        append(buf, len, inst->spf == AUTHRES_ACT ? (buf[0] ? ",spf(reject)" : "spf(reject)")
                                                     : (buf[0] ? ",spf(tag)" : "spf(tag)"));
    if (inst->dkim_verify)
        append(buf, len, buf[0] ? ",dkim" : "dkim");
    if (inst->dmarc != AUTHRES_OFF)
        append(buf, len, inst->dmarc == AUTHRES_ACT
                             ? (buf[0] ? ",dmarc(enforce)" : "dmarc(enforce)")
                             : (buf[0] ? ",dmarc(tag)" : "dmarc(tag)"));
    if (!buf[0])
        str_copy(buf, "-", len);
}

bool antispam_exempt(const struct check_ctx *ctx)
{
    const struct policy_client *pc = ctx->pc;
    return pc->authenticated || pc->in_lan || pc->always_relay_from ||
           (ctx->as && ctx->as->popauth_fresh);
}

enum check_status antispam_row_popauth(struct check_run *run, struct check_verdict *v)
{
    (void)v;
    const struct check_ctx *x = &run->ctx;
    if (!x->as || !antispam_on(x->pc->inst) || antispam_exempt(x) || !x->lk->popauth)
        return CHECK_DONE;
    char user[STORE_ADDR_MAX];
    int64_t t = 0;
    if (x->lk->popauth(x->lk->ctx, &x->pc->ip, user, sizeof user, &t) == STORE_OK &&
        x->now - t < (int64_t)x->pc->cfg->pop_before_smtp_window)
        x->as->popauth_fresh = true;
    return CHECK_DONE;
}
