/* dns_acache: a thread's recent blocking-lookup answers for their TTL (see
 * dns_acache.h). */
#include "dns_acache.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static struct dns_acache_slot *find(struct dns_acache *c, const char *name, int type)
{
    for (size_t i = 0; i < DNS_ACACHE_SLOTS; i++)
        if (c->s[i].name[0] && c->s[i].type == type && strcasecmp(c->s[i].name, name) == 0)
            return &c->s[i];
    return NULL;
}

int dns_acache_get(struct dns_acache *c, const char *name, int type, unsigned gen,
                   long long now, unsigned char *buf, size_t size, size_t *len,
                   enum dns_status *status)
{
    struct dns_acache_slot *s = find(c, name, type);
    if (!s)
        return 0;
    if (s->gen != gen || now >= s->expires) {
        s->name[0] = '\0';
        return 0;
    }
    if (s->status == DNS_OK) {
        if (s->len > size)
            return 0;
        memcpy(buf, s->pkt, s->len);
    }
    *len = s->status == DNS_OK ? s->len : 0;
    *status = s->status;
    s->used = now;
    return 1;
}

void dns_acache_put(struct dns_acache *c, const char *name, int type, unsigned gen,
                    long long now, enum dns_status status, unsigned ttl,
                    const unsigned char *pkt, size_t len)
{
    bool ok = status == DNS_OK || status == DNS_NXDOMAIN || status == DNS_NODATA;
    if (!ok || ttl == 0 || (status == DNS_OK && (!pkt || len > DNS_ACACHE_PKT)) ||
        strlen(name) >= DNS_NAME_MAX)
        return;
    struct dns_acache_slot *s = find(c, name, type);
    for (size_t i = 0; !s && i < DNS_ACACHE_SLOTS; i++)
        if (!c->s[i].name[0])
            s = &c->s[i];
    if (!s) {                          /* full: the least recently used */
        s = &c->s[0];
        for (size_t i = 1; i < DNS_ACACHE_SLOTS; i++)
            if (c->s[i].used < s->used)
                s = &c->s[i];
    }
    str_copy(s->name, name, sizeof s->name);
    s->type = type;
    s->gen = gen;
    s->status = status;
    s->expires = now + (ttl > DNS_ACACHE_MAX_TTL ? DNS_ACACHE_MAX_TTL : ttl);
    s->used = now;
    s->len = status == DNS_OK ? len : 0;
    if (s->len)
        memcpy(s->pkt, pkt, s->len);
}
