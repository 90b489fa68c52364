/* test_mechs: the one SASL mechanism table (common/mechs.c) and its users: the
 * auth_mechanisms parser, the offered set, the glue's verification message. */
#include <string.h>

#include "auth.h"
#include "config.h"
#include "confval.h"
#include "cu.h"
#include "mechs.h"

static void test_lookup(void)
{
    static const struct { const char *name; unsigned bit; bool plain; unsigned verify; } rows[] = {
        { "SCRAM-SHA-256", MECH_SCRAM_SHA256, false, 2 },
        { "CRAM-MD5", MECH_CRAM_MD5, false, 1 },
        { "LOGIN", MECH_LOGIN, true, 2 },
        { "PLAIN", MECH_PLAIN, true, 1 },
    };
    unsigned all = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct mech_info *m = mech_by_name(rows[i].name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        CU_ASSERT_EQUAL(m->bit, rows[i].bit);
        CU_ASSERT_EQUAL(m->plaintext, rows[i].plain);
        CU_ASSERT_EQUAL(m->verify_msg, rows[i].verify);
        CU_ASSERT_PTR_EQUAL(mech_by_bit(rows[i].bit), m);
        CU_ASSERT_EQUAL(mech_bit(rows[i].name), rows[i].bit);
        all |= m->bit;
    }
    CU_ASSERT_EQUAL(all, MECH_ALL);
    CU_ASSERT_EQUAL(mech_bit("scram-sha-256"), MECH_SCRAM_SHA256);
    CU_ASSERT_EQUAL(mech_bit("Plain"), MECH_PLAIN);
    CU_ASSERT_EQUAL(mech_bit("XOAUTH2"), 0);
    CU_ASSERT_EQUAL(mech_bit(""), 0);
    CU_ASSERT_EQUAL(mech_bit(NULL), 0);
    CU_ASSERT_PTR_NULL(mech_by_bit(0));
    CU_ASSERT_PTR_NULL(mech_by_bit(MECH_LOGIN | MECH_PLAIN));
    CU_ASSERT_EQUAL(mech_plaintext_bits(), MECH_LOGIN | MECH_PLAIN);
}

static void test_names(void)
{
    char buf[80];
    CU_ASSERT_STRING_EQUAL(mech_names(MECH_ALL, ' ', buf, sizeof buf), "SCRAM-SHA-256 CRAM-MD5 LOGIN PLAIN");
    CU_ASSERT_STRING_EQUAL(mech_names(MECH_ALL, ',', buf, sizeof buf), "SCRAM-SHA-256,CRAM-MD5,LOGIN,PLAIN");
    CU_ASSERT_STRING_EQUAL(mech_names(0, ' ', buf, sizeof buf), "");
    CU_ASSERT_STRING_EQUAL(mech_names(MECH_PLAIN | MECH_SCRAM_SHA256, ' ', buf, sizeof buf),
                           "SCRAM-SHA-256 PLAIN");
    CU_ASSERT_STRING_EQUAL(mech_names(MECH_LOGIN, ',', buf, sizeof buf), "LOGIN");
    CU_ASSERT_STRING_EQUAL(mech_names(MECH_CRAM_MD5 | MECH_LOGIN, ' ', buf, sizeof buf), "CRAM-MD5 LOGIN");
    char small[10];
    memset(small, 'x', sizeof small);
    CU_ASSERT_PTR_EQUAL(mech_names(MECH_ALL, ' ', small, sizeof small), small);
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
    CU_ASSERT_EQUAL(strncmp(small, "SCRAM-SHA", 9), 0);
    CU_ASSERT_PTR_EQUAL(mech_names(MECH_ALL, ' ', small, 0), small);
}

/* The config parser and the offered set read the same table. */
static void test_users(void)
{
    unsigned m = 0;
    char why[200], names[80];
    CU_ASSERT_EQUAL(cv_mechs(mech_names(MECH_ALL, ' ', names, sizeof names), &m, why, sizeof why), 0);
    CU_ASSERT_EQUAL(m, MECH_ALL);
    CU_ASSERT_EQUAL(cv_mechs("plain, cram-md5", &m, why, sizeof why), 0);
    CU_ASSERT_EQUAL(m, MECH_PLAIN | MECH_CRAM_MD5);
    CU_ASSERT_EQUAL(cv_mechs("", &m, why, sizeof why), 0);
    CU_ASSERT_EQUAL(m, 0);
    CU_ASSERT_EQUAL(cv_mechs("PLAIN XOAUTH2", &m, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "unknown mechanism 'XOAUTH2' (expected any of "
                                       "SCRAM-SHA-256 CRAM-MD5 LOGIN PLAIN, or nothing"));
    CU_ASSERT_EQUAL(auth_offered_mechs(MECH_ALL, PLAINTEXT_TLS, false), MECH_ALL & ~mech_plaintext_bits());
    CU_ASSERT_EQUAL(auth_offered_mechs(MECH_ALL, PLAINTEXT_TLS, true), MECH_ALL);
}

static CU_TestInfo tests[] = {
    { "lookup by name and bit", test_lookup },
    { "name lists", test_names },
    { "config parser and offered set", test_users },
    CU_TEST_INFO_NULL,
};

CU_MAIN("mechs", tests)
