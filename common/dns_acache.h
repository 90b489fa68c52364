/* dns_acache: a thread's recent answers to its blocking lookups (dns_sync_query), kept
 * for their TTL. libunbound caches too, but each of its answers, cached or not, is a
 * round trip to its resolver thread (a pipe, two wake-ups); the checks of one received
 * message ask the same few names each time (the sender's SPF record and what it names,
 * the DKIM key, the _dmarc record), so these are answered here on the calling thread.
 * Positive answers (the packet) and negative ones (NXDOMAIN, NODATA: the SOA's TTL,
 * RFC 2308) are kept; errors never; TTL 0 never; at most DNS_ACACHE_MAX_TTL seconds.
 * Entries carry the resolver settings' generation: none of them answers after
 * dns_configure. Fixed size (DNS_ACACHE_SLOTS, packets up to DNS_ACACHE_PKT octets),
 * the least recently used replaced. Pure: no locks (one per thread), time given. */
#ifndef MS_DNS_ACACHE_H
#define MS_DNS_ACACHE_H
#include <stddef.h>

#include "dns.h"

#define DNS_ACACHE_SLOTS 16
#define DNS_ACACHE_PKT 1232            /* an EDNS answer that needs no TCP */
#define DNS_ACACHE_MAX_TTL 3600

struct dns_acache_slot {
    char name[DNS_NAME_MAX];           /* "" : free */
    int type;
    unsigned gen;
    enum dns_status status;
    long long expires, used;
    size_t len;
    unsigned char pkt[DNS_ACACHE_PKT];
};

struct dns_acache {
    struct dns_acache_slot s[DNS_ACACHE_SLOTS];
};

/* The kept answer to NAME/TYPE under settings GEN at NOW (seconds, monotonic): 1 with
 * *status and, for DNS_OK, the packet into buf (size; *len its length); 0 when none is
 * kept (or it does not fit in buf). */
int dns_acache_get(struct dns_acache *c, const char *name, int type, unsigned gen,
                   long long now, unsigned char *buf, size_t size, size_t *len,
                   enum dns_status *status);

/* Keep the answer to NAME/TYPE: STATUS (DNS_OK, DNS_NXDOMAIN or DNS_NODATA; others are
 * not kept), its TTL, for DNS_OK the packet PKT (LEN). */
void dns_acache_put(struct dns_acache *c, const char *name, int type, unsigned gen,
                    long long now, enum dns_status status, unsigned ttl,
                    const unsigned char *pkt, size_t len);

#endif
