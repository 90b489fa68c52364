/* test_mtasts: MTA-STS's pure parts (RFC 8461): the TXT record, the policy file, mx
 * pattern matching, the seam's mapping and labels, the cache file, and the policy we
 * publish (userdb's sts_publish). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cu.h"
#include "mtasts.h"
#include "mtasts_parse.h"
#include "sts_publish.h"
#include "tls_policy.h"

static void test_txt(void)
{
    char id[MTASTS_ID_MAX];
    CU_ASSERT_EQUAL(mtasts_txt_parse("v=STSv1; id=20160831085700Z;", id, sizeof id), 0);
    CU_ASSERT_STRING_EQUAL(id, "20160831085700Z");
    CU_ASSERT_EQUAL(mtasts_txt_parse("v=STSv1;id=abc", id, sizeof id), 0);
    CU_ASSERT_STRING_EQUAL(id, "abc");
    CU_ASSERT_EQUAL(mtasts_txt_parse("v=STSv1 ; ext=1 ;\tid=X9 ; ", id, sizeof id), 0);
    CU_ASSERT_STRING_EQUAL(id, "X9");
    /* not MTA-STS records: ignored */
    CU_ASSERT_EQUAL(mtasts_txt_parse("v=spf1 -all", id, sizeof id), 1);
    CU_ASSERT_EQUAL(mtasts_txt_parse("v=STSv10; id=1", id, sizeof id), 1);
    CU_ASSERT_EQUAL(mtasts_txt_parse("", id, sizeof id), 1);
    /* malformed ones */
    static const char *const bad[] = {
        "v=STSv1", "v=STSv1;", "v=STSv1; id=", "v=STSv1; id=a-b", "v=STSv1; id=abc def",
        "v=STSv1; id=123456789012345678901234567890123", "v=STSv1; =x; id=1", "v=STSv1; id",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(mtasts_txt_parse(bad[i], id, sizeof id), -1);
}

static int parse(const char *s, struct mtasts_policy *p)
{
    return mtasts_policy_parse(s, strlen(s), p);
}

static void test_policy(void)
{
    struct mtasts_policy p;
    CU_ASSERT_EQUAL(parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                          "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n", &p), 0);
    CU_ASSERT_EQUAL(p.mode, MTASTS_ENFORCE);
    CU_ASSERT_EQUAL(p.max_age, 604800);
    CU_ASSERT_EQUAL(p.nmx, 3);
    CU_ASSERT_STRING_EQUAL(p.mx[1], "*.example.net");
    /* LF endings, spaces, unknown keys, no trailing newline */
    CU_ASSERT_EQUAL(parse("version:STSv1\nmode:   testing  \nfoo: bar\nmx: a.example\nmax_age: 86400", &p), 0);
    CU_ASSERT_EQUAL(p.mode, MTASTS_TESTING);
    CU_ASSERT_STRING_EQUAL(p.mx[0], "a.example");
    CU_ASSERT_EQUAL(parse("version: STSv1\nmode: none\nmax_age: 1\n", &p), 0);   /* none: no mx */
    CU_ASSERT_EQUAL(p.mode, MTASTS_NONE);
    /* max_age over a year is capped */
    CU_ASSERT_EQUAL(parse("version: STSv1\nmode: none\nmax_age: 99999999\n", &p), 0);
    CU_ASSERT_EQUAL(p.max_age, MTASTS_MAX_AGE_MAX);
    static const char *const bad[] = {
        "", "mode: enforce\nmx: a.example\nmax_age: 1\n",                 /* no version */
        "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
        "version: STSv1\nmode: enforced\nmx: a.example\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmax_age: 1\n",                     /* no mx */
        "version: STSv1\nmode: enforce\nmx: a.example\n",                  /* no max_age */
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n",
        "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmx: *.\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n",
        "<html>version: STSv1\n",
        "version STSv1\nmode: none\nmax_age: 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(parse(bad[i], &p), -1);
    char *big = malloc(MTASTS_POLICY_MAX + 2);
    memset(big, '\n', MTASTS_POLICY_MAX + 1);
    CU_ASSERT_EQUAL(mtasts_policy_parse(big, MTASTS_POLICY_MAX + 1, &p), -1);
    free(big);
}

static void test_mx_match(void)
{
    CU_ASSERT_TRUE(tlsp_mx_match("mail.example.com", "mail.example.com"));
    CU_ASSERT_TRUE(tlsp_mx_match("mail.example.com", "MAIL.Example.COM."));
    CU_ASSERT_FALSE(tlsp_mx_match("mail.example.com", "mail.example.co"));
    CU_ASSERT_TRUE(tlsp_mx_match("*.example.com", "mx1.example.com"));
    CU_ASSERT_FALSE(tlsp_mx_match("*.example.com", "a.b.example.com"));   /* one label only */
    CU_ASSERT_FALSE(tlsp_mx_match("*.example.com", "example.com"));
    CU_ASSERT_FALSE(tlsp_mx_match("*.example.com", ".example.com"));
    CU_ASSERT_FALSE(tlsp_mx_match("*.example.com", "mx1.example.net"));
    CU_ASSERT_FALSE(tlsp_mx_match("", "a"));
}

static void test_seam(void)
{
    struct mtasts_policy p;
    struct tls_policy t;
    CU_ASSERT_EQUAL(parse("version: STSv1\nmode: enforce\nmx: *.sts.example\nmax_age: 60\n", &p), 0);
    mtasts_to_tls_policy(&p, "sts.example", &t);
    CU_ASSERT_EQUAL(t.mode, TLSP_REQUIRED);
    CU_ASSERT_EQUAL(t.via, TLSP_VIA_MTASTS);
    CU_ASSERT_STRING_EQUAL(tlsp_label(&t), "MTA-STS enforce");
    CU_ASSERT_TRUE(tlsp_host_allowed(&t, "mx.sts.example"));
    CU_ASSERT_FALSE(tlsp_host_allowed(&t, "mx.other.example"));
    p.mode = MTASTS_TESTING;
    mtasts_to_tls_policy(&p, "sts.example", &t);
    CU_ASSERT_EQUAL(t.mode, TLSP_TESTING);
    CU_ASSERT_STRING_EQUAL(tlsp_label(&t), "MTA-STS testing");
    p.mode = MTASTS_NONE;
    mtasts_to_tls_policy(&p, "sts.example", &t);
    CU_ASSERT_EQUAL(t.mode, TLSP_OPPORTUNISTIC);
    CU_ASSERT_EQUAL(t.via, TLSP_VIA_NONE);
    CU_ASSERT_TRUE(tlsp_host_allowed(&t, "anything.example"));
    CU_ASSERT_STRING_EQUAL(tlsp_label(&t), "");
    CU_ASSERT_TRUE(tlsp_host_allowed(NULL, "x"));
    CU_ASSERT_STRING_EQUAL(tlsp_via_name(TLSP_VIA_NONE), "none");
    CU_ASSERT_STRING_EQUAL(tlsp_via_name(TLSP_VIA_MTASTS), "mta-sts");
    CU_ASSERT_STRING_EQUAL(tlsp_via_name(TLSP_VIA_DANE), "dane");
}

static void test_cache(void)
{
    const char *pol = "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n";
    size_t len, plen;
    char *text = mtasts_cache_format("abc123", 1700000000LL, pol, strlen(pol), &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char id[MTASTS_ID_MAX];
    long long fetched;
    const char *back;
    CU_ASSERT_EQUAL(mtasts_cache_parse(text, len, id, sizeof id, &fetched, &back, &plen), 0);
    CU_ASSERT_STRING_EQUAL(id, "abc123");
    CU_ASSERT_EQUAL(fetched, 1700000000LL);
    CU_ASSERT_EQUAL(plen, strlen(pol));
    CU_ASSERT_EQUAL(memcmp(back, pol, plen), 0);
    CU_ASSERT_EQUAL(mtasts_cache_parse(text, 10, id, sizeof id, &fetched, &back, &plen), -1);
    free(text);
    static const char *const bad[] = { "", "id=\nfetched=1\n", "id=a\nfetched=x\n", "id=a\n",
                                       "x=a\nfetched=1\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(mtasts_cache_parse(bad[i], strlen(bad[i]), id, sizeof id, &fetched,
                                           &back, &plen), -1);
}

static void test_publish(void)
{
    struct config c;
    memset(&c, 0, sizeof c);
    char hostname[] = "mail.example.com";
    c.hostname = hostname;
    c.mta_sts_max_age = 86400;
    char text[512], id[20], id2[20];
    c.mta_sts_policy = MTA_STS_OFF;
    CU_ASSERT_EQUAL(sts_policy_text(&c, text, sizeof text, id, sizeof id), -1);
    c.mta_sts_policy = MTA_STS_ENFORCE;
    CU_ASSERT_EQUAL(sts_policy_text(&c, text, sizeof text, id, sizeof id), 0);
    CU_ASSERT_STRING_EQUAL(text, "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                                 "max_age: 86400\r\n");
    CU_ASSERT_EQUAL(strlen(id), 16);
    /* what we publish is what we accept */
    struct mtasts_policy p;
    CU_ASSERT_EQUAL(mtasts_policy_parse(text, strlen(text), &p), 0);
    CU_ASSERT_EQUAL(p.mode, MTASTS_ENFORCE);
    char txt[64], got[MTASTS_ID_MAX];
    snprintf(txt, sizeof txt, "v=STSv1; id=%s", id);
    CU_ASSERT_EQUAL(mtasts_txt_parse(txt, got, sizeof got), 0);
    /* the id follows the file */
    c.mta_sts_policy = MTA_STS_TESTING;
    CU_ASSERT_EQUAL(sts_policy_text(&c, text, sizeof text, id2, sizeof id2), 0);
    CU_ASSERT_STRING_NOT_EQUAL(id, id2);
    CU_ASSERT_EQUAL(sts_policy_text(&c, text, 20, id2, sizeof id2), -1);
}

static CU_TestInfo tests[] = {
    { "the _mta-sts TXT record", test_txt },
    { "policy files: valid, capped, refused", test_policy },
    { "mx patterns (RFC 8461 4.1)", test_mx_match },
    { "the TLS policy seam from a policy", test_seam },
    { "the cache file", test_cache },
    { "the policy we publish and its id", test_publish },
    CU_TEST_INFO_NULL,
};

CU_MAIN("mtasts", tests)
