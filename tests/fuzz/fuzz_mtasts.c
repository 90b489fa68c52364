/* fuzz_mtasts: libFuzzer harness for MTA-STS's parsers (smtpd/mtasts_parse.h), which
 * read what a remote domain publishes: the input is tried as TXT RDATA (joined, then
 * parsed as a record) and as a policy file (exactly SIZE octets, no NUL after). A
 * parsed policy has a known mode, a capped max_age, bounded NUL-terminated mx patterns
 * and, unless mode none, at least one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fuzz_util.h"
#include "mtasts_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char txt[1024], id[MTASTS_ID_MAX];
    if (dns_txt_join(data, size, txt, sizeof txt) == 0) {
        FZ_CHECK(strlen(txt) < sizeof txt);
        int r = mtasts_txt_parse(txt, id, sizeof id);
        FZ_CHECK(r >= -1 && r <= 1);
        if (r == 0)
            FZ_CHECK(id[0] && strlen(id) < MTASTS_ID_MAX && strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(id));
    }
    char *s = fz_strndup(data, size);       /* the text form too */
    int r = mtasts_txt_parse(s, id, sizeof id);
    FZ_CHECK(r >= -1 && r <= 1);
    free(s);

    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    if (size)
        memcpy(copy, data, size);
    struct mtasts_policy p;
    if (mtasts_policy_parse((const char *)copy, size, &p) == 0) {
        FZ_CHECK(p.mode <= MTASTS_ENFORCE);
        FZ_CHECK(p.max_age <= MTASTS_MAX_AGE_MAX);
        FZ_CHECK(p.nmx <= TLSP_MX_MAX);
        FZ_CHECK(p.mode == MTASTS_NONE || p.nmx > 0);
        for (size_t i = 0; i < p.nmx; i++)
            FZ_CHECK(memchr(p.mx[i], '\0', sizeof p.mx[i]) && p.mx[i][0]);
        struct tls_policy t;
        mtasts_to_tls_policy(&p, "example.com", &t);
        FZ_CHECK((t.mode == TLSP_OPPORTUNISTIC) == (t.via == TLSP_VIA_NONE));
        FZ_CHECK(mtasts_mode_name(p.mode)[0]);
    }
    free(copy);
    return 0;
}
