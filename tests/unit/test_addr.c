/* test_addr: RFC 5321 path parsing, limits, "who is local" and the canonical form. */
#include <string.h>

#include "addr.h"
#include "config.h"
#include "cu.h"

static char *aliases[] = { "alias.test", "Other.Test.", "[127.0.0.5]", "[IPv6:2001:db8::5]" };
static struct config cfg = {
    .domain = "example.test",
    .domain_aliases = { aliases, 4 },
};

static int parse(const char *s, unsigned flags, struct mailaddr *a)
{
    const char *end = NULL;
    int rc = addr_parse_path(s, flags, a, &end);
    if (rc == ADDR_OK && *end != '\0')
        return 99;   /* trailing junk left: the tests below pass whole paths */
    return rc;
}

static void test_simple(void)
{
    struct mailaddr a;
    CU_ASSERT_EQUAL(parse("<user@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(a.local, "user");
    CU_ASSERT_STRING_EQUAL(a.domain, "example.test");
    CU_ASSERT_STRING_EQUAL(a.text, "user@example.test");
    CU_ASSERT_FALSE(a.null);
    /* lenient: no brackets */
    CU_ASSERT_EQUAL(parse("user@example.test", 0, &a), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(a.text, "user@example.test");
    /* end points at the parameters */
    const char *end;
    CU_ASSERT_EQUAL(addr_parse_path("<a@b.test> SIZE=10", 0, &a, &end), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(end, " SIZE=10");
    CU_ASSERT_EQUAL(addr_parse_path("a@b.test SIZE=10", 0, &a, &end), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(end, " SIZE=10");
}

static void test_null_and_postmaster(void)
{
    struct mailaddr a;
    CU_ASSERT_EQUAL(parse("<>", ADDR_ALLOW_NULL, &a), ADDR_OK);
    CU_ASSERT_TRUE(a.null);
    CU_ASSERT_STRING_EQUAL(a.text, "");
    CU_ASSERT_EQUAL(parse("<>", 0, &a), ADDR_ENULL);
    CU_ASSERT_EQUAL(parse("<postmaster>", ADDR_ALLOW_POSTMASTER, &a), ADDR_OK);
    CU_ASSERT_TRUE(a.bare_postmaster);
    CU_ASSERT_TRUE(addr_is_local(&cfg, &a));
    char c[400];
    CU_ASSERT_EQUAL(addr_canon(&cfg, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "postmaster@example.test");
    CU_ASSERT_EQUAL(parse("<PostMaster>", ADDR_ALLOW_POSTMASTER, &a), ADDR_OK);
    CU_ASSERT_TRUE(a.bare_postmaster);
    CU_ASSERT_NOT_EQUAL(parse("<postmaster>", 0, &a), ADDR_OK);
    CU_ASSERT_NOT_EQUAL(parse("<postmasterx>", ADDR_ALLOW_POSTMASTER, &a), ADDR_OK);
    /* the null sender is not local, and has no local domain */
    CU_ASSERT_EQUAL(parse("<>", ADDR_ALLOW_NULL, &a), ADDR_OK);
    CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    CU_ASSERT_FALSE(addr_sender_domain_local(&cfg, &a));
}

static void test_source_route(void)
{
    struct mailaddr a;
    CU_ASSERT_EQUAL(parse("<@example.test:user@remote.test>", 0, &a), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(a.text, "user@remote.test");
    CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    CU_ASSERT_EQUAL(parse("<@a.test,@b.test:user@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(a.text, "user@example.test");
    CU_ASSERT_TRUE(addr_is_local(&cfg, &a));
    CU_ASSERT_NOT_EQUAL(parse("<@a.test user@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_NOT_EQUAL(parse("<@:user@example.test>", 0, &a), ADDR_OK);
}

static void test_tricks(void)
{
    struct mailaddr a;
    /* percent hack and bang path: valid syntax, not local */
    CU_ASSERT_EQUAL(parse("<user%remote.test@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    CU_ASSERT_TRUE(addr_sender_domain_local(&cfg, &a));
    CU_ASSERT_EQUAL(parse("<remote.test!user@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    /* quoted local part with @: not local */
    CU_ASSERT_EQUAL(parse("<\"user@remote.test\"@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_TRUE(a.quoted);
    CU_ASSERT_STRING_EQUAL(a.local, "user@remote.test");
    CU_ASSERT_STRING_EQUAL(a.text, "\"user@remote.test\"@example.test");
    CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    /* two @: syntax error */
    CU_ASSERT_EQUAL(parse("<user@remote.test@example.test>", 0, &a), ADDR_ESYNTAX);
    CU_ASSERT_EQUAL(parse("user@remote.test@example.test", 0, &a), ADDR_ESYNTAX);
    /* address literal: valid, never local */
    CU_ASSERT_EQUAL(parse("<user@[192.0.2.1]>", 0, &a), ADDR_OK);
    CU_ASSERT_TRUE(a.domain_literal);
    CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    CU_ASSERT_EQUAL(parse("<user@[IPv6:2001:db8::1]>", 0, &a), ADDR_OK);
    CU_ASSERT_EQUAL(parse("<user@[999.0.2.1]>", 0, &a), ADDR_ESYNTAX);
    CU_ASSERT_EQUAL(parse("<user@[IPv6:zz::1]>", 0, &a), ADDR_ESYNTAX);
    CU_ASSERT_EQUAL(parse("<user@[192.0.2.1>", 0, &a), ADDR_ESYNTAX);
    /* quoted with escapes and spaces */
    CU_ASSERT_EQUAL(parse("<\"a b\\\"c\"@example.test>", 0, &a), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(a.local, "a b\"c");
    CU_ASSERT_TRUE(addr_is_local(&cfg, &a));
    CU_ASSERT_EQUAL(parse("<\"unterminated@example.test>", 0, &a), ADDR_ESYNTAX);
    CU_ASSERT_EQUAL(parse("<\"ctl\x01\"@example.test>", 0, &a), ADDR_ESYNTAX);
}

static void test_syntax_errors(void)
{
    struct mailaddr a;
    const char *bad[] = { "<user>", "<@example.test>", "<user@>", "<user@example.test",
                          "user@example.test>", "<user@exa mple.test>", "<us er@example.test>",
                          "<user@.example.test>", "<user@example..test>", "<user@.>",
                          "<user@-->x", "", "<", "<<a@b.test>>", "<a@b.test>junk" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i], ADDR_ALLOW_NULL, &a);
        if (rc == ADDR_OK)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CU_ASSERT_NOT_EQUAL(rc, ADDR_OK);
    }
}

static void test_limits(void)
{
    struct mailaddr a;
    char buf[600], local[100], label[70];

    memset(local, 'l', 64);
    local[64] = '\0';
    snprintf(buf, sizeof buf, "<%s@example.test>", local);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_OK);
    memset(local, 'l', 65);
    local[65] = '\0';
    snprintf(buf, sizeof buf, "<%s@example.test>", local);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_ELOCAL_LONG);
    /* quoted: the limit is on the octets as sent (quotes included) */
    memset(local, 'q', 63);
    local[63] = '\0';
    snprintf(buf, sizeof buf, "<\"%s\"@example.test>", local);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_ELOCAL_LONG);
    /* domain of 4 x 63 + 3 dots = 255: ok, but the path is then over 256 */
    memset(label, 'd', 63);
    label[63] = '\0';
    snprintf(buf, sizeof buf, "<a@%s.%s.%s.%s>", label, label, label, label);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_EPATH_LONG);
    snprintf(buf, sizeof buf, "<a@%s.%s.%s.%s.xx>", label, label, label, label);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_EDOMAIN_LONG);
    /* a path of exactly 256 octets passes: "<" 64 "@" 189 ">" */
    memset(local, 'l', 64);
    local[64] = '\0';
    snprintf(buf, sizeof buf, "<%s@%s.%s.%.61s>", local, label, label, label);
    CU_ASSERT_EQUAL(strlen(buf), 256);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_OK);
    snprintf(buf, sizeof buf, "<%s@%s.%s.%.62s>", local, label, label, label);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_EPATH_LONG);
    /* a label over 63 */
    char big[80];
    memset(big, 'x', 64);
    big[64] = '\0';
    snprintf(buf, sizeof buf, "<a@%s.test>", big);
    CU_ASSERT_EQUAL(parse(buf, 0, &a), ADDR_ESYNTAX);
}

static void test_domains(void)
{
    struct mailaddr a;
    char c[400];

    CU_ASSERT_TRUE(addr_domain_eq("Example.TEST", "example.test."));
    CU_ASSERT_TRUE(addr_domain_eq("example.test.", "EXAMPLE.test"));
    CU_ASSERT_FALSE(addr_domain_eq("example.test", "example.tes"));
    CU_ASSERT_FALSE(addr_domain_eq("xexample.test", "example.test"));
    CU_ASSERT_TRUE(config_is_local_domain(&cfg, "EXAMPLE.TEST."));
    CU_ASSERT_TRUE(config_is_local_domain(&cfg, "other.test"));
    CU_ASSERT_TRUE(config_is_local_domain(&cfg, "ALIAS.test"));
    CU_ASSERT_FALSE(config_is_local_domain(&cfg, "sub.example.test"));
    CU_ASSERT_FALSE(config_is_local_domain(&cfg, "[127.0.0.1]"));
    CU_ASSERT_EQUAL(parse("<User@EXAMPLE.TEST.>", 0, &a), ADDR_OK);
    CU_ASSERT_STRING_EQUAL(a.domain, "EXAMPLE.TEST");
    CU_ASSERT_TRUE(addr_is_local(&cfg, &a));
    CU_ASSERT_EQUAL(addr_canon(&cfg, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "user@example.test");
    /* domain alias maps to the primary domain */
    CU_ASSERT_EQUAL(parse("<Bob@Alias.Test>", 0, &a), ADDR_OK);
    CU_ASSERT_EQUAL(addr_canon(&cfg, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "bob@example.test");
    /* remote: local part keeps its case, domain lower-cased */
    CU_ASSERT_EQUAL(parse("<Bob@Remote.TEST.>", 0, &a), ADDR_OK);
    CU_ASSERT_EQUAL(addr_canon(&cfg, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "Bob@remote.test");
    CU_ASSERT_EQUAL(addr_canon(&cfg, &a, c, 5), -1);
    CU_ASSERT_EQUAL(addr_canon_str(&cfg, "Alice@other.test", c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "alice@example.test");
    CU_ASSERT_EQUAL(addr_canon_str(&cfg, "<alice@other.test>", c, sizeof c), -1);
    CU_ASSERT_EQUAL(addr_parse_mailbox("a@b@c", &a), ADDR_ESYNTAX);
}

/* SPEC "Who is local": an address literal listed in domain_aliases is a local domain for
 * addr_is_local (the RCPT decision), the sender check and the canonical form alike,
 * whatever text form of the address is used; an unlisted one is not. */
static void test_listed_literals(void)
{
    struct mailaddr a;
    char c[400];
    static const char *local[] = {
        "<Alice@[127.0.0.5]>", "<alice@[IPv6:::ffff:127.0.0.5]>", "<alice@[IPv6:2001:db8::5]>",
        "<alice@[ipv6:2001:DB8:0:0::5]>", "<alice@[IPV6:2001:db8:0:0:0:0:0:5]>",
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(parse(local[i], 0, &a), ADDR_OK);
        CU_ASSERT_TRUE(a.domain_literal);
        CU_ASSERT_TRUE(addr_is_local(&cfg, &a));
        CU_ASSERT_TRUE(addr_sender_domain_local(&cfg, &a));
        CU_ASSERT_EQUAL(addr_canon(&cfg, &a, c, sizeof c), 0);
        CU_ASSERT_STRING_EQUAL(c, "alice@example.test");
    }
    static const char *remote[] = {
        "<alice@[127.0.0.1]>", "<alice@[127.0.0.6]>", "<alice@[IPv6:2001:db8::6]>",
        "<alice@[IPv6:::1]>", "<alice@[x-tag:127.0.0.5]>", "<alice%x@[127.0.0.5]>",
    };
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(parse(remote[i], 0, &a), ADDR_OK);
        CU_ASSERT_FALSE(addr_is_local(&cfg, &a));
    }
    CU_ASSERT_EQUAL(addr_canon_str(&cfg, "Bob@[127.0.0.5]", c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "bob@example.test");
}

static CU_TestInfo tests[] = {
    { "simple paths", test_simple },
    { "null path and bare postmaster", test_null_and_postmaster },
    { "source routes are ignored", test_source_route },
    { "relay tricks", test_tricks },
    { "syntax errors", test_syntax_errors },
    { "length limits", test_limits },
    { "domains and canonical form", test_domains },
    { "address literals listed in domain_aliases are local", test_listed_literals },
    CU_TEST_INFO_NULL,
};

CU_MAIN("addr", tests)
