/* config_kinds: the tables that drive the mailserver.conf parser (config.c): the
 * keys of [server], the keys every listener instance has (struct instance_common),
 * and one row per protocol kind ([smtp NAME], [pop3 NAME]) with its own keys, its
 * words and defaults, and where its instances live in struct config. A new kind is
 * one row in config_kinds.c plus its key table. Internal to config.c and its tests. */
#ifndef MS_CONFIG_KINDS_H
#define MS_CONFIG_KINDS_H
#include <stddef.h>

#include "config.h"

enum vtype {
    V_STR, V_NESTR, V_HOST, V_DOMAIN, V_DOMLIST, V_RELAYTO, V_IPLIST, V_BOOL, V_DUR, V_DUR_NZ,
    V_SIZE, V_UINT, V_LISTEN, V_MECHS, V_PLAIN, V_HOSTPORT,
    V_AUTHSRC,    /* store, system, fixed */
    V_SPF,        /* off, tag, reject */
    V_DMARC,      /* off, tag, enforce */
    V_DNSSERVERS, /* IP[:PORT] list, kept as libunbound's "IP@PORT" */
    V_TLS,        /* off, the kind's STARTTLS word, required, implicit */
    V_TIMEOUT,    /* a nonzero duration; default: the kind's */
    V_CFILTER,    /* "" or rspamd:IP:PORT ([IPv6]); host string and port */
    V_CFFAIL,     /* accept (false), tempfail (true) */
    V_STSPUB      /* off, none, testing, enforce (enum mta_sts_publish) */
};

struct keydef {
    const char *name;
    enum vtype type;
    size_t off;
    size_t off2;       /* second field: count, port or "_set" flag; NOOFF if none */
    const char *def;   /* the default, parsed like a value; NULL: none (or the type's) */
};

#define NOOFF ((size_t)-1)

struct config_kind {
    const char *name;            /* the section word: [smtp NAME] */
    const char *starttls;        /* its word for tls = STARTTLS: "starttls", "stls" */
    const char *timeout;         /* the default of its timeout key */
    const struct keydef *keys;   /* its own keys; those of every kind: config_common_keys */
    size_t size;                 /* sizeof its instance struct */
    size_t common;               /* offsetof(that struct, common) */
    size_t array, count;         /* offsetof(struct config, its array and its count) */
};

/* Key tables end with a row whose name is NULL. */
extern const struct keydef config_server_keys[];
extern const struct keydef config_cluster_keys[];   /* offsets into struct config */
extern const struct keydef config_common_keys[];   /* offsets into struct instance_common */
extern const struct config_kind config_kinds[KIND_COUNT];

/* The kind whose section word is NAME, or NULL. */
const struct config_kind *config_kind_by_name(const char *name);
/* How many instances of a kind cfg has; the i-th one (i below that count); its
 * common part. */
size_t config_kind_n(const struct config *cfg, const struct config_kind *kd);
void *config_kind_get(const struct config *cfg, const struct config_kind *kd, size_t i);
struct instance_common *config_kind_common(const struct config_kind *kd, void *inst);
/* One more instance of a kind in cfg, zeroed; returns it. */
void *config_kind_add(struct config *cfg, const struct config_kind *kd);
/* Free a kind's array (after its instances' fields) and set its count to 0. */
void config_kind_drop(struct config *cfg, const struct config_kind *kd);

#endif
