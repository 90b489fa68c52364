/* fuzz_spf_dns: libFuzzer harness for the libspf2 DNS layer's reading of DNS answers
 * (smtpd/spf_dns.h): spf_dns_fill on the raw input as the answer to an A, AAAA, TXT, MX
 * or PTR query (the first byte picks); what it hands libspf2 must be whole records:
 * NUL-terminated names and texts within their buffers, or an error answer. */
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "spf_dns.h"

#undef MECH_ALL
#include <spf2/spf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ns_type types[] = { ns_t_a, ns_t_aaaa, ns_t_txt, ns_t_mx, ns_t_ptr };
    ns_type type = size ? types[data[0] % 5] : ns_t_a;
    SPF_dns_rr_t *rr = SPF_dns_rr_new_init(NULL, "fuzz.example", type, 0, NETDB_SUCCESS);
    if (!rr)
        return 0;
    int rc = spf_dns_fill(rr, data, size, (int)type);
    FZ_CHECK(rc == 0 || (rr->num_rr == 0 && rr->herrno == TRY_AGAIN));
    FZ_CHECK(rc != 0 || rr->herrno == (rr->num_rr > 0 ? NETDB_SUCCESS : NO_DATA));
    for (int i = 0; i < rr->num_rr; i++) {
        if (type == ns_t_txt || type == ns_t_mx || type == ns_t_ptr)
            FZ_CHECK(memchr(rr->rr[i]->txt, '\0', rr->rr_buf_len[i]) != NULL);
        else
            FZ_CHECK(rr->rr_buf_len[i] >= (type == ns_t_a ? 4u : 16u));
    }
    SPF_dns_rr_free(rr);
    return 0;
}
