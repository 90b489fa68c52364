/* test_password: the stored secrets (password.c) and the weak-password policy (weakpw.c):
 * yescrypt hash/verify, the CRAM-MD5 precalc state checked by finishing an HMAC-MD5
 * from it (RFC 2195 example and OpenSSL's HMAC), the SCRAM-SHA-256 value checked
 * against RFC 7677's example exchange, and the common-password list. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "password.h"
#include "weakpw_list.h"

static void test_hash_verify(void)
{
    char h1[160], h2[160];
    CU_ASSERT_EQUAL_FATAL(password_hash("correct horse battery", h1, sizeof h1), 0);
    CU_ASSERT_EQUAL_FATAL(password_hash("correct horse battery", h2, sizeof h2), 0);
    CU_ASSERT_EQUAL(strncmp(h1, "$y$", 3), 0);
    CU_ASSERT_STRING_NOT_EQUAL(h1, h2);   /* different salts */
    CU_ASSERT_TRUE(password_verify("correct horse battery", h1));
    CU_ASSERT_TRUE(password_verify("correct horse battery", h2));
    CU_ASSERT_FALSE(password_verify("correct horse batterY", h1));
    CU_ASSERT_FALSE(password_verify("", h1));
    CU_ASSERT_FALSE(password_verify("correct horse battery", ""));
    CU_ASSERT_FALSE(password_verify("correct horse battery", "*"));
    CU_ASSERT_FALSE(password_verify("correct horse battery", "plaintext"));
    char small[20];
    CU_ASSERT_EQUAL(password_hash("x", small, sizeof small), -1);
}

/* Finish HMAC-MD5 from the 32-byte Cyrus precalc state, as hmac_md5_import/final do. */
static void md5_from_state(MD5_CTX *c, const unsigned char *st)
{
    uint32_t w[4];
    memcpy(w, st, 16);
    memset(c, 0, sizeof *c);
    c->A = ntohl(w[0]);
    c->B = ntohl(w[1]);
    c->C = ntohl(w[2]);
    c->D = ntohl(w[3]);
    c->Nl = 512;   /* one 64-byte block already hashed */
}

static void hmac_from_precalc(const unsigned char st[32], const char *msg, unsigned char out[16])
{
    MD5_CTX c;
    unsigned char inner[16];
    md5_from_state(&c, st);
    MD5_Update(&c, msg, strlen(msg));
    MD5_Final(inner, &c);
    md5_from_state(&c, st + 16);
    MD5_Update(&c, inner, sizeof inner);
    MD5_Final(out, &c);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void test_cram_md5_precalc(void)
{
    unsigned char st[32], mac[16], ref[16];
    char hx[33];
    unsigned reflen = 0;
    /* RFC 2195 section 2 example */
    CU_ASSERT_EQUAL_FATAL(cram_md5_precalc("tanstaaftanstaaf", st), 0);
    hmac_from_precalc(st, "<1896.697170952@postoffice.reston.mci.net>", mac);
    hex(mac, 16, hx);
    CU_ASSERT_STRING_EQUAL(hx, "b913a602c7eda7a495b4e6e7334d3890");

    const char *keys[] = { "secret", "", "a-key-that-is-longer-than-sixty-four-bytes-so-rfc2104-"
                                         "hashes-it-first-0123456789" };
    const char *chal = "<12345.67890@mail.example.org>";
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(cram_md5_precalc(keys[i], st), 0);
        hmac_from_precalc(st, chal, mac);
        HMAC(EVP_md5(), keys[i], (int)strlen(keys[i]), (const unsigned char *)chal, strlen(chal), ref,
             &reflen);
        CU_ASSERT_EQUAL(reflen, 16);
        CU_ASSERT_EQUAL(memcmp(mac, ref, 16), 0);
    }
    unsigned char a[32], b[32];
    CU_ASSERT_EQUAL(cram_md5_precalc("secret1", a), 0);
    CU_ASSERT_EQUAL(cram_md5_precalc("secret2", b), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
}

static int unb64(const char *in, unsigned char *out)
{
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)strlen(in));
    size_t l = strlen(in);
    if (n > 0 && l >= 1 && in[l - 1] == '=')
        n--;
    if (n > 0 && l >= 2 && in[l - 2] == '=')
        n--;
    return n;
}

/* Split "SCRAM-SHA-256$ITER:SALT$STORED:SERVER" into its parts. */
static int parse_scram(const char *v, unsigned *iter, char *salt, char *stored, char *server)
{
    return sscanf(v, "SCRAM-SHA-256$%u:%63[^$]$%63[^:]:%63s", iter, salt, stored, server) == 4 ? 0 : -1;
}

static void test_scram_rfc7677(void)
{
    unsigned char salt[32], stored[64], server[64], sig[32], ckey[32], hmac[32], h[32];
    char v[256], bsalt[64], bstored[64], bserver[64];
    unsigned iter = 0, l = 0;
    int sl = unb64("W22ZaJ0SNY7soEsUEjb6gQ==", salt);
    CU_ASSERT_EQUAL_FATAL(sl, 16);
    CU_ASSERT_EQUAL_FATAL(scram_sha256_secret_salted("pencil", salt, 16, 4096, v, sizeof v), 0);
    CU_ASSERT_EQUAL_FATAL(parse_scram(v, &iter, bsalt, bstored, bserver), 0);
    CU_ASSERT_EQUAL(iter, 4096);
    CU_ASSERT_STRING_EQUAL(bsalt, "W22ZaJ0SNY7soEsUEjb6gQ==");
    CU_ASSERT_EQUAL_FATAL(unb64(bstored, stored), 32);
    CU_ASSERT_EQUAL_FATAL(unb64(bserver, server), 32);
    const char *am = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
                     "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
                     "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    /* ServerSignature = HMAC(ServerKey, AuthMessage) is the RFC's v= value */
    unsigned char want_sig[32], proof[32];
    CU_ASSERT_EQUAL_FATAL(unb64("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", want_sig), 32);
    HMAC(EVP_sha256(), server, 32, (const unsigned char *)am, strlen(am), sig, &l);
    CU_ASSERT_EQUAL(memcmp(sig, want_sig, 32), 0);
    /* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); SHA256(ClientKey) = StoredKey */
    CU_ASSERT_EQUAL_FATAL(unb64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", proof), 32);
    HMAC(EVP_sha256(), stored, 32, (const unsigned char *)am, strlen(am), hmac, &l);
    for (int i = 0; i < 32; i++)
        ckey[i] = proof[i] ^ hmac[i];
    SHA256(ckey, 32, h);
    CU_ASSERT_EQUAL(memcmp(h, stored, 32), 0);
}

static void test_scram_random_salt(void)
{
    char a[256], b[256], s1[64], s2[64], st[64], sv[64];
    unsigned char salt[64], key[64];
    unsigned iter = 0;
    CU_ASSERT_EQUAL_FATAL(scram_sha256_secret("hunter2hunter2", SCRAM_ITERATIONS, a, sizeof a), 0);
    CU_ASSERT_EQUAL_FATAL(scram_sha256_secret("hunter2hunter2", SCRAM_ITERATIONS, b, sizeof b), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(strncmp(a, "SCRAM-SHA-256$4096:", 19), 0);
    CU_ASSERT_EQUAL_FATAL(parse_scram(a, &iter, s1, st, sv), 0);
    CU_ASSERT_EQUAL(iter, SCRAM_ITERATIONS);
    CU_ASSERT_EQUAL(unb64(s1, salt), 16);
    CU_ASSERT_EQUAL(unb64(st, key), 32);
    CU_ASSERT_EQUAL(unb64(sv, key), 32);
    CU_ASSERT_EQUAL_FATAL(parse_scram(b, &iter, s2, st, sv), 0);
    CU_ASSERT_STRING_NOT_EQUAL(s1, s2);
    char small[40];
    CU_ASSERT_EQUAL(scram_sha256_secret("hunter2hunter2", 4096, small, sizeof small), -1);
    CU_ASSERT_EQUAL(scram_sha256_secret("hunter2hunter2", 0, a, sizeof a), -1);
}

static void test_weak(void)
{
    char why[80];
    const char *weak[] = { "123456", "password", "password1", "PASSWORD1", "qwertyuiop", "iloveyou",
                           "Sunshine", "1q2w3e4r5t", "abc", "" };
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
        CU_ASSERT_TRUE(password_is_weak(weak[i], "alice@example.com", why, sizeof why));
        CU_ASSERT_NOT_EQUAL(why[0], '\0');
    }
    CU_ASSERT_TRUE(password_is_weak("LongUserName", "longusername@example.com", why, sizeof why));
    CU_ASSERT_TRUE(password_is_weak("LONGUSERNAME@Example.COM", "longusername@example.com", why, sizeof why));
    CU_ASSERT_FALSE(password_is_weak("LongUserName@example.org", "longusername@example.com", why, sizeof why));
    CU_ASSERT_FALSE(password_is_weak("x7#Kq!29vLpzR", "alice@example.com", why, sizeof why));
    CU_ASSERT_EQUAL(why[0], '\0');
    CU_ASSERT_FALSE(password_is_weak("tr0ub4dor&3-horse", NULL, NULL, 0));
    CU_ASSERT_TRUE(password_is_weak("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL, why, sizeof why)); /* 4 chars, 8 bytes */
}

static void test_weak_list(void)
{
    CU_ASSERT_TRUE(WEAKPW_COUNT >= 1000);
    for (size_t i = 1; i < WEAKPW_COUNT; i++)
        CU_ASSERT_TRUE_FATAL(strcmp(weakpw_list[i - 1], weakpw_list[i]) < 0);   /* sorted, unique */
    /* every listed entry of 8+ characters is found, in any case */
    for (size_t i = 0; i < WEAKPW_COUNT; i++) {
        char up[64];
        snprintf(up, sizeof up, "%s", weakpw_list[i]);
        for (char *p = up; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 32);
        if (strlen(up) >= 8)
            CU_ASSERT_TRUE(password_is_weak(up, NULL, NULL, 0));
    }
}

static CU_TestInfo tests[] = {
    { "yescrypt hash and verify", test_hash_verify },
    { "CRAM-MD5 precalc state", test_cram_md5_precalc },
    { "SCRAM-SHA-256 against RFC 7677", test_scram_rfc7677 },
    { "SCRAM-SHA-256 format and random salt", test_scram_random_salt },
    { "weak passwords", test_weak },
    { "common-password list", test_weak_list },
    CU_TEST_INFO_NULL,
};

CU_MAIN("password", tests)
