/* fuzz_dns: libFuzzer harness for the DNS answers the anti-spam checks read
 * (common/dns.h): dns_parse_answer on the raw input as a response to an A, AAAA, TXT or
 * MX query (the first byte picks), every record it keeps within the packet, what
 * counts as a DNSBL listing, the DNSBL name of an address made from the input, and the
 * dns_servers parser on the input as text. */
#include <arpa/nameser.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "confval.h"
#include "dns.h"
#include "dnsbl_cache.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[] = { ns_t_a, ns_t_aaaa, ns_t_txt, ns_t_mx };
    int type = size ? types[data[0] % 4] : ns_t_a;
    struct dns_answer a;
    if (dns_parse_answer(data, size, type, &a) == 0) {
        FZ_CHECK(a.n <= DNS_ANSWERS_MAX);
        FZ_CHECK(a.status == DNS_OK || a.status == DNS_NXDOMAIN || a.status == DNS_NODATA ||
                 a.status == DNS_ERROR);
        FZ_CHECK(a.status != DNS_OK || a.n > 0);
        for (size_t i = 0; i < a.n; i++)
            FZ_CHECK(a.rdata[i] >= data && a.rdata[i] + a.rdlen[i] <= data + size);
        (void)dnsbl_answer_lists(&a);
    }
    if (size >= 17) {
        struct ipaddr ip;
        memset(&ip, 0, sizeof ip);
        ip.family = (data[0] & 1) ? AF_INET6 : AF_INET;
        memcpy(ip.b, data + 1, 16);
        char *zone = fz_strndup(data + 17, size - 17);
        char name[DNS_NAME_MAX];
        if (dns_reverse_name(&ip, zone, name, sizeof name) == 0)
            FZ_CHECK(fz_terminated(name, sizeof name));
        free(zone);
    }
    char *text = fz_strndup(data, size);
    struct strlist l = { NULL, 0 };
    char why[300];
    if (cv_dns_servers(text, &l, why, sizeof why) == 0)
        for (size_t i = 0; i < l.n; i++)
            FZ_CHECK(strchr(l.v[i], '@') != NULL);
    cv_strlist_free(&l);
    free(text);
    return 0;
}
