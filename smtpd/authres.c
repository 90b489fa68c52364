/* authres: the Authentication-Results: header and its end-of-data row (see authres.h). */
#include "authres.h"

#include <stdio.h>

#include "antispam.h"
#include "check_spf.h"

int authres_format(const char *hostname, const struct authres_facts *f, char *out, size_t n)
{
    if (!f->spf_ran)
        return -1;
    int w = snprintf(out, n, "Authentication-Results: %s; spf=%s smtp.%s=%s", hostname,
                     f->spf, f->spf_helo ? "helo" : "mailfrom", f->spf_domain);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

enum check_status check_authres(struct check_run *run, struct check_verdict *v)
{
    struct antispam_client *as = run->ctx.as;
    if (!as || !as->spf_ran)
        return CHECK_DONE;
    struct authres_facts f = { .spf_ran = true, .spf = spf_result_name((enum spf_result)as->spf),
                               .spf_helo = as->spf_helo, .spf_domain = as->spf_domain };
    if (authres_format(run->ctx.pc->cfg->hostname, &f, as->authres, sizeof as->authres) == 0) {
        v->answer = CHECK_ADD_HEADER;
        v->header = as->authres;
    }
    return CHECK_DONE;
}
