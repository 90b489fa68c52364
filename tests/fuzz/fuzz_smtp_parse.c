/* fuzz_smtp_parse: libFuzzer harness for the SMTP command line parser (smtpd/smtp_parse.h).
 * The input is one command line (CRLF stripped, as the session passes it); the verb's
 * argument parser runs on the argument, and every argument parser also runs on the whole
 * line. Outputs are checked for bounds, NUL termination and pointers into the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sasl_glue.h"
#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fsp_check_addr(const struct mailaddr *a)
{
    FZ_CHECK(fz_terminated(a->local, sizeof a->local));
    FZ_CHECK(fz_terminated(a->domain, sizeof a->domain));
    FZ_CHECK(fz_terminated(a->text, sizeof a->text));
    if (a->null)
        FZ_CHECK(a->local[0] == '\0' && a->domain[0] == '\0');
}

static void fsp_args(const char *arg)
{
    struct smtp_reply r;
    struct smtp_mail m;
    struct smtp_rcpt rc;
    char name[256], mech[32];
    const char *initial = NULL;
    size_t alen = strlen(arg);

    memset(&r, 0, sizeof r);
    if (smtp_parse_mail(arg, 1000, &m, &r) == 0) {
        fsp_check_addr(&m.addr);
        FZ_CHECK(fz_terminated(m.auth, sizeof m.auth));
        FZ_CHECK(!m.has_size || m.size <= 1000);
    } else {
        FZ_CHECK(r.code >= 400 && r.code < 600 && r.enh && r.text);
    }
    if (smtp_parse_rcpt(arg, &rc, &r) == 0) {
        fsp_check_addr(&rc.addr);
        FZ_CHECK(!rc.addr.null);
    } else {
        FZ_CHECK(r.code >= 400 && r.code < 600 && r.enh && r.text);
    }
    if (smtp_parse_helo(arg, name, sizeof name, &r) == 0)
        FZ_CHECK(fz_terminated(name, sizeof name) && name[0] != '\0');
    if (smtp_parse_auth(arg, mech, sizeof mech, &initial, &r) == 0) {
        FZ_CHECK(fz_terminated(mech, sizeof mech));
        FZ_CHECK(initial == NULL || (initial >= arg && initial <= arg + alen));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SASLG_LINE_MAX)   /* the session never passes longer lines (AUTH: 12,288) */
        return 0;
    char *line = fz_strndup(data, size);
    struct smtp_cmd c;
    struct smtp_reply r;
    memset(&r, 0, sizeof r);
    if (smtp_parse_line(line, size, &c, &r) == 0) {
        FZ_CHECK(fz_terminated(c.name, sizeof c.name));
        FZ_CHECK(c.arg >= line && c.arg <= line + size);
        if (smtp_check_noarg(&c, &r) != 0)
            FZ_CHECK(r.code == 501);
        fsp_args(c.arg);
    } else {
        FZ_CHECK(r.code == 500);
    }
    fsp_args(line);
    free(line);
    return 0;
}
