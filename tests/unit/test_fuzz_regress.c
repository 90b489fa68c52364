/* test_fuzz_regress: replays every seed input (tests/fuzz/corpus/NAME/) and every
 * regression input (tests/fuzz/regress/NAME/, crashes found by `make fuzz`) through the
 * libFuzzer harnesses tests/fuzz/fuzz_*.c, built here with gcc + ASan/UBSan and no
 * libFuzzer, so `make test` keeps fixed crashes fixed. Run from the repository root
 * (tests/run-all.sh does), or set MS_ROOT. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"

/* Each harness defines LLVMFuzzerTestOneInput: give each its own name. */
#define LLVMFuzzerTestOneInput fz_one_smtp_parse
#include "../fuzz/fuzz_smtp_parse.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_smtp_data
#include "../fuzz/fuzz_smtp_data.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_pop3_parse
#include "../fuzz/fuzz_pop3_parse.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_addr
#include "../fuzz/fuzz_addr.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_sasl64
#include "../fuzz/fuzz_sasl64.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_config
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_ipmatch
#include "../fuzz/fuzz_ipmatch.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_mx
#include "../fuzz/fuzz_mx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_dkim
#include "../fuzz/fuzz_dkim.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_dns
#include "../fuzz/fuzz_dns.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_rspamd
#include "../fuzz/fuzz_rspamd.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_spf_dns
#include "../fuzz/fuzz_spf_dns.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_authres
#include "../fuzz/fuzz_authres.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_dane
#include "../fuzz/fuzz_dane.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_mtasts
#include "../fuzz/fuzz_mtasts.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_dmarc
#include "../fuzz/fuzz_dmarc.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_cluster_req
#include "../fuzz/fuzz_cluster_req.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fz_fn)(const uint8_t *, size_t);

static int replay_file(const char *path, fz_fn fn)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (len < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    fn(buf, len);   /* a broken invariant aborts the binary: run-all.sh counts it failed */
    free(buf);
    return 0;
}

/* Replay every file of ROOT/tests/fuzz/KIND/NAME; returns the count, -1 on errors. */
static int replay_dir(const char *kind, const char *name, fz_fn fn)
{
    const char *root = getenv("MS_ROOT") ? getenv("MS_ROOT") : ".";
    char dir[1024], path[2048];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", root, kind, name);
    DIR *d = opendir(dir);
    if (!d)
        return strcmp(kind, "regress") == 0 ? 0 : -1;   /* no regressions yet is fine */
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (replay_file(path, fn) != 0) {
            n = -1;
            break;
        }
        n++;
    }
    closedir(d);
    return n;
}

static void replay(const char *name, fz_fn fn)
{
    int seeds = replay_dir("corpus", name, fn);
    CU_ASSERT(seeds > 0);   /* every harness has a seed corpus */
    CU_ASSERT(replay_dir("regress", name, fn) >= 0);
    /* The empty input and a lone byte must be handled too. */
    fn((const uint8_t *)"", 0);
    fn((const uint8_t *)"\r", 1);
}

static void t_smtp_parse(void) { replay("fuzz_smtp_parse", fz_one_smtp_parse); }
static void t_smtp_data(void) { replay("fuzz_smtp_data", fz_one_smtp_data); }
static void t_pop3_parse(void) { replay("fuzz_pop3_parse", fz_one_pop3_parse); }
static void t_addr(void) { replay("fuzz_addr", fz_one_addr); }
static void t_sasl64(void) { replay("fuzz_sasl64", fz_one_sasl64); }
static void t_config(void) { replay("fuzz_config", fz_one_config); }
static void t_ipmatch(void) { replay("fuzz_ipmatch", fz_one_ipmatch); }
static void t_mx(void) { replay("fuzz_mx", fz_one_mx); }
static void t_dkim(void) { replay("fuzz_dkim", fz_one_dkim); }
static void t_dns(void) { replay("fuzz_dns", fz_one_dns); }
static void t_rspamd(void) { replay("fuzz_rspamd", fz_one_rspamd); }
static void t_spf_dns(void) { replay("fuzz_spf_dns", fz_one_spf_dns); }
static void t_authres(void) { replay("fuzz_authres", fz_one_authres); }
static void t_dane(void) { replay("fuzz_dane", fz_one_dane); }
static void t_mtasts(void) { replay("fuzz_mtasts", fz_one_mtasts); }
static void t_dmarc(void) { replay("fuzz_dmarc", fz_one_dmarc); }
static void t_cluster_req(void) { replay("fuzz_cluster_req", fz_one_cluster_req); }

static CU_TestInfo tests[] = {
    { "smtp command parser corpus", t_smtp_parse },
    { "DATA state machine corpus", t_smtp_data },
    { "POP3 command parser corpus", t_pop3_parse },
    { "address parser corpus", t_addr },
    { "SASL base64 framing corpus", t_sasl64 },
    { "config loader corpus", t_config },
    { "IP patterns corpus", t_ipmatch },
    { "DNS MX answer corpus", t_mx },
    { "DKIM header and canonicalization corpus", t_dkim },
    { "DNS answers (DNSBL) and dns_servers corpus", t_dns },
    { "rspamd answers corpus", t_rspamd },
    { "DNS answers read for libspf2 corpus", t_spf_dns },
    { "Authentication-Results: fields corpus", t_authres },
    { "DNS TLSA answers (DANE) corpus", t_dane },
    { "MTA-STS records and policies corpus", t_mtasts },
    { "DKIM signatures, key and DMARC records corpus", t_dmarc },
    { "replication channel messages corpus", t_cluster_req },
    CU_TEST_INFO_NULL,
};

CU_MAIN("fuzz regressions", tests)
