/* tls_check: what a server certificate and its key must pass before they are served
 * (at start and on every reload): PEM that parses, a key that matches the leaf
 * certificate, and a validity window that holds at a given time. Pure: PEM bytes and a
 * time in, parsed objects and a verdict with a message naming the file out; no file or
 * clock access (tls.c reads the files, tls_load.c decides what a verdict means). */
#ifndef MS_TLS_CHECK_H
#define MS_TLS_CHECK_H
#include <stddef.h>
#include <time.h>

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;
struct stack_st_X509;

#define TLS_PEM_MAX (1024 * 1024)   /* a certificate chain or a key file, at most */

/* A certificate chain file and its key, parsed. */
struct tls_pair {
    X509 *leaf;                     /* the first certificate of tls_cert */
    struct stack_st_X509 *chain;    /* the ones after it (intermediates), in file order */
    EVP_PKEY *key;
};

enum tls_validity { TLS_VALID, TLS_EXPIRED, TLS_NOT_YET_VALID, TLS_BAD_DATES };

/* Parse CERT_PEM (the leaf first, then any intermediates) and KEY_PEM (unencrypted)
 * into P and check that the key belongs to the leaf. CERT_NAME and KEY_NAME are the
 * files, for the messages. 0, or -1 with err ("tls_key /x/key.pem: the key does not
 * match the certificate in /x/cert.pem") and P empty. */
int tls_pair_parse(struct tls_pair *p, const char *cert_pem, size_t cert_len,
                   const char *key_pem, size_t key_len, const char *cert_name,
                   const char *key_name, char *err, size_t errlen);
void tls_pair_free(struct tls_pair *p);

/* Is the leaf valid at NOW? Anything but TLS_VALID with a message in err
 * ("tls_cert /x/cert.pem: certificate expired on 2026-01-01 00:00:00 UTC"). */
enum tls_validity tls_pair_validity(const struct tls_pair *p, const char *cert_name, time_t now,
                                    char *err, size_t errlen);

/* The leaf's serial number in hex (upper case, as `openssl x509 -serial` shows it) and
 * its notAfter as "YYYY-MM-DD HH:MM:SS UTC". 0, or -1. */
int tls_pair_describe(const struct tls_pair *p, char *serial, size_t serlen, char *until,
                      size_t untillen);

#endif
