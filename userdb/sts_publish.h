/* sts_publish: the MTA-STS policy this server publishes ([server] mta_sts_policy,
 * RFC 8461): the policy file's text (mode, mx = hostname, max_age = mta_sts_max_age)
 * and the id of its `_mta-sts` TXT record, a hash of that text, so the id changes
 * exactly when the file does. Pure (tested); `userdb dns` prints both. */
#ifndef MS_STS_PUBLISH_H
#define MS_STS_PUBLISH_H
#include <stddef.h>

#include "config.h"

/* The policy file into out and its id (16 hex digits) into id (size >= 17). 0, or -1
 * when mta_sts_policy is off or it does not fit. */
int sts_policy_text(const struct config *cfg, char *out, size_t len, char *id, size_t idlen);

#endif
