/* password: the stored secrets of a user (SPEC.md "Users").
 * - a salted slow hash (yescrypt through libcrypt, Debian's default for /etc/shadow)
 *   serves USER/PASS, LOGIN and PLAIN; verified in constant time;
 * - the CRAM-MD5 HMAC-MD5 precalc state in Cyrus SASL's 32-byte layout;
 * - the RFC 5803 SCRAM-SHA-256 authPassword value.
 * No function here keeps or logs the plaintext. */
#ifndef MS_PASSWORD_H
#define MS_PASSWORD_H
#include <stdbool.h>
#include <stddef.h>

#define SCRAM_ITERATIONS 4096

int password_hash(const char *pw, char *out, size_t outlen);           /* 0 or -1 */
bool password_verify(const char *pw, const char *stored);
int cram_md5_precalc(const char *pw, unsigned char out[32]);           /* 0 or -1 */
int scram_sha256_secret(const char *pw, unsigned iterations, char *out, size_t outlen);
/* The same with a given salt (tests, known vectors); scram_sha256_secret uses 16 random bytes. */
int scram_sha256_secret_salted(const char *pw, const unsigned char *salt, size_t saltlen,
                               unsigned iterations, char *out, size_t outlen);
/* Weak password check: shorter than 8, equal to the local part or the address
 * (any case), or in the built-in list of common passwords. Returns true and a
 * reason in why when weak. */
bool password_is_weak(const char *pw, const char *address, char *why, size_t whylen);

#endif
