/* fuzz_rspamd: libFuzzer harness for rspamd's /checkv2 answer (smtpd/rspamd_reply.h):
 * the input is the HTTP body as received (not NUL-terminated). A parsed answer has a
 * known action, finite handling of its score, and maps to a reply or a header in both
 * failure modes; a refused one is RSPAMD_FAILED, which maps to the failure modes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rspamd_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rspamd_result r;
    struct rspamd_outcome o;
    uint8_t *copy = malloc(size ? size : 1);     /* exactly SIZE octets: no NUL after */
    if (!copy)
        abort();
    if (size)
        memcpy(copy, data, size);
    int rc = rspamd_parse_reply((const char *)copy, size, &r);
    FZ_CHECK(rc == 0 || rc == -1);
    FZ_CHECK(rc == 0 ? r.action < RSPAMD_FAILED : r.action == RSPAMD_FAILED);
    for (int tempfail = 0; tempfail < 2; tempfail++) {
        rspamd_map(&r, tempfail, &o);
        FZ_CHECK(o.code == 0 || o.code == 451 || o.code == 550);
        FZ_CHECK(memchr(o.header, '\0', sizeof o.header) && memchr(o.header2, '\0', sizeof o.header2));
        FZ_CHECK(!strpbrk(o.header, "\r\n") && !strpbrk(o.header2, "\r\n"));
        if (o.code)
            FZ_CHECK(o.enh && o.text && o.header[0] == '\0');
    }
    FZ_CHECK(rspamd_action_name(r.action)[0] != '\0');
    free(copy);
    return 0;
}
