/* relay: SPEC.md "The relay decision" rules 0-8 as a pure function, the always_relay_to
 * domain match and the open-relay predicate (policy flags, listen addresses, and lan /
 * always_relay_from lists that cover every address). */
#include "relay.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ipmatch.h"

static void set(struct relay_result *o, bool accept, int code, const char *enh,
                const char *text, const char *rule)
{
    o->accept = accept;
    o->code = code;
    o->enh = enh;
    o->text = text;
    o->rule = rule;
}

void relay_decide(const struct relay_facts *f, struct relay_result *o)
{
    if (!f->relay)
        set(o, false, 550, "5.7.1", "Relaying disabled", RULE_RELAY_DISABLED);
    else if (f->always_relay_to)
        set(o, true, 250, "2.1.5", "OK", RULE_ALWAYS_RELAY_TO);
    else if (f->always_relay_from)
        set(o, true, 250, "2.1.5", "OK", RULE_ALWAYS_RELAY_FROM);
    else if (f->authenticated && f->auth_relay)
        set(o, true, 250, "2.1.5", "OK", RULE_AUTH);
    else if (f->authenticated)
        set(o, false, 550, "5.7.1", "User may not relay", RULE_AUTH_NO_PRIVILEGE);
    else if (f->relay_pop_before_smtp && f->pop_fresh && f->pop_relay)
        set(o, true, 250, "2.1.5", "OK", RULE_POP_BEFORE_SMTP);
    else if (f->require_auth)
        set(o, false, 530, "5.7.0", "Authentication required", RULE_AUTH_REQUIRED);
    else if ((f->in_lan || f->relay_outside_lan) && (f->sender_local || f->relay_nonlocal_senders))
        set(o, true, 250, "2.1.5", "OK", RULE_LAN_AND_SENDER);
    else if (f->relay_local_senders && f->sender_local)
        set(o, true, 250, "2.1.5", "OK", RULE_LOCAL_SENDER);
    else
        set(o, false, 550, "5.7.1", "Relaying denied", RULE_DENIED);
}

bool relay_domain_match(const struct strlist *list, const char *domain)
{
    size_t dl = strlen(domain);

    if (dl > 0 && domain[dl - 1] == '.')
        dl--;
    if (dl == 0 || domain[0] == '[')
        return false;
    for (size_t i = 0; i < list->n; i++) {
        const char *pat = list->v[i];
        if (pat[0] == '*' && pat[1] == '.') {
            const char *suffix = pat + 1;          /* ".example.net" */
            size_t sl = strlen(suffix);
            if (sl > 0 && suffix[sl - 1] == '.')
                sl--;
            if (dl > sl && strncasecmp(domain + dl - sl, suffix, sl) == 0)
                return true;
        } else if (addr_domain_eq(domain, pat)) {
            return true;
        }
    }
    return false;
}

bool relay_policy_is_open(bool require_auth, bool relay, bool relay_outside_lan,
                          bool relay_nonlocal_senders, bool relay_local_senders,
                          bool reject_local_spoof)
{
    if (require_auth || !relay)
        return false;
    return (relay_outside_lan && (relay_nonlocal_senders || !reject_local_spoof)) ||
           (relay_local_senders && !reject_local_spoof);
}

unsigned relay_listen_families(const char *host)
{
    unsigned char b[16];

    if (inet_pton(AF_INET, host, b) == 1)
        return b[0] == 127 ? 0 : RELAY_FAM_V4;
    if (inet_pton(AF_INET6, host, b) == 1) {
        static const unsigned char loop6[16] = { [15] = 1 };
        static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
        if (memcmp(b, loop6, 16) == 0)
            return 0;
        if (memcmp(b, mapped, 12) == 0)
            return b[12] == 127 ? 0 : RELAY_FAM_V4;
        return RELAY_FAM_V6;
    }
    return strcasecmp(host, "localhost") == 0 ? 0 : RELAY_FAM_V4 | RELAY_FAM_V6;
}

bool relay_listen_is_public(const char *host)
{
    return relay_listen_families(host) != 0;
}

/* The families of FAM whose every address LIST matches (RELAY_FAM_* bits). */
static unsigned covered(const struct iplist *list, unsigned fam)
{
    unsigned c = 0;
    if ((fam & RELAY_FAM_V4) && iplist_covers_all(list, AF_INET))
        c |= RELAY_FAM_V4;
    if ((fam & RELAY_FAM_V6) && iplist_covers_all(list, AF_INET6))
        c |= RELAY_FAM_V6;
    return c;
}

static const char *fam_words(unsigned c)
{
    if (c == (RELAY_FAM_V4 | RELAY_FAM_V6))
        return "every IPv4 and IPv6 address";
    return c == RELAY_FAM_V4 ? "every IPv4 address" : "every IPv6 address";
}

static void say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (!why || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

bool relay_instance_open(const struct iplist *lan, const struct smtp_instance *inst,
                         char *why, size_t whylen)
{
    unsigned fam = 0, c;

    for (size_t i = 0; i < inst->common.nlisten; i++)
        fam |= relay_listen_families(inst->common.listen[i].host);
    if (fam == 0 || !inst->relay)
        return false;
    if (!inst->require_auth) {
        if (inst->relay_outside_lan && inst->relay_nonlocal_senders) {
            say(why, whylen, "relay_outside_lan = yes with relay_nonlocal_senders = yes lets "
                "any client relay");
            return true;
        }
        if (relay_policy_is_open(false, true, inst->relay_outside_lan, inst->relay_nonlocal_senders,
                                 inst->relay_local_senders, inst->reject_local_spoof)) {
            say(why, whylen, "%s = yes with reject_local_spoof = no lets any client relay "
                "with a local sender", inst->relay_outside_lan ? "relay_outside_lan"
                                                                : "relay_local_senders");
            return true;
        }
    }
    if ((c = covered(inst->always_relay_from, fam)) != 0) {
        say(why, whylen, "always_relay_from = %s covers %s", iplist_text(inst->always_relay_from),
            fam_words(c));
        return true;
    }
    if (!inst->require_auth && (c = covered(lan, fam)) != 0) {
        say(why, whylen, "lan = %s ([server]) covers %s", iplist_text(lan), fam_words(c));
        return true;
    }
    return false;
}

bool relay_instance_is_open(const struct iplist *lan, const struct smtp_instance *inst)
{
    return relay_instance_open(lan, inst, NULL, 0);
}
