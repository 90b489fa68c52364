/* relay: the relay decision table of SPEC.md "The relay decision", rules 0-8 in order,
 * as a pure function of booleans (the facts are gathered by policy.c), plus the
 * always_relay_to domain match and the open-relay predicate used by --check-config
 * and by the daemon at startup. No I/O. */
#ifndef MS_RELAY_H
#define MS_RELAY_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Everything the table looks at, for one RCPT that is a relay attempt. */
struct relay_facts {
    /* instance policy ([smtp NAME]) */
    bool relay;                   /* relay = yes */
    bool require_auth;
    bool relay_pop_before_smtp;
    bool relay_outside_lan;
    bool relay_nonlocal_senders;
    bool relay_local_senders;
    /* the client */
    bool in_lan;                  /* client IP in [server] lan */
    bool always_relay_from;       /* client IP matches always_relay_from */
    bool authenticated;           /* SMTP AUTH succeeded */
    bool auth_relay;              /* ... and that user has the relay privilege */
    bool pop_fresh;               /* POP-auth cache entry for the IP within the window */
    bool pop_relay;               /* ... and that POP user has the relay privilege */
    /* the message */
    bool sender_local;            /* sender's domain is local (never for <>) */
    bool always_relay_to;         /* recipient domain matches always_relay_to */
};

/* Rule names, as printed by --test-relay and logged */
#define RULE_RELAY_DISABLED     "relay_disabled"
#define RULE_ALWAYS_RELAY_TO    "always_relay_to"
#define RULE_ALWAYS_RELAY_FROM  "always_relay_from"
#define RULE_AUTH               "auth"
#define RULE_AUTH_NO_PRIVILEGE  "auth_no_privilege"
#define RULE_POP_BEFORE_SMTP    "pop_before_smtp"
#define RULE_AUTH_REQUIRED      "auth_required"
#define RULE_LAN_AND_SENDER     "lan_and_sender"
#define RULE_LOCAL_SENDER       "local_sender"
#define RULE_DENIED             "denied"

struct relay_result {
    bool accept;
    int code;             /* 250 on accept */
    const char *enh;      /* "2.1.5" on accept */
    const char *text;     /* static */
    const char *rule;     /* RULE_* */
};

/* Apply rules 0-8; the first that matches decides. */
void relay_decide(const struct relay_facts *f, struct relay_result *out);

/* Does DOMAIN match an always_relay_to list? "example.net" matches that domain only,
 * "*.example.net" its subdomains only (not example.net itself). Case-insensitive,
 * trailing dots ignored. */
bool relay_domain_match(const struct strlist *list, const char *domain);

/* SPEC's open-relay condition on the policy booleans alone (without the listen test). */
bool relay_policy_is_open(bool require_auth, bool relay, bool relay_outside_lan,
                          bool relay_nonlocal_senders, bool relay_local_senders,
                          bool reject_local_spoof);

/* Client address families that can reach a listener on HOST from outside loopback:
 * RELAY_FAM_V4 and/or RELAY_FAM_V6, 0 for a loopback address (127.0.0.0/8, ::1,
 * "localhost"). IPv6 listeners are bound IPV6_V6ONLY (listeners.c), so "::" takes IPv6
 * clients only; a name other than "localhost" may resolve to either family. */
#define RELAY_FAM_V4 0x1u
#define RELAY_FAM_V6 0x2u
unsigned relay_listen_families(const char *host);

/* Does HOST (a listen address: "127.0.0.1", "::1", "0.0.0.0", "::", a name) lie outside
 * 127.0.0.0/8 and ::1? Wildcards and names other than "localhost" count as outside. */
bool relay_listen_is_public(const char *host);

/* The full SPEC definition for an instance. It is open when it listens outside loopback,
 * relay = yes, and any client there could relay without authentication:
 * - require_auth = no and relay_policy_is_open(), or
 * - require_auth = no and [server] lan covers every address of a family that reaches a
 *   listener (rule 6: a client in lan passes reject_local_spoof, so a local sender
 *   relays even with relay_nonlocal_senders = no), or
 * - always_relay_from covers every such address (rule 2 comes before rule 5, so
 *   require_auth = yes does not close it).
 * LAN is cfg->lan (NULL: empty). When open and WHY is not NULL, WHY gets the reason,
 * naming the key: "lan = 0.0.0.0/0 covers every IPv4 address". */
bool relay_instance_open(const struct iplist *lan, const struct smtp_instance *inst,
                         char *why, size_t whylen);
bool relay_instance_is_open(const struct iplist *lan, const struct smtp_instance *inst);

#endif
