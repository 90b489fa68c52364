/* dkim_keycache: the verifier's decoded public keys between messages, under
 * libopendkim's d2i_PUBKEY_bio (see dkim_keycache.h). */
#include "dkim_keycache.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

struct slot {
    EVP_PKEY *pkey;                    /* the cache's reference; NULL: free */
    size_t len;
    long long born, used;
    unsigned char der[DKIM_KEYCACHE_DER_MAX];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[DKIM_KEYCACHE_SLOTS];
static size_t n_decoded, n_hits;
static __thread bool active;          /* inside dkimv_verify on this thread */

typedef EVP_PKEY *(*d2i_fn)(BIO *, EVP_PKEY **);
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static d2i_fn real_d2i;

static void real_init(void)
{
    void *f = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
    memcpy(&real_d2i, &f, sizeof real_d2i);   /* object to function pointer */
}

static long long now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (long long)ts.tv_sec;
}

void dkim_keycache_begin(void)
{
    active = true;
}

void dkim_keycache_end(void)
{
    active = false;
}

void dkim_keycache_stats(size_t *decoded, size_t *hits)
{
    pthread_mutex_lock(&mu);
    *decoded = n_decoded;
    *hits = n_hits;
    pthread_mutex_unlock(&mu);
}

static void slot_free(struct slot *s)
{
    EVP_PKEY_free(s->pkey);
    s->pkey = NULL;
    s->len = 0;
}

void dkim_keycache_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < DKIM_KEYCACHE_SLOTS; i++)
        slot_free(&slots[i]);
    pthread_mutex_unlock(&mu);
}

/* A new reference to the key of DER (LEN) from the cache, or NULL. Under mu. */
static EVP_PKEY *lookup(const unsigned char *der, size_t len, long long now)
{
    for (size_t i = 0; i < DKIM_KEYCACHE_SLOTS; i++) {
        struct slot *s = &slots[i];
        if (!s->pkey)
            continue;
        if (now - s->born >= DKIM_KEYCACHE_MAX_AGE) {
            slot_free(s);
            continue;
        }
        if (s->len == len && memcmp(s->der, der, len) == 0 && EVP_PKEY_up_ref(s->pkey) == 1) {
            s->used = now;
            n_hits++;
            return s->pkey;
        }
    }
    return NULL;
}

/* Keep PKEY (decoded from DER, LEN) in a free or the least recently used slot. Under mu. */
static void store(EVP_PKEY *pkey, const unsigned char *der, size_t len, long long now)
{
    struct slot *s = &slots[0];
    for (size_t i = 0; i < DKIM_KEYCACHE_SLOTS && s->pkey; i++)
        if (!slots[i].pkey || slots[i].used < s->used)
            s = &slots[i];
    if (EVP_PKEY_up_ref(pkey) != 1)
        return;
    slot_free(s);
    s->pkey = pkey;
    memcpy(s->der, der, len);
    s->len = len;
    s->born = s->used = now;
}

/* libcrypto's d2i_PUBKEY_bio for libopendkim's calls (see dkim_keycache.h). */
EVP_PKEY *d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
    char *data = NULL;
    long dlen = bp && !a && active && BIO_method_type(bp) == BIO_TYPE_MEM
                   ? BIO_get_mem_data(bp, &data) : 0;
    if (dlen <= 0 || !data || (size_t)dlen > DKIM_KEYCACHE_DER_MAX) {
        if (pthread_once(&real_once, real_init) != 0 || !real_d2i)
            return NULL;
        return real_d2i(bp, a);        /* not ours to cache: libcrypto's, as is */
    }
    const unsigned char *der = (const unsigned char *)data, *p = der;
    size_t len = (size_t)dlen;
    long long now = now_s();
    pthread_mutex_lock(&mu);
    EVP_PKEY *k = lookup(der, len, now);
    pthread_mutex_unlock(&mu);
    if (k)
        return k;
    k = d2i_PUBKEY(NULL, &p, dlen);
    if (!k)
        return NULL;
    pthread_mutex_lock(&mu);
    n_decoded++;
    store(k, der, len, now);
    pthread_mutex_unlock(&mu);
    return k;
}
