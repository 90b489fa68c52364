/* sts_publish: our MTA-STS policy file and TXT id (see sts_publish.h). */
#include "sts_publish.h"

#include <stdio.h>

#include <openssl/sha.h>

int sts_policy_text(const struct config *cfg, char *out, size_t len, char *id, size_t idlen)
{
    static const char *const mode[] = { "", "none", "testing", "enforce" };
    if (cfg->mta_sts_policy == MTA_STS_OFF || idlen < 17)
        return -1;
    int n = snprintf(out, len, "version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: %u\r\n",
                     mode[cfg->mta_sts_policy], cfg->hostname, cfg->mta_sts_max_age);
    if (n < 0 || (size_t)n >= len)
        return -1;
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (!SHA256((const unsigned char *)out, (size_t)n, md))
        return -1;
    for (int i = 0; i < 8; i++)
        snprintf(id + 2 * i, 3, "%02x", md[i]);
    return 0;
}
