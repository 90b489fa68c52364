/* Unit tests of the content scanner's pure part (rspamd_reply.h: rspamd's JSON
 * answer, the SPEC's action mapping, both failure modes) and of the content_filter
 * value (confval.h). */
#include <stdlib.h>
#include <string.h>

#include "confval.h"
#include "cu.h"
#include "rspamd_reply.h"

static int parse(const char *s, struct rspamd_result *r)
{
    return rspamd_parse_reply(s, strlen(s), r);
}

static void test_parse(void)
{
    struct rspamd_result r;
    CU_ASSERT_EQUAL(parse("{\"is_skipped\":false,\"score\":15.5,\"required_score\":15,"
                          "\"action\":\"reject\",\"symbols\":{\"GTUBE\":{\"score\":0}}}", &r), 0);
    CU_ASSERT_EQUAL(r.action, RSPAMD_REJECT);
    CU_ASSERT_DOUBLE_EQUAL(r.score, 15.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(r.required, 15.0, 1e-9);
    static const struct { const char *word; enum rspamd_action a; } words[] = {
        { "no action", RSPAMD_NO_ACTION }, { "greylist", RSPAMD_GREYLIST },
        { "add header", RSPAMD_ADD_HEADER }, { "rewrite subject", RSPAMD_REWRITE_SUBJECT },
        { "soft reject", RSPAMD_SOFT_REJECT }, { "reject", RSPAMD_REJECT },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "{\"action\":\"%s\",\"score\":3}", words[i].word);
        CU_ASSERT_EQUAL(parse(buf, &r), 0);
        CU_ASSERT_EQUAL(r.action, words[i].a);
        CU_ASSERT_STRING_EQUAL(rspamd_action_name(words[i].a), words[i].word);
    }
    CU_ASSERT_EQUAL(parse("{\"action\":\"no action\"}", &r), 0);   /* no score: 0 */
    CU_ASSERT_DOUBLE_EQUAL(r.score, 0.0, 1e-9);
    CU_ASSERT_EQUAL(parse("{\"action\":\"no action\",\"score\":\"high\"}", &r), 0);
    CU_ASSERT_DOUBLE_EQUAL(r.score, 0.0, 1e-9);
}

static void test_parse_bad(void)
{
    struct rspamd_result r;
    static const char *const bad[] = {
        "", "null", "[]", "\"reject\"", "{}", "{\"action\":5}", "{\"action\":\"discard\"}",
        "{\"action\":\"reject\"", "{\"action\":\"reject\",\"action\":\"no action\"}",
        "{\"error\":\"cannot parse input\"}", "<html>502</html>", "{\"action\":\"rejec\\u0000t\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r.action = RSPAMD_REJECT;
        CU_ASSERT_EQUAL(parse(bad[i], &r), -1);
        CU_ASSERT_EQUAL(r.action, RSPAMD_FAILED);        /* never a stale verdict */
    }
    CU_ASSERT_EQUAL(rspamd_parse_reply(NULL, 0, &r), -1);
    /* not NUL-terminated: only LEN octets are read */
    CU_ASSERT_EQUAL(rspamd_parse_reply("{\"action\":\"reject\"}XXXX", 19, &r), 0);
    /* longer than the bound */
    size_t n = RSPAMD_REPLY_MAX + 2;
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', n);
    memcpy(big, "{\"action\":\"reject\"}", 19);
    CU_ASSERT_EQUAL(rspamd_parse_reply(big, n, &r), -1);
    free(big);
}

static void test_map(void)
{
    struct rspamd_outcome o;
    struct rspamd_result r = { RSPAMD_REJECT, 20.0, 15.0 };
    rspamd_map(&r, false, &o);
    CU_ASSERT_EQUAL(o.code, 550);
    CU_ASSERT_STRING_EQUAL(o.enh, "5.7.1");
    r.action = RSPAMD_SOFT_REJECT;
    rspamd_map(&r, false, &o);
    CU_ASSERT_EQUAL(o.code, 451);
    CU_ASSERT_STRING_EQUAL(o.enh, "4.7.1");
    r.action = RSPAMD_GREYLIST;
    rspamd_map(&r, false, &o);
    CU_ASSERT_EQUAL(o.code, 451);
    r.action = RSPAMD_ADD_HEADER;
    r.score = 7.25;
    rspamd_map(&r, true, &o);
    CU_ASSERT_EQUAL(o.code, 0);
    CU_ASSERT_STRING_EQUAL(o.header, "X-Spam-Flag: YES");
    CU_ASSERT_STRING_EQUAL(o.header2, "X-Spam-Score: 7.25 / 15.00");
    r.action = RSPAMD_REWRITE_SUBJECT;
    rspamd_map(&r, false, &o);
    CU_ASSERT_STRING_EQUAL(o.header, "X-Spam-Flag: YES");
    r.action = RSPAMD_NO_ACTION;
    rspamd_map(&r, true, &o);
    CU_ASSERT_EQUAL(o.code, 0);
    CU_ASSERT_STRING_EQUAL(o.header, "");
    CU_ASSERT_STRING_EQUAL(o.header2, "");
    /* down or too slow: the two modes */
    r.action = RSPAMD_FAILED;
    rspamd_map(&r, false, &o);
    CU_ASSERT_EQUAL(o.code, 0);
    CU_ASSERT_STRING_EQUAL(o.header, "X-Spam-Status: unchecked");
    rspamd_map(&r, true, &o);
    CU_ASSERT_EQUAL(o.code, 451);
    CU_ASSERT_STRING_EQUAL(o.enh, "4.7.1");
    CU_ASSERT_STRING_EQUAL(o.header, "");
}

static void test_content_filter_value(void)
{
    char *host = NULL, why[256];
    int port = 0;
    CU_ASSERT_EQUAL(cv_content_filter("rspamd:127.0.0.1:11333", &host, &port, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
    CU_ASSERT_EQUAL(port, 11333);
    CU_ASSERT_EQUAL(cv_content_filter("rspamd:[::1]:11334", &host, &port, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(host, "::1");
    CU_ASSERT_EQUAL(port, 11334);
    CU_ASSERT_EQUAL(cv_content_filter("", &host, &port, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(host, "");
    static const char *const bad[] = {
        "rspamd:127.0.0.1", "rspamd:localhost:11333", "spamd:127.0.0.1:783", "rspamd:::1:11333",
        "rspamd:127.0.0.1:0", "rspamd:127.0.0.1:70000", "127.0.0.1:11333", "rspamd:",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        CU_ASSERT_EQUAL(cv_content_filter(bad[i], &host, &port, why, sizeof why), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "rspamd:ADDRESS:PORT"));
    }
    free(host);
}

static CU_TestInfo tests[] = {
    { "rspamd's answer: action, score, required score", test_parse },
    { "bad answers are failures, bounded, never a stale verdict", test_parse_bad },
    { "the SPEC's action mapping and both failure modes", test_map },
    { "content_filter = rspamd:IP:PORT", test_content_filter_value },
    CU_TEST_INFO_NULL,
};

CU_MAIN("rspamd", tests)
