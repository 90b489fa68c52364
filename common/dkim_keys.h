/* dkim_keys: the DKIM signing keys under DATA_DIR/dkim (SPEC.md "Signing and
 * publishing (outbound)"): one directory per domain, one PEM file per key named
 * SELECTOR.ALG.key (ALG rsa or ed25519), 0600, owned by run_as_user. Names and the
 * published TXT record are pure (unit-tested); key generation and reading the public
 * half use OpenSSL. userdb makes and lists the keys, smtpd (dkim_sign.h) signs with them.
 * Result codes (0 success, negative error, positive a named outcome): 0 or -1. */
#ifndef MS_DKIM_KEYS_H
#define MS_DKIM_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum dkim_alg { DKIM_ALG_RSA = 0, DKIM_ALG_ED25519 = 1 };

#define DKIM_SELECTOR_MAX 63
#define DKIM_TXT_MAX 1024        /* "v=DKIM1; k=rsa; p=..." of a 4096-bit key fits */
#define DKIM_RSA_BITS 2048

/* "rsa" / "ed25519". */
const char *dkim_alg_name(enum dkim_alg alg);
/* The other way; -1 for anything else. */
int dkim_alg_parse(const char *s, enum dkim_alg *alg);
/* A selector is one DNS label: letters, digits, '-', not first or last; 1..63. */
bool dkim_selector_valid(const char *sel);
/* DATA_DIR/dkim and DATA_DIR/dkim/DOMAIN. -1 when it does not fit. */
int dkim_root_dir(const char *data_dir, char *buf, size_t len);
int dkim_domain_dir(const char *data_dir, const char *domain, char *buf, size_t len);
/* DATA_DIR/dkim/DOMAIN/SELECTOR.ALG.key. -1 when it does not fit. */
int dkim_key_path(const char *data_dir, const char *domain, const char *sel,
                  enum dkim_alg alg, char *buf, size_t len);
/* A key file's name "SELECTOR.ALG.key" split; -1 when it is not one. */
int dkim_key_name_parse(const char *name, char *sel, size_t sellen, enum dkim_alg *alg);
/* The TXT value "v=DKIM1; k=ALG; p=BASE64(PUB)" (PUB: the DER SubjectPublicKeyInfo for
 * rsa, the raw 32 octets for ed25519, RFC 8463 4.2). -1 when it does not fit. */
int dkim_txt_value(enum dkim_alg alg, const unsigned char *pub, size_t publen, char *buf,
                   size_t len);
/* The zone-file line "SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )", the value
 * cut into strings of at most 255 octets (RFC 1035 3.3.14), ending in a newline. */
void dkim_txt_record(FILE *f, const char *domain, const char *sel, const char *txt);

/* Make a key (RSA of DKIM_RSA_BITS, or Ed25519), write it as PEM to FD and its TXT
 * value to txt. 0 or -1. */
int dkim_key_generate(enum dkim_alg alg, int fd, char *txt, size_t txtlen);
/* The TXT value of the PEM private key in PEM (NUL-terminated). 0 or -1. */
int dkim_key_txt(enum dkim_alg alg, const char *pem, char *txt, size_t txtlen);

/* One key found by dkim_keys_each. */
struct dkim_keyfile {
    char domain[256];
    char selector[DKIM_SELECTOR_MAX + 1];
    enum dkim_alg alg;
    char path[4096];
};
/* Call FN for every key of DOMAIN (NULL: of every domain), domains and then
 * selectors in name order. 0 (also when there is no key directory), -1 on a read
 * error, or FN's first non-zero return. */
int dkim_keys_each(const char *data_dir, const char *domain,
                   int (*fn)(const struct dkim_keyfile *k, void *arg), void *arg);
/* Read a key file (at most 16 KiB) into a malloc'd NUL-terminated string; NULL on error. */
char *dkim_key_read(const char *path);

#endif
