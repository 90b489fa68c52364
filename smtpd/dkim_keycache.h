/* dkim_keycache: the verifier's decoded public keys, kept between messages.
 * libopendkim (check_dkim_lib.c) gets a signature's key record as text from our lookup
 * hook and decodes its p= (DER SubjectPublicKeyInfo) with d2i_PUBKEY_bio for every
 * signature of every message; under OpenSSL 3 that goes through the decoder framework
 * and its locks and was the largest user-space cost of a verified message (README
 * "Performance"). libopendkim has no interface for a decoded key, so this module defines
 * d2i_PUBKEY_bio in the executable: the dynamic linker binds libopendkim's reference to
 * it (an executable's symbols come first). Inside dkimv_verify (between begin and end,
 * on that thread) it answers from the cache, keyed by the DER octets themselves (a key
 * changed in DNS is a different key at once; the TXT record is still fetched through
 * our resolver for every message, so its TTL applies), each entry dropped after
 * DKIM_KEYCACHE_MAX_AGE seconds, at most DKIM_KEYCACHE_SLOTS of them (least recently
 * used replaced). Everywhere else it is libcrypto's function, unchanged. */
#ifndef MS_DKIM_KEYCACHE_H
#define MS_DKIM_KEYCACHE_H
#include <stddef.h>

#define DKIM_KEYCACHE_SLOTS 64
#define DKIM_KEYCACHE_MAX_AGE 3600
#define DKIM_KEYCACHE_DER_MAX 2600     /* an RSA-16384 key's DER; longer ones: not kept */

/* The calling thread is about to let libopendkim verify / is done. */
void dkim_keycache_begin(void);
void dkim_keycache_end(void);

/* Counters for tests: decodes done and answers from the cache since start. */
void dkim_keycache_stats(size_t *decoded, size_t *hits);
/* Forget every key (tests). */
void dkim_keycache_clear(void);

#endif
