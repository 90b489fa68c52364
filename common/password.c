/* password: the stored secrets of a user (password.h): the yescrypt hash through
 * libcrypt, the CRAM-MD5 precalc state in Cyrus SASL's layout (OpenSSL MD5; this
 * file must not include the SASL headers, whose md5.h clashes with OpenSSL's) and
 * the RFC 5803 SCRAM-SHA-256 value. Plaintexts are never kept or logged. */
#define OPENSSL_SUPPRESS_DEPRECATED 1   /* MD5_* low-level calls: we need the raw state */
#include "password.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int password_hash(const char *pw, char *out, size_t outlen)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!pw || !out || outlen == 0)
        return -1;
    /* "$y$", count 0 = the library's default cost, NULL rbytes = from the OS RNG */
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof salt))
        return -1;
    struct crypt_data *cd = calloc(1, sizeof *cd);   /* ~32 KB: keep it off worker stacks */
    if (!cd)
        return -1;
    int rc = -1;
    const char *h = crypt_rn(pw, salt, cd, (int)sizeof *cd);
    if (h && h[0] == '$' && strlen(h) < outlen) {
        memcpy(out, h, strlen(h) + 1);
        rc = 0;
    }
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return rc;
}

bool password_verify(const char *pw, const char *stored)
{
    if (!pw || !stored || stored[0] != '$')
        return false;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return false;
    bool ok = false;
    const char *h = crypt_rn(pw, stored, cd, (int)sizeof *cd);
    if (h && h[0] == '$') {
        size_t hl = strlen(h), sl = strlen(stored);
        ok = hl == sl && CRYPTO_memcmp(h, stored, sl) == 0;
    }
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return ok;
}

/* MD5 chaining state after one 64-byte block of key XOR pad, as 4 big-endian words. */
static int md5_pad_state(const unsigned char key[64], unsigned char pad, unsigned char out[16])
{
    unsigned char block[64];
    MD5_CTX ctx;
    for (int i = 0; i < 64; i++)
        block[i] = key[i] ^ pad;
    int ok = MD5_Init(&ctx) && MD5_Update(&ctx, block, sizeof block);
    OPENSSL_cleanse(block, sizeof block);
    if (!ok)
        return -1;
    uint32_t w[4] = { htonl(ctx.A), htonl(ctx.B), htonl(ctx.C), htonl(ctx.D) };
    memcpy(out, w, 16);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    OPENSSL_cleanse(w, sizeof w);
    return 0;
}

int cram_md5_precalc(const char *pw, unsigned char out[32])
{
    unsigned char key[64] = { 0 };
    if (!pw)
        return -1;
    size_t len = strlen(pw);
    if (len > 64) {   /* RFC 2104: longer keys are hashed first */
        if (!MD5((const unsigned char *)pw, len, key))
            return -1;
    } else {
        memcpy(key, pw, len);
    }
    int rc = md5_pad_state(key, 0x36, out) == 0 && md5_pad_state(key, 0x5c, out + 16) == 0 ? 0 : -1;
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static int b64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    if (outlen < 4 * ((n + 2) / 3) + 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return 0;
}

int scram_sha256_secret_salted(const char *pw, const unsigned char *salt, size_t saltlen,
                               unsigned iterations, char *out, size_t outlen)
{
    unsigned char salted[32], ckey[32], stored[32], skey[32];
    unsigned int l1 = 0, l2 = 0;
    char bsalt[64], bstored[48], bserver[48];
    int rc = -1;

    if (!pw || !salt || saltlen == 0 || saltlen > 45 || iterations == 0 || iterations > 10000000)
        return -1;
    if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)saltlen, (int)iterations, EVP_sha256(),
                          sizeof salted, salted) != 1)
        goto out;
    if (!HMAC(EVP_sha256(), salted, sizeof salted, (const unsigned char *)"Client Key", 10, ckey, &l1) ||
        !HMAC(EVP_sha256(), salted, sizeof salted, (const unsigned char *)"Server Key", 10, skey, &l2) ||
        l1 != 32 || l2 != 32 || !SHA256(ckey, sizeof ckey, stored))
        goto out;
    if (b64(salt, saltlen, bsalt, sizeof bsalt) || b64(stored, 32, bstored, sizeof bstored) ||
        b64(skey, 32, bserver, sizeof bserver))
        goto out;
    int n = snprintf(out, outlen, "SCRAM-SHA-256$%u:%s$%s:%s", iterations, bsalt, bstored, bserver);
    rc = n > 0 && (size_t)n < outlen ? 0 : -1;
out:
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(ckey, sizeof ckey);
    OPENSSL_cleanse(skey, sizeof skey);
    return rc;
}

int scram_sha256_secret(const char *pw, unsigned iterations, char *out, size_t outlen)
{
    unsigned char salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    return scram_sha256_secret_salted(pw, salt, sizeof salt, iterations, out, outlen);
}
