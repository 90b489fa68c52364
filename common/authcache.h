/* authcache: in-memory cache of SUCCESSFUL password verifications, so that a user
 * logging in again does not pay the slow hash each time (Dovecot's auth cache).
 * Key: the canonical address; value: HMAC-SHA256(process-random key, len || password
 * || stored hash), never the password. A hit needs the same password AND the same
 * stored hash, within AUTHCACHE_TTL. Failures are never cached. Thread-safe. */
#ifndef MS_AUTHCACHE_H
#define MS_AUTHCACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHCACHE_TTL 3600            /* seconds a verification stays valid */
#define AUTHCACHE_MAX 4096            /* entries; the least recently used is evicted */

struct authcache;

/* A cache of at most max_entries (>= 1) with a fresh random HMAC key; NULL on error. */
struct authcache *authcache_new(size_t max_entries);
void authcache_free(struct authcache *c);

/* true when user verified with this password against this stored hash within the TTL
 * before now (seconds, any monotonic clock the caller uses consistently). */
bool authcache_check(struct authcache *c, const char *user, const char *password,
                     const char *stored_hash, int64_t now);
/* Record a successful verification (replaces the user's previous entry). */
void authcache_store(struct authcache *c, const char *user, const char *password,
                     const char *stored_hash, int64_t now);
/* Drop the user's entry, if any. */
void authcache_forget(struct authcache *c, const char *user);
size_t authcache_count(struct authcache *c);

/* The cache's entry memory (tests scan it for plaintext). */
const void *authcache_mem(const struct authcache *c, size_t *len);

/* The process-wide cache used by auth_check_password (created on first use; NULL if
 * it cannot be, then logins just verify every time). Seconds of CLOCK_MONOTONIC. */
struct authcache *authcache_global(void);
int64_t authcache_now(void);

#endif
