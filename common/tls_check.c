/* tls_check: parsing and checking a certificate chain and its key from PEM bytes
 * (tls_check.h). OpenSSL does the parsing; this module only says what is wrong, in
 * words an admin can act on, naming the file. */
#include "tls_check.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* An encrypted key is never prompted for: the daemons run without a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* OpenSSL's reason for the last failure, or DFLT; the error queue is emptied. */
static const char *ssl_reason(char *buf, size_t len, const char *dflt)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    snprintf(buf, len, "%s", r ? r : dflt);
    return buf;
}

void tls_pair_free(struct tls_pair *p)
{
    X509_free(p->leaf);
    if (p->chain)
        sk_X509_pop_free((STACK_OF(X509) *)p->chain, X509_free);
    EVP_PKEY_free(p->key);
    memset(p, 0, sizeof *p);
}

/* The certificates of CERT_PEM: the leaf and the rest. 0, or -1 with err. */
static int parse_chain(struct tls_pair *p, const char *pem, size_t len, const char *name,
                       char *err, size_t errlen)
{
    char why[160];
    BIO *b = len <= TLS_PEM_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;

    if (!b) {
        snprintf(err, errlen, "tls_cert %s: %s", name,
                 len > TLS_PEM_MAX ? "larger than 1 MiB" : "out of memory");
        return -1;
    }
    p->leaf = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
    if (!p->leaf) {
        snprintf(err, errlen, "tls_cert %s: no PEM certificate in it (%s)", name,
                 ssl_reason(why, sizeof why, "empty or garbled"));
        BIO_free(b);
        return -1;
    }
    STACK_OF(X509) *chain = sk_X509_new_null();
    p->chain = (struct stack_st_X509 *)chain;
    X509 *x;
    int r = chain ? 0 : -1;
    while (r == 0 && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL)
        if (sk_X509_push(chain, x) <= 0) {
            X509_free(x);
            r = -1;
        }
    unsigned long e = ERR_peek_last_error();
    if (r == 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) &&
        e != 0)
        r = -1;           /* the end of the file is "no start line"; anything else is not */
    if (r != 0)
        snprintf(err, errlen, "tls_cert %s: a certificate after the first is garbled (%s)",
                 name, ssl_reason(why, sizeof why, "out of memory"));
    ERR_clear_error();
    BIO_free(b);
    return r;
}

int tls_pair_parse(struct tls_pair *p, const char *cert_pem, size_t cert_len,
                   const char *key_pem, size_t key_len, const char *cert_name,
                   const char *key_name, char *err, size_t errlen)
{
    char why[160];

    memset(p, 0, sizeof *p);
    ERR_clear_error();
    if (parse_chain(p, cert_pem, cert_len, cert_name, err, errlen) != 0)
        goto fail;
    BIO *b = key_len <= TLS_PEM_MAX ? BIO_new_mem_buf(key_pem, (int)key_len) : NULL;
    if (b) {
        p->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
        BIO_free(b);
    }
    if (!p->key) {
        snprintf(err, errlen, "tls_key %s: no usable PEM private key in it (%s; an encrypted "
                 "key is not supported)", key_name,
                 ssl_reason(why, sizeof why, key_len > TLS_PEM_MAX ? "larger than 1 MiB"
                                                                   : "empty or garbled"));
        goto fail;
    }
    if (X509_check_private_key(p->leaf, p->key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "tls_key %s: the key does not match the certificate in %s",
                 key_name, cert_name);
        goto fail;
    }
    return 0;
fail:
    tls_pair_free(p);
    return -1;
}

static int asn1_time_text(const ASN1_TIME *t, char *out, size_t len)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        snprintf(out, len, "(unreadable date)");
        return -1;
    }
    return 0;
}

enum tls_validity tls_pair_validity(const struct tls_pair *p, const char *cert_name, time_t now,
                                    char *err, size_t errlen)
{
    const ASN1_TIME *nb = X509_get0_notBefore(p->leaf), *na = X509_get0_notAfter(p->leaf);
    char when[64];
    int after_start = nb ? X509_cmp_time(nb, &now) : 0;   /* -1: notBefore is in the past */
    int before_end = na ? X509_cmp_time(na, &now) : 0;    /* 1: notAfter is in the future */

    if (after_start == 0 || before_end == 0) {
        ERR_clear_error();
        snprintf(err, errlen, "tls_cert %s: the certificate's validity dates are unreadable",
                 cert_name);
        return TLS_BAD_DATES;
    }
    if (before_end < 0) {
        (void)asn1_time_text(na, when, sizeof when);
        snprintf(err, errlen, "tls_cert %s: certificate expired on %s", cert_name, when);
        return TLS_EXPIRED;
    }
    if (after_start > 0) {
        (void)asn1_time_text(nb, when, sizeof when);
        snprintf(err, errlen, "tls_cert %s: certificate not valid before %s", cert_name, when);
        return TLS_NOT_YET_VALID;
    }
    return TLS_VALID;
}

int tls_pair_describe(const struct tls_pair *p, char *serial, size_t serlen, char *until,
                      size_t untillen)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(p->leaf), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int r = hex ? 0 : -1;

    snprintf(serial, serlen, "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    if (asn1_time_text(X509_get0_notAfter(p->leaf), until, untillen) != 0)
        r = -1;
    return r;
}
