/* cluster_conf: parsing and checking the [cluster] section (cluster_conf.h). */
#include "cluster_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int cluster_site_parse(const char *s, struct cluster_site *out, char *why, size_t wl)
{
    char buf[CLUSTER_HOST_MAX + 16];
    memset(out, 0, sizeof *out);
    if (str_copy(buf, s, sizeof buf) >= sizeof buf) {
        snprintf(why, wl, "'%.40s...' is too long", s);
        return -1;
    }
    char *host = buf, *colon;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end == NULL || end[1] != ':') {
            snprintf(why, wl, "'%s': expected [IPV6]:PORT", s);
            return -1;
        }
        *end = '\0';
        host = buf + 1;
        colon = end + 1;
    } else {
        colon = strrchr(buf, ':');
        if (colon == NULL || strchr(buf, ':') != colon) {
            snprintf(why, wl, "'%s': expected HOST:PORT", s);
            return -1;
        }
        *colon = '\0';
    }
    char *endp = NULL;
    long port = strtol(colon + 1, &endp, 10);
    if (!*host || colon[1] == '\0' || *endp != '\0' || port < 1 || port > 65535) {
        snprintf(why, wl, "'%s': expected HOST:PORT with a port from 1 to 65535", s);
        return -1;
    }
    for (const char *p = host; *p; p++)
        if (*p <= ' ' || *p == ',' || *p == '/') {
            snprintf(why, wl, "'%s': not a host name or address", s);
            return -1;
        }
    str_copy(out->host, host, sizeof out->host);
    out->port = (unsigned)port;
    return 0;
}

static const char *const acks_names[] = {
    [CLUSTER_ACKS_QUORUM] = "quorum",   [CLUSTER_ACKS_ALL] = "all",
    [CLUSTER_ACKS_ALL_AVAILABLE] = "all_available", [CLUSTER_ACKS_ONE] = "one",
    [CLUSTER_ACKS_NONE] = "none",
};

int cluster_acks_parse(const char *s, enum cluster_acks *out, char *why, size_t wl)
{
    for (size_t i = 0; i < sizeof acks_names / sizeof acks_names[0]; i++)
        if (str_ieq(s, acks_names[i])) {
            *out = (enum cluster_acks)i;
            return 0;
        }
    snprintf(why, wl, "'%s': expected quorum, all, all_available, one or none", s);
    return -1;
}

const char *cluster_acks_name(enum cluster_acks a)
{
    return (size_t)a < sizeof acks_names / sizeof acks_names[0] ? acks_names[a] : "?";
}

static bool same_site(const struct cluster_site *a, const struct cluster_site *b)
{
    return a->port == b->port && str_ieq(a->host, b->host);
}

static int parse_peers(const char *peers, struct cluster_conf *out, char *why, size_t wl)
{
    char item[CLUSTER_HOST_MAX + 16], sub[300];
    const char *p = peers;
    while (*p) {
        size_t n = strcspn(p, ", \t");
        if (n == 0) {
            p++;
            continue;
        }
        if (n >= sizeof item) {
            snprintf(why, wl, "key 'peers': an entry is too long");
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        p += n;
        struct cluster_site s;
        if (cluster_site_parse(item, &s, sub, sizeof sub) != 0) {
            snprintf(why, wl, "key 'peers': %s", sub);
            return -1;
        }
        if (same_site(&s, &out->node)) {
            snprintf(why, wl, "key 'peers': '%s' is this node (key 'node')", item);
            return -1;
        }
        for (size_t i = 0; i < out->npeers; i++)
            if (same_site(&s, &out->peers[i])) {
                snprintf(why, wl, "key 'peers': '%s' given twice", item);
                return -1;
            }
        if (out->npeers >= CLUSTER_MAX_PEERS) {
            snprintf(why, wl, "key 'peers': more than %d peers", CLUSTER_MAX_PEERS);
            return -1;
        }
        out->peers[out->npeers++] = s;
    }
    return 0;
}

int cluster_conf_parse(const char *node, const char *peers, unsigned priority,
                       const char *acks, struct cluster_conf *out, char *why, size_t wl)
{
    char sub[300];
    memset(out, 0, sizeof *out);
    out->priority = priority;
    if (cluster_acks_parse(acks, &out->acks, sub, sizeof sub) != 0) {
        snprintf(why, wl, "key 'ack_policy': %s", sub);
        return -1;
    }
    if (!*node) {
        if (*peers) {
            snprintf(why, wl, "key 'peers': set without key 'node' (this node's HOST:PORT)");
            return -1;
        }
        return 0;
    }
    if (cluster_site_parse(node, &out->node, sub, sizeof sub) != 0) {
        snprintf(why, wl, "key 'node': %s", sub);
        return -1;
    }
    if (parse_peers(peers, out, why, wl) != 0)
        return -1;
    if (out->npeers == 0) {
        snprintf(why, wl, "key 'peers': a cluster needs at least one other node");
        return -1;
    }
    out->on = true;
    return 0;
}

const char *cluster_site_str(const struct cluster_site *s, char *buf, size_t len)
{
    bool v6 = strchr(s->host, ':') != NULL;
    snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", s->host, v6 ? "]" : "", s->port);
    return buf;
}
