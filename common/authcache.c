/* authcache: the cache of successful password verifications (authcache.h). One flat
 * array of entries under a mutex; lookup by a 64-bit hash of the address then the
 * address itself; LRU eviction when full. The HMAC is computed outside the lock and
 * compared in constant time; its key lives only in this process's memory. */
#include "authcache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define AC_USER_MAX 321               /* STORE_ADDR_MAX: 64 + 1 + 255 + NUL */
#define AC_MAC_LEN 32

struct ac_entry {
    uint64_t uhash;                   /* 0 = free slot */
    int64_t verified_at;
    uint64_t last_use;                /* LRU tick */
    unsigned char mac[AC_MAC_LEN];
    char user[AC_USER_MAX];
};

struct authcache {
    pthread_mutex_t mu;
    unsigned char key[32];
    uint64_t tick;
    size_t cap, n;
    struct ac_entry *e;
};

/* FNV-1a, never 0 (0 marks a free slot). */
static uint64_t user_hash(const char *u)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *u; u++) {
        h ^= (unsigned char)*u;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

struct authcache *authcache_new(size_t max_entries)
{
    if (max_entries == 0 || max_entries > (1u << 20))
        return NULL;
    struct authcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->e = calloc(max_entries, sizeof *c->e);
    if (!c->e || RAND_bytes(c->key, sizeof c->key) != 1 || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->e);
        OPENSSL_cleanse(c, sizeof *c);
        free(c);
        return NULL;
    }
    c->cap = max_entries;
    return c;
}

void authcache_free(struct authcache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    OPENSSL_cleanse(c->e, c->cap * sizeof *c->e);
    free(c->e);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

/* HMAC-SHA256(key, be64(strlen(password)) || password || stored_hash). The length
 * prefix keeps (password, hash) pairs from running into each other. */
static int ac_mac(const struct authcache *c, const char *password, const char *stored,
                  unsigned char out[AC_MAC_LEN])
{
    size_t pl = strlen(password), hl = strlen(stored);
    if (pl > 65536 || hl > 4096)
        return -1;
    size_t n = 8 + pl + hl;
    unsigned char *buf = malloc(n);
    if (!buf)
        return -1;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)pl >> (56 - 8 * i));
    memcpy(buf + 8, password, pl);
    memcpy(buf + 8 + pl, stored, hl);
    unsigned int ol = 0;
    const unsigned char *r = HMAC(EVP_sha256(), c->key, (int)sizeof c->key, buf, n, out, &ol);
    OPENSSL_cleanse(buf, n);
    free(buf);
    return r && ol == AC_MAC_LEN ? 0 : -1;
}

/* Index of user's entry or -1. Caller holds the lock. */
static long ac_find(const struct authcache *c, const char *user, uint64_t h)
{
    for (size_t i = 0; i < c->cap; i++) {
        if (c->e[i].uhash == h && strcmp(c->e[i].user, user) == 0)
            return (long)i;
    }
    return -1;
}

static void ac_clear(struct authcache *c, size_t i)
{
    OPENSSL_cleanse(&c->e[i], sizeof c->e[i]);
    c->n--;
}

bool authcache_check(struct authcache *c, const char *user, const char *password,
                     const char *stored_hash, int64_t now)
{
    unsigned char mac[AC_MAC_LEN];
    if (!c || !user || !password || !stored_hash || strlen(user) >= AC_USER_MAX ||
        ac_mac(c, password, stored_hash, mac) < 0)
        return false;
    uint64_t h = user_hash(user);
    bool hit = false;
    if (pthread_mutex_lock(&c->mu) != 0)
        return false;
    long i = ac_find(c, user, h);
    if (i >= 0) {
        struct ac_entry *e = &c->e[i];
        if (now - e->verified_at >= AUTHCACHE_TTL || now < e->verified_at) {
            ac_clear(c, (size_t)i);                 /* expired (or the clock went back) */
        } else if (CRYPTO_memcmp(e->mac, mac, sizeof mac) == 0) {
            e->last_use = ++c->tick;
            hit = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    OPENSSL_cleanse(mac, sizeof mac);
    return hit;
}

/* Slot for a new entry: a free one, else the least recently used. Caller holds the lock. */
static size_t ac_victim(struct authcache *c)
{
    size_t best = 0;
    for (size_t i = 0; i < c->cap; i++) {
        if (c->e[i].uhash == 0)
            return i;
        if (c->e[i].last_use < c->e[best].last_use)
            best = i;
    }
    ac_clear(c, best);
    return best;
}

void authcache_store(struct authcache *c, const char *user, const char *password,
                     const char *stored_hash, int64_t now)
{
    unsigned char mac[AC_MAC_LEN];
    if (!c || !user || !password || !stored_hash || strlen(user) >= AC_USER_MAX ||
        ac_mac(c, password, stored_hash, mac) < 0)
        return;
    uint64_t h = user_hash(user);
    if (pthread_mutex_lock(&c->mu) != 0)
        return;
    long i = ac_find(c, user, h);
    size_t slot = i >= 0 ? (size_t)i : ac_victim(c);
    struct ac_entry *e = &c->e[slot];
    if (e->uhash == 0)
        c->n++;
    e->uhash = h;
    e->verified_at = now;
    e->last_use = ++c->tick;
    memcpy(e->mac, mac, sizeof mac);
    str_copy(e->user, user, sizeof e->user);
    pthread_mutex_unlock(&c->mu);
    OPENSSL_cleanse(mac, sizeof mac);
}

void authcache_forget(struct authcache *c, const char *user)
{
    if (!c || !user || pthread_mutex_lock(&c->mu) != 0)
        return;
    long i = ac_find(c, user, user_hash(user));
    if (i >= 0)
        ac_clear(c, (size_t)i);
    pthread_mutex_unlock(&c->mu);
}

size_t authcache_count(struct authcache *c)
{
    if (!c || pthread_mutex_lock(&c->mu) != 0)
        return 0;
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

const void *authcache_mem(const struct authcache *c, size_t *len)
{
    *len = c ? c->cap * sizeof *c->e : 0;
    return c ? c->e : NULL;
}

static struct authcache *g_cache;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    g_cache = authcache_new(AUTHCACHE_MAX);
}

struct authcache *authcache_global(void)
{
    if (pthread_once(&g_once, global_init) != 0)
        return NULL;
    return g_cache;
}

int64_t authcache_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec;
}
