/* test_auth_flow: the one login flow of both daemons (common/auth_flow.c) on a real
 * store in a temp dir: the result mapping, USER/PASS inside the lockout gate, the
 * early lockout look, SASL challenges, final server data and its answer, cancels,
 * sequencing errors, and that failures are counted. SCRAM and CRAM-MD5 run against
 * Cyrus's own client side, in-process. Then the same steps on an event-loop thread
 * (common/store.h: one attempt, STORE_AGAIN instead of a wait): a transaction of the
 * test holds a database page to make the store refuse calls, the users page (secrets,
 * the verify read) or the auth-failure page (the lockout gate, the bookkeeping). The
 * plain case needs no worker; a refused gate gives AUTHF_AGAIN without stepping (the
 * same line then succeeds on a worker); a refused start begins anew (no fake SCRAM
 * salt); a refused verify read gives AUTHF_TEMPFAIL with no failure counted and the
 * reservation given back; refused bookkeeping waits for auth_flow_flush. */
#define _XOPEN_SOURCE 700
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_flow.h"
#include "config.h"
#include "cu.h"
#include "password.h"
#include "sasl_glue.h"
#include "store.h"
#include "store_bdb_env.h"
#include "tutil.h"

static char tmpdir[512];
static struct store *st;
static struct config cfg;
static struct ipaddr lip, rip;
static char out[SASLG_LINE_MAX + 8];

#define PW "Correct-Horse-42"

static int suite_init(void)
{
    struct user_rec u;
    if (tu_tmpdir(tmpdir, sizeof tmpdir, "test_auth_flow") != 0 || store_open(tmpdir, &st) != STORE_OK)
        return -1;
    cfg.domain = "example.com";
    cfg.hostname = "mail.example.com";
    cfg.auth_fail_limit = 3;
    cfg.auth_fail_window = 900;
    cfg.auth_lockout = 900;
    if (ipaddr_parse("127.0.0.1", &lip) || ipaddr_parse("192.0.2.8", &rip))
        return -1;
    memset(&u, 0, sizeof u);
    snprintf(u.address, sizeof u.address, "alice@example.com");
    u.enabled = true;
    u.has_cram_md5 = true;
    if (password_hash(PW, u.pwhash, sizeof u.pwhash) || cram_md5_precalc(PW, u.cram_md5) ||
        scram_sha256_secret(PW, SCRAM_ITERATIONS, u.scram_sha256, sizeof u.scram_sha256) ||
        store_user_put(st, &u, true) != STORE_OK)
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

static struct auth_flow *flow(unsigned mechs)
{
    struct authf_client c = { .service = "smtp", .st = st, .cfg = &cfg, .local = &lip,
                              .local_port = 25, .remote = &rip, .remote_port = 40000,
                              .tls = false, .mechs = mechs };
    (void)store_authfail_clear(st, &rip);    /* each flow starts unlocked, uncounted */
    return auth_flow_new(&c);
}

static unsigned failures(void)
{
    struct authfail_rec a;
    return store_authfail_get(st, &rip, &a) == STORE_OK ? a.failures : 0;
}

static void lock_rip(void)
{
    for (unsigned i = 0; i < cfg.auth_fail_limit; i++)
        auth_record_failure(st, &cfg, &rip, "smtp", "someone-else");
}

static const char *b64(const char *in, size_t n, char *buf, size_t len)
{
    unsigned l = 0;
    return sasl_encode64(in, (unsigned)n, buf, (unsigned)len, &l) == SASL_OK ? buf : "!";
}

static void test_mapping(void)
{
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_CONTINUE, ""), AUTHF_CHALLENGE);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_OK, ""), AUTHF_OK);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_OK, NULL), AUTHF_OK);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_OK, "dj1zaWc="), AUTHF_FINAL);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_FAIL, ""), AUTHF_FAIL);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_CANCELLED, ""), AUTHF_CANCELLED);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_BADPROT, ""), AUTHF_BADPROT);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_NOMECH, ""), AUTHF_NOMECH);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_TEMPFAIL, ""), AUTHF_TEMPFAIL);
    CU_ASSERT_EQUAL(authf_from_saslg(SASLG_LOCKED, ""), AUTHF_LOCKED);
    CU_ASSERT_EQUAL(authf_from_saslg((enum saslg_result)99, ""), AUTHF_TEMPFAIL);
}

static void test_password(void)
{
    struct auth_flow *f = flow(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(auth_flow_password(f, "Alice", PW), AUTHF_OK);
    CU_ASSERT_STRING_EQUAL(auth_flow_user(f), "alice@example.com");
    CU_ASSERT_EQUAL(auth_flow_password(f, "alice", PW), AUTHF_BADPROT);   /* once per flow */
    CU_ASSERT_EQUAL(auth_flow_start(f, "PLAIN", NULL, out, sizeof out), AUTHF_BADPROT);  /* no SASL */
    auth_flow_free(f);

    f = flow(0);
    CU_ASSERT_EQUAL(auth_flow_password(f, "alice", "wrong"), AUTHF_FAIL);
    CU_ASSERT_STRING_EQUAL(auth_flow_user(f), "alice");
    CU_ASSERT_EQUAL(failures(), 1);
    auth_flow_free(f);

    f = flow(0);
    lock_rip();
    CU_ASSERT_EQUAL(auth_flow_password(f, "alice", PW), AUTHF_LOCKED);   /* even the right one */
    CU_ASSERT_EQUAL(failures(), cfg.auth_fail_limit);                    /* not counted again */
    auth_flow_free(f);
    (void)store_authfail_clear(st, &rip);
}

static enum authf_result locked_start_result;
static void locked_start(void)
{
    struct auth_flow *f = flow(MECH_ALL);
    lock_rip();
    locked_start_result = auth_flow_start(f, "SCRAM-SHA-256", NULL, out, sizeof out);
    auth_flow_free(f);
}

static void test_plain_and_early_look(void)
{
    char ir[200], log[2048];
    static const char good[] = "\0Alice\0" PW, bad[] = "\0alice\0nope";
    struct auth_flow *f = flow(MECH_ALL);
    CU_ASSERT_EQUAL(auth_flow_start(f, "plain", b64(good, sizeof good - 1, ir, sizeof ir), out,
                                    sizeof out), AUTHF_OK);
    CU_ASSERT_STRING_EQUAL(auth_flow_user(f), "alice@example.com");
    auth_flow_free(f);

    f = flow(MECH_ALL);
    CU_ASSERT_EQUAL(auth_flow_start(f, "PLAIN", b64(bad, sizeof bad - 1, ir, sizeof ir), out,
                                    sizeof out), AUTHF_FAIL);
    CU_ASSERT_EQUAL(failures(), 1);
    auth_flow_free(f);

    f = flow(MECH_SCRAM_SHA256);
    CU_ASSERT_EQUAL(auth_flow_start(f, "PLAIN", "=", out, sizeof out), AUTHF_NOMECH);
    auth_flow_free(f);

    CU_ASSERT_EQUAL_FATAL(tu_capture_stderr(tmpdir, locked_start, log, sizeof log), 0);
    CU_ASSERT_EQUAL(locked_start_result, AUTHF_LOCKED);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "auth refused: service=smtp ip=192.0.2.8 user=- reason=locked\n"));
    (void)store_authfail_clear(st, &rip);
}

static void test_challenges_and_cancel(void)
{
    char line[200];
    struct auth_flow *f = flow(MECH_ALL);
    CU_ASSERT_EQUAL(auth_flow_step(f, "=", out, sizeof out), AUTHF_BADPROT);   /* before start */
    auth_flow_free(f);

    f = flow(MECH_ALL);
    CU_ASSERT_EQUAL(auth_flow_start(f, "LOGIN", NULL, out, sizeof out), AUTHF_CHALLENGE);
    CU_ASSERT_EQUAL(auth_flow_step(f, b64("alice", 5, line, sizeof line), out, sizeof out),
                    AUTHF_CHALLENGE);
    CU_ASSERT_EQUAL(auth_flow_answer(f, ""), AUTHF_BADPROT);   /* no final data was sent */
    auth_flow_free(f);

    f = flow(MECH_ALL);
    CU_ASSERT_EQUAL(auth_flow_start(f, "LOGIN", NULL, out, sizeof out), AUTHF_CHALLENGE);
    CU_ASSERT_EQUAL(auth_flow_step(f, "*", out, sizeof out), AUTHF_CANCELLED);
    CU_ASSERT_EQUAL(failures(), 1);                             /* a cancel counts */
    auth_flow_free(f);
    (void)store_authfail_clear(st, &rip);
}

/* ---- SCRAM-SHA-256 with Cyrus's client: the final server data ---- */

static int cl_simple(void *ctx, int id, const char **res, unsigned *len)
{
    (void)ctx;
    *res = id == SASL_CB_USER ? "" : "alice";
    if (len)
        *len = (unsigned)strlen(*res);
    return SASL_OK;
}

static sasl_secret_t *cl_secret;
static int cl_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)conn;
    (void)ctx;
    (void)id;
    free(cl_secret);
    cl_secret = malloc(sizeof(sasl_secret_t) + sizeof PW);
    if (!cl_secret)
        return SASL_NOMEM;
    cl_secret->len = sizeof PW - 1;
    memcpy(cl_secret->data, PW, sizeof PW);
    *psecret = cl_secret;
    return SASL_OK;
}

#define CBF(f) ((int (*)(void))(void (*)(void))(f))

/* A SCRAM exchange up to the final server data: AUTHF_FINAL expected. */
static struct auth_flow *scram_to_final(void)
{
    sasl_callback_t cbs[] = { { SASL_CB_AUTHNAME, CBF(cl_simple), NULL },
                              { SASL_CB_USER, CBF(cl_simple), NULL },
                              { SASL_CB_PASS, CBF(cl_pass), NULL },
                              { SASL_CB_LIST_END, NULL, NULL } };
    sasl_conn_t *cc = NULL;
    const char *cout = NULL, *chosen = NULL;
    unsigned clen = 0, dl = 0;
    char line[600], dec[600];
    struct auth_flow *f = flow(MECH_ALL);
    CU_ASSERT_EQUAL_FATAL(sasl_client_new("smtp", "mail.example.com", NULL, NULL, cbs, 0, &cc), SASL_OK);
    CU_ASSERT_EQUAL_FATAL(sasl_client_start(cc, "SCRAM-SHA-256", NULL, &cout, &clen, &chosen), SASL_CONTINUE);
    enum authf_result r = auth_flow_start(f, "SCRAM-SHA-256", b64(cout, clen, line, sizeof line),
                                          out, sizeof out);
    CU_ASSERT_EQUAL_FATAL(r, AUTHF_CHALLENGE);
    CU_ASSERT_EQUAL_FATAL(sasl_decode64(out, (unsigned)strlen(out), dec, sizeof dec, &dl), SASL_OK);
    CU_ASSERT_EQUAL_FATAL(sasl_client_step(cc, dec, dl, NULL, &cout, &clen), SASL_CONTINUE);
    r = auth_flow_step(f, b64(cout, clen, line, sizeof line), out, sizeof out);
    CU_ASSERT_EQUAL(r, AUTHF_FINAL);
    CU_ASSERT_TRUE(out[0] != '\0');
    CU_ASSERT_STRING_EQUAL(auth_flow_user(f), "alice@example.com");
    sasl_dispose(&cc);
    return f;
}

static void test_final_answer(void)
{
    struct auth_flow *f = scram_to_final();
    CU_ASSERT_EQUAL(auth_flow_answer(f, ""), AUTHF_OK);
    CU_ASSERT_STRING_EQUAL(auth_flow_user(f), "alice@example.com");
    CU_ASSERT_EQUAL(auth_flow_answer(f, ""), AUTHF_BADPROT);   /* only once */
    auth_flow_free(f);

    f = scram_to_final();
    CU_ASSERT_EQUAL(auth_flow_answer(f, "="), AUTHF_BADPROT);  /* "=" is for initial responses */
    auth_flow_free(f);

    f = scram_to_final();
    CU_ASSERT_EQUAL(auth_flow_answer(f, "*"), AUTHF_CANCELLED);
    CU_ASSERT_EQUAL(failures(), 0);            /* the password was right: not a failure */
    auth_flow_free(f);
    free(cl_secret);
    cl_secret = NULL;
}

/* ---- on an event-loop thread ---- */

static struct authfail_rec afrec(void)
{
    struct authfail_rec a;
    if (store_authfail_get(st, &rip, &a) != STORE_OK)
        memset(&a, 0, sizeof a);
    return a;
}

/* Hold a page of database DBI in an open transaction (aborted by unhold). */
static DB_TXN *hold(int dbi)
{
    DB_TXN *txn = NULL;
    DBT k, d;
    char key[] = "zz-held", val[] = "x";
    CU_ASSERT_EQUAL_FATAL(st->env->txn_begin(st->env, NULL, &txn, 0), 0);
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    k.data = key, k.size = (u_int32_t)strlen(key);
    d.data = val, d.size = 1;
    CU_ASSERT_EQUAL_FATAL(st->db[dbi]->put(st->db[dbi], txn, &k, &d, 0), 0);
    return txn;
}

static void unhold(DB_TXN *txn)
{
    CU_ASSERT_EQUAL(txn->abort(txn), 0);
}

static sasl_conn_t *client(const char *mech, char *line, size_t len)
{
    static sasl_callback_t cbs[] = { { SASL_CB_AUTHNAME, CBF(cl_simple), NULL },
                                     { SASL_CB_USER, CBF(cl_simple), NULL },
                                     { SASL_CB_PASS, CBF(cl_pass), NULL },
                                     { SASL_CB_LIST_END, NULL, NULL } };
    sasl_conn_t *cc = NULL;
    const char *cout = NULL, *chosen = NULL;
    unsigned clen = 0, l = 0;
    CU_ASSERT_EQUAL_FATAL(sasl_client_new("smtp", "mail.example.com", NULL, NULL, cbs, 0, &cc), SASL_OK);
    int rc = sasl_client_start(cc, mech, NULL, &cout, &clen, &chosen);
    CU_ASSERT_TRUE_FATAL(rc == SASL_CONTINUE || rc == SASL_OK);
    line[0] = '\0';
    if (clen > 0)
        CU_ASSERT_EQUAL_FATAL(sasl_encode64(cout, clen, line, (unsigned)len, &l), SASL_OK);
    return cc;
}

/* The client's answer to the server's challenge in out. */
static void client_step(sasl_conn_t *cc, char *line, size_t len)
{
    char dec[600];
    const char *cout = NULL;
    unsigned dl = 0, clen = 0, l = 0;
    CU_ASSERT_EQUAL_FATAL(sasl_decode64(out, (unsigned)strlen(out), dec, sizeof dec, &dl), SASL_OK);
    int rc = sasl_client_step(cc, dec, dl, NULL, &cout, &clen);
    CU_ASSERT_TRUE_FATAL(rc == SASL_CONTINUE || rc == SASL_OK);   /* CRAM-MD5: OK */
    CU_ASSERT_EQUAL_FATAL(sasl_encode64(cout, clen, line, (unsigned)len, &l), SASL_OK);
}

/* ---- tests ---- */

/* On a loop thread: a CRAM-MD5 exchange started, and with ANSWER the client's answer
 * to the challenge in line. */
static struct auth_flow *cram_in_loop(sasl_conn_t **cc, char *line, size_t len, bool answer)
{
    struct auth_flow *f = flow(MECH_ALL);
    *cc = client("CRAM-MD5", line, len);
    store_mark_loop_thread(true);
    CU_ASSERT_EQUAL(auth_flow_start(f, "CRAM-MD5", NULL, out, sizeof out), AUTHF_CHALLENGE);
    if (answer)
        client_step(*cc, line, len);
    return f;
}

static void test_plain_case(void)
{
    char line[600];
    sasl_conn_t *cc = NULL;
    struct auth_flow *f = cram_in_loop(&cc, line, sizeof line, true);
    CU_ASSERT_EQUAL(auth_flow_step(f, line, out, sizeof out), AUTHF_OK);
    CU_ASSERT_FALSE(auth_flow_pending(f));
    CU_ASSERT_STRING_EQUAL(auth_flow_user(f), "alice@example.com");
    sasl_dispose(&cc);
    auth_flow_free(f);

    f = flow(MECH_ALL);
    cc = client("SCRAM-SHA-256", line, sizeof line);
    CU_ASSERT_EQUAL(auth_flow_start(f, "SCRAM-SHA-256", line, out, sizeof out), AUTHF_CHALLENGE);
    client_step(cc, line, sizeof line);
    CU_ASSERT_EQUAL(auth_flow_step(f, line, out, sizeof out), AUTHF_FINAL);
    CU_ASSERT_EQUAL(auth_flow_answer(f, ""), AUTHF_OK);
    sasl_dispose(&cc);
    auth_flow_free(f);
    store_mark_loop_thread(false);
    CU_ASSERT_FALSE(store_take_again());
    CU_ASSERT_EQUAL(afrec().inflight, 0);
}

static void test_gate_refused(void)
{
    char line[600];
    sasl_conn_t *cc = NULL;
    struct auth_flow *f = cram_in_loop(&cc, line, sizeof line, true);
    DB_TXN *txn = hold(DBI_AUTHFAIL);
    CU_ASSERT_EQUAL(auth_flow_step(f, line, out, sizeof out), AUTHF_AGAIN);
    CU_ASSERT_FALSE(auth_flow_pending(f));
    store_mark_loop_thread(false);
    unhold(txn);
    CU_ASSERT_EQUAL(afrec().failures, 0);
    CU_ASSERT_EQUAL(afrec().inflight, 0);
    /* on a worker: the very same line, the exchange had not moved */
    CU_ASSERT_EQUAL(auth_flow_step(f, line, out, sizeof out), AUTHF_OK);
    CU_ASSERT_EQUAL(afrec().inflight, 0);
    sasl_dispose(&cc);
    auth_flow_free(f);
}

static void test_start_refused(void)
{
    char line[600];
    struct auth_flow *f = flow(MECH_ALL);
    sasl_conn_t *cc = client("SCRAM-SHA-256", line, sizeof line);
    store_mark_loop_thread(true);
    DB_TXN *txn = hold(DBI_USERS);       /* the secret's read in the first step */
    CU_ASSERT_EQUAL(auth_flow_start(f, "SCRAM-SHA-256", line, out, sizeof out), AUTHF_AGAIN);
    CU_ASSERT_STRING_EQUAL(out, "");     /* no challenge, no fake salt */
    store_mark_loop_thread(false);
    unhold(txn);
    CU_ASSERT_EQUAL(afrec().failures, 0);
    /* on a worker: the start again on a new library connection, then the rest */
    CU_ASSERT_EQUAL(auth_flow_start(f, "SCRAM-SHA-256", line, out, sizeof out), AUTHF_CHALLENGE);
    client_step(cc, line, sizeof line);
    CU_ASSERT_EQUAL(auth_flow_step(f, line, out, sizeof out), AUTHF_FINAL);   /* the real salt */
    CU_ASSERT_EQUAL(auth_flow_answer(f, ""), AUTHF_OK);
    sasl_dispose(&cc);
    auth_flow_free(f);
}

static void test_verify_read_refused(void)
{
    char line[600];
    sasl_conn_t *cc = NULL;
    struct auth_flow *f = cram_in_loop(&cc, line, sizeof line, true);
    DB_TXN *txn = hold(DBI_USERS);       /* after the gate: the secret's read */
    CU_ASSERT_EQUAL(auth_flow_step(f, line, out, sizeof out), AUTHF_TEMPFAIL);   /* 454 */
    CU_ASSERT_FALSE(auth_flow_pending(f));
    store_mark_loop_thread(false);
    unhold(txn);
    struct authfail_rec a = afrec();
    CU_ASSERT_EQUAL(a.failures, 0);      /* not counted */
    CU_ASSERT_EQUAL(a.inflight, 0);      /* the reservation given back */
    sasl_dispose(&cc);
    auth_flow_free(f);
}

static void test_bookkeeping_deferred(void)
{
    char line[600];
    sasl_conn_t *cc = NULL;
    struct auth_flow *f = cram_in_loop(&cc, line, sizeof line, false);
    DB_TXN *txn = hold(DBI_AUTHFAIL);
    CU_ASSERT_EQUAL(auth_flow_step(f, "*", out, sizeof out), AUTHF_CANCELLED);
    CU_ASSERT_TRUE(auth_flow_pending(f));
    store_mark_loop_thread(false);
    unhold(txn);
    CU_ASSERT_EQUAL(afrec().failures, 0);
    auth_flow_flush(f);                  /* the worker counts the cancel */
    CU_ASSERT_FALSE(auth_flow_pending(f));
    CU_ASSERT_EQUAL(afrec().failures, 1);
    sasl_dispose(&cc);
    auth_flow_free(f);
    (void)store_authfail_clear(st, &rip);
    free(cl_secret);
    cl_secret = NULL;
}

static CU_TestInfo tests[] = {
    { "sasl_glue results mapped", test_mapping },
    { "USER/PASS inside the lockout gate", test_password },
    { "PLAIN, no mechanism, the early lockout look", test_plain_and_early_look },
    { "challenges, sequencing, a cancel counts", test_challenges_and_cancel },
    { "SCRAM final data and its answer", test_final_answer },
    { "in the loop: CRAM-MD5 and SCRAM without a worker", test_plain_case },
    { "a refused gate: AGAIN without stepping, then on a worker", test_gate_refused },
    { "a refused start: begun anew on a worker, no fake salt", test_start_refused },
    { "a refused verify read: 454, no failure, reservation back", test_verify_read_refused },
    { "refused bookkeeping waits for auth_flow_flush", test_bookkeeping_deferred },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "auth_flow", suite_init, suite_clean, NULL, NULL, tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
