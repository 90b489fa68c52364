/* config: mailserver.conf loader (SPEC.md "mailserver.conf").
 * INI style: [server], [routes], one [KIND NAME] per listener instance ([smtp NAME],
 * [pop3 NAME]); typed values; every error names file, line and key. All durations
 * are in seconds. */
#ifndef MS_CONFIG_H
#define MS_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mechs.h"   /* MECH_* bits of auth_mechanisms */

struct iplist;

enum tls_mode { TLS_OFF, TLS_STARTTLS, TLS_REQUIRED, TLS_IMPLICIT };  /* pop3 "stls" = TLS_STARTTLS */
enum plaintext_auth { PLAINTEXT_TLS, PLAINTEXT_ALWAYS };
/* [smtp NAME] auth_source (SPEC "Authentication source"): who may log in there. */
enum auth_source { AUTH_SOURCE_STORE, AUTH_SOURCE_SYSTEM, AUTH_SOURCE_FIXED };
/* spf = off|tag|reject, dmarc = off|tag|enforce (SPEC "Anti-spam on an instance") */
enum authres_mode { AUTHRES_OFF, AUTHRES_TAG, AUTHRES_ACT };
/* [server] mta_sts_policy = off|none|testing|enforce: the MTA-STS policy we publish */
enum mta_sts_publish { MTA_STS_OFF, MTA_STS_NONE, MTA_STS_TESTING, MTA_STS_ENFORCE };

struct strlist {
    char **v;
    size_t n;
};

struct listen_addr {
    char *host;   /* "127.0.0.1", "::" (no brackets), "0.0.0.0" */
    int port;
};

/* The protocol kinds of listener instance, one [KIND NAME] section each. The table
 * that drives their sections and keys is config_kinds.c: a new kind (IMAP) is one
 * row there, its struct below (common first) and its array in struct config. */
enum inst_kind { KIND_SMTP, KIND_POP3, KIND_COUNT };

/* What every listener instance has, whatever its protocol: the keys the server
 * framework reads (listen, tls, access lists, connection limits, timeout) and the
 * login keys. Embedded as `common` in each kind's struct. */
struct instance_common {
    char *name;
    int line;                          /* line of the [KIND NAME] header */
    struct listen_addr *listen;
    size_t nlisten;
    enum tls_mode tls;
    unsigned auth_mechs;               /* MECH_* bits, in the order SCRAM, CRAM, LOGIN, PLAIN */
    enum plaintext_auth plaintext_auth;
    struct iplist *allow_clients;      /* never NULL after load (may be empty) */
    struct iplist *deny_clients;       /* never NULL after load (may be empty) */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned timeout;
    bool allow_clients_set;            /* for --check-config warnings */
};

struct smtp_instance {
    struct instance_common common;
    bool require_auth;
    bool relay;
    bool relay_pop_before_smtp;
    bool relay_outside_lan;
    bool relay_nonlocal_senders;
    bool relay_local_senders;
    struct iplist *always_relay_from;  /* never NULL after load */
    struct strlist always_relay_to;    /* "example.net" or "*.example.net", lower case */
    bool reject_local_spoof;
    bool sender_login_match;
    bool allow_open_relay;
    unsigned max_recipients;
    bool greylist;                     /* greylisting at RCPT (greylist.h) */
    unsigned greylist_delay, greylist_window, greylist_keep;
    struct strlist dnsbl, dnswl;       /* DNS block / allow list zones (check_dnsbl.h) */
    enum authres_mode spf;             /* SPF at MAIL FROM (check_spf.h); ACT: reject */
    bool dkim_verify;                  /* DKIM signatures verified at end of data (check_dkim.h) */
    enum authres_mode dmarc;           /* DMARC at end of data (check_dmarc.h); ACT: enforce */
    bool always_relay_from_set;        /* for --check-config warnings */
    enum auth_source auth_source;      /* store (userdb), system (PAM), fixed (one account) */
    char *pam_service;                 /* system: the PAM service name */
    char *system_relay_group;          /* system: members may relay */
    char *auth_fixed_user;             /* fixed: the one account ("" unset) */
    /* content_filter = rspamd:HOST:PORT (check_rspamd.h); cf_host "" when off */
    char *cf_host;                     /* an IP address (no DNS wait on the loop) */
    int cf_port;
    bool cf_tempfail;                  /* content_filter_fail = tempfail (else accept) */
    unsigned cf_timeout;               /* content_filter_timeout, seconds */
};

struct pop3_instance {
    struct instance_common common;     /* POP3 has no keys of its own */
};

struct route {
    char *domain;   /* lower case, no trailing dot */
    char *host;
    int port;       /* 25 if not given */
};

struct config {
    char *path;
    char *hostname;
    char *domain;                      /* lower case, no trailing dot */
    struct strlist domain_aliases;     /* lower case, no trailing dot */
    struct iplist *lan;
    struct iplist *secure_networks;
    char *data_dir;
    char *run_as_user;
    char *tls_cert;                    /* "" if unset */
    char *tls_key;
    unsigned pop_before_smtp_window;
    unsigned auth_fail_limit;
    unsigned auth_fail_window;
    unsigned auth_lockout;
    uint64_t max_message_size;
    unsigned max_hops;                 /* more Received: headers: 554 5.4.6 */
    char *relayhost;                   /* "" if unset */
    int relayhost_port;
    struct strlist dns_servers;        /* "IP@PORT" (libunbound's form); none: resolv.conf */
    unsigned dns_timeout;              /* seconds, per query (dns.h) */
    char *dns_trust_anchor;            /* DNSSEC anchor file (dns.h); "": no validation */
    unsigned queue_retry;
    unsigned queue_lifetime;
    unsigned queue_concurrency;        /* outbound connections in all */
    unsigned queue_destination_concurrency;   /* ... and to one next hop */
    char *metrics_textfile;            /* Prometheus textfile (status.h); "" off */
    unsigned metrics_interval;         /* seconds between its writes */
    char *tls_ca_file;                 /* outbound verification (MTA-STS); "": system store */
    enum mta_sts_publish mta_sts_policy;   /* what `userdb dns` publishes */
    unsigned mta_sts_max_age;          /* max_age of the published policy, seconds */
    unsigned mta_sts_fetch_port;       /* HTTPS port of policy fetches (443; tests) */
    char *mail_dir;                    /* Maildirs' root; "" DATA_DIR/mail (maildir.h) */
    char *cluster_node;                /* [cluster] (cluster_conf.h): "" no cluster */
    char *cluster_peers;
    unsigned cluster_priority;
    char *cluster_ack_policy;
    struct route *routes;
    size_t nroutes;
    struct smtp_instance *smtp;
    size_t nsmtp;
    struct pop3_instance *pop3;
    size_t npop3;
};

/* The instances of one kind, whatever it is (the server framework, userdb): how
 * many, and the i-th one's common part or its whole struct (struct smtp_instance
 * for KIND_SMTP, struct pop3_instance for KIND_POP3), in the order of the file. */
size_t config_count(const struct config *cfg, enum inst_kind kind);
const struct instance_common *config_common(const struct config *cfg, enum inst_kind kind, size_t i);
const void *config_instance(const struct config *cfg, enum inst_kind kind, size_t i);

/* The default path: ./mailserver.conf if present, else /etc/mailserver/mailserver.conf. */
const char *config_default_path(void);

/* Load and validate. On error returns NULL and writes "FILE:LINE: key 'K': message"
 * (or "FILE: message" when no line applies) into err. */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

/* SPEC "Who is local": is DOMAIN one of the local domains (domain or domain_aliases)?
 * The one predicate for "local domain" (addr.h's addr_is_local and everything else use
 * it). Case-insensitive, a trailing dot ignored. An address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]") is local only when listed in domain_aliases; literals compare
 * by address (IPv6 text forms, and ::ffff:a.b.c.d as a.b.c.d), other text exactly. */
bool config_is_local_domain(const struct config *cfg, const char *domain);
/* The [routes] entry for a domain, or NULL. */
const struct route *config_route(const struct config *cfg, const char *domain);

#endif
