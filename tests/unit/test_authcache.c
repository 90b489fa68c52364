/* test_authcache: the cache of successful verifications (authcache.c): hit, miss,
 * a wrong password after a hit, a changed stored hash, TTL expiry with injected time,
 * the size bound with LRU eviction, no plaintext in the cache memory, and threads;
 * plus auth_check_password over a real store: cache hit still honours disable/passwd. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "authcache.h"
#include "config.h"
#include "cu.h"
#include "tutil.h"
#include "password.h"
#include "store.h"

#define H1 "$y$j9T$saltsaltsaltsalt$hashhashhashhashhashhashhashhashhashhash1"
#define H2 "$y$j9T$saltsaltsaltsalt$hashhashhashhashhashhashhashhashhashhash2"
#define PW "Tr0ub4dor&3-unique"

static void test_hit_miss(void)
{
    struct authcache *c = authcache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, H1, 100));   /* empty */
    authcache_store(c, "alice@example.org", PW, H1, 100);
    CU_ASSERT_EQUAL(authcache_count(c), 1);
    CU_ASSERT_TRUE(authcache_check(c, "alice@example.org", PW, H1, 101));
    CU_ASSERT_FALSE(authcache_check(c, "bob@example.org", PW, H1, 101));      /* other user */
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW "x", H1, 101));
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", "", H1, 101));
    /* a wrong password does not evict the right one */
    CU_ASSERT_TRUE(authcache_check(c, "alice@example.org", PW, H1, 102));
    authcache_forget(c, "alice@example.org");
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, H1, 102));
    CU_ASSERT_EQUAL(authcache_count(c), 0);
    authcache_free(c);
}

static void test_hash_change(void)
{
    struct authcache *c = authcache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    authcache_store(c, "alice@example.org", PW, H1, 100);
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, H2, 101));   /* passwd ran */
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, "", 101));
    /* password/hash boundary cannot shift: "ab" + "c..." is not "a" + "bc..." */
    authcache_store(c, "carol@example.org", "ab", "$cd", 100);
    CU_ASSERT_TRUE(authcache_check(c, "carol@example.org", "ab", "$cd", 101));
    CU_ASSERT_FALSE(authcache_check(c, "carol@example.org", "ab$", "cd", 101));
    CU_ASSERT_FALSE(authcache_check(c, "carol@example.org", "a", "b$cd", 101));
    authcache_free(c);
}

static void test_ttl(void)
{
    struct authcache *c = authcache_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    authcache_store(c, "alice@example.org", PW, H1, 1000);
    CU_ASSERT_TRUE(authcache_check(c, "alice@example.org", PW, H1, 1000 + AUTHCACHE_TTL - 1));
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, H1, 1000 + AUTHCACHE_TTL));
    CU_ASSERT_EQUAL(authcache_count(c), 0);                  /* expired entry dropped */
    /* a hit does not extend the lifetime: only a fresh verification does */
    authcache_store(c, "alice@example.org", PW, H1, 5000);
    CU_ASSERT_TRUE(authcache_check(c, "alice@example.org", PW, H1, 5000 + AUTHCACHE_TTL / 2));
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, H1, 5000 + AUTHCACHE_TTL + 1));
    /* clock going backwards is a miss */
    authcache_store(c, "alice@example.org", PW, H1, 9000);
    CU_ASSERT_FALSE(authcache_check(c, "alice@example.org", PW, H1, 8999));
    authcache_free(c);
}

static void test_eviction(void)
{
    enum { CAP = 8 };
    char u[64];
    struct authcache *c = authcache_new(CAP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < CAP; i++) {
        snprintf(u, sizeof u, "user%d@example.org", i);
        authcache_store(c, u, PW, H1, 100);
    }
    CU_ASSERT_EQUAL(authcache_count(c), CAP);
    CU_ASSERT_TRUE(authcache_check(c, "user0@example.org", PW, H1, 101));   /* 0 now recent */
    for (int i = CAP; i < 3 * CAP; i++) {
        snprintf(u, sizeof u, "user%d@example.org", i);
        authcache_store(c, u, PW, H1, 100);
        CU_ASSERT_TRUE(authcache_count(c) <= CAP);
        if (i == CAP) {   /* the least recently used (user1) went, user0 stayed */
            CU_ASSERT_FALSE(authcache_check(c, "user1@example.org", PW, H1, 101));
            CU_ASSERT_TRUE(authcache_check(c, "user0@example.org", PW, H1, 101));
        }
    }
    CU_ASSERT_EQUAL(authcache_count(c), CAP);
    int hits = 0;
    for (int i = 0; i < 3 * CAP; i++) {
        snprintf(u, sizeof u, "user%d@example.org", i);
        hits += authcache_check(c, u, PW, H1, 102);
    }
    CU_ASSERT_EQUAL(hits, CAP);
    CU_ASSERT_TRUE(authcache_check(c, "user23@example.org", PW, H1, 102));  /* newest kept */
    authcache_free(c);
}

static void test_no_plaintext(void)
{
    struct authcache *c = authcache_new(32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    authcache_store(c, "alice@example.org", PW, H1, 100);
    authcache_store(c, "bob@example.org", "another-Secret-99", H2, 100);
    CU_ASSERT_TRUE(authcache_check(c, "alice@example.org", PW, H1, 101));
    size_t len = 0;
    const unsigned char *mem = authcache_mem(c, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    CU_ASSERT_TRUE(len >= 32 * 64);
    CU_ASSERT_PTR_NOT_NULL(memmem(mem, len, "alice@example.org", 17));     /* scan works */
    CU_ASSERT_PTR_NULL(memmem(mem, len, PW, strlen(PW)));
    CU_ASSERT_PTR_NULL(memmem(mem, len, "another-Secret-99", 17));
    CU_ASSERT_PTR_NULL(memmem(mem, len, "Tr0ub4", 6));                     /* not even part */
    CU_ASSERT_PTR_NULL(memmem(mem, len, "hashhashhash", 12));              /* nor the hash */
    authcache_free(c);
}

static struct authcache *tc;

static void *thr(void *arg)
{
    char u[64];
    long id = (long)arg;
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(u, sizeof u, "t%ld-%d@example.org", id, i % 50);
        authcache_store(tc, u, PW, H1, 100);
        if (authcache_check(tc, u, PW "x", H1, 100))
            bad++;
        (void)authcache_check(tc, u, PW, H1, 100);
    }
    return (void *)(long)bad;
}

static void test_threads(void)
{
    pthread_t t[4];
    tc = authcache_new(64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tc);
    for (long i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, thr, (void *)i), 0);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        CU_ASSERT_EQUAL(pthread_join(t[i], &r), 0);
        bad += (long)r;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(authcache_count(tc) <= 64);
    authcache_free(tc);
}

static void test_global(void)
{
    CU_ASSERT_PTR_NOT_NULL(authcache_global());
    CU_ASSERT_PTR_EQUAL(authcache_global(), authcache_global());
    CU_ASSERT_PTR_NULL(authcache_new(0));
    int64_t a = authcache_now(), b = authcache_now();
    CU_ASSERT_TRUE(a > 0 && b >= a);
}

/* ---------------- auth_check_password over a real store ---------------- */

static char tmpdir[512];
static struct store *st;
static struct config cfg;

#define PW_DAVE "Purple-Monkey-Dishwasher-8"

static int put_user(const char *addr, const char *pw, bool enabled)
{
    struct user_rec u;
    memset(&u, 0, sizeof u);
    snprintf(u.address, sizeof u.address, "%s", addr);
    u.enabled = enabled;
    if (password_hash(pw, u.pwhash, sizeof u.pwhash))
        return -1;
    return store_user_put(st, &u, true) == STORE_OK ? 0 : -1;
}

static int set_enabled(const char *addr, bool enabled)
{
    struct user_rec u;
    if (store_user_get(st, addr, &u) != STORE_OK)
        return -1;
    u.enabled = enabled;
    return store_user_put(st, &u, true) == STORE_OK ? 0 : -1;
}

static int store_init(void)
{
    if (tu_tmpdir(tmpdir, sizeof tmpdir, "test_authcache") != 0 ||
        store_open(tmpdir, &st) != STORE_OK)
        return -1;
    cfg.domain = "example.com";
    cfg.hostname = "mail.example.com";
    return put_user("dave@example.com", PW_DAVE, true);
}

static int store_clean(void)
{
    store_close(st);
    return tu_rmtree(tmpdir);
}

static void test_auth_uses_cache(void)
{
    struct authcache *g = authcache_global();
    char canon[STORE_ADDR_MAX] = "";
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    authcache_forget(g, "dave@example.com");
    size_t n0 = authcache_count(g);
    /* failures are never cached */
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", "wrong-guess-1", NULL, 0), AUTH_FAIL);
    CU_ASSERT_EQUAL(authcache_count(g), n0);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", PW_DAVE, canon, sizeof canon), AUTH_OK);
    CU_ASSERT_STRING_EQUAL(canon, "dave@example.com");
    CU_ASSERT_EQUAL(authcache_count(g), n0 + 1);
    struct user_rec u;
    CU_ASSERT_EQUAL_FATAL(store_user_get(st, "dave@example.com", &u), STORE_OK);
    CU_ASSERT_TRUE(authcache_check(g, "dave@example.com", PW_DAVE, u.pwhash, authcache_now()));
    /* the hit path: still OK, still canonical; wrong password after a hit fails */
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "Dave@Example.com", PW_DAVE, canon, sizeof canon), AUTH_OK);
    CU_ASSERT_STRING_EQUAL(canon, "dave@example.com");
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", PW_DAVE "!", NULL, 0), AUTH_FAIL);
}

static void test_auth_store_changes(void)
{
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", PW_DAVE, NULL, 0), AUTH_OK);   /* cached */
    /* userdb set enabled=no: refused at once despite the cached verification */
    CU_ASSERT_EQUAL_FATAL(set_enabled("dave@example.com", false), 0);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", PW_DAVE, NULL, 0), AUTH_FAIL);
    CU_ASSERT_EQUAL_FATAL(set_enabled("dave@example.com", true), 0);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", PW_DAVE, NULL, 0), AUTH_OK);
    /* userdb passwd: the old password stops working at once, the new one works */
    CU_ASSERT_EQUAL_FATAL(put_user("dave@example.com", "New-Password-For-Dave-9", true), 0);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", PW_DAVE, NULL, 0), AUTH_FAIL);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", "New-Password-For-Dave-9", NULL, 0), AUTH_OK);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", "New-Password-For-Dave-9", NULL, 0), AUTH_OK);
    /* userdb del: gone at once */
    CU_ASSERT_EQUAL_FATAL(store_user_del(st, "dave@example.com"), STORE_OK);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "dave", "New-Password-For-Dave-9", NULL, 0), AUTH_FAIL);
}

static CU_TestInfo tests[] = {
    { "hit and miss", test_hit_miss },
    { "stored hash change invalidates", test_hash_change },
    { "TTL expiry", test_ttl },
    { "eviction bound (LRU)", test_eviction },
    { "no plaintext in memory", test_no_plaintext },
    { "threads", test_threads },
    { "global instance", test_global },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo auth_tests[] = {
    { "auth_check_password caches successes only", test_auth_uses_cache },
    { "passwd/disable/del apply at once on a hit", test_auth_store_changes },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "authcache", NULL, NULL, NULL, NULL, tests },
    { "auth_check_password + cache", store_init, store_clean, NULL, NULL, auth_tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
