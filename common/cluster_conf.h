/* cluster_conf: the [cluster] section as the store needs it (the node's own
 * replication address, the other nodes, election priority, acknowledgement policy),
 * parsed and checked from the strings of mailserver.conf. Pure: no I/O, unit-tested.
 * An empty node means no cluster: the store is a single node, as without the section. */
#ifndef MS_CLUSTER_CONF_H
#define MS_CLUSTER_CONF_H
#include <stdbool.h>
#include <stddef.h>

#define CLUSTER_MAX_PEERS 8
#define CLUSTER_HOST_MAX 256

/* Acknowledgement policies of a master's commit (Berkeley DB's DB_REPMGR_ACKS_*). */
enum cluster_acks {
    CLUSTER_ACKS_QUORUM,          /* default: a majority of the group has it */
    CLUSTER_ACKS_ALL,
    CLUSTER_ACKS_ALL_AVAILABLE,
    CLUSTER_ACKS_ONE,
    CLUSTER_ACKS_NONE,
};

struct cluster_site {
    char host[CLUSTER_HOST_MAX];
    unsigned port;
};

struct cluster_conf {
    bool on;                      /* false: single node */
    struct cluster_site node;     /* this node's replication address */
    struct cluster_site peers[CLUSTER_MAX_PEERS];
    size_t npeers;
    unsigned priority;            /* election priority; 0: never master */
    enum cluster_acks acks;
};

/* "HOST:PORT" or "[IPV6]:PORT" (port 1..65535). 0, or -1 with the reason in why. */
int cluster_site_parse(const char *s, struct cluster_site *out, char *why, size_t wl);
/* "quorum", "all", "all_available", "one", "none". 0 or -1 with why. */
int cluster_acks_parse(const char *s, enum cluster_acks *out, char *why, size_t wl);
const char *cluster_acks_name(enum cluster_acks a);
/* The whole section: NODE empty (and PEERS empty) is no cluster; otherwise node and at
 * least one peer, peers separated by commas or blanks, none repeated nor the node
 * itself. 0, or -1 with the reason in why (naming the key). */
int cluster_conf_parse(const char *node, const char *peers, unsigned priority,
                       const char *acks, struct cluster_conf *out, char *why, size_t wl);
struct config;
/* The [cluster] of a configuration config_load accepted (so it parses) into OUT, given
 * to the store (store_set_cluster), and [server] mail_dir to maildir.h (Maildirs on a
 * file system the nodes share): every program calls this before store_open. */
void cluster_conf_apply(const struct config *cfg, struct cluster_conf *out);
/* "host:port" ("[v6]:port" for an IPv6 literal) into buf. */
const char *cluster_site_str(const struct cluster_site *s, char *buf, size_t len);

#endif
