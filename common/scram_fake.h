/* scram_fake: the SCRAM-SHA-256 secret shown for a login name that has none (unknown,
 * disabled, not local), so that such a name gets a well-formed first challenge,
 * with the normal iteration count and a salt stable for that name, and fails at
 * the proof like a wrong password (SPEC "SMTP": no account enumeration through
 * SCRAM). Salt and keys are HMAC-SHA-256 of the name under a secret key kept per
 * installation (DATA_DIR/db/scram-fake.key, 32 random bytes made by the first
 * daemon that needs it): the same name gets the same salt from smtpd and pop3d
 * and across restarts, as a real user's salt would. Nobody knows the keys, and
 * sasl_glue.c refuses such a name even if a proof matched. */
#ifndef MS_SCRAM_FAKE_H
#define MS_SCRAM_FAKE_H
#include <stddef.h>

#define SCRAM_FAKE_KEYLEN 32
#define SCRAM_FAKE_FILE "scram-fake.key"

/* Read DIR/scram-fake.key, creating it (0600, O_EXCL|O_NOFOLLOW, published with
 * link(2) so that a reader never sees it half written) if it does not exist.
 * 0, or -1 (errno set) when the file cannot be read or made. */
int scram_fake_key_load(const char *dir, unsigned char key[SCRAM_FAKE_KEYLEN]);

/* The RFC 5803 value "SCRAM-SHA-256$ITER:salt$stored:server" for NAME under KEY
 * (pure: the same inputs give the same value). 0, or -1 if out is too small. */
int scram_fake_secret(const unsigned char key[SCRAM_FAKE_KEYLEN], const char *name,
                      unsigned iterations, char *out, size_t outlen);

#endif
