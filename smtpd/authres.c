/* authres: the end-of-data row that adds the Authentication-Results: header, and the
 * removal of forged ones from the spool (see authres.h; the pure parts: authres_hdr.c). */
#include "authres.h"

#include <stdlib.h>

#include "antispam.h"
#include "check_dmarc.h"
#include "check_spf.h"
#include "deliver.h"

#define AUTHRES_HEAD 65536
#define AUTHRES_MAX 32

int authres_strip(struct spool *sp, const char *host)
{
    char *head = malloc(AUTHRES_HEAD);
    if (!head)
        return -1;
    long n = spool_read_head(sp, head, AUTHRES_HEAD);
    struct authres_span f[AUTHRES_MAX];
    size_t k = n > 0 ? authres_ours(head, (size_t)n, host, f, AUTHRES_MAX) : 0;
    free(head);
    if (n < 0)
        return -1;
    if (n == AUTHRES_HEAD && k > 0 && f[k - 1].at + f[k - 1].len == (size_t)n)
        k--;                               /* it may go on past what was read: keep it */
    while (k-- > 0)                        /* bottom up: the offsets above stay right */
        if (spool_remove(sp, f[k].at, f[k].len) < 0)
            return -1;
    return 0;
}

enum check_status check_authres(struct check_run *run, struct check_verdict *v)
{
    struct antispam_client *as = run->ctx.as;
    if (!as || !(as->spf_ran || as->dkim_ran || as->dmarc_ran))
        return CHECK_DONE;
    struct authres_facts f = { .spf_ran = as->spf_ran,
                               .spf = spf_result_name((enum spf_result)as->spf),
                               .spf_helo = as->spf_helo, .spf_domain = as->spf_domain,
                               .dkim_ran = as->dkim_ran, .dkim = as->dkim, .ndkim = as->ndkim,
                               .dmarc_ran = as->dmarc_ran,
                               .dmarc = dmarcv_result_name((enum dmarcv_result)as->dmarc),
                               .dmarc_why = as->dmarc_why, .dmarc_from = as->dmarc_from };
    if (authres_format(run->ctx.pc->cfg->hostname, &f, as->authres, sizeof as->authres) == 0) {
        v->answer = CHECK_ADD_HEADER;
        v->header = as->authres;
    }
    return CHECK_DONE;
}
