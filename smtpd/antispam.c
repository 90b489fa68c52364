/* antispam: the exemption shared by the anti-spam rows, and the MAIL row that reads the
 * POP-auth cache for it. See antispam.h. */
#include "antispam.h"

#include "store.h"

bool antispam_on(const struct smtp_instance *inst)
{
    return inst && (inst->dnsbl.n > 0 || inst->dnswl.n > 0 || inst->greylist ||
                    inst->spf != AUTHRES_OFF);
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
