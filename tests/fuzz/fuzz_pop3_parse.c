/* fuzz_pop3_parse: libFuzzer harness for the POP3 command parser (pop3d/pop3_parse.h).
 * The input is one command line (at most POP3_LINE_MAX octets, as the session enforces);
 * it is parsed in each state, and the argument pointers and numbers are checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fpp_num(const char *s)
{
    unsigned long v = 0;
    if (pop3_parse_num(s, &v)) {
        FZ_CHECK(v <= 2147483647UL);
        FZ_CHECK(s[0] != '\0' && strspn(s, "0123456789") == strlen(s));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > POP3_LINE_MAX)
        return 0;
    static const enum pop3_state states[] = { P3S_AUTHORIZATION, P3S_TRANSACTION, P3S_UPDATE };
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
        char *line = fz_strndup(data, size);
        size_t len = strlen(line);
        struct pop3_req req;
        memset(&req, 0, sizeof req);
        enum pop3_parse_result r = pop3_parse(line, states[k], &req);
        FZ_CHECK(r == P3P_OK || r == P3P_UNKNOWN || r == P3P_BADARGS || r == P3P_BADSTATE);
        if (r == P3P_OK) {
            FZ_CHECK(req.argc >= 0 && req.argc <= 2);
            FZ_CHECK(pop3_cmd_name(req.cmd) != NULL);
            for (int i = 0; i < req.argc; i++) {
                FZ_CHECK(req.argv[i] >= line && req.argv[i] <= line + len);
                fpp_num(req.argv[i]);
            }
            FZ_CHECK(req.rest == NULL || (req.rest >= line && req.rest <= line + len));
        }
        free(line);
    }
    char *s = fz_strndup(data, size);
    fpp_num(s);
    free(s);
    return 0;
}
