/* fuzz_addr: libFuzzer harness for mail address parsing (common/addr.h): paths with
 * source routes, percent hacks, quoted local parts, bang paths and address literals.
 * Input: 1 flag byte (ADDR_ALLOW_* bits), then the text. Checks the "who is local" rule
 * of SPEC.md as an invariant: a local address never carries '@', '%' or '!' in its local
 * part and never has an address literal (none is listed here) or a non-local domain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fa_alias0[] = "example.org";
static char *fa_aliases[] = { fa_alias0 };
static char fa_domain[] = "example.test";

static void fa_check(const struct config *cfg, const struct mailaddr *a)
{
    char canon[ADDR_PATH_MAX + ADDR_DOMAIN_MAX + 8];
    FZ_CHECK(fz_terminated(a->local, sizeof a->local));
    FZ_CHECK(fz_terminated(a->domain, sizeof a->domain));
    FZ_CHECK(fz_terminated(a->text, sizeof a->text));
    if (a->null)
        FZ_CHECK(a->local[0] == '\0' && a->domain[0] == '\0' && !addr_is_local(cfg, a));
    if (addr_is_local(cfg, a) && !a->bare_postmaster) {
        FZ_CHECK(strpbrk(a->local, "@%!") == NULL);
        FZ_CHECK(!a->domain_literal && a->domain[0] != '[');
        FZ_CHECK(config_is_local_domain(cfg, a->domain));
    }
    if (config_is_local_domain(cfg, a->domain))
        FZ_CHECK(addr_domain_eq(a->domain, fa_domain) || addr_domain_eq(a->domain, fa_alias0));
    if (addr_sender_domain_local(cfg, a))
        FZ_CHECK(!a->null);
    if (addr_canon(cfg, a, canon, sizeof canon) == 0) {
        FZ_CHECK(fz_terminated(canon, sizeof canon));
        if (addr_is_local(cfg, a))
            FZ_CHECK(strlen(canon) > strlen(fa_domain) &&
                     strcmp(canon + strlen(canon) - strlen(fa_domain), fa_domain) == 0);
    }
    FZ_CHECK(addr_domain_eq(a->domain, a->domain));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.domain = fa_domain;
    cfg.domain_aliases.v = fa_aliases;
    cfg.domain_aliases.n = 1;
    unsigned flags = data[0] & (ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER);
    char *s = fz_strndup(data + 1, size - 1);
    struct mailaddr a;
    const char *end = NULL;
    int rc = addr_parse_path(s, flags, &a, &end);
    FZ_CHECK(rc <= 0 && rc >= -5);
    FZ_CHECK(addr_strerror(rc) != NULL);
    if (rc == ADDR_OK) {
        FZ_CHECK(end >= s && end <= s + strlen(s));
        fa_check(&cfg, &a);
        if (a.null)
            FZ_CHECK(flags & ADDR_ALLOW_NULL);
    }
    if (addr_parse_mailbox(s, &a) == ADDR_OK)
        fa_check(&cfg, &a);
    char canon[ADDR_PATH_MAX + ADDR_DOMAIN_MAX + 8];
    if (addr_canon_str(&cfg, s, canon, sizeof canon) == 0)
        FZ_CHECK(fz_terminated(canon, sizeof canon));
    (void)addr_domain_eq(s, fa_domain);
    free(s);
    return 0;
}
