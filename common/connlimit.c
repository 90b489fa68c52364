/* connlimit: access control and live connection counts per instance and client IP
 * (a chained hash table keyed by instance name + address; a short list per name). */
#include "connlimit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

#define CL_BUCKETS 1024

struct ipcount {
    struct ipcount *next;
    char inst[64];
    struct ipaddr ip;
    unsigned n;
};

struct instcount {
    struct instcount *next;
    char inst[64];
    unsigned n;
};

struct connlimit {
    struct ipcount *bucket[CL_BUCKETS];
    struct instcount *inst;
};

struct connlimit *connlimit_new(void)
{
    return calloc(1, sizeof(struct connlimit));
}

void connlimit_free(struct connlimit *cl)
{
    if (!cl)
        return;
    for (size_t i = 0; i < CL_BUCKETS; i++) {
        while (cl->bucket[i]) {
            struct ipcount *e = cl->bucket[i];
            cl->bucket[i] = e->next;
            free(e);
        }
    }
    while (cl->inst) {
        struct instcount *e = cl->inst;
        cl->inst = e->next;
        free(e);
    }
    free(cl);
}

static unsigned hash(const char *inst, const struct ipaddr *ip)
{
    uint32_t h = 2166136261u;
    size_t n = ip->family == AF_INET ? 4 : 16;

    for (const char *p = inst; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ (uint8_t)ip->family) * 16777619u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ip->b[i]) * 16777619u;
    return h % CL_BUCKETS;
}

/* The link that points at the entry (or the NULL at the end of its chain).
 * Counted per client: IPv6 clients per /64 (ipaddr_client_key). */
static struct ipcount **find_ip(const struct connlimit *cl, const char *inst,
                                const struct ipaddr *addr)
{
    struct ipaddr key;
    const struct ipaddr *ip = &key;
    ipaddr_client_key(addr, &key);

    struct ipcount **pp = (struct ipcount **)&cl->bucket[hash(inst, ip)];

    for (; *pp; pp = &(*pp)->next)
        if (ipaddr_equal(&(*pp)->ip, ip) && strcmp((*pp)->inst, inst) == 0)
            break;
    return pp;
}

static struct instcount **find_inst(const struct connlimit *cl, const char *inst)
{
    struct instcount **pp = (struct instcount **)&cl->inst;

    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->inst, inst) == 0)
            break;
    return pp;
}

void connlimit_add(struct connlimit *cl, const char *inst, const struct ipaddr *ip)
{
    struct ipcount **pi = find_ip(cl, inst, ip);
    struct instcount **pn = find_inst(cl, inst);

    if (!*pi) {
        *pi = xcalloc(1, sizeof **pi);
        str_copy((*pi)->inst, inst, sizeof (*pi)->inst);
        ipaddr_client_key(ip, &(*pi)->ip);
    }
    (*pi)->n++;
    if (!*pn) {
        *pn = xcalloc(1, sizeof **pn);
        str_copy((*pn)->inst, inst, sizeof (*pn)->inst);
    }
    (*pn)->n++;
}

void connlimit_del(struct connlimit *cl, const char *inst, const struct ipaddr *ip)
{
    struct ipcount **pi = find_ip(cl, inst, ip);
    struct instcount **pn = find_inst(cl, inst);

    if (*pi && --(*pi)->n == 0) {
        struct ipcount *e = *pi;
        *pi = e->next;
        free(e);
    }
    if (*pn && --(*pn)->n == 0) {
        struct instcount *e = *pn;
        *pn = e->next;
        free(e);
    }
}

unsigned connlimit_count(const struct connlimit *cl, const char *inst)
{
    struct instcount **pn = find_inst(cl, inst);
    return *pn ? (*pn)->n : 0;
}

unsigned connlimit_count_ip(const struct connlimit *cl, const char *inst, const struct ipaddr *ip)
{
    struct ipcount **pi = find_ip(cl, inst, ip);
    return *pi ? (*pi)->n : 0;
}

bool connlimit_allowed(const struct instance_common *si, const struct ipaddr *ip)
{
    return !iplist_match(si->deny_clients, ip) &&
           (iplist_empty(si->allow_clients) || iplist_match(si->allow_clients, ip));
}

int connlimit_admit(const struct connlimit *cl, const struct instance_common *si,
                    const struct ipaddr *ip)
{
    if (!connlimit_allowed(si, ip))
        return REFUSE_DENIED;
    if (si->max_connections && connlimit_count(cl, si->name) >= si->max_connections)
        return REFUSE_TOO_MANY;
    if (si->max_connections_per_ip &&
        connlimit_count_ip(cl, si->name, ip) >= si->max_connections_per_ip)
        return REFUSE_TOO_MANY_IP;
    return -1;
}
