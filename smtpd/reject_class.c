/* reject_class: the reason class of a refusal for the status counters (reject_class.h). */
#include "reject_class.h"

#include <string.h>

#include "check_dnsbl.h"
#include "check_greylist.h"
#include "relay.h"
#include "rspamd_reply.h"

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum stat_id reject_class(const char *rule)
{
    /* the relay table's rules (relay.h): when they refuse, relaying was denied */
    static const char *const relay_rules[] = {
        RULE_RELAY_DISABLED, RULE_ALWAYS_RELAY_TO, RULE_ALWAYS_RELAY_FROM, RULE_AUTH,
        RULE_AUTH_NO_PRIVILEGE, RULE_POP_BEFORE_SMTP, RULE_AUTH_REQUIRED,
        RULE_LAN_AND_SENDER, RULE_LOCAL_SENDER, RULE_DENIED,
    };
    if (!rule)
        return STAT_REJ_OTHER;
    for (size_t i = 0; i < sizeof relay_rules / sizeof relay_rules[0]; i++)
        if (strcmp(rule, relay_rules[i]) == 0)
            return STAT_REJ_RELAY;
    if (starts(rule, RULE_DNSBL) || starts(rule, "dnswl"))
        return STAT_REJ_DNSBL;
    if (starts(rule, RULE_GREYLIST))
        return STAT_REJ_GREYLIST;
    if (starts(rule, "spf") || starts(rule, "dmarc") || starts(rule, "dkim"))
        return STAT_REJ_SPF_DMARC;
    if (starts(rule, RULE_CONTENT_FILTER))
        return STAT_REJ_CONTENT;
    return STAT_REJ_OTHER;
}
