/* fwdlat: the latency of one store write as a process of a node sees it, without a
 * process start in the figure. Opens the store of CONFIG (with its [cluster]) as
 * userdb does, then times N alias writes (a replace of one alias, one call at a time)
 * and prints "n=N median_us=.. p99_us=.. mean_us=..". On a cluster's replica each is a
 * forwarded write (to the node's writer, then to the master), on its master a local
 * commit through the writer. bench_cluster.py builds and runs it.
 * Usage (as root, like userdb): fwdlat CONFIG N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_conf.h"
#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "store.h"

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static long long now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    char err[512], alias[STORE_ADDR_MAX], *end = NULL;
    long nl = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc != 3 || *end != '\0' || nl <= 0 || nl > 1000000) {
        fputs("usage: fwdlat CONFIG N\n", stderr);
        return 2;
    }
    int n = (int)nl;
    log_open("fwdlat", 1);
    struct config *cfg = config_load(argv[1], err, sizeof err);
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct cluster_conf cc;
    struct store *st = NULL;
    if (privdrop_admin(cfg->data_dir, cfg->run_as_user, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    cluster_conf_apply(cfg, &cc);
    store_cluster_no_writer();
    long long *t = calloc((size_t)n, sizeof *t);
    if (t == NULL || store_open(cfg->data_dir, &st) != STORE_OK) {
        fputs("cannot open the store\n", stderr);
        free(t);
        config_free(cfg);
        return 1;
    }
    snprintf(alias, sizeof alias, "fwdlat@%s", cfg->domain);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        long long t0 = now_us();
        if (store_alias_put(st, alias, i % 2 ? "postmaster" : "abuse", true) != STORE_OK)
            rc = 1;
        t[i] = now_us() - t0;
    }
    long long sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    if (rc == 0)
        printf("n=%d median_us=%lld p99_us=%lld mean_us=%lld\n", n, t[n / 2],
               t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], sum / n);
    else
        fputs("a write failed\n", stderr);
    free(t);
    store_close(st);
    config_free(cfg);
    return rc;
}
