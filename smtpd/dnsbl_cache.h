/* dnsbl_cache: what a DNSBL/DNSWL answer means, and the per-zone DNSBL/DNSWL result cache, bounded in memory: a fixed table
 * of DNSBL_CACHE_SETS x DNSBL_CACHE_WAYS entries keyed by (zone, client address); an
 * entry lives for the TTL of its answer, clamped to [DNSBL_TTL_MIN, DNSBL_TTL_MAX]; a
 * full set drops its entry that expires first. Pure (time is passed in); the process
 * shares one table (dnsbl_cache_global) under a mutex. Errors and timeouts are never
 * cached. */
#ifndef MS_DNSBL_CACHE_H
#define MS_DNSBL_CACHE_H
#include <stdbool.h>
#include <stdint.h>

#include "dns.h"
#include "ipmatch.h"

#define DNSBL_CACHE_SETS 1024
#define DNSBL_CACHE_WAYS 4
#define DNSBL_TTL_MIN 60
#define DNSBL_TTL_MAX 3600

struct dnsbl_entry {
    uint64_t key;                      /* hash of zone and address; 0: free */
    struct ipaddr ip;                  /* to tell a hash collision */
    char zone[64];                     /* the zone (a longer one is hashed only) */
    int64_t expires;
    uint64_t seq;                      /* when it was stored (the table's tick) */
    bool listed;
};

struct dnsbl_cache {
    struct dnsbl_entry e[DNSBL_CACHE_SETS][DNSBL_CACHE_WAYS];
    uint64_t tick;
};

/* Does an A answer list the client (an address in 127.0.0.0/8 other than the lists'
 * error answers 127.255.255.0/24, RFC 5782)? */
bool dnsbl_answer_lists(const struct dns_answer *a);

/* 1 with *listed set when a fresh entry is there, 0 when not. */
int dnsbl_cache_get(const struct dnsbl_cache *c, const char *zone, const struct ipaddr *ip,
                    int64_t now, bool *listed);
void dnsbl_cache_put(struct dnsbl_cache *c, const char *zone, const struct ipaddr *ip,
                     bool listed, unsigned ttl, int64_t now);

/* The process's table, under a lock (any thread). */
int dnsbl_cache_global_get(const char *zone, const struct ipaddr *ip, int64_t now, bool *listed);
void dnsbl_cache_global_put(const char *zone, const struct ipaddr *ip, bool listed,
                            unsigned ttl, int64_t now);

#endif
