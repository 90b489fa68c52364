/* test_maildir: Maildir names, made and parsed in one module (common/maildir.c):
 * the unique name with its escapes, ,S= and ,W=, UIDLs, sort keys, the pid. */
#include <stdint.h>
#include <string.h>

#include "cu.h"
#include "maildir.h"

static void test_uidl(void)
{
    char u[MAILDIR_UIDL_MAX + 1], u2[MAILDIR_UIDL_MAX + 1];
    maildir_uidl("1700000000.M1P2.host:2,S", u);
    CU_ASSERT_STRING_EQUAL(u, "1700000000.M1P2.host");
    maildir_uidl("1700000000.M1P2.host", u);
    CU_ASSERT_STRING_EQUAL(u, "1700000000.M1P2.host");
    char longname[200];
    memset(longname, 'a', 100);
    memcpy(longname + 100, ":2,", 4);
    maildir_uidl(longname, u);
    CU_ASSERT_EQUAL(strlen(u), 32);
    maildir_uidl(longname, u2);
    CU_ASSERT_STRING_EQUAL(u, u2);              /* stable */
    longname[0] = 'b';
    maildir_uidl(longname, u2);
    CU_ASSERT_STRING_NOT_EQUAL(u, u2);
    maildir_uidl("has space", u);
    CU_ASSERT_EQUAL(strlen(u), 32);
    CU_ASSERT(strspn(u, "0123456789abcdef") == 32);
    memset(longname, 'c', 70);
    longname[70] = '\0';
    maildir_uidl(longname, u);
    CU_ASSERT_STRING_EQUAL(u, longname);        /* exactly 70 is kept */
}

static void test_name_parse(void)
{
    int64_t s;
    long us;
    CU_ASSERT(maildir_name_time("1700000000.123456_7.host", &s, &us));
    CU_ASSERT_EQUAL(s, 1700000000);
    CU_ASSERT_EQUAL(us, 123456);
    CU_ASSERT(maildir_name_time("1700000001.M42P9.host", &s, &us));
    CU_ASSERT_EQUAL(s, 1700000001);
    CU_ASSERT_EQUAL(us, 42);
    CU_ASSERT(maildir_name_time("17.host", &s, &us));
    CU_ASSERT_EQUAL(us, 0);
    CU_ASSERT_FALSE(maildir_name_time("host.17", &s, &us));
    uint64_t w;
    CU_ASSERT(maildir_name_wsize("1.M1P1.h,S=10,W=12:2,S", &w));
    CU_ASSERT_EQUAL(w, 12);
    CU_ASSERT(maildir_name_wsize("1.M1P1.h,W=99", &w));
    CU_ASSERT_EQUAL(w, 99);
    CU_ASSERT_FALSE(maildir_name_wsize("1.M1P1.h,S=10:2,S", &w));
    CU_ASSERT_FALSE(maildir_name_wsize("1.h:2,W=5", &w));   /* only in the unique part */
    CU_ASSERT_EQUAL(maildir_name_pid("1700000000.M000042P123Q7.host"), 123);
    CU_ASSERT_EQUAL(maildir_name_pid("1700000000.123_7.host"), 0);
}

/* What is made is what is parsed: the name round-trips through the parsers. */
static void test_name_make(void)
{
    char base[256], name[300];
    CU_ASSERT_EQUAL(maildir_name_base(base, 20, 1700000000, 42, 123, 7, "host"), -1);
    CU_ASSERT_EQUAL(maildir_name_full(name, 20, "1700000000.M000042P123Q7.h", 10, 12), -1);
    CU_ASSERT_EQUAL(maildir_name_base(base, sizeof base, 1700000000, 42, 123, 7, "h/o:st"), 0);
    CU_ASSERT_STRING_EQUAL(base, "1700000000.M000042P123Q7.h\\057o\\072st");
    CU_ASSERT_EQUAL(maildir_name_full(name, sizeof name, base, 10, 12), 0);
    CU_ASSERT_STRING_EQUAL(name, "1700000000.M000042P123Q7.h\\057o\\072st,S=10,W=12");
    int64_t s;
    long us;
    uint64_t w;
    char u[MAILDIR_UIDL_MAX + 1];
    CU_ASSERT(maildir_name_time(name, &s, &us) && s == 1700000000 && us == 42);
    CU_ASSERT(maildir_name_wsize(name, &w) && w == 12);
    CU_ASSERT_EQUAL(maildir_name_pid(name), 123);
    maildir_uidl(name, u);
    CU_ASSERT_STRING_EQUAL(u, name);
}

static void test_path(void)
{
    char p[256];
    CU_ASSERT_EQUAL(maildir_path("/d", "bob@example.test", p, sizeof p), 0);
    CU_ASSERT_STRING_EQUAL(p, "/d/mail/example.test/bob");
    CU_ASSERT_EQUAL(maildir_path("/d", "bob", p, sizeof p), -1);
    CU_ASSERT_EQUAL(maildir_path("/d", "a/b@example.test", p, sizeof p), -1);
    CU_ASSERT_EQUAL(maildir_path("/d", ".bob@example.test", p, sizeof p), -1);
    CU_ASSERT_EQUAL(maildir_path("/d", "bob@.example.test", p, sizeof p), -1);
    CU_ASSERT_EQUAL(maildir_path("/d", "bob@example.test", p, 10), -1);
}

static CU_TestInfo tests[] = {
    { "uidl", test_uidl },
    { "name parsing", test_name_parse },
    { "name making round-trips", test_name_make },
    { "paths", test_path },
    CU_TEST_INFO_NULL,
};

CU_MAIN("maildir", tests)
