/* dnsbl_cache: a bounded, set-associative cache of DNSBL/DNSWL answers. See the header. */
#include "dnsbl_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

bool dnsbl_answer_lists(const struct dns_answer *a)
{
    if (a->status != DNS_OK)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const unsigned char *r = a->rdata[i];
        if (a->rdlen[i] == 4 && r[0] == 127 && !(r[1] == 255 && r[2] == 255))
            return true;
    }
    return false;
}

/* FNV-1a over the zone (case-folded) and the address; never 0. */
static uint64_t hash(const char *zone, const struct ipaddr *ip)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = zone; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        h = (h ^ (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch)) * 1099511628211ULL;
    }
    h = (h ^ (unsigned)ip->family) * 1099511628211ULL;
    for (size_t i = 0; i < sizeof ip->b; i++)
        h = (h ^ ip->b[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static bool same(const struct dnsbl_entry *e, uint64_t key, const char *zone,
                 const struct ipaddr *ip)
{
    return e->key == key && ipaddr_equal(&e->ip, ip) &&
           strncasecmp(e->zone, zone, sizeof e->zone - 1) == 0;
}

int dnsbl_cache_get(const struct dnsbl_cache *c, const char *zone, const struct ipaddr *ip,
                    int64_t now, bool *listed)
{
    uint64_t key = hash(zone, ip);
    const struct dnsbl_entry *set = c->e[key % DNSBL_CACHE_SETS];
    for (size_t w = 0; w < DNSBL_CACHE_WAYS; w++)
        if (same(&set[w], key, zone, ip) && set[w].expires > now) {
            *listed = set[w].listed;
            return 1;
        }
    return 0;
}

void dnsbl_cache_put(struct dnsbl_cache *c, const char *zone, const struct ipaddr *ip,
                     bool listed, unsigned ttl, int64_t now)
{
    uint64_t key = hash(zone, ip);
    struct dnsbl_entry *set = c->e[key % DNSBL_CACHE_SETS];
    size_t slot = 0;
    for (size_t w = 0; w < DNSBL_CACHE_WAYS; w++) {
        if (same(&set[w], key, zone, ip) || set[w].key == 0) {
            slot = w;
            break;
        }
        if (set[w].expires < set[slot].expires ||
            (set[w].expires == set[slot].expires && set[w].seq < set[slot].seq))
            slot = w;                  /* the one that expires first goes, the oldest */
    }
    if (ttl < DNSBL_TTL_MIN)
        ttl = DNSBL_TTL_MIN;
    if (ttl > DNSBL_TTL_MAX)
        ttl = DNSBL_TTL_MAX;
    struct dnsbl_entry *e = &set[slot];
    e->key = key;
    e->ip = *ip;
    str_copy(e->zone, zone, sizeof e->zone);
    e->expires = now + ttl;
    e->seq = ++c->tick;
    e->listed = listed;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct dnsbl_cache *global;   /* made on first put (about 450 KB) */

int dnsbl_cache_global_get(const char *zone, const struct ipaddr *ip, int64_t now, bool *listed)
{
    if (pthread_mutex_lock(&mu) != 0)
        return 0;
    int r = global ? dnsbl_cache_get(global, zone, ip, now, listed) : 0;
    pthread_mutex_unlock(&mu);
    return r;
}

void dnsbl_cache_global_put(const char *zone, const struct ipaddr *ip, bool listed,
                            unsigned ttl, int64_t now)
{
    if (pthread_mutex_lock(&mu) != 0)
        return;
    if (!global)
        global = xcalloc(1, sizeof *global);
    dnsbl_cache_put(global, zone, ip, listed, ttl, now);
    pthread_mutex_unlock(&mu);
}
