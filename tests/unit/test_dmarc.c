/* test_dmarc: DKIM verification and DMARC's pure parts and library glue (check_dkim.h,
 * check_dmarc.h): a signature's result by libopendkim's facts; key and DMARC records
 * out of wire answers (strings joined, several or no records, huge and malformed
 * answers); verification of a message signed here by libopendkim's signer with a fresh
 * RSA key from OpenSSL, the key given by a lookup hook (found, missing, failing, broken,
 * a tampered body, an unsigned message); organizational domains from the public suffix
 * list and alignment; the record's policy with p=, sp=, pct=, adkim=, aspf=; what
 * enforce does with pct; and the Authentication-Results: line with DKIM and DMARC. */
#include <arpa/nameser.h>
#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "check_dkim.h"
#include "check_dmarc.h"
#include "cu.h"
#include "dkim_sign.h"
#include "twire.h"

/* ---- wire answers ------------------------------------------------------------ */

/* A TXT answer for "_dmarc.good.example" with AN records (added by txt()). */
static void start(struct wire *w, unsigned an, unsigned rcode)
{
    tw_start(w, "_dmarc.good.example", ns_t_txt, rcode, an, 0);
}

/* A TXT record of the character-strings in STRS (NULL-terminated). */
static void txt(struct wire *w, const char *const *strs)
{
    size_t len = 0;
    for (size_t i = 0; strs[i]; i++)
        len += 1 + strlen(strs[i]);
    tw_put16(w, 0xc00c);
    tw_put16(w, ns_t_txt);
    tw_put16(w, ns_c_in);
    tw_put16(w, 0);
    tw_put16(w, 300);
    tw_put16(w, (unsigned)len);
    for (size_t i = 0; strs[i]; i++) {
        tw_put8(w, (unsigned)strlen(strs[i]));
        tw_putn(w, strs[i], strlen(strs[i]));
    }
}

static void test_records(void)
{
    struct wire w;
    char out[64];
    const char *key[] = { "v=DKIM1; k=rsa; ", "p=ABCD", NULL };
    start(&w, 1, 0);
    txt(&w, key);
    CU_ASSERT_EQUAL(dkimv_key_txt(w.b, w.n, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "v=DKIM1; k=rsa; p=ABCD");          /* strings joined */
    CU_ASSERT_EQUAL(dkimv_key_txt(w.b, w.n, out, 10), -1);          /* does not fit */
    CU_ASSERT_EQUAL(dkimv_key_txt(w.b, w.n - 3, out, sizeof out), -1);   /* cut short */
    start(&w, 0, 3);                                                /* NXDOMAIN */
    CU_ASSERT_EQUAL(dkimv_key_txt(w.b, w.n, out, sizeof out), 1);
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, sizeof out), 1);
    /* DMARC: only "v=DMARC1" records count; one of them, or none at all */
    const char *other[] = { "v=spf1 -all", NULL }, *dm[] = { "v=DMARC1; ", "p=reject", NULL },
               *dm2[] = { "v=DMARC1;p=none", NULL }, *near[] = { "v=DMARC10; p=none", NULL },
               *bare[] = { "v=DMARC1", NULL };
    start(&w, 2, 0);
    txt(&w, other);
    txt(&w, dm);
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "v=DMARC1; p=reject");
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, 12), -1);            /* too big for us */
    start(&w, 2, 0);
    txt(&w, dm);
    txt(&w, dm2);
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, sizeof out), 2);     /* several: no policy */
    start(&w, 2, 0);
    txt(&w, other);
    txt(&w, near);
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, sizeof out), 1);
    start(&w, 1, 0);
    txt(&w, bare);
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, sizeof out), 0);
    /* a string with a NUL in it is no record */
    start(&w, 1, 0);
    const char *nul[] = { "v=DMARC1; p=x", NULL };
    txt(&w, nul);
    w.b[w.n - 1] = '\0';
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, w.n, out, sizeof out), -1);
    CU_ASSERT_EQUAL(dmarcv_pick(w.b, 5, out, sizeof out), -1);      /* no header */
}

/* ---- results ------------------------------------------------------------------ */

static void test_classify(void)
{
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_OK, true, true, false), DKIMV_PASS);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_OK, true, false, false), DKIMV_FAIL);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_BADSIG, false, true, false), DKIMV_FAIL);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_NOKEY, false, false, false), DKIMV_PERMERROR);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_KEYDECODE, false, false, false), DKIMV_PERMERROR);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_KEYFAIL, false, false, false), DKIMV_TEMPERROR);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_DNSSYNTAX, false, false, true), DKIMV_TEMPERROR);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_MISSING_B, false, false, false), DKIMV_NEUTRAL);
    CU_ASSERT_EQUAL(dkimv_classify(DKIM_SIGERROR_VERSION, false, false, false), DKIMV_NEUTRAL);
    CU_ASSERT_STRING_EQUAL(dkimv_result_name(DKIMV_PERMERROR), "permerror");
    CU_ASSERT_STRING_EQUAL(dmarcv_result_name(DMARCV_TEMPERROR), "temperror");
}

/* ---- verification ------------------------------------------------------------- */

static char pem[4096], pub[1024];

/* A fresh RSA key: its PEM and the base64 of its public key. */
static int make_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(1024);
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int ok = k && b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1;
    int n = ok ? BIO_read(b, pem, sizeof pem - 1) : -1;
    int dl = ok ? i2d_PUBKEY(k, &der) : -1;
    ok = n > 0 && dl > 0 && (size_t)(4 * ((dl + 2) / 3)) < sizeof pub;
    if (ok) {
        pem[n] = '\0';
        EVP_EncodeBlock((unsigned char *)pub, der, dl);
    }
    OPENSSL_free(der);
    BIO_free(b);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

#define BODY "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n"
static const char head[] = "From: Joe <joe@good.example>\r\nTo: Suzie <suzie@example.net>\r\n"
                           "Subject: Is dinner ready?\r\n\r\n";

/* The message signed by libopendkim for good.example, selector sel: malloc'd. */
static char *signed_msg(void)
{
    char text[512];
    snprintf(text, sizeof text, "%s%s", head, BODY);
    DKIM_STAT st;
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    DKIM *s = lib ? dkim_sign(lib, (const u_char *)"t", NULL, (dkim_sigkey_t)pem,
                              (const u_char *)"sel", (const u_char *)"good.example",
                              DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1,
                              &st)
                  : NULL;
    char *out = NULL;
    u_char *h = NULL;
    size_t hl = 0;
    if (s && dkim_chunk(s, (u_char *)text, strlen(text)) == DKIM_STAT_OK &&
        dkim_chunk(s, NULL, 0) == DKIM_STAT_OK && dkim_eom(s, NULL) == DKIM_STAT_OK &&
        dkim_getsighdr_d(s, strlen("DKIM-Signature: "), &h, &hl) == DKIM_STAT_OK) {
        size_t n = strlen("DKIM-Signature: ") + hl + 2 + strlen(text) + 1;
        out = malloc(n);
        if (out)
            snprintf(out, n, "DKIM-Signature: %s\r\n%s", (const char *)h, text);
    }
    if (s)
        dkim_free(s);
    if (lib)
        dkim_close(lib);
    return out;
}

static enum dkimv_key key_answer;
static int key_calls;

static enum dkimv_key key_fn(void *ctx, const char *name, char *out, size_t n)
{
    (void)ctx;
    key_calls++;
    CU_ASSERT_STRING_EQUAL(name, "sel._domainkey.good.example");
    if (key_answer == DKIMV_KEY_OK)
        snprintf(out, n, "v=DKIM1; k=rsa; p=%s", pub);
    return key_answer;
}

static enum dkimv_result verify(const char *text, size_t *n, struct dkimv_sig *sig)
{
    struct dkim_msg m = { -1, 0, text, strlen(text) };
    CU_ASSERT_EQUAL(dkimv_verify(&m, key_fn, NULL, sig, 2, n), 0);
    return *n ? sig[0].result : DKIMV_NONE;
}

static void test_verify(void)
{
    CU_ASSERT_EQUAL_FATAL(make_key(), 0);
    char *msg = signed_msg();
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    struct dkimv_sig sig[2];
    size_t n = 0;
    key_answer = DKIMV_KEY_OK;
    CU_ASSERT_EQUAL(verify(msg, &n, sig), DKIMV_PASS);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(sig[0].domain, "good.example");
    CU_ASSERT_STRING_EQUAL(sig[0].selector, "sel");
    CU_ASSERT_EQUAL(strlen(sig[0].b), 8);
    CU_ASSERT_STRING_EQUAL(sig[0].why, "");
    key_answer = DKIMV_KEY_NOTFOUND;
    CU_ASSERT_EQUAL(verify(msg, &n, sig), DKIMV_PERMERROR);
    key_answer = DKIMV_KEY_TEMPFAIL;
    CU_ASSERT_EQUAL(verify(msg, &n, sig), DKIMV_TEMPERROR);
    CU_ASSERT_STRING_EQUAL(sig[0].why, "key lookup failed");
    key_answer = DKIMV_KEY_BAD;
    CU_ASSERT_EQUAL(verify(msg, &n, sig), DKIMV_PERMERROR);
    CU_ASSERT_STRING_EQUAL(sig[0].why, "unusable key record");
    /* the body altered after signing; the stored text's LF line ends verify alike */
    key_answer = DKIMV_KEY_OK;
    char *p = strstr(msg, "hungry");
    memcpy(p, "HUNGRY", 6);
    CU_ASSERT_EQUAL(verify(msg, &n, sig), DKIMV_FAIL);
    CU_ASSERT_STRING_EQUAL(sig[0].why, "body hash mismatch");
    memcpy(p, "hungry", 6);
    char *lf = malloc(strlen(msg) + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lf);
    size_t o = 0;
    for (const char *c = msg; *c; c++)
        if (*c != '\r')
            lf[o++] = *c;
    lf[o] = '\0';
    CU_ASSERT_EQUAL(verify(lf, &n, sig), DKIMV_PASS);
    p = strstr(lf, "dinner");
    memcpy(p, "DINNER", 6);
    CU_ASSERT_EQUAL(verify(lf, &n, sig), DKIMV_FAIL);
    CU_ASSERT_STRING_EQUAL(sig[0].why, "signature mismatch");
    /* unsigned: no result, no lookup */
    key_calls = 0;
    CU_ASSERT_EQUAL(verify(head, &n, sig), DKIMV_NONE);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(key_calls, 0);
    free(lf);
    free(msg);
}

/* ---- DMARC -------------------------------------------------------------------- */

static void test_alignment(void)
{
    char org[256];
    CU_ASSERT_EQUAL(dmarcv_org_domain("Mail.Good.Example", org, sizeof org), 0);
    CU_ASSERT_STRING_EQUAL(org, "good.example");         /* default rule "*" */
    CU_ASSERT_EQUAL(dmarcv_org_domain("a.b.example.co.uk", org, sizeof org), 0);
    CU_ASSERT_STRING_EQUAL(org, "example.co.uk");
    CU_ASSERT_EQUAL(dmarcv_org_domain("co.uk", org, sizeof org), -1);   /* a suffix */
    CU_ASSERT_TRUE(dmarcv_aligned("mail.good.example", "good.example", false));
    CU_ASSERT_TRUE(dmarcv_aligned("a.good.example", "b.good.example", false));
    CU_ASSERT_FALSE(dmarcv_aligned("a.good.example", "good.example", true));
    CU_ASSERT_TRUE(dmarcv_aligned("GOOD.example", "good.example", true));
    CU_ASSERT_FALSE(dmarcv_aligned("example.co.uk", "other.co.uk", false));
    CU_ASSERT_FALSE(dmarcv_aligned("evil.example", "good.example", false));
    CU_ASSERT_FALSE(dmarcv_aligned("", "good.example", false));
}

static void test_evaluate(void)
{
    struct dkimv_sig pass = { .result = DKIMV_PASS, .domain = "mail.good.example" },
                     fail = { .result = DKIMV_FAIL, .domain = "good.example" };
    struct dmarcv_out o;
    struct dmarcv_in in = { .from = "good.example", .record = "v=DMARC1; p=reject",
                            .dkim = &pass, .ndkim = 1 };
    CU_ASSERT_EQUAL_FATAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.result, DMARCV_PASS);                 /* relaxed by default */
    CU_ASSERT_TRUE(o.dkim_aligned);
    CU_ASSERT_EQUAL(o.policy, 'r');
    CU_ASSERT_EQUAL(o.pct, 100);
    in.record = "v=DMARC1; p=reject; adkim=s";
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.result, DMARCV_FAIL);
    in.dkim = &fail;                                        /* aligned but failed */
    in.record = "v=DMARC1; p=quarantine; pct=20";
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.result, DMARCV_FAIL);
    CU_ASSERT_EQUAL(o.policy, 'q');
    CU_ASSERT_EQUAL(o.pct, 20);
    in.spf_pass = true;                                     /* SPF aligns instead */
    in.spf_domain = "bounces.good.example";
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.result, DMARCV_PASS);
    CU_ASSERT_TRUE(o.spf_aligned);
    in.record = "v=DMARC1; p=none; aspf=s";
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.result, DMARCV_FAIL);
    /* sp= applies to a subdomain whose record came from the organizational domain */
    in = (struct dmarcv_in){ .from = "news.good.example", .record = "v=DMARC1; p=none; sp=reject",
                             .at_org = true };
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.policy, 'r');
    in.record = "v=DMARC1; p=quarantine";                   /* no sp=: p= */
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.policy, 'q');
    in.at_org = false;
    in.record = "v=DMARC1; p=none; sp=reject";
    CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
    CU_ASSERT_EQUAL(o.policy, 'n');
    /* broken records */
    const char *bad[] = { "v=DMARC1; p=bogus", "v=DMARC1", "v=DMARC2; p=reject",
                          "v=DMARC1; p=reject; pct=200", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in.record = bad[i];
        CU_ASSERT_EQUAL(dmarcv_evaluate(&in, &o), 0);
        CU_ASSERT_EQUAL(o.result, DMARCV_PERMERROR);
    }
}

static void test_decide(void)
{
    struct dmarcv_out o = { .result = DMARCV_FAIL, .policy = 'r', .pct = 100 };
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_TAG, &o, 0), DMARCV_ACT_NONE);
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 99), DMARCV_ACT_REJECT);
    o.pct = 30;
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 29), DMARCV_ACT_REJECT);
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 30), DMARCV_ACT_QUARANTINE);   /* 6.6.4 */
    o.policy = 'q';
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 10), DMARCV_ACT_QUARANTINE);
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 50), DMARCV_ACT_NONE);
    o.pct = 0;
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 0), DMARCV_ACT_NONE);
    o = (struct dmarcv_out){ .result = DMARCV_PASS, .policy = 'r', .pct = 100 };
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 0), DMARCV_ACT_NONE);
    o.result = DMARCV_PERMERROR;
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 0), DMARCV_ACT_NONE);
    o = (struct dmarcv_out){ .result = DMARCV_FAIL, .policy = 'n', .pct = 100 };
    CU_ASSERT_EQUAL(dmarcv_decide(AUTHRES_ACT, &o, 0), DMARCV_ACT_NONE);
}

static void test_authres_line(void)
{
    char out[512];
    struct dkimv_sig s[2] = {
        { .result = DKIMV_PASS, .domain = "good.example", .selector = "sel", .b = "AbCd+/12" },
        { .result = DKIMV_FAIL, .domain = "x;y.example", .selector = "s (1)",
          .why = "body hash (mismatch);" },
    };
    struct authres_facts f = { .spf_ran = true, .spf = "pass", .spf_domain = "good.example",
                               .dkim_ran = true, .dkim = s, .ndkim = 2, .dmarc_ran = true,
                               .dmarc = "pass", .dmarc_why = "p=reject",
                               .dmarc_from = "good.example" };
    CU_ASSERT_EQUAL(authres_format("mx", &f, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "Authentication-Results: mx; spf=pass smtp.mailfrom=good.example; "
                                "dkim=pass header.d=good.example header.s=sel header.b=AbCd+/12; "
                                "dkim=fail (body hash mismatch) header.d=xy.example header.s=s1; "
                                "dmarc=pass (p=reject) header.from=good.example");
    f = (struct authres_facts){ .dkim_ran = true, .dmarc_ran = true, .dmarc = "none",
                                .dmarc_why = "", .dmarc_from = "" };
    CU_ASSERT_EQUAL(authres_format("mx", &f, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "Authentication-Results: mx; dkim=none; dmarc=none");
    CU_ASSERT_EQUAL(authres_format("mx", &f, out, 40), -1);          /* no room */
}

static CU_TestInfo tests[] = {
    { "key and DMARC records from wire answers", test_records },
    { "a signature's result from libopendkim's facts", test_classify },
    { "verification: pass, no key, DNS failure, bad key, tampered, unsigned", test_verify },
    { "organizational domains and alignment", test_alignment },
    { "the record's policy: alignment, p, sp, pct, broken records", test_evaluate },
    { "enforce: reject, quarantine, pct's milder policy", test_decide },
    { "the Authentication-Results: line with DKIM and DMARC", test_authres_line },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dmarc", tests)
