/* fuzz_sasl64: libFuzzer harness for SASL exchange framing, the base64 in/out that
 * common/sasl_glue.c does with Cyrus' sasl_decode64/sasl_encode64: a client line is
 * decoded into a buffer of strlen+1 octets (as decode_line does), and the raw input is
 * encoded (into an exact and a too-small buffer) and decoded back to itself. */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sasl_glue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fs_decode_line(const char *line)
{
    size_t n = strlen(line);
    if (n > SASLG_LINE_MAX || n == 0)
        return;
    char *buf = malloc(n + 1);
    unsigned len = 0;
    if (!buf)
        abort();
    if (sasl_decode64(line, (unsigned)n, buf, (unsigned)n + 1, &len) == SASL_OK)
        FZ_CHECK(len <= n);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SASLG_LINE_MAX)
        return 0;
    char *line = fz_strndup(data, size);
    fs_decode_line(line);
    free(line);

    size_t need = (size + 2) / 3 * 4 + 1;
    char *enc = malloc(need);
    char *dec = malloc(size + 1);
    unsigned elen = 0, dlen = 0;
    if (!enc || !dec)
        abort();
    FZ_CHECK(sasl_encode64((const char *)data, (unsigned)size, enc, (unsigned)need, &elen) ==
             SASL_OK);
    FZ_CHECK(elen == need - 1 && enc[elen] == '\0');
    if (elen > 0) {
        FZ_CHECK(sasl_decode64(enc, elen, dec, (unsigned)size + 1, &dlen) == SASL_OK);
        FZ_CHECK(dlen == size && memcmp(dec, data, size) == 0);
        FZ_CHECK(sasl_encode64((const char *)data, (unsigned)size, enc, (unsigned)need - 1,
                               &elen) != SASL_OK);
    }
    free(enc);
    free(dec);
    return 0;
}
