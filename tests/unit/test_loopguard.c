/* test_loopguard: the runner's relay-loop guard (qrun_local_route_hack in
 * smtpd/queue_run.c): percent hack, bang paths and quoted @ in a local domain. */
#include <string.h>

#include "config.h"
#include "cu.h"
#include "queue_run.h"

static char *aliases[] = { "alias.test" };
static struct config cfg;

static int setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.domain = "example.test";
    cfg.domain_aliases.v = aliases;
    cfg.domain_aliases.n = 1;
    return 0;
}

static void test_route_hacks_in_local_domain(void)
{
    CU_ASSERT_TRUE(qrun_local_route_hack(&cfg, "user%remote.test@example.test"));
    CU_ASSERT_TRUE(qrun_local_route_hack(&cfg, "remote.test!user@example.test"));
    CU_ASSERT_TRUE(qrun_local_route_hack(&cfg, "user%remote.test@ALIAS.test"));
    CU_ASSERT_TRUE(qrun_local_route_hack(&cfg, "\"user@remote.test\"@example.test"));
    CU_ASSERT_TRUE(qrun_local_route_hack(&cfg, "a%b%c@example.test."));
}

static void test_plain_addresses_pass(void)
{
    CU_ASSERT_FALSE(qrun_local_route_hack(&cfg, "alice@example.test"));   /* local: delivered */
    CU_ASSERT_FALSE(qrun_local_route_hack(&cfg, "postmaster@alias.test"));
    CU_ASSERT_FALSE(qrun_local_route_hack(&cfg, "user%other@remote.test")); /* not ours */
    CU_ASSERT_FALSE(qrun_local_route_hack(&cfg, "bob@remote.test"));
    CU_ASSERT_FALSE(qrun_local_route_hack(&cfg, "x!y@sub.example.test"));   /* subdomain */
    CU_ASSERT_FALSE(qrun_local_route_hack(&cfg, "no-domain"));
}

static CU_TestInfo tests[] = {
    { "percent, bang and quoted @ in a local domain are caught", test_route_hacks_in_local_domain },
    { "local mailboxes and remote domains pass", test_plain_addresses_pass },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    CU_SuiteInfo suites[] = { { "loopguard", setup, NULL, NULL, NULL, tests },
                              CU_SUITE_INFO_NULL };
    return cu_run_suites(suites);
}
