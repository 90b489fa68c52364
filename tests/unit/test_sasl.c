/* test_sasl: the login policy (auth.c) and the Cyrus SASL glue (sasl_glue.c) on a real
 * store in a temp dir under the build directory. SASL exchanges are real: Cyrus's own
 * client side (sasl_client_*) talks to saslg_* in-process, base64 lines in between,
 * for SCRAM-SHA-256, CRAM-MD5, LOGIN and PLAIN. */
#define _XOPEN_SOURCE 700
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "cu.h"
#include "tutil.h"
#include "password.h"
#include "sasl_glue.h"
#include "scram_fake.h"
#include "store.h"

static char tmpdir[512];
static struct store *st;
static struct config cfg;
static char *aliases[] = { "example.org" };
static struct ipaddr lip, rip;

#define PW_ALICE "Correct-Horse-42"
#define PW_BOB "Battery-Staple-77"

static int add_user(const char *addr, const char *pw, bool enabled)
{
    struct user_rec u;
    memset(&u, 0, sizeof u);
    snprintf(u.address, sizeof u.address, "%s", addr);
    u.enabled = enabled;
    u.relay = true;
    if (password_hash(pw, u.pwhash, sizeof u.pwhash) || cram_md5_precalc(pw, u.cram_md5) ||
        scram_sha256_secret(pw, SCRAM_ITERATIONS, u.scram_sha256, sizeof u.scram_sha256))
        return -1;
    u.has_cram_md5 = true;
    return store_user_put(st, &u, true) == STORE_OK ? 0 : -1;
}

static int suite_init(void)
{
    if (tu_tmpdir(tmpdir, sizeof tmpdir, "test_sasl") != 0 || store_open(tmpdir, &st) != STORE_OK)
        return -1;
    cfg.domain = "example.com";
    cfg.hostname = "mail.example.com";
    cfg.domain_aliases.v = aliases;
    cfg.domain_aliases.n = 1;
    cfg.auth_fail_limit = 3;
    cfg.auth_fail_window = 900;
    cfg.auth_lockout = 900;
    if (ipaddr_parse("127.0.0.1", &lip) || ipaddr_parse("192.0.2.7", &rip))
        return -1;
    if (add_user("alice@example.com", PW_ALICE, true) || add_user("bob@example.com", PW_BOB, false))
        return -1;
    if (saslg_init(st, &cfg) != 0)
        return -1;
    return sasl_client_init(NULL) == SASL_OK ? 0 : -1;
}

static int suite_clean(void)
{
    saslg_done();
    sasl_client_done();
    store_close(st);
    return tu_rmtree(tmpdir);
}

/* ---------------- auth.c ---------------- */

static void test_canon(void)
{
    char out[STORE_ADDR_MAX];
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "Alice", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "alice@example.com");
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "ALICE@Example.COM", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "alice@example.com");
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "alice@example.org.", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "alice@example.com");
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "alice@example.net", out, sizeof out), -1);
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "alice@", out, sizeof out), -1);
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "@example.com", out, sizeof out), -1);
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "a@b@example.com", out, sizeof out), -1);
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "a%b", out, sizeof out), -1);
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "al ice", out, sizeof out), -1);
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "", out, sizeof out), -1);
    char small[8];
    CU_ASSERT_EQUAL(auth_canon_user(&cfg, "alice", small, sizeof small), -1);
}

static void test_offered(void)
{
    CU_ASSERT_EQUAL(auth_offered_mechs(MECH_ALL, PLAINTEXT_TLS, false), MECH_SCRAM_SHA256 | MECH_CRAM_MD5);
    CU_ASSERT_EQUAL(auth_offered_mechs(MECH_ALL, PLAINTEXT_TLS, true), MECH_ALL);
    CU_ASSERT_EQUAL(auth_offered_mechs(MECH_ALL, PLAINTEXT_ALWAYS, false), MECH_ALL);
    CU_ASSERT_EQUAL(auth_offered_mechs(MECH_PLAIN, PLAINTEXT_TLS, false), 0);
}

static void test_check_password(void)
{
    char canon[STORE_ADDR_MAX] = "";
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "alice", PW_ALICE, canon, sizeof canon), AUTH_OK);
    CU_ASSERT_STRING_EQUAL(canon, "alice@example.com");
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "Alice@example.org", PW_ALICE, NULL, 0), AUTH_OK);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "alice", "wrong-password", NULL, 0), AUTH_FAIL);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "nobody", PW_ALICE, NULL, 0), AUTH_FAIL);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "alice@example.net", PW_ALICE, NULL, 0), AUTH_FAIL);
    CU_ASSERT_EQUAL(auth_check_password(st, &cfg, "bob", PW_BOB, NULL, 0), AUTH_FAIL);   /* disabled */
}

static struct ipaddr lock_ip;
static void three_failures(void)
{
    auth_record_failure(st, &cfg, &lock_ip, "smtp", "alice@example.com");
    auth_record_failure(st, &cfg, &lock_ip, "pop3", "evil user\nauth failed");
    auth_record_failure(st, &cfg, &lock_ip, "smtp", NULL);
    auth_record_failure(st, &cfg, &lock_ip, "smtp", "x");   /* while locked */
}

static void test_failures_and_lockout(void)
{
    char log[4096];
    struct ipaddr other;
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse("198.51.100.9", &lock_ip), 0);
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse("198.51.100.10", &other), 0);
    CU_ASSERT_FALSE(auth_is_locked(st, &cfg, &lock_ip));
    CU_ASSERT_EQUAL_FATAL(tu_capture_stderr(tmpdir, three_failures, log, sizeof log), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "auth failed: service=smtp ip=198.51.100.9 user=alice@example.com\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "auth failed: service=pop3 ip=198.51.100.9 user=evil?user?auth?failed\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "auth failed: service=smtp ip=198.51.100.9 user=-\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "auth failed: service=smtp ip=198.51.100.9 user=x\n"));
    const char *lk = strstr(log, "auth lockout: ip=198.51.100.9 until=");
    CU_ASSERT_PTR_NOT_NULL(lk);
    if (lk)
        CU_ASSERT_PTR_NULL(strstr(lk + 1, "auth lockout:"));   /* logged once */
    CU_ASSERT_TRUE(auth_is_locked(st, &cfg, &lock_ip));
    CU_ASSERT_FALSE(auth_is_locked(st, &cfg, &other));
    CU_ASSERT_EQUAL(store_authfail_clear(st, &lock_ip), STORE_OK);
    CU_ASSERT_FALSE(auth_is_locked(st, &cfg, &lock_ip));
}

/* ---------------- sasl_glue.c with Cyrus's client ---------------- */

struct creds {
    const char *user;
    const char *pass;
    sasl_secret_t *secret;
};

static int cl_simple(void *ctx, int id, const char **res, unsigned *len)
{
    struct creds *c = ctx;
    if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
        return SASL_BADPARAM;
    *res = id == SASL_CB_USER ? "" : c->user;
    if (len)
        *len = (unsigned)strlen(*res);
    return SASL_OK;
}

static int cl_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    struct creds *c = ctx;
    (void)conn;
    (void)id;
    size_t n = strlen(c->pass);
    free(c->secret);
    c->secret = malloc(sizeof(sasl_secret_t) + n);
    if (!c->secret)
        return SASL_NOMEM;
    c->secret->len = n;
    memcpy(c->secret->data, c->pass, n + 1);
    *psecret = c->secret;
    return SASL_OK;
}

#define CBF(f) ((int (*)(void))(void (*)(void))(f))

enum ir_mode { IR_NONE, IR_SEND, IR_EMPTY };

struct run {
    enum saslg_result r;
    char user[STORE_ADDR_MAX];
    bool had_final;      /* SASLG_OK came with final server data */
    bool client_ok;      /* the client accepted the server's final data */
};

static char line[SASLG_LINE_MAX + 8], out[SASLG_LINE_MAX + 8], dec[SASLG_LINE_MAX];

static int enc(const char *in, unsigned inlen, char *o, size_t olen)
{
    unsigned l = 0;
    if (inlen == 0) {
        o[0] = '\0';
        return 0;
    }
    return sasl_encode64(in, inlen, o, (unsigned)olen, &l) == SASL_OK ? 0 : -1;
}

static unsigned lock_at_msg;   /* lock rip just before the client sends this message (0: never) */

static void lock_rip(void)
{
    for (unsigned i = 0; i < cfg.auth_fail_limit; i++)
        auth_record_failure(st, &cfg, &rip, "smtp", "someone-else");
}

/* One AUTH exchange: Cyrus client <-> saslg, as SMTP would carry it. */
static struct run exchange(const char *mech, const char *user, const char *pass, enum ir_mode ir,
                           unsigned mechs)
{
    struct run res = { SASLG_TEMPFAIL, "", false, false };
    struct creds cr = { user, pass, NULL };
    sasl_callback_t cbs[] = { { SASL_CB_AUTHNAME, CBF(cl_simple), &cr },
                              { SASL_CB_USER, CBF(cl_simple), &cr },
                              { SASL_CB_PASS, CBF(cl_pass), &cr },
                              { SASL_CB_LIST_END, NULL, NULL } };
    sasl_conn_t *cc = NULL;
    (void)store_authfail_clear(st, &rip);   /* each exchange starts unlocked */
    struct saslg *s = saslg_new("smtp", NULL, &lip, 25, &rip, 40000, false, mechs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(sasl_client_new("smtp", "mail.example.com", NULL, NULL, cbs, 0, &cc), SASL_OK);
    const char *cout = NULL, *chosen = NULL;
    unsigned clen = 0;
    int crc = sasl_client_start(cc, mech, NULL, ir == IR_SEND ? &cout : NULL, ir == IR_SEND ? &clen : NULL,
                                &chosen);
    CU_ASSERT_FATAL(crc == SASL_OK || crc == SASL_CONTINUE);
    const char *initial = NULL;
    if (ir == IR_SEND && cout) {
        CU_ASSERT_EQUAL_FATAL(enc(cout, clen, line, sizeof line), 0);
        initial = clen ? line : "=";
    } else if (ir == IR_EMPTY) {
        initial = "=";
    }
    unsigned msg = initial ? 1 : 0;
    if (lock_at_msg && msg == lock_at_msg)
        lock_rip();
    res.r = saslg_start(s, mech, initial, out, sizeof out);
    while (res.r == SASLG_CONTINUE) {
        unsigned dl = 0;
        CU_ASSERT_EQUAL_FATAL(sasl_decode64(out, (unsigned)strlen(out), dec, sizeof dec, &dl), SASL_OK);
        crc = sasl_client_step(cc, dec, dl, NULL, &cout, &clen);
        if (crc != SASL_OK && crc != SASL_CONTINUE) {
            res.r = saslg_step(s, "*", out, sizeof out);
            break;
        }
        CU_ASSERT_EQUAL_FATAL(enc(cout, clen, line, sizeof line), 0);
        if (++msg == lock_at_msg)
            lock_rip();
        res.r = saslg_step(s, line, out, sizeof out);
    }
    if (res.r == SASLG_OK && out[0]) {
        unsigned dl = 0;
        res.had_final = true;
        CU_ASSERT_EQUAL_FATAL(sasl_decode64(out, (unsigned)strlen(out), dec, sizeof dec, &dl), SASL_OK);
        res.client_ok = sasl_client_step(cc, dec, dl, NULL, &cout, &clen) == SASL_OK;
        res.r = saslg_step(s, "", out, sizeof out);   /* the client's empty line */
    }
    snprintf(res.user, sizeof res.user, "%s", saslg_user(s));
    sasl_dispose(&cc);
    saslg_free(s);
    free(cr.secret);
    return res;
}

static const char *const all_mechs[] = { "SCRAM-SHA-256", "CRAM-MD5", "LOGIN", "PLAIN" };

static void test_sasl_ok(void)
{
    for (size_t i = 0; i < 4; i++) {
        struct run r = exchange(all_mechs[i], "alice@example.com", PW_ALICE, IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_OK);
        CU_ASSERT_STRING_EQUAL(r.user, "alice@example.com");
        if (i == 0)
            CU_ASSERT_TRUE(r.had_final && r.client_ok);   /* SCRAM's v= comes with SASLG_OK */
        /* bare local part and a domain alias, initial response where the mech has one */
        r = exchange(all_mechs[i], "Alice", PW_ALICE, i == 1 ? IR_NONE : IR_SEND, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_OK);
        CU_ASSERT_STRING_EQUAL(r.user, "alice@example.com");
        r = exchange(all_mechs[i], "alice@example.org", PW_ALICE, IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_OK);
    }
}

static void test_sasl_fail(void)
{
    for (size_t i = 0; i < 4; i++) {
        struct run r = exchange(all_mechs[i], "alice@example.com", "wrong-password", IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_FAIL);
        CU_ASSERT_STRING_EQUAL(r.user, "alice@example.com");
        r = exchange(all_mechs[i], "nobody@example.com", PW_ALICE, IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_FAIL);   /* same result as a wrong password */
        CU_ASSERT_STRING_EQUAL(r.user, "nobody@example.com");
        r = exchange(all_mechs[i], "bob@example.com", PW_BOB, IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_FAIL);   /* disabled */
        r = exchange(all_mechs[i], "alice@example.net", PW_ALICE, IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_FAIL);   /* not a local login */
    }
    /* the name tried is safe to log: no blanks or control characters */
    struct run r = exchange("PLAIN", "evil user\tx\r\nauth", PW_ALICE, IR_SEND, MECH_ALL);
    CU_ASSERT_EQUAL(r.r, SASLG_FAIL);
    CU_ASSERT_STRING_EQUAL(r.user, "evil?user?x??auth");
}

static void test_sasl_nomech(void)
{
    struct run r = exchange("PLAIN", "alice", PW_ALICE, IR_SEND, MECH_SCRAM_SHA256 | MECH_CRAM_MD5);
    CU_ASSERT_EQUAL(r.r, SASLG_NOMECH);
    r = exchange("SCRAM-SHA-256", "alice", PW_ALICE, IR_NONE, MECH_PLAIN | MECH_LOGIN);
    CU_ASSERT_EQUAL(r.r, SASLG_NOMECH);
    r = exchange("CRAM-MD5", "alice", PW_ALICE, IR_NONE, MECH_CRAM_MD5);
    CU_ASSERT_EQUAL(r.r, SASLG_OK);
    struct saslg *s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(saslg_start(s, "DIGEST-MD5", NULL, out, sizeof out), SASLG_NOMECH);
    CU_ASSERT_EQUAL(saslg_start(s, "ANONYMOUS", NULL, out, sizeof out), SASLG_NOMECH);
    saslg_free(s);
}

static void test_sasl_framing(void)
{
    struct saslg *s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* LOGIN without initial response: challenge "Username:", then cancel */
    CU_ASSERT_EQUAL(saslg_start(s, "LOGIN", NULL, out, sizeof out), SASLG_CONTINUE);
    CU_ASSERT_STRING_EQUAL(out, "VXNlcm5hbWU6");
    CU_ASSERT_EQUAL(saslg_step(s, "*", out, sizeof out), SASLG_CANCELLED);
    CU_ASSERT_EQUAL(saslg_step(s, "YWxpY2U=", out, sizeof out), SASLG_BADPROT);   /* over */
    saslg_free(s);

    s = saslg_new("pop", NULL, &lip, 110, &rip, 1, true, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(saslg_start(s, "LOGIN", NULL, out, sizeof out), SASLG_CONTINUE);
    CU_ASSERT_EQUAL(saslg_step(s, "!!not base64!!", out, sizeof out), SASLG_BADPROT);
    saslg_free(s);

    s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_EQUAL(saslg_start(s, "PLAIN", "AGFsaWNl=!", out, sizeof out), SASLG_BADPROT);
    saslg_free(s);

    /* a line over SASLG_LINE_MAX */
    s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    memset(line, 'A', SASLG_LINE_MAX + 4);
    line[SASLG_LINE_MAX + 4] = '\0';
    CU_ASSERT_EQUAL(saslg_start(s, "PLAIN", line, out, sizeof out), SASLG_BADPROT);
    saslg_free(s);

    /* "=" is an empty initial response, not bad base64: LOGIN then asks for the user name
     * and the exchange goes on; PLAIN gets an empty (hence malformed) message */
    s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(saslg_start(s, "LOGIN", "=", out, sizeof out), SASLG_CONTINUE);
    CU_ASSERT_STRING_EQUAL(out, "VXNlcm5hbWU6");
    char b64[160];
    CU_ASSERT_EQUAL_FATAL(enc("alice", 5, b64, sizeof b64), 0);
    CU_ASSERT_EQUAL(saslg_step(s, b64, out, sizeof out), SASLG_CONTINUE);
    CU_ASSERT_STRING_EQUAL(out, "UGFzc3dvcmQ6");   /* "Password:" */
    CU_ASSERT_EQUAL_FATAL(enc(PW_ALICE, (unsigned)strlen(PW_ALICE), b64, sizeof b64), 0);
    CU_ASSERT_EQUAL(saslg_step(s, b64, out, sizeof out), SASLG_OK);
    CU_ASSERT_STRING_EQUAL(saslg_user(s), "alice@example.com");
    CU_ASSERT_EQUAL(saslg_step(s, b64, out, sizeof out), SASLG_BADPROT);   /* no AUTH after done */
    saslg_free(s);

    s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    enum saslg_result r = saslg_start(s, "PLAIN", "=", out, sizeof out);
    CU_ASSERT_TRUE(r == SASLG_BADPROT || r == SASLG_FAIL);
    CU_ASSERT_STRING_EQUAL(saslg_user(s), "-");
    saslg_free(s);
}

/* An exchange begun before the lock and finished after it fails, even with the right
 * password: the lock is checked where the credentials are verified. */
static void test_sasl_locked_midway(void)
{
    static const unsigned verify_msg[] = { 2, 1, 2, 1 };   /* SCRAM, CRAM, LOGIN, PLAIN */
    for (size_t i = 0; i < 4; i++) {
        lock_at_msg = verify_msg[i];
        struct run r = exchange(all_mechs[i], "alice@example.com", PW_ALICE, IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_LOCKED);
        r = exchange(all_mechs[i], "alice@example.com", "wrong-password", IR_NONE, MECH_ALL);
        CU_ASSERT_EQUAL(r.r, SASLG_LOCKED);
        lock_at_msg = 0;
    }
    (void)store_authfail_clear(st, &rip);
}

static unsigned failures_of(const struct ipaddr *ip)
{
    struct authfail_rec a;
    return store_authfail_get(st, ip, &a) == STORE_OK ? a.failures : 0;
}

/* SCRAM step 1 for NAME: the server-first message, decoded. */
static enum saslg_result scram_first(const char *name, char *sfirst, size_t len)
{
    char cfirst[400], b64[600];
    unsigned dl = 0;
    snprintf(cfirst, sizeof cfirst, "n,,n=%s,r=abcdefghijklmnop", name);
    CU_ASSERT_EQUAL_FATAL(enc(cfirst, (unsigned)strlen(cfirst), b64, sizeof b64), 0);
    struct saslg *s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    enum saslg_result r = saslg_start(s, "SCRAM-SHA-256", b64, out, sizeof out);
    sfirst[0] = '\0';
    if (r == SASLG_CONTINUE &&
        sasl_decode64(out, (unsigned)strlen(out), sfirst, (unsigned)len - 1, &dl) == SASL_OK)
        sfirst[dl] = '\0';
    if (r == SASLG_CONTINUE) {   /* a made-up proof: fails like a wrong password */
        char cfinal[512];
        const char *nonce = strstr(sfirst, "r="), *comma = nonce ? strchr(nonce, ',') : NULL;
        snprintf(cfinal, sizeof cfinal, "c=biws,%.*s,p=dGhpcyBpcyBub3QgYSBwcm9vZiBhdCBhbGwgISEhISE=",
                 comma ? (int)(comma - nonce) : 0, nonce ? nonce : "");
        CU_ASSERT_EQUAL_FATAL(enc(cfinal, (unsigned)strlen(cfinal), b64, sizeof b64), 0);
        CU_ASSERT_EQUAL(saslg_step(s, b64, out, sizeof out), SASLG_FAIL);
    }
    saslg_free(s);
    return r;
}

/* The salt and count after the nonce: "s=...,i=..." */
static const char *salt_part(const char *sfirst)
{
    const char *p = strstr(sfirst, ",s=");
    return p ? p + 1 : "";
}

/* SCRAM-SHA-256 does not tell unknown, disabled or non-local names from users:
 * all get a well-formed challenge (stable per name, the normal count) and fail at
 * the proof, counted like a wrong password. */
static void test_scram_no_enumeration(void)
{
    static const char *const names[] = { "alice@example.com", "nobody@example.com",
                                         "bob@example.com", "alice@example.net" };
    char first[4][600], again[600];
    (void)store_authfail_clear(st, &rip);
    cfg.auth_fail_limit = 100;
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(scram_first(names[i], first[i], sizeof first[i]), SASLG_CONTINUE);
        CU_ASSERT_PTR_NOT_NULL(strstr(first[i], ",i=4096"));
        CU_ASSERT_EQUAL(strlen(salt_part(first[i])), strlen("s=,i=4096") + 24);   /* 16-byte salt */
        CU_ASSERT_EQUAL(failures_of(&rip), 2 * (unsigned)i + 1);
        CU_ASSERT_EQUAL(scram_first(names[i], again, sizeof again), SASLG_CONTINUE);
        CU_ASSERT_STRING_EQUAL(salt_part(again), salt_part(first[i]));   /* stable */
    }
    CU_ASSERT_STRING_NOT_EQUAL(salt_part(first[1]), salt_part(first[3]));   /* per name */
    cfg.auth_fail_limit = 3;
    (void)store_authfail_clear(st, &rip);
}

/* The fake key is kept per installation: made once, then the same for every reader. */
static void test_scram_fake_key(void)
{
    unsigned char k1[SCRAM_FAKE_KEYLEN], k2[SCRAM_FAKE_KEYLEN];
    char a[256], b[256], path[600];
    CU_ASSERT_EQUAL_FATAL(scram_fake_key_load(tmpdir, k1), 0);
    CU_ASSERT_EQUAL_FATAL(scram_fake_key_load(tmpdir, k2), 0);
    CU_ASSERT_EQUAL(memcmp(k1, k2, sizeof k1), 0);
    snprintf(path, sizeof path, "%s/%s", tmpdir, SCRAM_FAKE_FILE);
    struct stat sb;
    CU_ASSERT_EQUAL_FATAL(lstat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(scram_fake_secret(k1, "x@example.com", 4096, a, sizeof a), 0);
    CU_ASSERT_EQUAL(scram_fake_secret(k2, "x@example.com", 4096, b, sizeof b), 0);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_EQUAL(strncmp(a, "SCRAM-SHA-256$4096:", 19), 0);
    CU_ASSERT_EQUAL(scram_fake_secret(k1, "x@example.com", 4096, a, 20), -1);
    /* a symlink in its place is not followed */
    CU_ASSERT_EQUAL(unlink(path), 0);
    CU_ASSERT_EQUAL(symlink("/etc/passwd", path), 0);
    CU_ASSERT_EQUAL(scram_fake_key_load(tmpdir, k1), -1);
    CU_ASSERT_EQUAL(unlink(path), 0);
}

/* A "*" after a challenge counts as a failure (SCRAM's challenge would tell for free
 * whether a name exists); a cancel before any challenge is not possible here. */
static void test_cancel_counts(void)
{
    (void)store_authfail_clear(st, &rip);
    struct saslg *s = saslg_new("smtp", NULL, &lip, 25, &rip, 1, false, MECH_ALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(saslg_start(s, "CRAM-MD5", NULL, out, sizeof out), SASLG_CONTINUE);
    CU_ASSERT_EQUAL(saslg_step(s, "*", out, sizeof out), SASLG_CANCELLED);
    saslg_free(s);
    CU_ASSERT_EQUAL(failures_of(&rip), 1);
    (void)store_authfail_clear(st, &rip);
}

/* The gate and the table key an IPv6 client by its /64. */
static void test_ipv6_per_64(void)
{
    struct ipaddr a, b, c;
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse("2001:db8:5:6::1", &a), 0);
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse("2001:db8:5:6:aaaa::2", &b), 0);
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse("2001:db8:5:7::1", &c), 0);
    for (unsigned i = 0; i < cfg.auth_fail_limit; i++)
        auth_record_failure(st, &cfg, i % 2 ? &a : &b, "smtp", "x");
    CU_ASSERT_TRUE(auth_is_locked(st, &cfg, &a));
    CU_ASSERT_TRUE(auth_is_locked(st, &cfg, &b));
    CU_ASSERT_FALSE(auth_is_locked(st, &cfg, &c));
    CU_ASSERT_EQUAL(auth_attempt_begin(st, &cfg, &b, "smtp", "x"), AUTH_REFUSED);
    CU_ASSERT_EQUAL(auth_attempt_begin(st, &cfg, &c, "smtp", "x"), AUTH_OK);
    auth_attempt_end(st, &cfg, &c, false, "smtp", "x");
    CU_ASSERT_EQUAL(store_authfail_clear(st, &b), STORE_OK);   /* any address of the /64 */
    CU_ASSERT_FALSE(auth_is_locked(st, &cfg, &a));
    CU_ASSERT_EQUAL(store_authfail_clear(st, &c), STORE_OK);
}

static CU_TestInfo auth_tests[] = {
    { "IPv6 clients per /64", test_ipv6_per_64 },
    { "canonical login names", test_canon },
    { "offered mechanisms", test_offered },
    { "password check", test_check_password },
    { "failure log line and lockout", test_failures_and_lockout },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo sasl_tests[] = {
    { "right password, every mechanism", test_sasl_ok },
    { "wrong, unknown, disabled, non-local", test_sasl_fail },
    { "mechanism not allowed", test_sasl_nomech },
    { "framing: cancel, bad base64, =, long line", test_sasl_framing },
    { "locked while the exchange was under way", test_sasl_locked_midway },
    { "SCRAM: unknown names look like users", test_scram_no_enumeration },
    { "SCRAM: the fake key per installation", test_scram_fake_key },
    { "a cancel after a challenge counts", test_cancel_counts },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "auth", suite_init, suite_clean, NULL, NULL, auth_tests },
    { "sasl", suite_init, suite_clean, NULL, NULL, sasl_tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
