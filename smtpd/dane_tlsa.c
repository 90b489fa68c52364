/* dane_tlsa: the pure part of dane.h: TLSA RDATA parsing (RFC 6698 2.1), the SMTP
 * usability filter (RFC 7672 3.1.3) and the owner name; unit-tested and fuzzed
 * (fuzz_dane), since the records come from the network. */
#include "dane.h"

#include <stdio.h>
#include <string.h>

int dane_tlsa_parse(const unsigned char *rd, size_t len, struct dane_tlsa *out)
{
    if (len < 3)
        return -1;
    uint8_t usage = rd[0], selector = rd[1], mtype = rd[2];
    size_t dlen = len - 3;
    if (usage != DANE_TA && usage != DANE_EE)
        return 0;                 /* PKIX-TA/EE: unusable for SMTP (RFC 7672 3.1.3) */
    if (selector > 1)
        return 0;
    if ((mtype == 1 && dlen != 32) || (mtype == 2 && dlen != 64) || mtype > 2)
        return 0;                 /* a digest of the wrong length matches nothing */
    if (dlen == 0 || dlen > DANE_DATA_MAX)
        return 0;
    out->usage = usage;
    out->selector = selector;
    out->mtype = mtype;
    out->len = dlen;
    memcpy(out->data, rd + 3, dlen);
    return 1;
}

void dane_tlsa_collect(const struct dns_answer *a, struct dane_tlsa_set *set)
{
    set->n = 0;
    set->unusable = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (set->n < DANE_TLSA_MAX && dane_tlsa_parse(a->rdata[i], a->rdlen[i], &set->r[set->n]) == 1)
            set->n++;
        else
            set->unusable++;
    }
    set->state = set->n ? DANE_USABLE : DANE_TLS_ONLY;
}

int dane_tlsa_name(const char *host, int port, char *out, size_t size)
{
    int w = snprintf(out, size, "_%d._tcp.%s", port, host);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}
