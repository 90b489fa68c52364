/* check_greylist: the greylisting row of the RCPT stage. See check_greylist.h. */
#include "check_greylist.h"

#include "antispam.h"
#include "greylist.h"
#include "log.h"

int check_greylist_exempt(const struct check_ctx *x, bool *exempt)
{
    const struct policy_client *pc = x->pc;
    *exempt = true;
    if (antispam_exempt(x) || (x->as && x->as->whitelisted))
        return 0;              /* (antispam_exempt knows a POP-auth entry the MAIL row saw) */
    return policy_client_pop_fresh(pc, x->lk, x->now, exempt);
}

static void log_decision(const struct check_ctx *x, const struct greylist_rec *r,
                         enum greylist_outcome o)
{
    const struct smtp_instance *inst = x->pc->inst;
    log_info("greylist: instance=%s ip=%s net=%s from=<%s> to=<%s> rule=%s result=%s%s%s",
             inst->common.name ? inst->common.name : "-", x->pc->ipstr, r->net, r->sender,
             r->rcpt, RULE_GREYLIST, greylist_outcome_name(o),
             greylist_passes(o) ? " PASS" : " TEMPFAIL 451", x->offline ? " (dry run)" : "");
}

enum check_status check_greylist(struct check_run *run, struct check_verdict *v)
{
    const struct check_ctx *x = &run->ctx;
    const struct smtp_instance *inst = x->pc->inst;
    bool exempt = false;
    if (!inst->greylist || !x->lk->greylist || !x->from || !x->rcpt)
        return CHECK_DONE;
    struct greylist_rec r;
    struct greylist_params p = { inst->greylist_delay, inst->greylist_window, inst->greylist_keep };
    int outcome = 0;
    int rc = check_greylist_exempt(x, &exempt);
    if (rc == 0 && exempt)
        return CHECK_DONE;
    if (rc == 0 && greylist_triplet(&x->pc->ip, x->from->null ? "" : x->from->text,
                                    x->rcpt->text, &r) != 0)
        return CHECK_DONE;             /* cannot happen with parsed addresses */
    if (rc == 0)
        rc = x->lk->greylist(x->lk->ctx, &r, x->now, &p, x->offline, &outcome);
    if (rc != STORE_OK) {
        struct policy_result e = { false, 451, "4.3.0", "Temporary lookup failure, try again later",
                                   RULE_LOOKUP_ERROR };
        checks_from_policy(&e, v);
        return CHECK_DONE;
    }
    log_decision(x, &r, (enum greylist_outcome)outcome);
    if (!greylist_passes((enum greylist_outcome)outcome)) {
        struct policy_result g = { false, 451, "4.7.1", "Greylisted, please try again later",
                                   RULE_GREYLIST };
        checks_from_policy(&g, v);
    }
    return CHECK_DONE;
}
