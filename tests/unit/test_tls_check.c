/* test_tls_check: the checks a server certificate and its key pass before they are
 * served (common/tls_check.c: parsing, key match, validity window), reading the PEM
 * files (tls.c: tls_file_read) and tls_load's verdicts over real files. The
 * certificates are made here with OpenSSL: EC keys, self-signed, with chosen dates. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cu.h"
#include "tls.h"
#include "tls_check.h"
#include "tls_load.h"
#include "tutil.h"

#define NOW 1796000000L          /* 2026-11-30 00:53:20 UTC */
#define DAY 86400L

struct pem {
    char cert[8192];
    char key[4096];
    size_t clen, klen;
};

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("prime256v1");
}

/* A self-signed certificate for KEY, valid from NB to NA (seconds since the epoch). */
static X509 *new_cert(EVP_PKEY *key, long serial, time_t nb, time_t na)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    CU_ASSERT_FATAL(x && n);
    CU_ASSERT(X509_set_version(x, 2) == 1);
    CU_ASSERT(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1);
    CU_ASSERT(ASN1_TIME_set(X509_getm_notBefore(x), nb) != NULL);
    CU_ASSERT(ASN1_TIME_set(X509_getm_notAfter(x), na) != NULL);
    CU_ASSERT(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                         (const unsigned char *)"mail.example.test", -1, -1, 0) == 1);
    CU_ASSERT(X509_set_subject_name(x, n) == 1 && X509_set_issuer_name(x, n) == 1);
    CU_ASSERT(X509_set_pubkey(x, key) == 1);
    CU_ASSERT(X509_sign(x, key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static size_t bio_take(BIO *b, char *out, size_t len)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < len);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return (size_t)n;
}

/* PEM of certificates CERTS (the leaf first) and KEY. */
static void to_pem(struct pem *o, X509 **certs, int ncerts, EVP_PKEY *key)
{
    BIO *c = BIO_new(BIO_s_mem()), *k = BIO_new(BIO_s_mem());
    for (int i = 0; i < ncerts; i++)
        CU_ASSERT(PEM_write_bio_X509(c, certs[i]) == 1);
    CU_ASSERT(PEM_write_bio_PrivateKey(k, key, NULL, NULL, 0, NULL, NULL) == 1);
    o->clen = bio_take(c, o->cert, sizeof o->cert);
    o->klen = bio_take(k, o->key, sizeof o->key);
}

/* A pair valid from NB to NA, serial SERIAL. */
static void make_pair(struct pem *o, long serial, time_t nb, time_t na)
{
    EVP_PKEY *k = new_key();
    X509 *x = new_cert(k, serial, nb, na);
    to_pem(o, &x, 1, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

static int parse(const struct pem *o, struct tls_pair *p, char *err, size_t len)
{
    return tls_pair_parse(p, o->cert, o->clen, o->key, o->klen, "/c.pem", "/k.pem", err, len);
}

static void test_good_pair(void)
{
    struct pem o;
    struct tls_pair p;
    char err[512] = "", serial[80], until[40];

    make_pair(&o, 0x1234ab, NOW - DAY, NOW + 90 * DAY);
    CU_ASSERT_EQUAL_FATAL(parse(&o, &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(tls_pair_validity(&p, "/c.pem", NOW, err, sizeof err), TLS_VALID);
    CU_ASSERT_EQUAL(tls_pair_describe(&p, serial, sizeof serial, until, sizeof until), 0);
    CU_ASSERT_STRING_EQUAL(serial, "1234AB");
    CU_ASSERT_STRING_EQUAL(until, "2027-02-28 00:53:20 UTC");
    SSL_CTX *ctx = tls_server_ctx_pair(&p, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    SSL_CTX_free(ctx);
    tls_pair_free(&p);
}

static void test_expired_and_not_yet_valid(void)
{
    struct pem o;
    struct tls_pair p;
    char err[512] = "";

    make_pair(&o, 7, NOW - 100 * DAY, NOW - 10 * DAY);
    CU_ASSERT_EQUAL_FATAL(parse(&o, &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(tls_pair_validity(&p, "/c.pem", NOW, err, sizeof err), TLS_EXPIRED);
    CU_ASSERT_STRING_EQUAL(err, "tls_cert /c.pem: certificate expired on 2026-11-20 00:53:20 UTC");
    /* the same certificate was good before its end */
    CU_ASSERT_EQUAL(tls_pair_validity(&p, "/c.pem", NOW - 11 * DAY, err, sizeof err), TLS_VALID);
    CU_ASSERT_EQUAL(tls_pair_validity(&p, "/c.pem", NOW - 101 * DAY, err, sizeof err),
                    TLS_NOT_YET_VALID);
    CU_ASSERT_STRING_EQUAL(err, "tls_cert /c.pem: certificate not valid before "
                                "2026-08-22 00:53:20 UTC");
    tls_pair_free(&p);
}

static void test_key_mismatch(void)
{
    struct pem a, b, mixed;
    struct tls_pair p;
    char err[512] = "";

    make_pair(&a, 1, NOW - DAY, NOW + DAY);
    make_pair(&b, 2, NOW - DAY, NOW + DAY);
    memcpy(mixed.cert, a.cert, a.clen + 1);
    mixed.clen = a.clen;
    memcpy(mixed.key, b.key, b.klen + 1);
    mixed.klen = b.klen;
    CU_ASSERT_EQUAL(parse(&mixed, &p, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "tls_key /k.pem: the key does not match the certificate in /c.pem");
    CU_ASSERT_PTR_NULL(p.leaf);
    CU_ASSERT_PTR_NULL(p.key);
}

static void test_garbled(void)
{
    struct pem o, bad;
    struct tls_pair p;
    char err[512] = "";

    make_pair(&o, 3, NOW - DAY, NOW + DAY);
    /* empty certificate file */
    CU_ASSERT_EQUAL(tls_pair_parse(&p, "", 0, o.key, o.klen, "/c.pem", "/k.pem", err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls_cert /c.pem: no PEM certificate in it"));
    /* a certificate with its body damaged */
    bad = o;
    bad.cert[100] = bad.cert[100] == 'A' ? 'B' : 'A';
    bad.cert[101] = '*';
    CU_ASSERT_EQUAL(parse(&bad, &p, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls_cert /c.pem:"));
    /* a key file that holds a certificate */
    CU_ASSERT_EQUAL(tls_pair_parse(&p, o.cert, o.clen, o.cert, o.clen, "/c.pem", "/k.pem", err,
                                   sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls_key /k.pem: no usable PEM private key"));
    /* garbage after the leaf: a damaged intermediate is not ignored */
    bad = o;
    const char *junk = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    memcpy(bad.cert + bad.clen, junk, strlen(junk) + 1);
    bad.clen += strlen(junk);
    CU_ASSERT_EQUAL(parse(&bad, &p, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "a certificate after the first is garbled"));
}

static void test_chain_kept(void)
{
    EVP_PKEY *k = new_key(), *ik = new_key();
    X509 *certs[2] = { new_cert(k, 10, NOW - DAY, NOW + DAY), new_cert(ik, 11, NOW - DAY, NOW + DAY) };
    struct pem o;
    struct tls_pair p;
    char err[512] = "";

    to_pem(&o, certs, 2, k);
    CU_ASSERT_EQUAL_FATAL(parse(&o, &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(sk_X509_num((STACK_OF(X509) *)p.chain), 1);
    CU_ASSERT_EQUAL(ASN1_INTEGER_get(X509_get0_serialNumber(
                        sk_X509_value((STACK_OF(X509) *)p.chain, 0))), 11);
    tls_pair_free(&p);
    X509_free(certs[0]);
    X509_free(certs[1]);
    EVP_PKEY_free(k);
    EVP_PKEY_free(ik);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(text, 1, len, f) == len);
    CU_ASSERT(fclose(f) == 0);
}

static void test_files_and_load(void)
{
    char dir[256], cert[300], key[300], err[512] = "";
    struct pem good, old;
    struct tls_loaded t;
    char *buf;
    size_t len;

    CU_ASSERT_FATAL(tu_tmpdir(dir, sizeof dir, "tls") == 0);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    CU_ASSERT_EQUAL(tls_file_read("tls_cert", cert, -1, &buf, &len, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open: No such file or directory"));
    CU_ASSERT_EQUAL(tls_file_read("tls_key", "/dev/null", -1, &buf, &len, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "tls_key /dev/null: not a regular file");

    time_t now = time(NULL);
    make_pair(&good, 21, now - DAY, now + 30 * DAY);
    write_file(cert, good.cert, good.clen);
    write_file(key, good.key, good.klen);
    CU_ASSERT_EQUAL(tls_file_read("tls_cert", cert, -1, &buf, &len, err, sizeof err), 0);
    CU_ASSERT(len == good.clen && memcmp(buf, good.cert, len) == 0);
    tls_file_free(buf, len);
    CU_ASSERT_EQUAL(tls_load(cert, key, now, &t), TLS_LOAD_OK);
    CU_ASSERT_PTR_NOT_NULL(t.ctx);
    CU_ASSERT_STRING_EQUAL(t.serial, "15");
    SSL_CTX_free(t.ctx);

    make_pair(&old, 22, now - 60 * DAY, now - 30 * DAY);
    write_file(cert, old.cert, old.clen);
    write_file(key, old.key, old.klen);
    CU_ASSERT_EQUAL(tls_load(cert, key, now, &t), TLS_LOAD_DATES);
    CU_ASSERT_PTR_NOT_NULL(t.ctx);         /* made: served at start with a warning */
    CU_ASSERT_PTR_NOT_NULL(strstr(t.msg, "certificate expired on"));
    SSL_CTX_free(t.ctx);

    write_file(key, good.key, good.klen);  /* the old certificate with the new key */
    CU_ASSERT_EQUAL(tls_load(cert, key, now, &t), TLS_LOAD_FAIL);
    CU_ASSERT_PTR_NULL(t.ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.msg, "does not match the certificate"));
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static CU_TestInfo tests[] = {
    { "a good pair parses, is valid and makes a context", test_good_pair },
    { "expired and not yet valid, with the dates", test_expired_and_not_yet_valid },
    { "a key of another certificate is refused", test_key_mismatch },
    { "garbled or empty files are refused", test_garbled },
    { "intermediates after the leaf are kept", test_chain_kept },
    { "files read whole; tls_load's verdicts", test_files_and_load },
    CU_TEST_INFO_NULL,
};

CU_MAIN("tls_check", tests)
