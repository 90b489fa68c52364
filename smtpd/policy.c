/* policy: MAIL FROM checks (reject_local_spoof, sender_login_match), RCPT TO checks
 * (local users, aliases, postmaster; the relay table for the rest), the decision log
 * line, and the lookup callbacks over the store. See policy.h for the decisions. */
#include "policy.h"

#include <stdio.h>
#include <string.h>

#include "connlimit.h"
#include "log.h"
#include "srs.h"
#include "util.h"

/* ---- lookups over the store -------------------------------------------- */

/* The store's codes, as the lookups give them (policy.h): found, not found, error. */
static int lookup_rc(int rc)
{
    return rc == STORE_OK || rc == STORE_NOTFOUND ? rc : STORE_ERROR;
}

static int st_user(void *ctx, const char *address, struct policy_user *out)
{
    struct user_rec u;
    int rc = store_user_get(ctx, address, &u);
    if (rc == STORE_OK)
        *out = (struct policy_user){ u.relay, u.enabled, !u.no_mailbox };
    explicit_bzero(&u, sizeof u);
    return lookup_rc(rc);
}

static int st_alias(void *ctx, const char *alias, char *target, size_t len)
{
    return lookup_rc(store_alias_get(ctx, alias, target, len));
}

static int st_popauth(void *ctx, const struct ipaddr *ip, char *user, size_t len, int64_t *time)
{
    struct popauth_rec r;
    int rc = store_popauth_get(ctx, ip, &r);
    if (rc == STORE_OK) {
        str_copy(user, r.user, len);
        *time = r.time;
    }
    return lookup_rc(rc);
}

static int st_greylist(void *ctx, struct greylist_rec *r, int64_t now,
                       const struct greylist_params *p, bool dry, int *outcome)
{
    return store_greylist_check(ctx, r, now, p, dry, outcome);
}

void policy_lookup_store(struct policy_lookup *lk, struct store *st)
{
    lk->ctx = st;
    lk->user = st_user;
    lk->alias = st_alias;
    lk->popauth = st_popauth;
    lk->greylist = st_greylist;
}

/* ---- client --------------------------------------------------------------- */

void policy_client_init(struct policy_client *pc, const struct config *cfg,
                        const struct smtp_instance *inst, const struct ipaddr *ip)
{
    memset(pc, 0, sizeof *pc);
    pc->cfg = cfg;
    pc->inst = inst;
    pc->ip = *ip;
    if (!ipaddr_format(ip, pc->ipstr, sizeof pc->ipstr))
        str_copy(pc->ipstr, "?", sizeof pc->ipstr);
    pc->in_lan = iplist_match(cfg->lan, ip);
    pc->always_relay_from = iplist_match(inst->always_relay_from, ip);
}

void policy_client_set_user(struct policy_client *pc, const char *user)
{
    pc->authenticated = true;
    str_copy(pc->user, user, sizeof pc->user);
}

void policy_client_set_relay(struct policy_client *pc, bool relay)
{
    pc->login_relay_set = true;
    pc->login_relay = relay;
}

/* ---- helpers -------------------------------------------------------------- */

static void set(struct policy_result *o, bool accept, int code, const char *enh,
                const char *text, const char *rule)
{
    *o = (struct policy_result){ accept, code, enh, text, rule };
}

static void set_lookup_error(struct policy_result *o)
{
    set(o, false, 451, "4.3.0", "Temporary lookup failure, try again later", RULE_LOOKUP_ERROR);
}

/* Relay privilege of USER: 1 yes, 0 no (or unknown or disabled), -1 lookup error. */
static int user_may_relay(const struct policy_lookup *lk, const char *user)
{
    struct policy_user pu = { false, false, false };
    int rc = lk->user ? lk->user(lk->ctx, user, &pu) : STORE_NOTFOUND;
    if (rc < 0)
        return -1;
    return rc == STORE_OK && pu.relay && pu.enabled;
}

/* POP-auth cache: *fresh = an entry for the client within the window (its user in
 * USER). 0, or -1 on a lookup error. */
static int pop_entry(const struct policy_client *pc, const struct policy_lookup *lk,
                     int64_t now, bool *fresh, char *user, size_t len)
{
    int64_t t = 0;

    *fresh = false;
    if (!lk->popauth)
        return 0;
    int rc = lk->popauth(lk->ctx, &pc->ip, user, len, &t);
    if (rc < 0)
        return -1;
    *fresh = rc == STORE_OK && now - t < (int64_t)pc->cfg->pop_before_smtp_window;
    return 0;
}

int policy_client_pop_fresh(const struct policy_client *pc, const struct policy_lookup *lk,
                            int64_t now, bool *fresh)
{
    char user[STORE_ADDR_MAX];
    return pop_entry(pc, lk, now, fresh, user, sizeof user);
}

/* pop_entry, and *priv = that user may relay. 0, or -1 on a lookup error. */
static int pop_state(const struct policy_client *pc, const struct policy_lookup *lk,
                     int64_t now, bool *fresh, bool *priv)
{
    char user[STORE_ADDR_MAX];

    *priv = false;
    if (pop_entry(pc, lk, now, fresh, user, sizeof user) != 0)
        return -1;
    if (!*fresh)
        return 0;
    int rc = user_may_relay(lk, user);
    if (rc < 0)
        return -1;
    *priv = rc == 1;
    return 0;
}

/* Follow aliases from canonical local address START. Returns 1 and sets kind/target
 * when resolved, 0 when nothing is found (unknown), -1 lookup error, -2 loop/too deep.
 * If want is not NULL, returns 1 as soon as an address in the chain equals want. */
static int resolve(const struct policy_lookup *lk, const struct config *cfg, const char *start,
                   const char *want, enum rcpt_kind *kind, char *target, size_t len)
{
    char cur[STORE_ADDR_MAX], next[STORE_ADDR_MAX];
    struct policy_user pu;

    str_copy(cur, start, sizeof cur);
    for (int depth = 0; depth <= POLICY_ALIAS_DEPTH; depth++) {
        if (want && strcmp(cur, want) == 0)
            return 1;
        int rc = lk->user ? lk->user(lk->ctx, cur, &pu) : STORE_NOTFOUND;
        if (rc < 0)
            return -1;
        if (rc == STORE_OK && !want && !pu.mailbox)
            return 0;                       /* a relay-only account receives no mail */
        if (rc == STORE_OK && !want) {
            *kind = RCPT_LOCAL;
            str_copy(target, cur, len);
            return 1;
        }
        rc = (rc == STORE_OK || !lk->alias) ? STORE_NOTFOUND
                                            : lk->alias(lk->ctx, cur, next, sizeof next);
        if (rc < 0)
            return -1;
        if (rc != STORE_OK)
            return 0;
        struct mailaddr a;
        if (addr_parse_mailbox(next, &a) != ADDR_OK ||
            addr_canon(cfg, &a, cur, sizeof cur) < 0)
            return -1;
        if (!addr_is_local(cfg, &a)) {
            if (want)
                return strcmp(cur, want) == 0;
            *kind = RCPT_FORWARD;
            str_copy(target, cur, len);
            return 1;
        }
    }
    return -2;
}

/* ---- MAIL FROM -------------------------------------------------------------- */

bool policy_mail_spoof(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *from, int64_t now, struct policy_result *out)
{
    const struct smtp_instance *inst = pc->inst;
    if (!inst->reject_local_spoof || pc->authenticated || pc->in_lan ||
        pc->always_relay_from || !addr_sender_domain_local(pc->cfg, from))
        return false;
    bool fresh = false, priv;
    if (inst->relay_pop_before_smtp && pop_state(pc, lk, now, &fresh, &priv) < 0) {
        set_lookup_error(out);
        return true;
    }
    if (fresh)
        return false;
    set(out, false, 550, "5.7.1", "Sender address rejected: local sender from outside, "
        "log in first", RULE_LOCAL_SPOOF);
    return true;
}

bool policy_mail_login_match(const struct policy_client *pc, const struct policy_lookup *lk,
                             const struct mailaddr *from, struct policy_result *out)
{
    char canon[STORE_ADDR_MAX], target[STORE_ADDR_MAX];
    enum rcpt_kind kind;
    int rc = 0;
    if (!pc->inst->sender_login_match || !pc->authenticated || from->null)
        return false;
    if (addr_canon(pc->cfg, from, canon, sizeof canon) == 0) {
        if (strcmp(canon, pc->user) == 0)
            rc = 1;
        else if (addr_is_local(pc->cfg, from))
            rc = resolve(lk, pc->cfg, canon, pc->user, &kind, target, sizeof target);
    }
    if (rc == 1)
        return false;
    if (rc == -1)
        set_lookup_error(out);
    else
        set(out, false, 553, "5.7.1", "Sender address not owned by the authenticated user",
            RULE_SENDER_LOGIN_MATCH);
    return true;
}

void policy_mail_accept(struct policy_result *out)
{
    set(out, true, 250, "2.1.0", "OK", RULE_SENDER_OK);
}

void policy_mail(const struct policy_client *pc, const struct policy_lookup *lk,
                 const struct mailaddr *from, int64_t now, struct policy_result *out)
{
    if (!policy_mail_spoof(pc, lk, from, now, out) &&
        !policy_mail_login_match(pc, lk, from, out))
        policy_mail_accept(out);
}

/* ---- RCPT TO ---------------------------------------------------------------- */

int policy_relay_facts(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *from, const struct mailaddr *rcpt,
                       int64_t now, struct relay_facts *f)
{
    const struct smtp_instance *inst = pc->inst;

    memset(f, 0, sizeof *f);
    f->relay = inst->relay;
    f->require_auth = inst->require_auth;
    f->relay_pop_before_smtp = inst->relay_pop_before_smtp;
    f->relay_outside_lan = inst->relay_outside_lan;
    f->relay_nonlocal_senders = inst->relay_nonlocal_senders;
    f->relay_local_senders = inst->relay_local_senders;
    f->in_lan = pc->in_lan;
    f->always_relay_from = pc->always_relay_from;
    f->authenticated = pc->authenticated;
    f->sender_local = addr_sender_domain_local(pc->cfg, from);
    f->always_relay_to = !rcpt->bare_postmaster &&
                         relay_domain_match(&inst->always_relay_to, rcpt->domain);
    if (pc->authenticated && pc->login_relay_set) {
        f->auth_relay = pc->login_relay;
    } else if (pc->authenticated) {
        int rc = user_may_relay(lk, pc->user);
        if (rc < 0)
            return -1;
        f->auth_relay = rc == 1;
    } else if (inst->relay_pop_before_smtp) {
        if (pop_state(pc, lk, now, &f->pop_fresh, &f->pop_relay) < 0)
            return -1;
    }
    return 0;
}

static void rcpt_local(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *rcpt, struct policy_rcpt *out)
{
    char canon[STORE_ADDR_MAX];

    if (addr_canon(pc->cfg, rcpt, canon, sizeof canon) < 0) {
        set(&out->res, false, 501, "5.1.3", "Bad recipient address", RULE_UNKNOWN_USER);
        return;
    }
    int rc = resolve(lk, pc->cfg, canon, NULL, &out->kind, out->target, sizeof out->target);
    if (rc == 1) {
        if (out->kind == RCPT_FORWARD) {      /* queued to the alias itself: see policy.h */
            str_copy(out->forward, out->target, sizeof out->forward);
            str_copy(out->target, canon, sizeof out->target);
        }
        set(&out->res, true, 250, "2.1.5", "OK", RULE_LOCAL);
        return;
    }
    out->kind = RCPT_NONE;
    if (rc == 0 && strncmp(canon, "postmaster@", 11) == 0) {
        out->kind = RCPT_LOCAL;           /* RFC 5321 4.5.1: always accepted */
        str_copy(out->target, canon, sizeof out->target);
        set(&out->res, true, 250, "2.1.5", "OK", RULE_LOCAL);
    } else if (rc == 0) {
        set(&out->res, false, 550, "5.1.1", "User unknown", RULE_UNKNOWN_USER);
    } else if (rc == -2) {
        set(&out->res, false, 550, "5.4.6", "Alias loop or chain too long", RULE_UNKNOWN_USER);
    } else {
        set_lookup_error(&out->res);
    }
}

/* A bounce to an SRS address of ours (SPEC "The outbound queue"): undo the rewriting
 * (an SRS1 address may unwrap to an SRS0 one of ours: again) and send it on to the
 * original sender, whatever the relay table says; forged or expired: 550 5.1.1. */
static void rcpt_srs(const struct policy_client *pc, const struct policy_lookup *lk,
                     const struct mailaddr *rcpt, int64_t now, struct policy_rcpt *out)
{
    const unsigned char *key = srs_secret(pc->cfg->data_dir);
    struct mailaddr cur = *rcpt;
    char orig[STORE_ADDR_MAX];
    if (!key) {
        log_err("srs: no secret in %s", pc->cfg->data_dir);
        set_lookup_error(&out->res);
        return;
    }
    for (int depth = 0; depth < 4; depth++) {
        if (srs_reverse(key, SRS_SECRET_LEN, cur.local, now, orig, sizeof orig) != SRS_OK ||
            addr_parse_mailbox(orig, &cur) != ADDR_OK)
            break;
        if (addr_is_local(pc->cfg, &cur) && srs_is_srs(cur.local))
            continue;
        if (addr_is_local(pc->cfg, &cur)) {
            rcpt_local(pc, lk, &cur, out);
            return;
        }
        out->kind = RCPT_RELAY;
        str_copy(out->target, orig, sizeof out->target);
        set(&out->res, true, 250, "2.1.5", "OK", RULE_SRS);
        return;
    }
    set(&out->res, false, 550, "5.1.1", "User unknown (invalid or expired SRS address)",
        RULE_UNKNOWN_USER);
}

bool policy_rcpt_srs(const struct policy_client *pc, const struct policy_lookup *lk,
                     const struct mailaddr *rcpt, int64_t now, struct policy_rcpt *out)
{
    if (!addr_is_local(pc->cfg, rcpt) || !srs_is_srs(rcpt->local))
        return false;
    rcpt_srs(pc, lk, rcpt, now, out);
    return true;
}

bool policy_rcpt_local(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *rcpt, struct policy_rcpt *out)
{
    if (!addr_is_local(pc->cfg, rcpt))
        return false;
    rcpt_local(pc, lk, rcpt, out);
    return true;
}

void policy_rcpt_relay(const struct policy_client *pc, const struct policy_lookup *lk,
                       const struct mailaddr *from, const struct mailaddr *rcpt, int64_t now,
                       struct policy_rcpt *out)
{
    struct relay_facts f;
    struct relay_result rr;

    if (policy_relay_facts(pc, lk, from, rcpt, now, &f) < 0) {
        set_lookup_error(&out->res);
        return;
    }
    relay_decide(&f, &rr);
    set(&out->res, rr.accept, rr.code, rr.enh, rr.text, rr.rule);
    if (rr.accept) {
        out->kind = RCPT_RELAY;
        if (addr_canon(pc->cfg, rcpt, out->target, sizeof out->target) < 0)
            str_copy(out->target, rcpt->text, sizeof out->target);
    }
}

void policy_rcpt(const struct policy_client *pc, const struct policy_lookup *lk,
                 const struct mailaddr *from, const struct mailaddr *rcpt, int64_t now,
                 struct policy_rcpt *out)
{
    memset(out, 0, sizeof *out);
    if (!policy_rcpt_srs(pc, lk, rcpt, now, out) && !policy_rcpt_local(pc, lk, rcpt, out))
        policy_rcpt_relay(pc, lk, from, rcpt, now, out);
}

bool policy_client_admitted(const struct smtp_instance *inst, const struct ipaddr *ip)
{
    return connlimit_allowed(&inst->common, ip);
}

/* ---- logging -------------------------------------------------------------- */

void policy_log_format(char *buf, size_t len, const struct policy_client *pc,
                       const struct mailaddr *from, const struct mailaddr *rcpt,
                       const struct policy_result *res)
{
    char to[ADDR_PATH_MAX + 3], result[32];

    if (rcpt)
        snprintf(to, sizeof to, "<%s>", rcpt->text);
    else
        str_copy(to, "-", sizeof to);
    if (res->accept)
        str_copy(result, "ACCEPT", sizeof result);
    else
        snprintf(result, sizeof result, "REJECT %d", res->code);
    snprintf(buf, len, "relay: instance=%s ip=%s user=%s from=<%s> to=%s rule=%s result=%s",
             pc->inst->common.name ? pc->inst->common.name : "-", pc->ipstr,
             pc->authenticated ? pc->user : "-", from ? from->text : "", to, res->rule, result);
}

void policy_log(const struct policy_client *pc, const struct mailaddr *from,
                const struct mailaddr *rcpt, const struct policy_result *res)
{
    char line[1024];
    policy_log_format(line, sizeof line, pc, from, rcpt, res);
    log_info("%s", line);
}
