/* test_pop3: the POP3 command parser, the login/CAPA policy and the command state
 * machine (AUTHORIZATION refusals, TRANSACTION commands over a real Maildir, RETR/TOP
 * streaming), with replies captured instead of sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "maildir.h"
#include "pop3.h"
#include "pop3_parse.h"
#include "pop3_policy.h"

/* ---- parser ---- */

static enum pop3_parse_result parse(const char *text, enum pop3_state st, struct pop3_req *r)
{
    static char buf[300];
    snprintf(buf, sizeof buf, "%s", text);
    return pop3_parse(buf, st, r);
}

static void test_parse(void)
{
    struct pop3_req r;
    CU_ASSERT_EQUAL(parse("user bob", P3S_AUTHORIZATION, &r), P3P_OK);
    CU_ASSERT_EQUAL(r.cmd, P3_USER);
    CU_ASSERT_STRING_EQUAL(r.argv[0], "bob");
    CU_ASSERT_EQUAL(parse("USER", P3S_AUTHORIZATION, &r), P3P_BADARGS);
    CU_ASSERT_EQUAL(parse("USER a b", P3S_AUTHORIZATION, &r), P3P_BADARGS);
    CU_ASSERT_EQUAL(parse("PASS  my secret ", P3S_AUTHORIZATION, &r), P3P_OK);
    CU_ASSERT_STRING_EQUAL(r.rest, " my secret ");           /* spaces kept */
    CU_ASSERT_EQUAL(parse("PASS", P3S_AUTHORIZATION, &r), P3P_BADARGS);
    CU_ASSERT_EQUAL(parse("STAT", P3S_AUTHORIZATION, &r), P3P_BADSTATE);
    CU_ASSERT_EQUAL(parse("STAT", P3S_TRANSACTION, &r), P3P_OK);
    CU_ASSERT_EQUAL(parse("STAT 1", P3S_TRANSACTION, &r), P3P_BADARGS);
    CU_ASSERT_EQUAL(parse("list", P3S_TRANSACTION, &r), P3P_OK);
    CU_ASSERT_EQUAL(r.argc, 0);
    CU_ASSERT_EQUAL(parse("LIST 3", P3S_TRANSACTION, &r), P3P_OK);
    CU_ASSERT_STRING_EQUAL(r.argv[0], "3");
    CU_ASSERT_EQUAL(parse("TOP 1", P3S_TRANSACTION, &r), P3P_BADARGS);
    CU_ASSERT_EQUAL(parse("TOP 1 10", P3S_TRANSACTION, &r), P3P_OK);
    CU_ASSERT_STRING_EQUAL(r.argv[1], "10");
    CU_ASSERT_EQUAL(parse("USER bob", P3S_TRANSACTION, &r), P3P_BADSTATE);
    CU_ASSERT_EQUAL(parse("STLS", P3S_TRANSACTION, &r), P3P_BADSTATE);
    CU_ASSERT_EQUAL(parse("AUTH", P3S_AUTHORIZATION, &r), P3P_OK);
    CU_ASSERT_EQUAL(parse("AUTH PLAIN AGJvYgBwdw==", P3S_AUTHORIZATION, &r), P3P_OK);
    CU_ASSERT_EQUAL(r.argc, 2);
    CU_ASSERT_EQUAL(parse("AUTH PLAIN a b", P3S_AUTHORIZATION, &r), P3P_BADARGS);
    CU_ASSERT_EQUAL(parse("QUIT", P3S_AUTHORIZATION, &r), P3P_OK);
    CU_ASSERT_EQUAL(parse("QUIT", P3S_TRANSACTION, &r), P3P_OK);
    CU_ASSERT_EQUAL(parse("CAPA", P3S_TRANSACTION, &r), P3P_OK);
    CU_ASSERT_EQUAL(parse("APOP bob 0123", P3S_AUTHORIZATION, &r), P3P_UNKNOWN);
    CU_ASSERT_EQUAL(parse("STATX", P3S_TRANSACTION, &r), P3P_UNKNOWN);
    CU_ASSERT_EQUAL(parse("", P3S_TRANSACTION, &r), P3P_UNKNOWN);
    CU_ASSERT_EQUAL(parse("NOOP", P3S_UPDATE, &r), P3P_BADSTATE);

    unsigned long n;
    CU_ASSERT(pop3_parse_num("0", &n) && n == 0);
    CU_ASSERT(pop3_parse_num("2147483647", &n) && n == 2147483647ul);
    CU_ASSERT_FALSE(pop3_parse_num("2147483648", &n));
    CU_ASSERT_FALSE(pop3_parse_num("99999999999999999999999", &n));
    CU_ASSERT_FALSE(pop3_parse_num("-1", &n));
    CU_ASSERT_FALSE(pop3_parse_num("+1", &n));
    CU_ASSERT_FALSE(pop3_parse_num("1a", &n));
    CU_ASSERT_FALSE(pop3_parse_num("", &n));
}

/* ---- policy / CAPA ---- */

static const char *capa(const struct pop3_policy *p, enum pop3_state st)
{
    static char buf[512];
    size_t n = pop3_capa(p, st, buf, sizeof buf);
    CU_ASSERT(n > 0 && n < sizeof buf);
    buf[n] = '\0';
    return buf;
}

static void test_policy(void)
{
    struct pop3_policy p = { .tls = TLS_STARTTLS, .mechs = MECH_ALL, .plaintext = PLAINTEXT_TLS,
                             .tls_available = true };
    /* plain connection from outside secure_networks */
    const char *c = capa(&p, P3S_AUTHORIZATION);
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "\r\nSTLS\r\n"));
    CU_ASSERT_PTR_NULL(strstr(c, "\r\nUSER\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "\r\nSASL SCRAM-SHA-256 CRAM-MD5\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "RESP-CODES\r\nAUTH-RESP-CODE\r\n"));
    CU_ASSERT(strncmp(c, "+OK", 3) == 0);
    CU_ASSERT(strcmp(c + strlen(c) - 5, "\r\n.\r\n") == 0);
    CU_ASSERT_EQUAL(pop3_user_allowed(&p), P3V_PLAINTEXT_DENIED);
    CU_ASSERT_EQUAL(pop3_mech_allowed(&p, "plain"), P3V_PLAINTEXT_DENIED);
    CU_ASSERT_EQUAL(pop3_mech_allowed(&p, "LOGIN"), P3V_PLAINTEXT_DENIED);
    CU_ASSERT_EQUAL(pop3_mech_allowed(&p, "CRAM-MD5"), P3V_OK);
    CU_ASSERT_EQUAL(pop3_mech_allowed(&p, "DIGEST-MD5"), P3V_NOMECH);
    /* secure network */
    p.secure_net = true;
    c = capa(&p, P3S_AUTHORIZATION);
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "\r\nUSER\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "SASL SCRAM-SHA-256 CRAM-MD5 LOGIN PLAIN\r\n"));
    CU_ASSERT_EQUAL(pop3_user_allowed(&p), P3V_OK);
    /* after STLS: no STLS again, plaintext fine */
    p.secure_net = false;
    p.tls_active = true;
    c = capa(&p, P3S_AUTHORIZATION);
    CU_ASSERT_PTR_NULL(strstr(c, "STLS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "\r\nUSER\r\n"));
    CU_ASSERT_EQUAL(pop3_mech_allowed(&p, "PLAIN"), P3V_OK);
    /* TRANSACTION: no login capabilities */
    c = capa(&p, P3S_TRANSACTION);
    CU_ASSERT_PTR_NULL(strstr(c, "USER"));
    CU_ASSERT_PTR_NULL(strstr(c, "SASL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "UIDL"));
    /* tls = required before STLS: nothing to log in with, STLS offered */
    struct pop3_policy q = { .tls = TLS_REQUIRED, .mechs = MECH_ALL,
                             .plaintext = PLAINTEXT_ALWAYS, .tls_available = true,
                             .secure_net = true };
    c = capa(&q, P3S_AUTHORIZATION);
    CU_ASSERT_PTR_NULL(strstr(c, "USER"));
    CU_ASSERT_PTR_NULL(strstr(c, "SASL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "STLS"));
    CU_ASSERT_EQUAL(pop3_user_allowed(&q), P3V_TLS_REQUIRED);
    CU_ASSERT_EQUAL(pop3_mech_allowed(&q, "SCRAM-SHA-256"), P3V_TLS_REQUIRED);
    q.tls_active = true;
    CU_ASSERT_EQUAL(pop3_user_allowed(&q), P3V_OK);
    /* tls = off: no STLS; plaintext always */
    struct pop3_policy o = { .tls = TLS_OFF, .mechs = MECH_PLAIN | MECH_CRAM_MD5,
                             .plaintext = PLAINTEXT_ALWAYS, .tls_available = true };
    c = capa(&o, P3S_AUTHORIZATION);
    CU_ASSERT_PTR_NULL(strstr(c, "STLS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "SASL CRAM-MD5 PLAIN\r\n"));
    CU_ASSERT_EQUAL(pop3_mech_allowed(&o, "LOGIN"), P3V_NOMECH);   /* not configured */
    /* no mechanisms configured: no SASL line */
    o.mechs = 0;
    CU_ASSERT_PTR_NULL(strstr(capa(&o, P3S_AUTHORIZATION), "SASL"));
    CU_ASSERT_EQUAL(mech_bit("scram-sha-256"), MECH_SCRAM_SHA256);
    CU_ASSERT_EQUAL(mech_bit("XOAUTH2"), 0);
}

/* ---- the state machine with captured output ---- */

static char out[65536];
static size_t outlen;

static void cap_emit(struct pop3_session *s, const void *data, size_t len)
{
    (void)s;
    CU_ASSERT_FATAL(outlen + len < sizeof out);
    memcpy(out + outlen, data, len);
    outlen += len;
    out[outlen] = '\0';
}

static const char *run(struct pop3_session *s, const char *line)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s", line);
    outlen = 0;
    out[0] = '\0';
    pop3_execute(s, buf);
    bool failed = false;
    while (pop3_streaming(s))
        CU_ASSERT(pop3_stream_pump(s, 7, &failed) || !failed);   /* tiny budget: many rounds */
    CU_ASSERT_FALSE(failed);
    return out;
}

static char root[64];     /* the data dir */
static char mdir[256];    /* u@x.test's Maildir in it */

static void put(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/new/%s", mdir, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fputs(text, f) >= 0);
    CU_ASSERT(fclose(f) == 0);
}

static void test_authorization_state(void)
{
    struct pop3_session s;
    pop3_session_init(&s);
    s.emit = cap_emit;
    s.pol = (struct pop3_policy){ .tls = TLS_REQUIRED, .mechs = MECH_ALL,
                                  .plaintext = PLAINTEXT_TLS, .tls_available = true };
    CU_ASSERT(strncmp(run(&s, "STAT"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "RETR 1"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "NOSUCH"), "-ERR", 4) == 0);
    CU_ASSERT_STRING_EQUAL(run(&s, "USER bob"), POP3_MSG_TLS_REQUIRED "\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "PASS secret"), POP3_MSG_TLS_REQUIRED "\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "AUTH PLAIN AGJvYgBwdw=="), POP3_MSG_TLS_REQUIRED "\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "AUTH"), "+OK\r\n.\r\n");   /* nothing offered yet */
    CU_ASSERT(strncmp(run(&s, "AUTH X-UNKNOWN"), "-ERR", 4) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(run(&s, "capa"), "STLS\r\n"));
    /* TLS up, plaintext allowed: USER is accepted, PASS without USER is not */
    s.pol.tls_active = true;
    CU_ASSERT_STRING_EQUAL(run(&s, "AUTH"), "+OK\r\nSCRAM-SHA-256\r\nCRAM-MD5\r\nLOGIN\r\nPLAIN\r\n.\r\n");
    CU_ASSERT(strncmp(run(&s, "PASS secret"), "-ERR No username", 16) == 0);
    CU_ASSERT_STRING_EQUAL(run(&s, "USER bob"), "+OK\r\n");
    CU_ASSERT(s.have_user);
    CU_ASSERT_STRING_EQUAL(s.login, "bob");
    CU_ASSERT_EQUAL(s.state, P3S_AUTHORIZATION);
    pop3_session_free_state(&s);
}

static void test_transaction_state(void)
{
    snprintf(root, sizeof root, "/tmp/test_pop3.XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(root) != NULL);
    CU_ASSERT_FATAL(maildir_path(root, "u@x.test", mdir, sizeof mdir) == 0);
    CU_ASSERT_FATAL(maildir_make(mdir) == 0);
    put("1700000001.000001_1.h", "Subject: one\n\nline 1\n.dot line\nline 3\n");
    put("1700000002.000001_1.h", "Subject: two\n\nno final newline");
    put("1700000000.000001_1.h", "Subject: zero\n\n");

    struct pop3_session s;
    pop3_session_init(&s);
    s.emit = cap_emit;
    CU_ASSERT_FATAL(mailbox_open(root, "u@x.test", &s.mb) == MBOX_OK);
    s.state = P3S_TRANSACTION;

    CU_ASSERT_STRING_EQUAL(run(&s, "STAT"), "+OK 3 92\r\n");     /* 17 + 43 + 32 */
    CU_ASSERT_STRING_EQUAL(run(&s, "LIST"), "+OK 3 messages (92 octets)\r\n1 17\r\n2 43\r\n3 32\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "LIST 2"), "+OK 2 43\r\n");
    CU_ASSERT(strncmp(run(&s, "LIST 4"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "LIST 0"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "LIST x"), "-ERR", 4) == 0);
    CU_ASSERT_STRING_EQUAL(run(&s, "UIDL"), "+OK\r\n1 1700000000.000001_1.h\r\n"
                           "2 1700000001.000001_1.h\r\n3 1700000002.000001_1.h\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "UIDL 3"), "+OK 3 1700000002.000001_1.h\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "RETR 2"), "+OK 43 octets\r\nSubject: one\r\n\r\nline 1\r\n"
                           "..dot line\r\nline 3\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "RETR 3"), "+OK 32 octets\r\nSubject: two\r\n\r\n"
                           "no final newline\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "TOP 2 1"), "+OK\r\nSubject: one\r\n\r\nline 1\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "TOP 2 0"), "+OK\r\nSubject: one\r\n\r\n.\r\n");
    CU_ASSERT(strncmp(run(&s, "TOP 2 -1"), "-ERR", 4) == 0);
    CU_ASSERT_STRING_EQUAL(run(&s, "DELE 2"), "+OK Marked to be deleted.\r\n");
    CU_ASSERT(strncmp(run(&s, "DELE 2"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "RETR 2"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "LIST 2"), "-ERR", 4) == 0);
    CU_ASSERT_STRING_EQUAL(run(&s, "STAT"), "+OK 2 49\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "LIST"), "+OK 2 messages (49 octets)\r\n1 17\r\n3 32\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "RSET"), "+OK maildrop has 3 messages (92 octets)\r\n");
    CU_ASSERT_STRING_EQUAL(run(&s, "NOOP"), "+OK\r\n");
    CU_ASSERT(strncmp(run(&s, "USER bob"), "-ERR", 4) == 0);
    CU_ASSERT(strncmp(run(&s, "STLS"), "-ERR", 4) == 0);
    const char *c = run(&s, "CAPA");
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "TOP\r\n"));
    CU_ASSERT_PTR_NULL(strstr(c, "USER"));
    /* a dropped session (no QUIT) deletes nothing */
    CU_ASSERT_STRING_EQUAL(run(&s, "DELE 1"), "+OK Marked to be deleted.\r\n");
    pop3_session_free_state(&s);
    struct mailbox *mb;
    CU_ASSERT_FATAL(mailbox_open(root, "u@x.test", &mb) == MBOX_OK);
    CU_ASSERT_EQUAL(mailbox_count(mb), 3);
    mailbox_close(mb);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CU_ASSERT(system(cmd) == 0);
}

static CU_TestInfo tests[] = {
    { "command parser", test_parse },
    { "login policy and CAPA", test_policy },
    { "AUTHORIZATION state", test_authorization_state },
    { "TRANSACTION state", test_transaction_state },
    CU_TEST_INFO_NULL,
};

CU_MAIN("pop3", tests)
