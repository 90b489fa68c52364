/* dns_wire: the pure DNS helpers of dns.h (no resolver, no I/O; unit-tested and
 * fuzzed): the DNSBL name of an address, the parse of a wire-format answer, and one TXT
 * record's character-strings joined into text. */
#include "dns.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int dns_reverse_name(const struct ipaddr *ip, const char *zone, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    int w;
    if (ip->family == AF_INET) {
        w = snprintf(out, size, "%u.%u.%u.%u.%s", ip->b[3], ip->b[2], ip->b[1], ip->b[0], zone);
        return w < 0 || (size_t)w >= size ? -1 : 0;
    }
    if (size < 64 + 1)
        return -1;
    for (int i = 15; i >= 0; i--) {
        out[o++] = hex[ip->b[i] & 15];
        out[o++] = '.';
        out[o++] = hex[ip->b[i] >> 4];
        out[o++] = '.';
    }
    w = snprintf(out + o, size - o, "%s", zone);
    return w < 0 || (size_t)w >= size - o ? -1 : 0;
}

int dns_parse_answer(const unsigned char *pkt, size_t len, int type, struct dns_answer *a)
{
    ns_msg msg;
    memset(a, 0, sizeof *a);
    a->status = DNS_ERROR;
    if (len > 65535 || ns_initparse(pkt, (int)len, &msg) < 0)
        return -1;
    a->packet = pkt;
    a->packet_len = len;
    a->rcode = ns_msg_getflag(msg, ns_f_rcode);
    unsigned minttl = 0;
    bool seen = false;
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            return -1;
        if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
            continue;             /* a CNAME in front */
        if (!seen || ns_rr_ttl(rr) < minttl)
            minttl = ns_rr_ttl(rr);
        seen = true;
        if (a->n < DNS_ANSWERS_MAX) {
            a->rdata[a->n] = ns_rr_rdata(rr);
            a->rdlen[a->n] = ns_rr_rdlen(rr);
            a->n++;
        }
    }
    if (a->rcode == ns_r_nxdomain || (a->rcode == ns_r_noerror && !seen)) {
        /* negative answer: the SOA's minimum bounds its life (RFC 2308) */
        int nns = ns_msg_count(msg, ns_s_ns);
        for (int i = 0; i < nns; i++) {
            ns_rr rr;
            if (ns_parserr(&msg, ns_s_ns, i, &rr) < 0)
                return -1;
            if (ns_rr_type(rr) == ns_t_soa)
                minttl = ns_rr_ttl(rr);
        }
        a->status = a->rcode == ns_r_nxdomain ? DNS_NXDOMAIN : DNS_NODATA;
    } else if (a->rcode == ns_r_noerror) {
        a->status = DNS_OK;
    }
    a->ttl = minttl;
    return 0;
}

int dns_txt_join(const unsigned char *rd, size_t rdlen, char *out, size_t size)
{
    size_t o = 0;
    if (size == 0)
        return -1;
    for (size_t i = 0; i < rdlen;) {
        size_t k = rd[i++];
        if (k > rdlen - i || k >= size - o)
            return -1;
        memcpy(out + o, rd + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return memchr(out, '\0', o) ? -1 : 0;      /* an embedded NUL: not text */
}
