/* reject_class: which reason class of the status counters (stats.h) a refused check
 * stage counts under, from the rule that decided it (checks.h res.rule): relay denied,
 * dnsbl, greylist, spf/dmarc, content filter, other. Pure. */
#ifndef MS_REJECT_CLASS_H
#define MS_REJECT_CLASS_H

#include "stats.h"

/* STAT_REJ_* for RULE (NULL: STAT_REJ_OTHER). */
enum stat_id reject_class(const char *rule);

#endif
