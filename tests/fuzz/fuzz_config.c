/* fuzz_config: libFuzzer harness for the config loader (common/config.h config_load).
 * The input is the whole mailserver.conf, handed over as a memfd (/proc/self/fd/N) so no
 * temporary file is left behind. A loaded config is queried and freed (leaks show). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fc_query(const struct config *cfg)
{
    char buf[128];
    FZ_CHECK(cfg->domain && cfg->domain[0]);
    FZ_CHECK(config_is_local_domain(cfg, cfg->domain));
    for (size_t i = 0; i < cfg->domain_aliases.n; i++)
        FZ_CHECK(config_is_local_domain(cfg, cfg->domain_aliases.v[i]));
    for (size_t i = 0; i < cfg->nroutes; i++)
        FZ_CHECK(config_route(cfg, cfg->routes[i].domain) != NULL);
    for (size_t i = 0; i < cfg->nsmtp; i++) {
        FZ_CHECK(cfg->smtp[i].common.nlisten > 0);
        FZ_CHECK(mech_names(cfg->smtp[i].common.auth_mechs, ' ', buf, sizeof buf) != NULL);
    }
    for (size_t i = 0; i < cfg->npop3; i++)
        FZ_CHECK(mech_names(cfg->pop3[i].common.auth_mechs, ' ', buf, sizeof buf) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    int fd = memfd_create("fuzzconf", 0);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    err[0] = '\0';
    struct config *cfg = config_load(path, err, sizeof err);
    if (cfg) {
        fc_query(cfg);
        config_free(cfg);
    } else {
        FZ_CHECK(fz_terminated(err, sizeof err) && err[0] != '\0');
    }
    close(fd);
    return 0;
}
