/* dns_tlsa: the TLSA record of our own MX host for `userdb dns` (README "Sending to
 * the big providers"): "_25._tcp.HOSTNAME TLSA 3 1 1 <SHA-256 of tls_cert's public
 * key>", DANE-EE (RFC 7672 3.1.1), so that senders that do DANE require TLS to us and
 * check our key. Only of use in a DNSSEC-signed zone; a key change needs the new
 * record published first (certbot --reuse-key keeps the key over renewals). */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "userdb.h"

/* SHA-256 of the SubjectPublicKeyInfo of the first certificate in PATH, in hex; 0 or -1. */
static int spki_sha256_hex(const char *path, char *hex, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    (void)fclose(f);
    unsigned char *der = NULL;
    int n = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int rc = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1 &&
             OPENSSL_buf2hexstr_ex(hex, len, NULL, md, mdlen, '\0') == 1 ? 0 : -1;
    OPENSSL_free(der);
    X509_free(x);
    return rc;
}

int dns_tlsa(FILE *out, const struct config *cfg)
{
    if (!cfg->tls_cert || !cfg->tls_cert[0])
        return 0;                         /* no TLS: nothing to pin */
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (spki_sha256_hex(cfg->tls_cert, hex, sizeof hex) < 0) {
        udb_err("cannot read the public key of tls_cert %s", cfg->tls_cert);
        return -1;
    }
    fprintf(out, "; DANE (only in a DNSSEC-signed zone; a new key: publish its record first)\n");
    fprintf(out, "_25._tcp.%s.\t3600\tIN\tTLSA\t3 1 1 %s\n", cfg->hostname, hex);
    return 0;
}
