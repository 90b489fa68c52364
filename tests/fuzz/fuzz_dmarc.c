/* fuzz_dmarc: libFuzzer harness for what DKIM verification and DMARC read from the
 * outside (check_dkim.h, check_dmarc.h). The first byte picks: 0 the input is a DNS
 * answer read as a DKIM key record and as a _dmarc TXT set; 1 the input is a DMARC
 * record evaluated by libopendmarc's parser with our alignment; 2 the input is a message
 * whose DKIM-Signature fields libopendkim verifies against a fixed RSA key (the seed
 * corpus has messages signed with its private key), or with a lookup that fails. What
 * comes out must be bounded, NUL-terminated and one of the named results. */
#include <stdint.h>
#include <string.h>

#include "check_dkim.h"
#include "check_dmarc.h"
#include "dkim_sign.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_key[] = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC7g83h/wxWuwpa1rEbT0paU9x3YLe0Thwkw/VITPACeGAUZl/m4ljj1eHBRrXy8lORvtPA60AoZO1oaAno8BjDS1YM7g74L3qeGiWlN9nAfQbKs/DCeG7xkgFqlMYiUNRq/Cew5BoWfWkmIryV7eSBsQtxQ3QQczO/GwIi0xGk3wIDAQAB";

static enum dkimv_key fz_lookup(void *ctx, const char *name, char *out, size_t n)
{
    unsigned mode = *(const unsigned *)ctx;
    FZ_CHECK(fz_terminated(name, 256));
    if (mode % 4 == 1)
        return DKIMV_KEY_NOTFOUND;
    if (mode % 4 == 2)
        return DKIMV_KEY_TEMPFAIL;
    if (mode % 4 == 3)
        return DKIMV_KEY_BAD;
    if (sizeof fz_key > n)
        return DKIMV_KEY_BAD;
    memcpy(out, fz_key, sizeof fz_key);
    return DKIMV_KEY_OK;
}

static void fz_records(const uint8_t *data, size_t size)
{
    char out[DMARCV_RECORD_MAX];
    int r = dkimv_key_txt(data, size, out, sizeof out);
    FZ_CHECK(r >= -1 && r <= 1);
    if (r == 0)
        FZ_CHECK(strlen(out) < sizeof out);
    r = dmarcv_pick(data, size, out, sizeof out);
    FZ_CHECK(r >= -1 && r <= 2);
    if (r == 0)
        FZ_CHECK(strncmp(out, "v=DMARC1", 8) == 0 && strlen(out) < sizeof out);
}

static void fz_record(const uint8_t *data, size_t size)
{
    char *rec = fz_strndup(data, size);
    struct dkimv_sig sig = { .result = DKIMV_PASS, .domain = "mail.good.example" };
    struct dmarcv_in in = { .from = "good.example", .record = rec, .at_org = size % 2,
                            .spf_pass = true, .spf_domain = "good.example", .dkim = &sig,
                            .ndkim = 1 };
    struct dmarcv_out o;
    FZ_CHECK(dmarcv_evaluate(&in, &o) == 0);
    FZ_CHECK(o.result == DMARCV_PASS || o.result == DMARCV_FAIL || o.result == DMARCV_PERMERROR);
    if (o.result != DMARCV_PERMERROR)
        FZ_CHECK(strchr("nqr", o.policy) && o.policy && o.pct >= 0 && o.pct <= 100);
    (void)dmarcv_decide(AUTHRES_ACT, &o, (int)(size % 100));
    free(rec);
}

static void fz_message(const uint8_t *data, size_t size, unsigned mode)
{
    struct dkim_msg m = { -1, 0, (const char *)data, size };
    struct dkimv_sig sig[DKIMV_SIGS_MAX];
    size_t n = 0;
    if (dkimv_verify(&m, fz_lookup, &mode, sig, DKIMV_SIGS_MAX, &n) < 0)
        return;
    FZ_CHECK(n <= DKIMV_SIGS_MAX);
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(sig[i].result <= DKIMV_PERMERROR);
        FZ_CHECK(fz_terminated(sig[i].domain, sizeof sig[i].domain) &&
                 fz_terminated(sig[i].selector, sizeof sig[i].selector) &&
                 fz_terminated(sig[i].b, sizeof sig[i].b) &&
                 fz_terminated(sig[i].why, sizeof sig[i].why));
        FZ_CHECK(mode % 4 == 0 || sig[i].result != DKIMV_PASS);   /* no key, no pass */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    switch (mode % 3) {
    case 0: fz_records(data + 1, size - 1); break;
    case 1: fz_record(data + 1, size - 1); break;
    default: fz_message(data + 1, size - 1, mode / 3); break;
    }
    return 0;
}
