/* fuzz_authres: libFuzzer harness for finding the Authentication-Results: fields that
 * claim our name in a received header section (smtpd/authres.h authres_ours): the
 * spans found lie within the input, in order, without overlap, each one field that
 * starts with the field name; and the header line we build from the input's text. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct authres_span f[8];
    size_t n = authres_ours(t, size, "mx.example.test", f, 8);
    FZ_CHECK(n <= 8);
    size_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(f[i].at >= prev && f[i].len > 0 && f[i].at + f[i].len <= size);
        FZ_CHECK(strncasecmp(t + f[i].at, "authentication-results", 22) == 0);
        prev = f[i].at + f[i].len;
    }
    char dom[64], out[256];
    size_t dl = size < sizeof dom - 1 ? size : sizeof dom - 1;
    memcpy(dom, t, dl);
    dom[dl] = '\0';
    struct authres_facts fa = { .spf_ran = true, .spf = "pass", .spf_helo = size % 2 == 0,
                                .spf_domain = dom };
    if (authres_format("mx.example.test", &fa, out, sizeof out) == 0)
        FZ_CHECK(strlen(out) < sizeof out);
    /* a signature's values are the sender's: none of them may break our header */
    struct dkimv_sig g = { .result = (enum dkimv_result)(size % 6) };
    size_t k = size < sizeof g.domain - 1 ? size : sizeof g.domain - 1;
    memcpy(g.domain, t, k);
    memcpy(g.selector, t, k < sizeof g.selector - 1 ? k : sizeof g.selector - 1);
    memcpy(g.why, t, k < sizeof g.why - 1 ? k : sizeof g.why - 1);
    char big[1024];
    struct authres_facts fd = { .dkim_ran = true, .dkim = &g, .ndkim = 1, .dmarc_ran = true,
                                .dmarc = "fail", .dmarc_why = "p=reject", .dmarc_from = g.domain };
    if (authres_format("mx.example.test", &fd, big, sizeof big) == 0)
    {
        size_t semis = 0;
        for (const char *c = big; *c; c++)
            semis += *c == ';';
        FZ_CHECK(!strpbrk(big, "\r\n") && semis == 2);   /* "; dkim=..." and "; dmarc=..." */
    }
    return 0;
}
