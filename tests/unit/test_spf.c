/* test_spf: the SPF row's pure parts: what spf = tag|reject makes of each result
 * (550 5.7.23 on fail, 451 4.7.24 on temperror, the Received-SPF: header otherwise,
 * nothing when off), and the libspf2 DNS layer's reading of wire answers (TXT strings
 * joined, MX and PTR names through compression pointers, A, AAAA, records of another
 * type skipped, malformed answers a temporary error), and the Authentication-Results:
 * line. */
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "authres.h"
#include "check_spf.h"
#include "cu.h"
#include "spf_dns.h"
#include "twire.h"

#undef MECH_ALL
#include <spf2/spf.h>

static void test_decide(void)
{
    char text[320];
    struct check_verdict v;
    const char *h = "Received-SPF: fail (x) client-ip=192.0.2.1;";
    spf_decide(AUTHRES_ACT, SPF_FAIL, "spf.example", h, text, sizeof text, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_REJECT);
    CU_ASSERT_EQUAL(v.res.code, 550);
    CU_ASSERT_STRING_EQUAL(v.res.enh, "5.7.23");
    CU_ASSERT_STRING_EQUAL(v.res.rule, RULE_SPF);
    CU_ASSERT_PTR_EQUAL(v.res.text, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "spf.example"));
    spf_decide(AUTHRES_ACT, SPF_TEMPERROR, "spf.example", h, text, sizeof text, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_TEMPFAIL);
    CU_ASSERT_EQUAL(v.res.code, 451);
    CU_ASSERT_STRING_EQUAL(v.res.enh, "4.7.24");
    /* reject mode: the other results are tagged */
    for (int r = SPF_NONE; r <= SPF_PERMERROR; r++) {
        if (r == SPF_FAIL || r == SPF_TEMPERROR)
            continue;
        spf_decide(AUTHRES_ACT, (enum spf_result)r, "d", h, text, sizeof text, &v);
        CU_ASSERT_EQUAL(v.answer, CHECK_ADD_HEADER);
        CU_ASSERT_PTR_EQUAL(v.header, h);
    }
    /* tag: never refuses */
    for (int r = SPF_NONE; r <= SPF_PERMERROR; r++) {
        spf_decide(AUTHRES_TAG, (enum spf_result)r, "d", h, text, sizeof text, &v);
        CU_ASSERT_EQUAL(v.answer, CHECK_ADD_HEADER);
    }
    spf_decide(AUTHRES_TAG, SPF_PASS, "d", "", text, sizeof text, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_CONTINUE);          /* no header: nothing to add */
    spf_decide(AUTHRES_OFF, SPF_FAIL, "d", h, text, sizeof text, &v);
    CU_ASSERT_EQUAL(v.answer, CHECK_CONTINUE);
    CU_ASSERT_STRING_EQUAL(spf_result_name(SPF_SOFTFAIL), "softfail");
    CU_ASSERT_STRING_EQUAL(spf_result_name(SPF_PERMERROR), "permerror");
}

/* ---- wire answers ------------------------------------------------------------ */

/* Header and the question "spf.example TYPE IN" (the name at offset 12). */
static void start(struct wire *w, unsigned type, unsigned an)
{
    tw_start(w, "spf.example", type, 0, an, 0);
}

static void rr(struct wire *w, unsigned type, const void *data, size_t n)
{
    tw_rr(w, type, 300, data, n);
}

static SPF_dns_rr_t *fill(const struct wire *w, ns_type type, int *rc)
{
    SPF_dns_rr_t *r = SPF_dns_rr_new_init(NULL, "spf.example", type, 0, NETDB_SUCCESS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    *rc = spf_dns_fill(r, w->b, w->n, type);
    return r;
}

static void test_fill(void)
{
    struct wire w;
    int rc;
    /* TXT: the character-strings of one record joined; two records */
    start(&w, ns_t_txt, 2);
    rr(&w, ns_t_txt, "\012v=spf1 ip4\017:192.0.2.1 -all", 1 + 10 + 1 + 15);
    rr(&w, ns_t_txt, "\005other", 6);
    SPF_dns_rr_t *r = fill(&w, ns_t_txt, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(r->num_rr, 2);
    CU_ASSERT_EQUAL(r->herrno, NETDB_SUCCESS);
    CU_ASSERT_STRING_EQUAL(r->rr[0]->txt, "v=spf1 ip4:192.0.2.1 -all");
    CU_ASSERT_STRING_EQUAL(r->rr[1]->txt, "other");
    SPF_dns_rr_free(r);
    /* a character-string longer than its record: malformed, a temporary error */
    start(&w, ns_t_txt, 1);
    rr(&w, ns_t_txt, "\050short", 6);
    r = fill(&w, ns_t_txt, &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(r->num_rr, 0);
    CU_ASSERT_EQUAL(r->herrno, TRY_AGAIN);
    SPF_dns_rr_free(r);
    /* MX: preference, then a name ending in a pointer to the question's */
    start(&w, ns_t_mx, 1);
    rr(&w, ns_t_mx, "\000\012\004mail\300\014", 2 + 5 + 2);
    r = fill(&w, ns_t_mx, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(r->num_rr, 1);
    CU_ASSERT_STRING_EQUAL(r->rr[0]->mx, "mail.spf.example");
    SPF_dns_rr_free(r);
    /* a pointer out of the packet */
    start(&w, ns_t_ptr, 1);
    rr(&w, ns_t_ptr, "\004mail\301\377", 7);
    r = fill(&w, ns_t_ptr, &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(r->herrno, TRY_AGAIN);
    SPF_dns_rr_free(r);
    /* A and AAAA; a record of the wrong length skipped; none left: NO_DATA */
    start(&w, ns_t_a, 2);
    rr(&w, ns_t_a, "\300\000\002\007", 4);
    rr(&w, ns_t_a, "\300\000\002", 3);
    r = fill(&w, ns_t_a, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(r->num_rr, 1);
    CU_ASSERT_EQUAL(ntohl(r->rr[0]->a.s_addr), 0xc0000207u);
    SPF_dns_rr_free(r);
    static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    start(&w, ns_t_aaaa, 1);
    rr(&w, ns_t_aaaa, v6, 16);
    r = fill(&w, ns_t_aaaa, &rc);
    CU_ASSERT_EQUAL_FATAL(r->num_rr, 1);
    CU_ASSERT_EQUAL(memcmp(&r->rr[0]->aaaa, v6, 16), 0);
    SPF_dns_rr_free(r);
    start(&w, ns_t_a, 1);
    rr(&w, ns_t_a, "\300\000", 2);
    r = fill(&w, ns_t_a, &rc);
    CU_ASSERT_EQUAL(r->num_rr, 0);
    CU_ASSERT_EQUAL(r->herrno, NO_DATA);
    SPF_dns_rr_free(r);
    /* a cut packet */
    start(&w, ns_t_txt, 1);
    rr(&w, ns_t_txt, "\005other", 6);
    w.n -= 3;
    r = fill(&w, ns_t_txt, &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(r->herrno, TRY_AGAIN);
    SPF_dns_rr_free(r);
}

static void test_authres(void)
{
    char out[256];
    struct authres_facts f = { .spf_ran = false };
    CU_ASSERT_EQUAL(authres_format("mx.example.test", &f, out, sizeof out), -1);  /* none ran */
    f = (struct authres_facts){ .spf_ran = true, .spf = "softfail", .spf_domain = "spf.example" };
    CU_ASSERT_EQUAL(authres_format("mx.example.test", &f, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "Authentication-Results: mx.example.test; "
                                "spf=softfail smtp.mailfrom=spf.example");
    f = (struct authres_facts){ .spf_ran = true, .spf = "fail", .spf_helo = true,
                                .spf_domain = "helo.example" };
    CU_ASSERT_EQUAL(authres_format("mx", &f, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "Authentication-Results: mx; spf=fail smtp.helo=helo.example");
    CU_ASSERT_EQUAL(authres_format("mx", &f, out, 20), -1);                   /* no room */
}

static void test_authres_ours(void)
{
    static const char h[] =
        "Received: from x\n\tby mx\n"
        "Authentication-Results: MX.example.test; spf=pass\n"          /* ours, any case */
        "Authentication-Results: other.example; spf=pass\n"
        "authentication-results :\n (a (nested) comment)\tmx.example.test;\n dkim=pass\n"
        "Authentication-Results: mx.example.test.evil; spf=pass\n"
        "Authentication-Results-X: mx.example.test\n"
        "Subject: hi\n"
        "\n"
        "Authentication-Results: mx.example.test; in the body\n";
    struct authres_span f[8];
    size_t n = authres_ours(h, sizeof h - 1, "mx.example.test", f, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(f[0].at, strlen("Received: from x\n\tby mx\n"));
    CU_ASSERT_NSTRING_EQUAL(h + f[0].at, "Authentication-Results: MX.example.test; spf=pass\n",
                            f[0].len);
    CU_ASSERT_NSTRING_EQUAL(h + f[1].at, "authentication-results :\n (a (nested) comment)"
                            "\tmx.example.test;\n dkim=pass\n", f[1].len);
    CU_ASSERT_EQUAL(authres_ours(h, sizeof h - 1, "mx.example.test", f, 1), 1);   /* max */
    CU_ASSERT_EQUAL(authres_ours(h, sizeof h - 1, "nowhere.example", f, 8), 0);
    /* cut anywhere: never past the end */
    for (size_t cut = 0; cut < sizeof h - 1; cut++) {
        n = authres_ours(h, cut, "mx.example.test", f, 8);
        for (size_t i = 0; i < n; i++)
            CU_ASSERT(f[i].at + f[i].len <= cut);
    }
}

static CU_TestInfo tests[] = {
    { "Authentication-Results: fields claiming our name", test_authres_ours },
    { "Authentication-Results: the line", test_authres },
    { "spf = tag|reject: the verdict of each result", test_decide },
    { "the DNS layer reads wire answers for libspf2", test_fill },
    CU_TEST_INFO_NULL,
};

CU_MAIN("spf", tests)
