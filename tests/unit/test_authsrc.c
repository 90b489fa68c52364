/* test_authsrc: the authentication sources' pure parts (common/authsrc.c): the source
 * of an instance, who a fixed source allows, the configuration problems
 * --check-config reports, the auth_source value parser; the fixed source refusing
 * other names without a store; and the relay group's membership through NSS
 * (pamauth_in_group) on this machine's own root account and group. */
#include <string.h>

#include "auth.h"
#include "authsrc.h"
#include "config.h"
#include "confval.h"
#include "cu.h"
#include "pamauth.h"

static char *aliases[] = { "alias.test" };
static struct config cfg = { .domain = "example.test", .domain_aliases = { aliases, 1 } };

static struct smtp_instance inst(enum auth_source s, const char *fixed, unsigned mechs)
{
    struct smtp_instance in;
    memset(&in, 0, sizeof in);
    in.common.name = "t";
    in.common.auth_mechs = mechs;
    in.auth_source = s;
    in.pam_service = "mailserver";
    in.system_relay_group = "mailrelay";
    in.auth_fixed_user = (char *)fixed;
    return in;
}

static void test_from_instance(void)
{
    struct authsrc src;
    struct smtp_instance in = inst(AUTH_SOURCE_FIXED, "Scanner@Alias.Test", MECH_ALL);
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_EQUAL(src.kind, AUTH_SOURCE_FIXED);
    CU_ASSERT_STRING_EQUAL(src.fixed_user, "scanner@example.test");
    in.auth_fixed_user = "copier";                      /* a bare local part */
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_STRING_EQUAL(src.fixed_user, "copier@example.test");
    in.auth_fixed_user = "scanner@other.test";          /* not local: nobody */
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_STRING_EQUAL(src.fixed_user, "");
    in = inst(AUTH_SOURCE_SYSTEM, "", MECH_LOGIN | MECH_PLAIN);
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_EQUAL(src.kind, AUTH_SOURCE_SYSTEM);
    CU_ASSERT_STRING_EQUAL(src.pam_service, "mailserver");
    CU_ASSERT_STRING_EQUAL(src.relay_group, "mailrelay");
    authsrc_from_instance(&cfg, NULL, &src);            /* POP3: the store */
    CU_ASSERT_EQUAL(src.kind, AUTH_SOURCE_STORE);
}

static void test_allows(void)
{
    struct authsrc src;
    struct smtp_instance in = inst(AUTH_SOURCE_FIXED, "scanner", MECH_ALL);
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_TRUE(authsrc_allows(&src, "scanner@example.test"));
    CU_ASSERT_FALSE(authsrc_allows(&src, "alice@example.test"));
    CU_ASSERT_FALSE(authsrc_allows(&src, "scanner@example.test.evil"));
    CU_ASSERT_FALSE(authsrc_allows(&src, NULL));
    in.auth_fixed_user = "x@other.test";                /* a bad setting allows no one */
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_FALSE(authsrc_allows(&src, ""));
    in = inst(AUTH_SOURCE_STORE, "", MECH_ALL);
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_TRUE(authsrc_allows(&src, "alice@example.test"));
    CU_ASSERT_TRUE(authsrc_allows(NULL, "alice@example.test"));
}

static void test_config_problem(void)
{
    char why[256];
    struct smtp_instance in = inst(AUTH_SOURCE_FIXED, "", MECH_ALL);
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "auth_source = fixed needs auth_fixed_user"));
    in.auth_fixed_user = "scanner@other.test";
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "'scanner@other.test' is not an address in a local domain"));
    in.auth_fixed_user = "scanner";
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 0);
    in = inst(AUTH_SOURCE_SYSTEM, "", MECH_ALL);
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "has SCRAM-SHA-256 CRAM-MD5 (set auth_mechanisms = PLAIN LOGIN)"));
    in.common.auth_mechs = MECH_CRAM_MD5 | MECH_PLAIN;
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 1);
    in.common.auth_mechs = MECH_PLAIN;
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 0);
    in.common.auth_mechs = AUTHSRC_SYSTEM_MECHS;
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 0);
    in = inst(AUTH_SOURCE_STORE, "", MECH_ALL);
    CU_ASSERT_EQUAL(authsrc_config_problem(&cfg, &in, why, sizeof why), 0);
}

static void test_parser(void)
{
    char why[128];
    enum auth_source s = AUTH_SOURCE_STORE;
    CU_ASSERT_EQUAL(cv_auth_source("System", &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(s, AUTH_SOURCE_SYSTEM);
    CU_ASSERT_EQUAL(cv_auth_source("fixed", &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(s, AUTH_SOURCE_FIXED);
    CU_ASSERT_EQUAL(cv_auth_source("store", &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(s, AUTH_SOURCE_STORE);
    CU_ASSERT_EQUAL(cv_auth_source("ldap", &s, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "'ldap' is not an authentication source (expected store, "
                                "system or fixed)");
    CU_ASSERT_STRING_EQUAL(cv_auth_source_name(AUTH_SOURCE_SYSTEM), "system");
    CU_ASSERT_STRING_EQUAL(cv_auth_source_name(AUTH_SOURCE_FIXED), "fixed");
    CU_ASSERT_STRING_EQUAL(cv_auth_source_name(AUTH_SOURCE_STORE), "store");
}

/* A fixed source refuses every other name before any store call (none is given). */
static void test_fixed_refuses_others(void)
{
    struct authsrc src;
    char canon[64] = "unchanged";
    bool relay = true;
    struct smtp_instance in = inst(AUTH_SOURCE_FIXED, "scanner", MECH_ALL);
    authsrc_from_instance(&cfg, &in, &src);
    CU_ASSERT_EQUAL(authsrc_check_password(&src, NULL, &cfg, "alice", "pw", canon, sizeof canon,
                                           &relay), AUTH_FAIL);
    CU_ASSERT_FALSE(relay);
    CU_ASSERT_STRING_EQUAL(canon, "unchanged");
    CU_ASSERT_EQUAL(authsrc_check_password(&src, NULL, &cfg, "x@other.test", "pw", canon,
                                           sizeof canon, &relay), AUTH_FAIL);
    /* the fixed account itself goes to the store check (none here: a failure) */
    CU_ASSERT_EQUAL(authsrc_check_password(&src, NULL, &cfg, "Scanner@alias.test", "pw", canon,
                                           sizeof canon, &relay), AUTH_FAIL);
}

static void test_group_membership(void)
{
    CU_ASSERT_EQUAL(pamauth_in_group("root", "root"), 1);            /* primary group */
    CU_ASSERT_EQUAL(pamauth_in_group("root", "no-such-group-authsrc"), 0);
    CU_ASSERT_EQUAL(pamauth_in_group("nobody", "root"), 0);
    CU_ASSERT_EQUAL(pamauth_in_group("no-such-user-authsrc", "root"), 0);
}

static CU_TestInfo tests[] = {
    { "the source of an instance", test_from_instance },
    { "who a fixed source allows", test_allows },
    { "configuration problems", test_config_problem },
    { "auth_source values", test_parser },
    { "a fixed source refuses other names", test_fixed_refuses_others },
    { "relay group membership (NSS)", test_group_membership },
    CU_TEST_INFO_NULL,
};

CU_MAIN("authsrc", tests)
