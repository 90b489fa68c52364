/* policy: the MAIL FROM and RCPT TO decisions of smtpd: reject_local_spoof and
 * sender_login_match at MAIL; at RCPT, local recipients (users, aliases, postmaster)
 * and the relay table (relay.h) for everything else. Lookups go through a small
 * callback interface so the logic runs without a database in unit tests;
 * policy_lookup_store() gives the implementation over common/store.h.
 *
 * Decisions (SPEC is silent):
 * - Aliases resolve in chains up to POLICY_ALIAS_DEPTH (8) hops; deeper or looping
 *   chains are refused 550 5.4.6 (rule unknown_user).
 * - An alias whose final target is outside the local domains is accepted as the
 *   alias owner's forwarding (rule local, kind RCPT_FORWARD, target the alias itself,
 *   forward the outside address): the session queues the message to the alias, and
 *   the queue runner's local delivery (queue_local.h) passes it on to the outside
 *   address with an SRS envelope sender, without applying the relay table.
 * - A recipient at a local domain whose local part is SRS0=/SRS1= (srs.h) is a bounce
 *   to a sender we rewrote: with a good hash and a fresh stamp it is accepted (rule
 *   srs, kind RCPT_RELAY, target the original sender) from any sender, as
 *   postsrsd does: the address leads to the one mailbox whose mail we forwarded,
 *   for 21 days, so it relays nothing else; a null-sender-only rule would stop
 *   nothing (a spammer can send from <> too) and would lose the replies of
 *   challenge-response systems. Forged or expired: 550 5.1.1 (rule unknown_user).
 * - postmaster@<local domain> and bare postmaster are always accepted: to the
 *   postmaster user or alias if there is one, else to mailbox postmaster@domain.
 * - A lookup error is 451 4.3.0 (rule lookup_error): never a permanent refusal.
 * - A relay-only account (userdb add --no-mailbox, SPEC "Authentication source") is
 *   no recipient: RCPT to it, or to an alias leading to it, is 550 5.1.1
 *   (unknown_user); as a login it relays like any user with the privilege.
 * - An instance with auth_source = system: the relay privilege of the session's user
 *   is what the login found (membership of system_relay_group, policy_client_set_relay),
 *   not a store record.
 * - sender_login_match lets the null sender <> through (bounces, vacation replies).
 * - The user's relay privilege is looked up at each decision, so `userdb set` applies
 *   at once, even within a session.
 *
 * Result codes (0 success, negative error, positive a named outcome): the lookups give
 * the store's (STORE_OK, STORE_NOTFOUND, STORE_ERROR); a decision is a struct
 * policy_result, not a code; the steps return true when they decided;
 * policy_relay_facts 0 or -1. */
#ifndef MS_POLICY_H
#define MS_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "greylist.h"
#include "ipmatch.h"
#include "relay.h"
#include "store.h"

#define POLICY_ALIAS_DEPTH 8

#define RULE_LOCAL_SPOOF        "local_spoof"
#define RULE_SENDER_LOGIN_MATCH "sender_login_match"
#define RULE_UNKNOWN_USER       "unknown_user"
#define RULE_LOCAL              "local"
#define RULE_SENDER_OK          "sender_ok"      /* MAIL FROM accepted */
#define RULE_LOOKUP_ERROR       "lookup_error"
#define RULE_SRS                "srs"            /* a bounce to one of our SRS addresses */
#define RULE_CLIENT_DENIED      "client_denied"  /* deny_clients / allow_clients */

/* What the decisions need of a user record. */
struct policy_user {
    bool relay;                   /* the relay privilege */
    bool enabled;
    bool mailbox;                 /* false: a relay-only account (no Maildir, no mail) */
};

/* Lookups: return the store's codes (store.h): STORE_OK found (outputs set),
 * STORE_NOTFOUND, STORE_ERROR. Addresses are canonical (addr_canon). */
struct policy_lookup {
    void *ctx;
    int (*user)(void *ctx, const char *address, struct policy_user *out);
    int (*alias)(void *ctx, const char *alias, char *target, size_t len);
    /* The POP-auth cache entry for IP: the user and the time of his login (unix). */
    int (*popauth)(void *ctx, const struct ipaddr *ip, char *user, size_t len, int64_t *time);
    /* Greylisting: store_greylist_check on triplet R at NOW (greylist.h); NULL: the
     * greylist row lets everything pass. */
    int (*greylist)(void *ctx, struct greylist_rec *r, int64_t now,
                    const struct greylist_params *p, bool dry, int *outcome);
};

/* Fill lk with the implementation over the store (st must outlive lk). */
void policy_lookup_store(struct policy_lookup *lk, struct store *st);

/* Per-session facts about the client, set at connect and after AUTH. */
struct policy_client {
    const struct config *cfg;
    const struct smtp_instance *inst;
    struct ipaddr ip;
    char ipstr[46];
    bool in_lan;                  /* iplist_match(cfg->lan) */
    bool always_relay_from;       /* iplist_match(inst->always_relay_from) */
    bool authenticated;
    bool login_relay_set;         /* the login decided the relay privilege (system source) */
    bool login_relay;             /* ... and this is it */
    char user[STORE_ADDR_MAX];    /* canonical user address when authenticated, else "" */
};

/* At connect (and after RSET nothing changes). */
void policy_client_init(struct policy_client *pc, const struct config *cfg,
                        const struct smtp_instance *inst, const struct ipaddr *ip);
/* After a successful AUTH: USER is the canonical address (auth_flow_user()). */
void policy_client_set_user(struct policy_client *pc, const char *user);
/* After a successful AUTH against a source that decides the relay privilege itself
 * (auth_source = system: membership of system_relay_group): use RELAY, not the store. */
void policy_client_set_relay(struct policy_client *pc, bool relay);

struct policy_result {
    bool accept;
    int code;             /* 250 when accepted */
    const char *enh;      /* "2.1.0" / "2.1.5" when accepted */
    const char *text;     /* static text */
    const char *rule;     /* RULE_* name (relay.h or above) */
};

/* MAIL FROM: reject_local_spoof (550 5.7.1 local_spoof), sender_login_match
 * (553 5.7.1 sender_login_match), else accept (250 2.1.0, rule sender_ok).
 * NOW is the current unix time (for the POP-auth window). */
void policy_mail(const struct policy_client *pc, const struct policy_lookup *lk,
                 const struct mailaddr *from, int64_t now, struct policy_result *out);
/* Its steps, the MAIL rows of the session's checks (checks.h): each returns true when
 * it decided (OUT set: a refusal, or 451 4.3.0 lookup_error), false for no opinion.
 * policy_mail_accept sets the accept (250 2.1.0, rule sender_ok). */
bool policy_mail_spoof(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *from, int64_t now, struct policy_result *out);
bool policy_mail_login_match(const struct policy_client *pc, const struct policy_lookup *lk,
                             const struct mailaddr *from, struct policy_result *out);
void policy_mail_accept(struct policy_result *out);

enum rcpt_kind {
    RCPT_NONE = 0,        /* refused */
    RCPT_LOCAL,           /* deliver to the Maildir of target (user@primary-domain) */
    RCPT_FORWARD,         /* a local alias pointing outside: queue to target (the alias) */
    RCPT_RELAY,           /* a relay attempt accepted by the table: queue to target */
};

struct policy_rcpt {
    struct policy_result res;
    enum rcpt_kind kind;
    char target[STORE_ADDR_MAX];  /* LOCAL: canonical mailbox; FORWARD: the canonical alias
                                   * (queued; the runner forwards it); RELAY: address to send to */
    char forward[STORE_ADDR_MAX]; /* FORWARD: the outside address the alias leads to */
};

/* RCPT TO, given the accepted sender of the transaction (the three steps below in
 * order; the session runs them as the RCPT rows of checks.h, queue_local.c calls this). */
void policy_rcpt(const struct policy_client *pc, const struct policy_lookup *lk,
                 const struct mailaddr *from, const struct mailaddr *rcpt, int64_t now,
                 struct policy_rcpt *out);
/* The steps, on a zeroed OUT: a recipient at a local domain with an SRS local part
 * (rule srs or unknown_user), any other at a local domain (local, unknown_user), the
 * relay table for the rest (relay.h rules; always decides). The first two return true
 * when the recipient was theirs (OUT set), false when not. A lookup error is 451 4.3.0
 * rule lookup_error everywhere. */
bool policy_rcpt_srs(const struct policy_client *pc, const struct policy_lookup *lk,
                     const struct mailaddr *rcpt, int64_t now, struct policy_rcpt *out);
bool policy_rcpt_local(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *rcpt, struct policy_rcpt *out);
void policy_rcpt_relay(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *from, const struct mailaddr *rcpt, int64_t now,
                       struct policy_rcpt *out);

/* Has the client a fresh POP-before-SMTP entry (a POP3 login from its IP within
 * pop_before_smtp_window)? 0 (*fresh set), or -1 on a lookup error. */
int policy_client_pop_fresh(const struct policy_client *pc, const struct policy_lookup *lk,
                            int64_t now, bool *fresh);

/* deny_clients / allow_clients (deny wins; an empty allow list allows all): may IP
 * talk to INST? The same rule as the daemon's listener, which refuses earlier
 * (connlimit_allowed); this is the connect row of checks.h, which --test-relay shows
 * as rule client_denied. */
bool policy_client_admitted(const struct smtp_instance *inst, const struct ipaddr *ip);

/* The facts the relay table sees for this client, sender and recipient (exposed for
 * tests and --test-relay). Returns 0, or -1 on a lookup error. */
int policy_relay_facts(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *from, const struct mailaddr *rcpt,
                       int64_t now, struct relay_facts *f);

/* The one log line per decision, without the log prefix:
 * "relay: instance=NAME ip=IP user=USER from=<S> to=<R> rule=RULE result=ACCEPT"
 * or "... result=REJECT 550". user "-" when not authenticated; to=- for a MAIL
 * decision (rcpt NULL). */
void policy_log_format(char *buf, size_t len, const struct policy_client *pc,
                       const struct mailaddr *from, const struct mailaddr *rcpt,
                       const struct policy_result *res);
/* policy_log_format + log_info. */
void policy_log(const struct policy_client *pc, const struct mailaddr *from,
                const struct mailaddr *rcpt, const struct policy_result *res);

#endif
