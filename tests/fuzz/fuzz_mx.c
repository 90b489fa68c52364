/* fuzz_mx: libFuzzer harness for DNS answer parsing in the queue runner (smtpd/mx.h):
 * mx_parse_answer on the raw input as a DNS response, mx_sort on what it kept, and
 * nexthop_static on the input as a domain name. Checks counts, order and termination. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned fm_rnd(void *ctx)
{
    unsigned *st = ctx;
    *st = *st * 1103515245u + 12345u;
    return *st >> 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535)
        return 0;
    struct mx_host h[MX_MAX_HOSTS];
    size_t max = size ? (size_t)(data[size - 1] % MX_MAX_HOSTS) + 1 : MX_MAX_HOSTS;
    size_t n = 99;
    enum mx_parse r = mx_parse_answer(data, (int)size, h, max, &n);
    FZ_CHECK(r == MXP_OK || r == MXP_NULL || r == MXP_BAD);
    if (r == MXP_OK) {
        FZ_CHECK(n <= max);
        size_t before = n;
        unsigned st = size;
        for (size_t i = 0; i < n; i++) {
            FZ_CHECK(fz_terminated(h[i].name, sizeof h[i].name));
            FZ_CHECK(h[i].pref >= 0 && h[i].pref <= 65535 && h[i].port == 25);
        }
        mx_sort(h, &n, (size & 1) ? fm_rnd : NULL, &st);
        FZ_CHECK(n <= before);
        for (size_t i = 1; i < n; i++)
            FZ_CHECK(h[i - 1].pref <= h[i].pref);
    }
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    char *dom = fz_strndup(data, size);
    struct nexthop *nh = malloc(sizeof *nh);
    if (!nh)
        abort();
    if (nexthop_static(&cfg, dom, nh)) {
        FZ_CHECK(nh->n == 1 && fz_terminated(nh->host[0].name, sizeof nh->host[0].name));
        FZ_CHECK(fz_terminated(nh->key, sizeof nh->key));
    }
    free(nh);
    free(dom);
    return 0;
}
