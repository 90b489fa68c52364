/* spf_dns: libspf2's DNS lookups through dns.h (see spf_dns.h). */
#include "spf_dns.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "dns.h"

#undef MECH_ALL      /* mechs.h's; libspf2 has its own */
#include <spf2/spf.h>

#define SPF_DNS_PKT 65536

/* One record's data into slot K of RR. 1 taken, 0 skipped, -1 on error. */
static int fill_one(SPF_dns_rr_t *rr, int k, const unsigned char *pkt, size_t len,
                    ns_type type, const unsigned char *rd, size_t rdlen)
{
    char name[NS_MAXDNAME];
    size_t need;
    switch (type) {
    case ns_t_a:
    case ns_t_aaaa:
        need = type == ns_t_a ? 4 : 16;
        if (rdlen != need)
            return 0;
        if (SPF_dns_rr_buf_realloc(rr, k, need) != SPF_E_SUCCESS)
            return -1;
        memcpy(type == ns_t_a ? (void *)&rr->rr[k]->a : (void *)&rr->rr[k]->aaaa, rd, need);
        return 1;
    case ns_t_txt: {
        if (SPF_dns_rr_buf_realloc(rr, k, rdlen + 1) != SPF_E_SUCCESS)
            return -1;
        char *out = rr->rr[k]->txt;
        size_t o = 0;
        for (size_t i = 0; i < rdlen;) {
            size_t n = rd[i++];
            if (n > rdlen - i)
                return -1;
            memcpy(out + o, rd + i, n);
            o += n;
            i += n;
        }
        out[o] = '\0';
        return 1;
    }
    case ns_t_mx:
    case ns_t_ptr: {
        size_t skip = type == ns_t_mx ? 2 : 0;
        if (rdlen <= skip || rd < pkt || rd + rdlen > pkt + len)
            return -1;
        if (dn_expand(pkt, pkt + len, rd + skip, name, sizeof name) < 0)
            return -1;
        need = strlen(name) + 1;
        if (SPF_dns_rr_buf_realloc(rr, k, need) != SPF_E_SUCCESS)
            return -1;
        memcpy(type == ns_t_mx ? rr->rr[k]->mx : rr->rr[k]->ptr, name, need);
        return 1;
    }
    default:
        return 0;
    }
}

int spf_dns_fill(SPF_dns_rr_t *rr, const unsigned char *pkt, size_t len, int itype)
{
    ns_type type = (ns_type)itype;
    struct dns_answer a;
    if (dns_parse_answer(pkt, len, type, &a) < 0)
        goto bad;
    rr->ttl = a.ttl;
    int k = 0;
    for (size_t i = 0; i < a.n; i++) {
        int r = fill_one(rr, k, pkt, len, type, a.rdata[i], a.rdlen[i]);
        if (r < 0)
            goto bad;
        k += r;
    }
    rr->num_rr = k;
    rr->herrno = k > 0 ? NETDB_SUCCESS : NO_DATA;
    return 0;
bad:
    rr->num_rr = 0;
    rr->herrno = TRY_AGAIN;     /* a malformed answer is a temporary error (RFC 7208 5) */
    return -1;
}

static SPF_dns_rr_t *lookup(SPF_dns_server_t *srv, const char *domain, ns_type type,
                            int should_cache)
{
    (void)should_cache;
    unsigned char *pkt = malloc(SPF_DNS_PKT);
    enum dns_status st = DNS_ERROR;
    int len = pkt ? dns_sync_query(domain, (int)type, pkt, SPF_DNS_PKT, &st) : -1;
    SPF_dns_stat_t h = len >= 0 ? NETDB_SUCCESS
                       : st == DNS_NXDOMAIN ? HOST_NOT_FOUND : st == DNS_NODATA ? NO_DATA
                       : TRY_AGAIN;
    SPF_dns_rr_t *rr = SPF_dns_rr_new_init(srv, domain, type, 0, h);
    if (rr && len >= 0)
        (void)spf_dns_fill(rr, pkt, (size_t)len, (int)type);   /* an error is in rr */
    free(pkt);
    return rr;
}

SPF_dns_server_t *spf_dns_layer(void)
{
    static SPF_dns_server_t layer = {
        .destroy = NULL, .lookup = lookup, .get_spf = NULL, .get_exp = NULL,
        .add_cache = NULL, .layer_below = NULL, .name = "mailserver", .debug = 0,
        .hook = NULL,
    };
    return &layer;
}
