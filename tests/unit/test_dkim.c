/* test_dkim: the pure parts of DKIM signing: key file names and paths, the TXT record
 * (common/dkim_keys.c), the From: domain and the signed header list (smtpd/dkim_hdr.c),
 * relaxed canonicalization and header selection (smtpd/dkim_canon.c, with RFC 6376
 * 3.4.5's example), a key made by dkim_key_generate read back to the same TXT, and
 * dkim_sign_msg over header fields that crashed libopendkim's own header splitting (an
 * empty field, a NUL), checked by our verifier (check_dkim_lib.c); the verifier's decoded
 * keys kept between messages (dkim_keycache.c). */
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_dkim.h"
#include "cu.h"
#include "dkim_canon.h"
#include "dkim_hdr.h"
#include "dkim_keycache.h"
#include "dkim_keys.h"
#include "dkim_sign.h"
#include "tutil.h"

static void test_names_and_paths(void)
{
    char buf[256], sel[64];
    enum dkim_alg alg;
    CU_ASSERT_EQUAL(dkim_alg_parse("ed25519", &alg), 0);
    CU_ASSERT_EQUAL(alg, DKIM_ALG_ED25519);
    CU_ASSERT_EQUAL(dkim_alg_parse("rsa", &alg), 0);
    CU_ASSERT_EQUAL(alg, DKIM_ALG_RSA);
    CU_ASSERT_EQUAL(dkim_alg_parse("RSA", &alg), -1);
    CU_ASSERT_TRUE(dkim_selector_valid("rsa-202612"));
    CU_ASSERT_FALSE(dkim_selector_valid(""));
    CU_ASSERT_FALSE(dkim_selector_valid("-a"));
    CU_ASSERT_FALSE(dkim_selector_valid("a.b"));
    CU_ASSERT_FALSE(dkim_selector_valid("../x"));
    CU_ASSERT_EQUAL(dkim_key_path("/d", "example.test", "s1", DKIM_ALG_ED25519, buf, sizeof buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/d/dkim/example.test/s1.ed25519.key");
    CU_ASSERT_EQUAL(dkim_key_path("/d", "..", "s1", DKIM_ALG_RSA, buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(dkim_key_path("/d", "a/b", "s1", DKIM_ALG_RSA, buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(dkim_key_path("/d", "Example.test", "s1", DKIM_ALG_RSA, buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(dkim_key_path("/d", "example.test", "s1", DKIM_ALG_RSA, buf, 20), -1);
    CU_ASSERT_EQUAL(dkim_key_name_parse("s1.rsa.key", sel, sizeof sel, &alg), 0);
    CU_ASSERT_STRING_EQUAL(sel, "s1");
    CU_ASSERT_EQUAL(alg, DKIM_ALG_RSA);
    CU_ASSERT_EQUAL(dkim_key_name_parse("e-1.ed25519.key", sel, sizeof sel, &alg), 0);
    CU_ASSERT_EQUAL(alg, DKIM_ALG_ED25519);
    CU_ASSERT_EQUAL(dkim_key_name_parse("s1.dsa.key", sel, sizeof sel, &alg), -1);
    CU_ASSERT_EQUAL(dkim_key_name_parse("s1.rsa.key.tmp", sel, sizeof sel, &alg), -1);
    CU_ASSERT_EQUAL(dkim_key_name_parse(".rsa.key", sel, sizeof sel, &alg), -1);
}

static void test_txt(void)
{
    char v[DKIM_TXT_MAX];
    const unsigned char pub[] = { 0, 1, 2 };
    CU_ASSERT_EQUAL(dkim_txt_value(DKIM_ALG_ED25519, pub, 3, v, sizeof v), 0);
    CU_ASSERT_STRING_EQUAL(v, "v=DKIM1; k=ed25519; p=AAEC");
    CU_ASSERT_EQUAL(dkim_txt_value(DKIM_ALG_RSA, pub, 3, v, 10), -1);
    /* long values are cut into strings of 255 octets */
    char big[600], *out = NULL;
    size_t olen = 0;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    FILE *f = open_memstream(&out, &olen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    dkim_txt_record(f, "example.test", "s1", "v=DKIM1");
    dkim_txt_record(f, "example.test", "s1", big);
    CU_ASSERT_EQUAL(fclose(f), 0);
    char want[1024];
    snprintf(want, sizeof want, "s1._domainkey.example.test.\tIN\tTXT\t\"v=DKIM1\"\n"
             "s1._domainkey.example.test.\tIN\tTXT\t( \"%.255s\" \"%.255s\" \"%.89s\" )\n",
             big, big, big);
    CU_ASSERT_STRING_EQUAL(out, want);
    free(out);
}

static void test_generate_reads_back(void)
{
    for (int a = DKIM_ALG_RSA; a <= DKIM_ALG_ED25519; a++) {
        char path[] = "/tmp/test_dkim_XXXXXX", txt[DKIM_TXT_MAX], txt2[DKIM_TXT_MAX];
        int fd = mkstemp(path);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(dkim_key_generate((enum dkim_alg)a, fd, txt, sizeof txt), 0);
        CU_ASSERT_EQUAL(close(fd), 0);
        char *pem = dkim_key_read(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
        CU_ASSERT_EQUAL(dkim_key_txt((enum dkim_alg)a, pem, txt2, sizeof txt2), 0);
        CU_ASSERT_STRING_EQUAL(txt, txt2);
        /* the wrong algorithm for the key is refused */
        CU_ASSERT_EQUAL(dkim_key_txt((enum dkim_alg)!a, pem, txt2, sizeof txt2), -1);
        if (a == DKIM_ALG_ED25519) {      /* 32 octets: 44 base64 characters */
            CU_ASSERT_EQUAL(strlen(strstr(txt, "p=") + 2), 44);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(txt, "k=rsa; p=MIIBIjAN"));   /* 2048-bit SPKI */
        }
        free(pem);
        unlink(path);
    }
}

static int from(const char *text, char *dom)
{
    return dkim_from_domain(text, strlen(text), dom, 64);
}

static void test_from_domain(void)
{
    char d[64];
    CU_ASSERT_EQUAL(from("To: x@y\nFrom: Alice <alice@Example.TEST>\n\nbody From: a@b.c\n", d), 0);
    CU_ASSERT_STRING_EQUAL(d, "example.test");
    CU_ASSERT_EQUAL(from("from:bob@a.test\r\nSubject: s\r\n\r\n", d), 0);
    CU_ASSERT_STRING_EQUAL(d, "a.test");
    CU_ASSERT_EQUAL(from("From: \"Bob, @home\"\n <bob@b.test>\nTo: x\n\n", d), 0);   /* folded */
    CU_ASSERT_STRING_EQUAL(d, "b.test");
    CU_ASSERT_EQUAL(from("From: a@a.test\nFrom: b@b.test\n\n", d), 1);   /* two: not signed */
    CU_ASSERT_EQUAL(from("To: a@a.test\n\nFrom: b@b.test\n", d), 1);     /* only in the body */
    CU_ASSERT_EQUAL(from("From: undisclosed\n\n", d), 1);
    CU_ASSERT_EQUAL(from("From: <a@>\n\n", d), 1);
    CU_ASSERT_EQUAL(from("From: a@b.test (x@evil.test)\n\n", d), 1);
    CU_ASSERT_EQUAL(dkim_from_domain("From: a@bbbbbbbbbb.test\n\n", 24, d, 5), -1);
}

struct acc {
    char buf[512];
    size_t n;
};

static void acc_out(void *ctx, const char *p, size_t n)
{
    struct acc *a = ctx;
    if (a->n + n < sizeof a->buf) {
        memcpy(a->buf + a->n, p, n);
        a->n += n;
        a->buf[a->n] = '\0';
    }
}

static const char *body(const char *text, size_t split)
{
    static struct acc a;
    struct dkim_body b;
    a.n = 0;
    a.buf[0] = '\0';
    dkim_body_init(&b, acc_out, &a);
    dkim_body_feed(&b, text, split);                 /* in two pieces */
    dkim_body_feed(&b, text + split, strlen(text) - split);
    dkim_body_end(&b);
    return a.buf;
}

static void test_canon(void)
{
    /* RFC 6376 3.4.5 */
    const char *ex = " C \r\nD \t E\r\n\r\n\r\n";
    for (size_t i = 0; i <= strlen(ex); i++)
        CU_ASSERT_STRING_EQUAL(body(ex, i), " C\r\nD E\r\n");
    CU_ASSERT_STRING_EQUAL(body(" C \nD \t E\n\n\n", 3), " C\r\nD E\r\n");   /* LF text */
    CU_ASSERT_STRING_EQUAL(body("a\n\n\nb", 2), "a\r\n\r\n\r\nb\r\n");
    CU_ASSERT_STRING_EQUAL(body("\n\n", 1), "");
    CU_ASSERT_STRING_EQUAL(body("x\ry\r", 1), "x\ry\r\r\n");
    struct acc a = { .n = 0 };
    dkim_header_canon("A: X", 4, true, acc_out, &a);
    const char *h2 = "B : Y\t\r\n\tZ  ";
    dkim_header_canon(h2, strlen(h2), true, acc_out, &a);
    CU_ASSERT_STRING_EQUAL(a.buf, "a:X\r\nb:Y Z\r\n");
}

static void test_select(void)
{
    const char *text = "Received: x\nFrom: a@a.test\nTo: b\n c\nSubject: s\nto: d\n\nbody\n";
    struct dkim_field f[8];
    size_t hlen = 0;
    int nf = dkim_fields(text, strlen(text), f, 8, &hlen);
    CU_ASSERT_EQUAL_FATAL(nf, 5);
    CU_ASSERT_EQUAL(hlen, strlen(text) - 5);
    CU_ASSERT_EQUAL(f[2].len, 8);                    /* "To: b\n c" folded */
    struct dkim_field g[8];
    CU_ASSERT_EQUAL(dkim_fields(text, strlen(text), g, 4, &hlen), -1);
    CU_ASSERT_EQUAL(dkim_fields("From: a\n", 8, g, 8, &hlen), -1);   /* no end of headers */
    const char *names[16];
    int sel[16];
    CU_ASSERT_EQUAL(dkim_h_list(f, 5, dkim_sign_headers, dkim_oversign_headers, names, 16), 5);
    const char *want[] = { "from", "to", "to", "subject", "from" };
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(names[i], want[i]);
    CU_ASSERT_PTR_NULL(names[5]);
    dkim_select(f, 5, names, sel);
    CU_ASSERT_EQUAL(sel[0], 1);
    CU_ASSERT_EQUAL(sel[1], 4);        /* bottom up: the last "to" first */
    CU_ASSERT_EQUAL(sel[2], 2);
    CU_ASSERT_EQUAL(sel[3], 3);
    CU_ASSERT_EQUAL(sel[4], -1);       /* oversigned From: nothing */
    /* the signed list is the one the big providers expect */
    size_t n = 0;
    while (dkim_sign_headers[n])
        n++;
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_STRING_EQUAL(dkim_oversign_headers[0], "from");
}

static char odd_txt[DKIM_TXT_MAX];

static enum dkimv_key odd_key(void *ctx, const char *name, char *out, size_t n)
{
    (void)ctx;
    CU_ASSERT_STRING_EQUAL(name, "s1._domainkey.example.test");
    snprintf(out, n, "%s", odd_txt);
    return DKIMV_KEY_OK;
}

/* Sign TEXT (LEN octets) as example.test: the result of dkim_sign_msg, and with a
 * signature, that our verifier passes it. */
static int sign_odd(const char *dir, const char *domain, const char *text, size_t len)
{
    struct dkim_msg m = { -1, 0, text, len };
    char *hdrs = NULL;
    size_t hlen = 0;
    int rc = dkim_sign_msg(dir, domain, &m, &hdrs, &hlen);
    if (rc == DKIMS_SIGNED) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(hdrs);
        CU_ASSERT_PTR_NOT_NULL(strstr(hdrs, "d=example.test"));
        char *all = malloc(hlen + len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(all);
        memcpy(all, hdrs, hlen);
        memcpy(all + hlen, text, len);
        struct dkim_msg sm = { -1, 0, all, hlen + len };
        struct dkimv_sig sig[2];
        size_t n = 0;
        CU_ASSERT_EQUAL(dkimv_verify(&sm, odd_key, NULL, sig, 2, &n), 0);
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_EQUAL(n ? sig[0].result : DKIMV_NONE, DKIMV_PASS);
        free(all);
    }
    free(hdrs);
    return rc;
}

static void test_sign_odd_fields(void)
{
    char dir[256], kdir[512], path[512];
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "dkim"), 0);
    CU_ASSERT_EQUAL_FATAL(dkim_root_dir(dir, kdir, sizeof kdir), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(kdir, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(dkim_domain_dir(dir, "example.test", kdir, sizeof kdir), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(kdir, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(dkim_key_path(dir, "example.test", "s1", DKIM_ALG_RSA, path,
                                        sizeof path), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(dkim_key_generate(DKIM_ALG_RSA, fd, odd_txt, sizeof odd_txt), 0);
    CU_ASSERT_EQUAL(close(fd), 0);
    static const char plain[] = "From: a@example.test\nTo: b@example.org\nSubject: hi\n\nbody\n";
    CU_ASSERT_EQUAL(sign_odd(dir, NULL, plain, strlen(plain)), DKIMS_SIGNED);
    /* an empty field: libopendkim's dkim_chunk aborted on it (an assertion) */
    static const char empty[] = "From: a@example.test\nX-Empty:\nTo: b@example.org\n"
                                "Subject: hi\n\nbody\n";
    CU_ASSERT_EQUAL(sign_odd(dir, NULL, empty, strlen(empty)), DKIMS_SIGNED);
    static const char empty2[] = "From: a@example.test\nX-Empty:\n\nbody\n";
    CU_ASSERT_EQUAL(sign_odd(dir, NULL, empty2, strlen(empty2)), DKIMS_SIGNED);
    /* a NUL in a field (sizeof - 1: the NUL inside counts): left out, not overrun */
    static const char nul[] = "From: a@example.test\nSubject: a\0b\nX-Nul: \0\n"
                              "DKIM-Signature: v=1; a=rsa-sha256; d=x\0; s=\n\nbody\n";
    CU_ASSERT_EQUAL(sign_odd(dir, NULL, nul, sizeof nul - 1), DKIMS_SIGNED);
    /* the queue signs as the configured domain: no field at all (fuzz_dmarc's
     * chunk-empty-field) is left unsigned (no From:), lines that are no field are left
     * out */
    CU_ASSERT_EQUAL(sign_odd(dir, "example.test", "\n\001\n", 3), -1);
    static const char junk[] = "\001\nFrom: a@example.test\n:\n\001\n\nx\n";
    CU_ASSERT_EQUAL(sign_odd(dir, "example.test", junk, strlen(junk)), DKIMS_SIGNED);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

/* A key for example.test, selector s1, in DIR (made fresh); its TXT into odd_txt. */
static void new_key(const char *dir)
{
    char kdir[512], path[512];
    CU_ASSERT_EQUAL_FATAL(dkim_root_dir(dir, kdir, sizeof kdir), 0);
    (void)mkdir(kdir, 0700);
    CU_ASSERT_EQUAL_FATAL(dkim_domain_dir(dir, "example.test", kdir, sizeof kdir), 0);
    (void)mkdir(kdir, 0700);
    CU_ASSERT_EQUAL_FATAL(dkim_key_path(dir, "example.test", "s1", DKIM_ALG_RSA, path,
                                        sizeof path), 0);
    (void)unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(dkim_key_generate(DKIM_ALG_RSA, fd, odd_txt, sizeof odd_txt), 0);
    CU_ASSERT_EQUAL(close(fd), 0);
}

/* TEXT signed with DIR's key (malloc'd, *len). */
static char *signed_text(const char *dir, const char *text, size_t *len)
{
    struct dkim_msg m = { -1, 0, text, strlen(text) };
    char *hdrs = NULL;
    size_t hlen = 0;
    CU_ASSERT_EQUAL_FATAL(dkim_sign_msg(dir, NULL, &m, &hdrs, &hlen), DKIMS_SIGNED);
    char *all = malloc(hlen + m.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    memcpy(all, hdrs, hlen);
    memcpy(all + hlen, text, m.len);
    free(hdrs);
    *len = hlen + m.len;
    return all;
}

static enum dkimv_result verify_one(const char *text, size_t len)
{
    struct dkim_msg m = { -1, 0, text, len };
    struct dkimv_sig sig[2];
    size_t n = 0;
    CU_ASSERT_EQUAL(dkimv_verify(&m, odd_key, NULL, sig, 2, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    return n ? sig[0].result : DKIMV_NONE;
}

/* dkim_keycache: a key decoded once serves the next messages; a new key at the same
 * name is decoded (the cache is keyed by the key, not by its name). */
static void test_keycache(void)
{
    char dir[256];
    CU_ASSERT_EQUAL_FATAL(tu_tmpdir(dir, sizeof dir, "dkimkc"), 0);
    dkim_keycache_clear();
    new_key(dir);
    static const char text[] = "From: a@example.test\nTo: b@example.org\nSubject: k\n\nbody\n";
    size_t alen = 0, blen = 0, dec0, hit0, dec, hit;
    char *a = signed_text(dir, text, &alen);
    dkim_keycache_stats(&dec0, &hit0);
    CU_ASSERT_EQUAL(verify_one(a, alen), DKIMV_PASS);
    CU_ASSERT_EQUAL(verify_one(a, alen), DKIMV_PASS);
    CU_ASSERT_EQUAL(verify_one(a, alen), DKIMV_PASS);
    dkim_keycache_stats(&dec, &hit);
    CU_ASSERT_EQUAL(dec - dec0, 1);    /* decoded once, */
    CU_ASSERT_EQUAL(hit - hit0, 2);    /* then from the cache */
    new_key(dir);                      /* the selector's key replaced */
    char *b = signed_text(dir, text, &blen);
    CU_ASSERT_EQUAL(verify_one(a, alen), DKIMV_FAIL);   /* the old signature, new key */
    CU_ASSERT_EQUAL(verify_one(b, blen), DKIMV_PASS);
    dkim_keycache_stats(&dec, &hit);
    CU_ASSERT_EQUAL(dec - dec0, 2);
    CU_ASSERT_EQUAL(hit - hit0, 3);
    /* outside the verifier d2i_PUBKEY_bio is libcrypto's: no counting */
    BIO *bio = BIO_new(BIO_s_mem());
    CU_ASSERT_PTR_NOT_NULL_FATAL(bio);
    CU_ASSERT_PTR_NULL(d2i_PUBKEY_bio(bio, NULL));   /* empty: nothing to decode */
    BIO_free(bio);
    dkim_keycache_stats(&dec, &hit);
    CU_ASSERT_EQUAL(dec - dec0, 2);
    free(a);
    free(b);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static CU_TestInfo tests[] = {
    { "key names and paths", test_names_and_paths },
    { "TXT value and record", test_txt },
    { "generated keys read back", test_generate_reads_back },
    { "From: domain", test_from_domain },
    { "relaxed canonicalization", test_canon },
    { "header selection", test_select },
    { "signing empty and NUL header fields", test_sign_odd_fields },
    { "decoded keys kept between messages", test_keycache },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dkim", tests)
