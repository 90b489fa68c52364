/* test_smtp_parse: command lines, MAIL/RCPT with parameters, EHLO and AUTH arguments. */
#include <string.h>

#include "cu.h"
#include "smtp_parse.h"

static int line(const char *s, struct smtp_cmd *c, struct smtp_reply *r)
{
    return smtp_parse_line(s, strlen(s), c, r);
}

static void test_verbs(void)
{
    struct smtp_cmd c;
    struct smtp_reply r;

    CU_ASSERT_EQUAL(line("ehlo client.test", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_EHLO);
    CU_ASSERT_STRING_EQUAL(c.arg, "client.test");
    CU_ASSERT_EQUAL(line("MaIl FROM:<a@b.test>", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_MAIL);
    CU_ASSERT_STRING_EQUAL(c.arg, "FROM:<a@b.test>");
    CU_ASSERT_EQUAL(line("QUIT", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_QUIT);
    CU_ASSERT_STRING_EQUAL(c.arg, "");
    CU_ASSERT_EQUAL(line("starttls", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_STARTTLS);
    CU_ASSERT_EQUAL(line("FOO bar", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(c.name, "FOO");
    CU_ASSERT_EQUAL(line("DATAX", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_UNKNOWN);
    CU_ASSERT_EQUAL(line("AVERYLONGVERBNAMEINDEED", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_UNKNOWN);
    CU_ASSERT_EQUAL(line("", &c, &r), -1);
    CU_ASSERT_EQUAL(r.code, 500);
    /* embedded NUL and control characters */
    CU_ASSERT_EQUAL(smtp_parse_line("NOOP\0x", 6, &c, &r), -1);
    CU_ASSERT_EQUAL(r.code, 500);
    CU_ASSERT_EQUAL(line("NOOP \x1b[0m", &c, &r), -1);
    CU_ASSERT_EQUAL(line("NOOP\ttab", &c, &r), 0);
    CU_ASSERT_EQUAL(c.verb, SMTP_NOOP);
    CU_ASSERT_STRING_EQUAL(c.arg, "tab");
}

static void test_noarg(void)
{
    struct smtp_cmd c;
    struct smtp_reply r;

    CU_ASSERT_EQUAL(line("DATA", &c, &r), 0);
    CU_ASSERT_EQUAL(smtp_check_noarg(&c, &r), 0);
    CU_ASSERT_EQUAL(line("DATA now", &c, &r), 0);
    CU_ASSERT_EQUAL(smtp_check_noarg(&c, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_EQUAL(line("RSET x", &c, &r), 0);
    CU_ASSERT_EQUAL(smtp_check_noarg(&c, &r), -1);
    CU_ASSERT_EQUAL(line("NOOP anything", &c, &r), 0);
    CU_ASSERT_EQUAL(smtp_check_noarg(&c, &r), 0);
}

static void test_mail(void)
{
    struct smtp_mail m;
    struct smtp_reply r;

    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test>", 0, &m, &r), 0);
    CU_ASSERT_STRING_EQUAL(m.addr.text, "a@b.test");
    CU_ASSERT_EQUAL(smtp_parse_mail("from: <a@b.test>", 0, &m, &r), 0);
    CU_ASSERT_STRING_EQUAL(m.addr.text, "a@b.test");
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<>", 0, &m, &r), 0);
    CU_ASSERT_TRUE(m.addr.null);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<> SIZE=100 BODY=8BITMIME AUTH=<>", 1000, &m, &r), 0);
    CU_ASSERT_TRUE(m.has_size);
    CU_ASSERT_EQUAL(m.size, 100);
    CU_ASSERT_EQUAL(m.body, BODY_8BITMIME);
    CU_ASSERT_TRUE(m.has_auth);
    CU_ASSERT_STRING_EQUAL(m.auth, "<>");
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test>  size=5  body=7bit", 0, &m, &r), 0);
    CU_ASSERT_EQUAL(m.body, BODY_7BIT);
    CU_ASSERT_EQUAL(m.size, 5);
    /* errors */
    CU_ASSERT_EQUAL(smtp_parse_mail("TO:<a@b.test>", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_STRING_EQUAL(r.enh, "5.5.4");
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b@c.test>", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_STRING_EQUAL(r.enh, "5.1.7");
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> SIZE=1001", 1000, &m, &r), -1);
    CU_ASSERT_EQUAL(r.code, 552);
    CU_ASSERT_STRING_EQUAL(r.enh, "5.3.4");
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> SIZE=1000", 1000, &m, &r), 0);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> SIZE=abc", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> SIZE=99999999999999999999999", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> SIZE=1 SIZE=2", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> BODY=BINARYMIME", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test> RET=HDRS", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(r.code, 555);
    CU_ASSERT_STRING_EQUAL(r.enh, "5.5.4");
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:<a@b.test>SIZE=1", 0, &m, &r), -1);
    CU_ASSERT_EQUAL(smtp_parse_mail("FROM:", 0, &m, &r), -1);
}

static void test_rcpt(void)
{
    struct smtp_rcpt t;
    struct smtp_reply r;

    CU_ASSERT_EQUAL(smtp_parse_rcpt("TO:<u@example.test>", &t, &r), 0);
    CU_ASSERT_STRING_EQUAL(t.addr.text, "u@example.test");
    CU_ASSERT_EQUAL(smtp_parse_rcpt("to: <u@example.test> ", &t, &r), 0);
    CU_ASSERT_EQUAL(smtp_parse_rcpt("TO:<postmaster>", &t, &r), 0);
    CU_ASSERT_TRUE(t.addr.bare_postmaster);
    CU_ASSERT_EQUAL(smtp_parse_rcpt("TO:<@relay.test:u@remote.test>", &t, &r), 0);
    CU_ASSERT_STRING_EQUAL(t.addr.text, "u@remote.test");
    CU_ASSERT_EQUAL(smtp_parse_rcpt("TO:<>", &t, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_STRING_EQUAL(r.enh, "5.1.3");
    CU_ASSERT_EQUAL(smtp_parse_rcpt("TO:<u@example.test> NOTIFY=NEVER", &t, &r), -1);
    CU_ASSERT_EQUAL(r.code, 555);
    CU_ASSERT_EQUAL(smtp_parse_rcpt("FROM:<u@example.test>", &t, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_EQUAL(smtp_parse_rcpt("TO:<user@remote.test@example.test>", &t, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
}

static void test_helo_auth(void)
{
    struct smtp_reply r;
    char name[256], mech[32];
    const char *ini;

    CU_ASSERT_EQUAL(smtp_parse_helo("client.test", name, sizeof name, &r), 0);
    CU_ASSERT_STRING_EQUAL(name, "client.test");
    CU_ASSERT_EQUAL(smtp_parse_helo("[192.0.2.1] extra", name, sizeof name, &r), 0);
    CU_ASSERT_STRING_EQUAL(name, "[192.0.2.1]");
    CU_ASSERT_EQUAL(smtp_parse_helo("", name, sizeof name, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_EQUAL(smtp_parse_helo("abcdef", name, 4, &r), -1);

    CU_ASSERT_EQUAL(smtp_parse_auth("plain", mech, sizeof mech, &ini, &r), 0);
    CU_ASSERT_STRING_EQUAL(mech, "PLAIN");
    CU_ASSERT_PTR_NULL(ini);
    CU_ASSERT_EQUAL(smtp_parse_auth("PLAIN AGFAYg==", mech, sizeof mech, &ini, &r), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ini);
    CU_ASSERT_STRING_EQUAL(ini, "AGFAYg==");
    CU_ASSERT_EQUAL(smtp_parse_auth("PLAIN =", mech, sizeof mech, &ini, &r), 0);
    CU_ASSERT_STRING_EQUAL(ini, "=");
    CU_ASSERT_EQUAL(smtp_parse_auth("", mech, sizeof mech, &ini, &r), -1);
    CU_ASSERT_EQUAL(r.code, 501);
    CU_ASSERT_EQUAL(smtp_parse_auth("PLAIN a b", mech, sizeof mech, &ini, &r), -1);
}

static CU_TestInfo tests[] = {
    { "verbs and arguments", test_verbs },
    { "commands without arguments", test_noarg },
    { "MAIL FROM and parameters", test_mail },
    { "RCPT TO", test_rcpt },
    { "EHLO and AUTH arguments", test_helo_auth },
    CU_TEST_INFO_NULL,
};

CU_MAIN("smtp_parse", tests)
