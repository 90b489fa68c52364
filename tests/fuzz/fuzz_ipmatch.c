/* fuzz_ipmatch: libFuzzer harness for IP addresses and pattern lists (common/ipmatch.h).
 * Input: a pattern list, then after the first newline one address per line. Every
 * address that parses is formatted and parsed back (round trip) and matched against the
 * list; a list made of the address itself must match it, and so must a list that
 * iplist_covers_all says covers the address's family. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ipmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fi_addr(const struct iplist *list, const char *s)
{
    struct ipaddr ip, back;
    char buf[64], err[256];
    if (ipaddr_parse(s, &ip) != 0)
        return;
    FZ_CHECK(ip.family == 2 /* AF_INET */ || ip.family == 10 /* AF_INET6 */);
    FZ_CHECK(ipaddr_format(&ip, buf, sizeof buf) != NULL);
    FZ_CHECK(ipaddr_parse(buf, &back) == 0 && ipaddr_equal(&ip, &back));
    FZ_CHECK(ipaddr_equal(&ip, &ip));
    (void)ipaddr_is_loopback(&ip);
    bool hit = iplist_match(list, &ip);
    if (iplist_covers_all(list, ip.family))   /* "every address" must mean every one */
        FZ_CHECK(hit);
    struct iplist *self = iplist_parse(buf, err, sizeof err);
    FZ_CHECK(self != NULL);
    FZ_CHECK(iplist_match(self, &ip));
    iplist_free(self);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = fz_strndup(data, size);
    char *nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
    char err[256];
    err[0] = '\0';
    struct iplist *list = iplist_parse(s, err, sizeof err);
    if (!list)
        FZ_CHECK(err[0] != '\0' && fz_terminated(err, sizeof err));
    fi_addr(list, s);
    for (char *p = nl ? nl + 1 : NULL; p && *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        fi_addr(list, p);
        p = e ? e + 1 : NULL;
    }
    iplist_free(list);
    free(s);
    return 0;
}
