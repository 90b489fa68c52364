/* config: mailserver.conf loader (SPEC.md "mailserver.conf").
 * INI style: [server], [routes], [smtp NAME], [pop3 NAME]; typed values;
 * every error names file, line and key. All durations are in seconds. */
#ifndef MS_CONFIG_H
#define MS_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mechs.h"   /* MECH_* bits of auth_mechanisms */

struct iplist;

enum tls_mode { TLS_OFF, TLS_STARTTLS, TLS_REQUIRED, TLS_IMPLICIT };  /* pop3 "stls" = TLS_STARTTLS */
enum plaintext_auth { PLAINTEXT_TLS, PLAINTEXT_ALWAYS };

struct strlist {
    char **v;
    size_t n;
};

struct listen_addr {
    char *host;   /* "127.0.0.1", "::" (no brackets), "0.0.0.0" */
    int port;
};

struct smtp_instance {
    char *name;
    int line;                          /* line of the [smtp NAME] header */
    struct listen_addr *listen;
    size_t nlisten;
    enum tls_mode tls;
    unsigned auth_mechs;               /* MECH_* bits, in the order SCRAM, CRAM, LOGIN, PLAIN */
    enum plaintext_auth plaintext_auth;
    bool require_auth;
    bool relay;
    bool relay_pop_before_smtp;
    bool relay_outside_lan;
    bool relay_nonlocal_senders;
    bool relay_local_senders;
    struct iplist *always_relay_from;  /* never NULL after load */
    struct strlist always_relay_to;    /* "example.net" or "*.example.net", lower case */
    struct iplist *allow_clients;      /* never NULL after load (may be empty) */
    struct iplist *deny_clients;       /* never NULL after load (may be empty) */
    bool reject_local_spoof;
    bool sender_login_match;
    bool allow_open_relay;
    unsigned max_recipients;
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned timeout;
    bool always_relay_from_set, allow_clients_set;  /* for --check-config warnings */
};

struct pop3_instance {
    char *name;
    int line;
    struct listen_addr *listen;
    size_t nlisten;
    enum tls_mode tls;
    unsigned auth_mechs;
    enum plaintext_auth plaintext_auth;
    struct iplist *allow_clients;
    struct iplist *deny_clients;
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned timeout;
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
    unsigned queue_retry;
    unsigned queue_lifetime;
    unsigned queue_concurrency;        /* outbound connections in all */
    unsigned queue_destination_concurrency;   /* ... and to one next hop */
    struct route *routes;
    size_t nroutes;
    struct smtp_instance *smtp;
    size_t nsmtp;
    struct pop3_instance *pop3;
    size_t npop3;
};

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
