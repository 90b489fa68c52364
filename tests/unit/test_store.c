/* test_store: the Berkeley DB store (common/store_bdb.c) and its record format
 * (common/store_rec.c): every CRUD call, list order, EXISTS/NOTFOUND, the POP-auth
 * cache and auth-failure table, two processes writing at once, and a writer
 * killed with SIGKILL mid-transaction (others and a fresh opener carry on). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "tutil.h"
#include "greylist.h"
#include "log.h"
#include "store.h"
#include "store_rec.h"
#include "util.h"

static char tmpdir[256];
static int dir_seq;

/* A fresh data dir for one test. */
static const char *new_dir(void)
{
    (void)mkdir("build", 0755);
    snprintf(tmpdir, sizeof tmpdir, "build/tmp-test_store-%d-%d", (int)getpid(), ++dir_seq);
    (void)tu_rmtree(tmpdir);
    return tmpdir;
}

static struct store *open_new(void)
{
    struct store *st = NULL;
    CU_ASSERT_EQUAL_FATAL(store_open(new_dir(), &st), STORE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    return st;
}

static void done(struct store *st)
{
    store_close(st);
    (void)tu_rmtree(tmpdir);
}

static struct user_rec mkuser(const char *addr, bool relay)
{
    struct user_rec u;
    memset(&u, 0, sizeof u);
    str_copy(u.address, addr, sizeof u.address);
    u.relay = relay;
    u.enabled = true;
    str_copy(u.pwhash, "$y$j9T$salt$hash", sizeof u.pwhash);
    for (int i = 0; i < 32; i++)
        u.cram_md5[i] = (unsigned char)(i * 7 + 1);
    u.has_cram_md5 = true;
    str_copy(u.scram_sha256, "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy", sizeof u.scram_sha256);
    u.created = 1700000000;
    return u;
}

static struct ipaddr ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    struct ipaddr ip;
    memset(&ip, 0, sizeof ip);
    ip.family = AF_INET;
    ip.b[0] = (uint8_t)a, ip.b[1] = (uint8_t)b, ip.b[2] = (uint8_t)c, ip.b[3] = (uint8_t)d;
    return ip;
}

static struct ipaddr ip6_last(unsigned last)
{
    struct ipaddr ip;
    memset(&ip, 0, sizeof ip);
    ip.family = AF_INET6;
    ip.b[0] = 0x20, ip.b[1] = 0x01, ip.b[2] = 0x0d, ip.b[3] = 0xb8;
    ip.b[15] = (uint8_t)last;
    return ip;
}

/* ---- record format ---- */

static void test_rec_roundtrip(void)
{
    struct user_rec u = mkuser("a@example.test", true), v;
    uint8_t buf[REC_MAX];
    size_t n = rec_enc_user(&u, buf, sizeof buf);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(rec_dec_user(buf, n, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.address, u.address);
    CU_ASSERT_STRING_EQUAL(v.pwhash, u.pwhash);
    CU_ASSERT_STRING_EQUAL(v.scram_sha256, u.scram_sha256);
    CU_ASSERT_EQUAL(memcmp(v.cram_md5, u.cram_md5, 32), 0);
    CU_ASSERT_TRUE(v.relay && v.enabled && v.has_cram_md5);
    CU_ASSERT_FALSE(v.no_mailbox);
    CU_ASSERT_EQUAL(v.created, u.created);
    CU_ASSERT_EQUAL(buf[0], REC_VERSION);
    CU_ASSERT_EQUAL(buf[1], 7);   /* the flags byte as records before --no-mailbox had it */
    /* a relay-only account: one more flag bit, the rest unchanged */
    u.no_mailbox = true;
    uint8_t nb[REC_MAX];
    size_t nn = rec_enc_user(&u, nb, sizeof nb);
    CU_ASSERT_EQUAL_FATAL(nn, n);
    CU_ASSERT_EQUAL(nb[1], 15);
    CU_ASSERT_EQUAL(memcmp(nb + 2, buf + 2, n - 2), 0);
    CU_ASSERT_EQUAL(rec_dec_user(nb, nn, &v), 0);
    CU_ASSERT_TRUE(v.no_mailbox && v.relay && v.enabled && v.has_cram_md5);
    u.no_mailbox = false;
    /* truncated, trailing garbage and unknown version are refused */
    CU_ASSERT_EQUAL(rec_dec_user(buf, n - 1, &v), -1);
    CU_ASSERT_EQUAL(rec_dec_user(buf, n + 1, &v), -1);
    buf[0] = 99;
    CU_ASSERT_EQUAL(rec_dec_user(buf, n, &v), -1);
    CU_ASSERT_EQUAL(rec_enc_user(&u, buf, 10), 0);   /* overflow is reported */

    struct authfail_rec a = { .failures = 3, .first_failure = -5, .locked_until = 1LL << 40,
                              .inflight = 2, .inflight_at = 77 }, b;
    n = rec_enc_authfail(&a, buf, sizeof buf);
    CU_ASSERT_EQUAL(n, 33);
    CU_ASSERT_EQUAL(rec_dec_authfail(buf, n, &b), 0);
    CU_ASSERT_EQUAL(b.failures, 3);
    CU_ASSERT_EQUAL(b.first_failure, -5);
    CU_ASSERT_EQUAL(b.locked_until, 1LL << 40);
    CU_ASSERT_EQUAL(b.inflight, 2);
    CU_ASSERT_EQUAL(b.inflight_at, 77);
    CU_ASSERT_EQUAL(rec_dec_authfail(buf, 21, &b), 0);   /* written before reservations */
    CU_ASSERT_EQUAL(b.locked_until, 1LL << 40);
    CU_ASSERT_EQUAL(b.inflight, 0);
    CU_ASSERT_EQUAL(rec_dec_authfail(buf, 25, &b), -1);

    struct ipaddr i4 = ip4(192, 0, 2, 1), i6 = ip6_last(9), o;
    CU_ASSERT_EQUAL(rec_enc_ip(&i4, buf, sizeof buf), 5);
    CU_ASSERT_EQUAL(buf[0], 4);
    CU_ASSERT_EQUAL(rec_dec_ip(buf, 5, &o), 0);
    CU_ASSERT_TRUE(o.family == AF_INET && memcmp(o.b, i4.b, 4) == 0);
    CU_ASSERT_EQUAL(rec_enc_ip(&i6, buf, sizeof buf), 17);
    CU_ASSERT_EQUAL(rec_dec_ip(buf, 17, &o), 0);
    CU_ASSERT_TRUE(o.family == AF_INET6 && memcmp(o.b, i6.b, 16) == 0);
    CU_ASSERT_EQUAL(rec_dec_ip(buf, 5, &o), -1);
}

/* ---- users ---- */

static void test_user_crud(void)
{
    struct store *st = open_new();
    struct user_rec u = mkuser("Alice@Example.Test", false), g;
    CU_ASSERT_EQUAL(store_user_get(st, "alice@example.test", &g), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    CU_ASSERT_EQUAL(store_user_get(st, "ALICE@example.test", &g), STORE_OK);
    CU_ASSERT_STRING_EQUAL(g.address, "alice@example.test");
    CU_ASSERT_STRING_EQUAL(g.pwhash, u.pwhash);
    CU_ASSERT_FALSE(g.relay);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_EXISTS);
    u.relay = true;
    u.enabled = false;
    CU_ASSERT_EQUAL(store_user_put(st, &u, true), STORE_OK);
    CU_ASSERT_EQUAL(store_user_get(st, "alice@example.test", &g), STORE_OK);
    CU_ASSERT_TRUE(g.relay);
    CU_ASSERT_FALSE(g.enabled);
    CU_ASSERT_EQUAL(store_user_del(st, "alice@example.test"), STORE_OK);
    CU_ASSERT_EQUAL(store_user_del(st, "alice@example.test"), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_user_get(st, "alice@example.test", &g), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_user_get(st, "", &g), STORE_NOTFOUND);
    done(st);
}

struct names { char v[8][STORE_ADDR_MAX]; int n; int stop_after; };

static int user_cb(const struct user_rec *u, void *ctx)
{
    struct names *nm = ctx;
    if (nm->n < 8)
        str_copy(nm->v[nm->n++], u->address, STORE_ADDR_MAX);
    return nm->stop_after && nm->n >= nm->stop_after;
}

static void test_user_list_order(void)
{
    struct store *st = open_new();
    const char *in[] = { "carol@example.test", "alice@example.test", "bob@example.test" };
    for (int i = 0; i < 3; i++) {
        struct user_rec u = mkuser(in[i], false);
        CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    }
    struct names nm = { .n = 0 };
    CU_ASSERT_EQUAL(store_user_list(st, user_cb, &nm), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(nm.n, 3);
    CU_ASSERT_STRING_EQUAL(nm.v[0], "alice@example.test");
    CU_ASSERT_STRING_EQUAL(nm.v[1], "bob@example.test");
    CU_ASSERT_STRING_EQUAL(nm.v[2], "carol@example.test");
    struct names stop = { .n = 0, .stop_after = 2 };
    CU_ASSERT_EQUAL(store_user_list(st, user_cb, &stop), STORE_OK);
    CU_ASSERT_EQUAL(stop.n, 2);
    done(st);
}

/* ---- aliases ---- */

static int alias_cb(const char *alias, const char *target, void *ctx)
{
    struct names *nm = ctx;
    if (nm->n < 8)
        snprintf(nm->v[nm->n++], STORE_ADDR_MAX, "%s>%s", alias, target);
    return 0;
}

static void test_alias_crud(void)
{
    struct store *st = open_new();
    char t[STORE_ADDR_MAX];
    CU_ASSERT_EQUAL(store_alias_get(st, "info@example.test", t, sizeof t), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_alias_put(st, "Info@Example.Test", "alice@example.test", false), STORE_OK);
    CU_ASSERT_EQUAL(store_alias_put(st, "info@example.test", "bob@example.test", false), STORE_EXISTS);
    CU_ASSERT_EQUAL(store_alias_get(st, "INFO@example.test", t, sizeof t), STORE_OK);
    CU_ASSERT_STRING_EQUAL(t, "alice@example.test");
    CU_ASSERT_EQUAL(store_alias_put(st, "info@example.test", "bob@example.test", true), STORE_OK);
    CU_ASSERT_EQUAL(store_alias_get(st, "info@example.test", t, sizeof t), STORE_OK);
    CU_ASSERT_STRING_EQUAL(t, "bob@example.test");
    CU_ASSERT_EQUAL(store_alias_put(st, "abuse@example.test", "x@other.test", false), STORE_OK);
    struct names nm = { .n = 0 };
    CU_ASSERT_EQUAL(store_alias_list(st, alias_cb, &nm), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(nm.n, 2);
    CU_ASSERT_STRING_EQUAL(nm.v[0], "abuse@example.test>x@other.test");
    CU_ASSERT_STRING_EQUAL(nm.v[1], "info@example.test>bob@example.test");
    CU_ASSERT_EQUAL(store_alias_del(st, "info@example.test"), STORE_OK);
    CU_ASSERT_EQUAL(store_alias_del(st, "info@example.test"), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_alias_get(st, "info@example.test", t, sizeof t), STORE_NOTFOUND);
    done(st);
}

/* ---- POP-auth cache ---- */

static int count_popauth(const struct popauth_rec *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static void test_popauth(void)
{
    struct store *st = open_new();
    struct ipaddr a = ip4(10, 0, 0, 1), b = ip4(10, 0, 0, 2), c = ip6_last(1);
    struct popauth_rec r;
    CU_ASSERT_EQUAL(store_popauth_get(st, &a, &r), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_popauth_put(st, &a, "alice@example.test", 1000), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_put(st, &b, "bob@example.test", 2000), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_put(st, &c, "carol@example.test", 3000), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_get(st, &a, &r), STORE_OK);
    CU_ASSERT_STRING_EQUAL(r.user, "alice@example.test");
    CU_ASSERT_EQUAL(r.time, 1000);
    CU_ASSERT_TRUE(r.ip.family == AF_INET && r.ip.b[3] == 1);
    /* a later login replaces the entry */
    CU_ASSERT_EQUAL(store_popauth_put(st, &a, "bob@example.test", 1500), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_get(st, &a, &r), STORE_OK);
    CU_ASSERT_STRING_EQUAL(r.user, "bob@example.test");
    CU_ASSERT_EQUAL(r.time, 1500);
    CU_ASSERT_EQUAL(store_popauth_get(st, &c, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.ip.family, AF_INET6);
    int n = 0;
    CU_ASSERT_EQUAL(store_popauth_list(st, count_popauth, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 3);
    /* purge deletes time < before, keeps time == before */
    CU_ASSERT_EQUAL(store_popauth_purge(st, 2000), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_get(st, &a, &r), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_popauth_get(st, &b, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_get(st, &c, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_popauth_flush(st), STORE_OK);
    n = 0;
    CU_ASSERT_EQUAL(store_popauth_list(st, count_popauth, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 0);
    done(st);
}

/* ---- auth-failure table ---- */

static int count_authfail(const struct authfail_rec *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static int collect_grey(const struct greylist_rec *r, void *ctx)
{
    struct greylist_rec *out = ctx;
    if (out[0].first_seen < 8)
        out[1 + out[0].first_seen++] = *r;
    return 0;
}

static void test_greylist(void)
{
    struct store *st = open_new();
    struct greylist_params p = { 300, 86400, 35 * 86400 };
    struct ipaddr a = ip4(192, 0, 2, 10), b = ip4(192, 0, 2, 99);
    struct greylist_rec r, got[9];
    int o = 0;
    CU_ASSERT_EQUAL(greylist_triplet(&a, "S@X.test", "r@y.test", &r), 0);
    /* a dry run neither writes nor finds anything */
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 1000, &p, true, &o), STORE_OK);
    CU_ASSERT_EQUAL(o, GREYLIST_NEW);
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 1000, &p, false, &o), STORE_OK);
    CU_ASSERT_EQUAL(o, GREYLIST_NEW);
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 1100, &p, false, &o), STORE_OK);
    CU_ASSERT_EQUAL(o, GREYLIST_EARLY);
    /* another address of the /24 is the same triplet; it passes after the delay */
    CU_ASSERT_EQUAL(greylist_triplet(&b, "s@x.test", "R@Y.TEST", &r), 0);
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 1300, &p, true, &o), STORE_OK);
    CU_ASSERT_EQUAL(o, GREYLIST_PASSED_NOW);
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 1300, &p, false, &o), STORE_OK);
    CU_ASSERT_EQUAL(o, GREYLIST_PASSED_NOW);
    CU_ASSERT_EQUAL(r.first_seen, 1000);
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 1400, &p, false, &o), STORE_OK);
    CU_ASSERT_EQUAL(o, GREYLIST_KNOWN);
    /* a second, unpassed triplet: the null sender */
    CU_ASSERT_EQUAL(greylist_triplet(&a, "", "r@y.test", &r), 0);
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 2000, &p, false, &o), STORE_OK);
    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(store_greylist_list(st, collect_grey, got), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(got[0].first_seen, 2);
    CU_ASSERT_STRING_EQUAL(got[1].net, "192.0.2.0/24");
    CU_ASSERT_STRING_EQUAL(got[1].sender, "");          /* key order: "" first */
    CU_ASSERT_FALSE(got[1].passed);
    CU_ASSERT_STRING_EQUAL(got[2].sender, "s@x.test");
    CU_ASSERT_TRUE(got[2].passed);
    CU_ASSERT_EQUAL(got[2].last_seen, 1400);
    /* purge: the unpassed one after the window, the passed one after keep */
    CU_ASSERT_EQUAL(store_greylist_purge(st, 2000 + 86401, &p), STORE_OK);
    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(store_greylist_list(st, collect_grey, got), STORE_OK);
    CU_ASSERT_EQUAL_FATAL(got[0].first_seen, 1);
    CU_ASSERT_TRUE(got[1].passed);
    CU_ASSERT_EQUAL(store_greylist_purge(st, 1400 + 35 * 86400, &p), STORE_OK);
    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(store_greylist_list(st, collect_grey, got), STORE_OK);
    CU_ASSERT_EQUAL(got[0].first_seen, 1);
    CU_ASSERT_EQUAL(store_greylist_purge(st, 1401 + 35 * 86400, &p), STORE_OK);
    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(store_greylist_list(st, collect_grey, got), STORE_OK);
    CU_ASSERT_EQUAL(got[0].first_seen, 0);
    /* flush */
    CU_ASSERT_EQUAL(store_greylist_check(st, &r, 3000, &p, false, &o), STORE_OK);
    CU_ASSERT_EQUAL(store_greylist_flush(st), STORE_OK);
    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(store_greylist_list(st, collect_grey, got), STORE_OK);
    CU_ASSERT_EQUAL(got[0].first_seen, 0);
    done(st);
}

static void test_authfail(void)
{
    struct store *st = open_new();
    struct ipaddr a = ip4(192, 0, 2, 7), b = ip6_last(7);
    struct authfail_rec r;
    CU_ASSERT_EQUAL(store_authfail_get(st, &a, &r), STORE_NOTFOUND);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(store_authfail_record(st, &a, 1000 + i, 5, 900, 600, &r), STORE_OK);
        CU_ASSERT_EQUAL(r.failures, (unsigned)i + 1);
        CU_ASSERT_EQUAL(r.locked_until, 0);
    }
    CU_ASSERT_EQUAL(store_authfail_record(st, &a, 1010, 5, 900, 600, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.locked_until, 1610);
    /* the lock is stored, and more attempts do not extend it */
    CU_ASSERT_EQUAL(store_authfail_record(st, &a, 1500, 5, 900, 600, NULL), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_get(st, &a, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.locked_until, 1610);
    CU_ASSERT_EQUAL(r.first_failure, 1000);
    CU_ASSERT_EQUAL(r.ip.family, AF_INET);
    /* another IP is unaffected */
    CU_ASSERT_EQUAL(store_authfail_record(st, &b, 1010, 5, 900, 600, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.failures, 1);
    int n = 0;
    CU_ASSERT_EQUAL(store_authfail_list(st, count_authfail, &n), STORE_OK);
    CU_ASSERT_EQUAL(n, 2);
    /* purge: a is kept until its window (1000+900) is over, b until 1910 */
    CU_ASSERT_EQUAL(store_authfail_purge(st, 1899, 900), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_get(st, &a, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_get(st, &b, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_purge(st, 1905, 900), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_get(st, &a, &r), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_authfail_get(st, &b, &r), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_clear(st, &b), STORE_OK);
    CU_ASSERT_EQUAL(store_authfail_clear(st, &b), STORE_NOTFOUND);
    CU_ASSERT_EQUAL(store_authfail_get(st, &b, &r), STORE_NOTFOUND);
    store_maintain(st);
    CU_ASSERT_EQUAL(store_authfail_record(st, &b, 3000, 5, 900, 600, &r), STORE_OK);
    done(st);
}

static void test_files_private(void)
{
    struct store *st = open_new();
    struct user_rec u = mkuser("m@example.test", false);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    char path[400];
    struct stat sb;
    snprintf(path, sizeof path, "%s/db", tmpdir);
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/db/users.db", tmpdir);
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/db/log.0000000001", tmpdir);
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    done(st);
}

/* ---- several threads of one process ---- */

#define NTHREADS 4
#define PER_THREAD 200

static void *thread_fail(void *arg)
{
    struct store *st = arg;
    struct ipaddr ip = ip4(198, 51, 100, 1);
    for (int i = 0; i < PER_THREAD; i++)
        if (store_authfail_record(st, &ip, 5000, 1000000, 100000, 60, NULL) != STORE_OK)
            return (void *)1;
    return NULL;
}

static void test_threads_atomic(void)
{
    struct store *st = open_new();
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thread_fail, st), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *res = (void *)1;
        CU_ASSERT_EQUAL(pthread_join(th[i], &res), 0);
        CU_ASSERT_PTR_NULL(res);
    }
    struct ipaddr ip = ip4(198, 51, 100, 1);
    struct authfail_rec r;
    CU_ASSERT_EQUAL(store_authfail_get(st, &ip, &r), STORE_OK);
    CU_ASSERT_EQUAL(r.failures, NTHREADS * PER_THREAD);   /* no lost update */
    done(st);
}

/* ---- several processes ---- */

#define NREC 1000

/* Child body: open the store after fork, write N users "pX-i", exit 0 if all OK. */
static void child_writer(const char *dir, char tag, int n, bool forever)
{
    struct store *st = NULL;
    alarm(120);
    if (store_open(dir, &st) != STORE_OK)
        _exit(3);
    for (int i = 0; forever || i < n; i++) {
        char addr[64];
        snprintf(addr, sizeof addr, "%c%06d@example.test", tag, i);
        struct user_rec u = mkuser(addr, (i & 1) != 0);
        if (store_user_put(st, &u, false) != STORE_OK)
            _exit(4);
    }
    store_close(st);
    _exit(0);
}

struct tally { int p, q, other; int maxq; };

static int tally_cb(const struct user_rec *u, void *ctx)
{
    struct tally *t = ctx;
    if (u->address[0] == 'p')
        t->p++;
    else if (u->address[0] == 'q') {
        t->q++;
        int i = atoi(u->address + 1);
        if (i > t->maxq)
            t->maxq = i;
    } else
        t->other++;
    return 0;
}

static int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_two_writers(void)
{
    const char *dir = new_dir();
    pid_t a = fork();
    if (a == 0)
        child_writer(dir, 'p', NREC, false);
    pid_t b = fork();
    if (b == 0)
        child_writer(dir, 'q', NREC, false);
    CU_ASSERT_EQUAL(wait_child(a), 0);
    CU_ASSERT_EQUAL(wait_child(b), 0);
    struct store *st = NULL;
    CU_ASSERT_EQUAL_FATAL(store_open(dir, &st), STORE_OK);
    struct tally t = { 0, 0, 0, 0 };
    CU_ASSERT_EQUAL(store_user_list(st, tally_cb, &t), STORE_OK);
    CU_ASSERT_EQUAL(t.p, NREC);
    CU_ASSERT_EQUAL(t.q, NREC);
    CU_ASSERT_EQUAL(t.other, 0);
    done(st);
}

/* Fresh opener in its own process: read what the parent wrote, write, exit 0. */
static void child_fresh_opener(const char *dir, const char *must_exist, const char *write)
{
    struct store *st = NULL;
    struct user_rec u;
    alarm(60);
    if (store_open(dir, &st) != STORE_OK)
        _exit(3);
    if (store_user_get(st, must_exist, &u) != STORE_OK)
        _exit(4);
    u = mkuser(write, false);
    if (store_user_put(st, &u, false) != STORE_OK)
        _exit(5);
    store_close(st);
    _exit(0);
}

/* Kill a writer mid-loop; the surviving user and a fresh opener carry on. */
static void kill_round(struct store *st, const char *dir, int round)
{
    char addr[64], addr2[64];
    struct user_rec u;
    pid_t pid = fork();
    if (pid == 0)
        child_writer(dir, 'q', 0, true);
    /* wait until the child is well into its loop */
    snprintf(addr, sizeof addr, "q%06d@example.test", 20 + round * 30);
    for (int i = 0; i < 3000 && store_user_get(st, addr, &u) != STORE_OK; i++)
        usleep(2000);
    CU_ASSERT_EQUAL(store_user_get(st, addr, &u), STORE_OK);
    usleep((useconds_t)(1000 + round * 3777 % 20000));
    CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
    CU_ASSERT_EQUAL(wait_child(pid), 128 + SIGKILL);

    /* every record the child committed is there: a prefix q0..qN */
    struct tally t = { 0, 0, 0, -1 };
    CU_ASSERT_EQUAL(store_user_list(st, tally_cb, &t), STORE_OK);
    CU_ASSERT_TRUE(t.q > 20);
    CU_ASSERT_EQUAL(t.q, t.maxq + 1);
    /* the parent writes and reads without manual recovery */
    snprintf(addr, sizeof addr, "r%d@example.test", round);
    u = mkuser(addr, true);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    CU_ASSERT_EQUAL(store_user_get(st, addr, &u), STORE_OK);
    /* a fresh opener (in a new process) can read and write too */
    snprintf(addr2, sizeof addr2, "s%d@example.test", round);
    pid = fork();
    if (pid == 0)
        child_fresh_opener(dir, addr, addr2);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    /* and the parent still works after the fresh opener (which may have recovered) */
    CU_ASSERT_EQUAL(store_user_get(st, addr2, &u), STORE_OK);
    CU_ASSERT_EQUAL(store_user_del(st, addr2), STORE_OK);
    /* start the next round with no q records */
    for (int i = 0; i <= t.maxq; i++) {
        snprintf(addr, sizeof addr, "q%06d@example.test", i);
        CU_ASSERT_EQUAL(store_user_del(st, addr), STORE_OK);
    }
}

static void test_kill9_writer(void)
{
    alarm(240);                      /* a hang is a failure, not a stuck suite */
    struct store *st = open_new();
    char dir[256];
    str_copy(dir, tmpdir, sizeof dir);
    struct user_rec u = mkuser("x@example.test", false);
    CU_ASSERT_EQUAL(store_user_put(st, &u, false), STORE_OK);
    for (int round = 0; round < 4; round++)
        kill_round(st, dir, round);
    CU_ASSERT_EQUAL(store_user_get(st, "x@example.test", &u), STORE_OK);
    done(st);
    alarm(0);
}

static CU_TestInfo tests[] = {
    { "record format round trip", test_rec_roundtrip },
    { "user CRUD", test_user_crud },
    { "user list order", test_user_list_order },
    { "alias CRUD", test_alias_crud },
    { "POP-auth cache", test_popauth },
    { "auth-failure table", test_authfail },
    { "greylisting triplets", test_greylist },
    { "files are private", test_files_private },
    { "threads: atomic read-modify-write", test_threads_atomic },
    { "two processes write 1000 records each", test_two_writers },
    { "writer killed with SIGKILL", test_kill9_writer },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    log_open("test_store", 1);
    CU_SuiteInfo suites[] = { { "store", NULL, NULL, NULL, NULL, tests }, CU_SUITE_INFO_NULL };
    return cu_run_suites(suites);
}
