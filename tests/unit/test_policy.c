/* test_policy: MAIL FROM (local_spoof, sender_login_match) and RCPT TO (users, aliases,
 * postmaster, relay table) decisions over fake lookups, the log line, and the
 * --test-relay dry run (testrelay_run) with the same fakes. Every MAIL and RCPT case is
 * also run through the session's check rows (checks.h), which must decide the same. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "cu.h"
#include "policy.h"
#include "srs.h"
#include "testrelay.h"
#include "tutil.h"
#include "util.h"

/* ---- fake store ------------------------------------------------------------ */

static const struct { const char *addr; bool relay, enabled, nomailbox; } users[] = {
    { "alice@example.test", true, true, false },
    { "bob@example.test", false, true, false },
    { "carol@example.test", true, false, false },
    { "pm@example.test", false, true, false },
    { "scanner@example.test", true, true, true },   /* relay-only (--no-mailbox) */
};

static const char *aliases[][2] = {
    { "info@example.test", "alice@example.test" },
    { "chain1@example.test", "chain2@example.test" },
    { "chain2@example.test", "Info@Alias.Test" },
    { "loop1@example.test", "loop2@example.test" },
    { "loop2@example.test", "loop1@example.test" },
    { "fwd@example.test", "Friend@Remote.Test" },
    { "bad@example.test", "not an address" },
    { "toscan@example.test", "scanner@example.test" },
    { "d1@example.test", "d2@example.test" }, { "d2@example.test", "d3@example.test" },
    { "d3@example.test", "d4@example.test" }, { "d4@example.test", "d5@example.test" },
    { "d5@example.test", "d6@example.test" }, { "d6@example.test", "d7@example.test" },
    { "d7@example.test", "d8@example.test" }, { "d8@example.test", "d9@example.test" },
    { "d9@example.test", "d10@example.test" }, { "d10@example.test", "alice@example.test" },
};

struct fake {
    bool fail;                 /* every lookup errors */
    bool pop;                  /* a POP-auth entry exists for any IP */
    char pop_user[64];
    int64_t pop_time;
    int popauth_calls;
};

static int f_user(void *ctx, const char *a, struct policy_user *pu)
{
    struct fake *f = ctx;
    if (f->fail)
        return STORE_ERROR;
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        if (strcmp(users[i].addr, a) == 0) {
            *pu = (struct policy_user){ users[i].relay, users[i].enabled, !users[i].nomailbox };
            return STORE_OK;
        }
    }
    return STORE_NOTFOUND;
}

static int f_alias(void *ctx, const char *a, char *t, size_t len)
{
    struct fake *f = ctx;
    if (f->fail)
        return STORE_ERROR;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(aliases[i][0], a) == 0) {
            str_copy(t, aliases[i][1], len);
            return STORE_OK;
        }
    }
    return STORE_NOTFOUND;
}

static int f_popauth(void *ctx, const struct ipaddr *ip, char *user, size_t len, int64_t *t)
{
    struct fake *f = ctx;
    (void)ip;
    f->popauth_calls++;
    if (f->fail)
        return STORE_ERROR;
    if (!f->pop)
        return STORE_NOTFOUND;
    str_copy(user, f->pop_user, len);
    *t = f->pop_time;
    return STORE_OK;
}

/* ---- fixture ----------------------------------------------------------------- */

#define NOW 1000000
static char *dom_aliases[] = { "alias.test" };
static char *relay_to[] = { "partner.test", "*.partner.test" };
static struct config cfg;
static struct smtp_instance inst[2];
static struct listen_addr la = { "127.0.0.1", 2525 };
static struct fake fk;
static struct policy_lookup lk = { &fk, f_user, f_alias, f_popauth, NULL };

static struct iplist *ipl(const char *text)
{
    char err[256];
    struct iplist *l = iplist_parse(text, err, sizeof err);
    if (!l) {
        fprintf(stderr, "iplist_parse(%s): %s\n", text, err);
        abort();
    }
    return l;
}

static void default_instance(struct smtp_instance *in, const char *name)
{
    memset(in, 0, sizeof *in);
    in->common.name = (char *)name;
    in->common.listen = &la;
    in->common.nlisten = 1;
    in->relay = true;
    in->relay_nonlocal_senders = true;
    in->reject_local_spoof = true;
    in->always_relay_from = ipl("127.0.0.5");
    in->common.allow_clients = ipl("");
    in->common.deny_clients = ipl("127.0.0.66");
    in->always_relay_to.v = relay_to;
    in->always_relay_to.n = 2;
}

static int setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.domain = "example.test";
    cfg.domain_aliases.v = dom_aliases;
    cfg.domain_aliases.n = 1;
    cfg.lan = ipl("127.0.0.1, 10.0.0.0/8");
    cfg.pop_before_smtp_window = 300;
    cfg.smtp = inst;
    cfg.nsmtp = 2;
    default_instance(&inst[0], "mx");
    default_instance(&inst[1], "pop");
    inst[1].relay_pop_before_smtp = true;
    return 0;
}

static int teardown(void)
{
    iplist_free(cfg.lan);
    for (int i = 0; i < 2; i++) {
        iplist_free(inst[i].always_relay_from);
        iplist_free(inst[i].common.allow_clients);
        iplist_free(inst[i].common.deny_clients);
    }
    return 0;
}

/* Back to the fixture's known state (instances as set up, no POP entry, no failures). */
static void reset(void)
{
    memset(&fk, 0, sizeof fk);
    teardown();
    setup();
}

static void client(struct policy_client *pc, int i, const char *ip, const char *user)
{
    struct ipaddr a;
    CU_ASSERT_EQUAL_FATAL(ipaddr_parse(ip, &a), 0);
    policy_client_init(pc, &cfg, &inst[i], &a);
    if (user)
        policy_client_set_user(pc, user);
}

static struct mailaddr A(const char *s)
{
    struct mailaddr a;
    const char *end;
    int rc = addr_parse_path(s, ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER, &a, &end);
    CU_ASSERT_EQUAL(rc, ADDR_OK);
    return a;
}

/* The daemon's rows of STAGE on PC, FROM, TO: the outcome in *RES and (RCPT) *OUT. */
static void rows(enum check_stage stage, const struct policy_client *pc,
                 const struct mailaddr *f, const struct mailaddr *t, struct policy_rcpt *out,
                 struct policy_result *res)
{
    static struct check_run run;
    size_t n = 0;
    const struct check_row *r = checks_rows(stage, &n);
    memset(out, 0, sizeof *out);
    run.ctx = (struct check_ctx){ .pc = pc, .lk = &lk, .now = NOW, .offline = true,
                                  .helo = "", .from = f, .rcpt = t, .rcpt_out = out };
    CU_ASSERT_EQUAL(checks_start(&run, stage, r, n), CHECK_DONE);
    *res = run.v.res;
}

static void rcpt(struct policy_client *pc, const char *from, const char *to, int code,
                 const char *rule, enum rcpt_kind kind, const char *target)
{
    struct mailaddr f = A(from), t = A(to);
    struct policy_rcpt r;
    policy_rcpt(pc, &lk, &f, &t, NOW, &r);
    if (r.res.code != code || strcmp(r.res.rule, rule) != 0)
        fprintf(stderr, "\n  rcpt %s -> %s: got %d %s, want %d %s\n", from, to, r.res.code,
                r.res.rule, code, rule);
    CU_ASSERT_EQUAL(r.res.code, code);
    CU_ASSERT_STRING_EQUAL(r.res.rule, rule);
    CU_ASSERT_EQUAL(r.res.accept, code == 250);
    CU_ASSERT_EQUAL(r.kind, kind);
    if (target)
        CU_ASSERT_STRING_EQUAL(r.target, target);
    struct policy_rcpt o;
    struct policy_result res;
    rows(CHECK_RCPT, pc, &f, &t, &o, &res);
    CU_ASSERT_EQUAL(res.code, code);
    CU_ASSERT_STRING_EQUAL(res.rule, rule);
    CU_ASSERT_EQUAL(res.accept, code == 250);
    CU_ASSERT_EQUAL(o.kind, kind);
    CU_ASSERT_STRING_EQUAL(o.target, r.target);
    CU_ASSERT_STRING_EQUAL(o.forward, r.forward);
}

static void mail(struct policy_client *pc, const char *from, int code, const char *rule)
{
    struct mailaddr f = A(from);
    struct policy_result r;
    policy_mail(pc, &lk, &f, NOW, &r);
    if (r.code != code || strcmp(r.rule, rule) != 0)
        fprintf(stderr, "\n  mail %s: got %d %s, want %d %s\n", from, r.code, r.rule, code, rule);
    CU_ASSERT_EQUAL(r.code, code);
    CU_ASSERT_STRING_EQUAL(r.rule, rule);
    struct policy_rcpt o;
    struct policy_result res;
    rows(CHECK_MAIL, pc, &f, NULL, &o, &res);
    CU_ASSERT_EQUAL(res.code, code);
    CU_ASSERT_STRING_EQUAL(res.rule, rule);
    CU_ASSERT_EQUAL(res.accept, r.accept);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_client(void)
{
    struct policy_client pc;
    reset();
    client(&pc, 0, "127.0.0.1", NULL);
    CU_ASSERT_TRUE(pc.in_lan);
    CU_ASSERT_FALSE(pc.always_relay_from);
    CU_ASSERT_STRING_EQUAL(pc.ipstr, "127.0.0.1");
    client(&pc, 0, "127.0.0.5", NULL);
    CU_ASSERT_FALSE(pc.in_lan);
    CU_ASSERT_TRUE(pc.always_relay_from);
    client(&pc, 0, "10.1.2.3", "alice@example.test");
    CU_ASSERT_TRUE(pc.in_lan);
    CU_ASSERT_TRUE(pc.authenticated);
    CU_ASSERT_STRING_EQUAL(pc.user, "alice@example.test");
}

static void test_local_rcpt(void)
{
    struct policy_client pc;
    reset();
    client(&pc, 0, "127.0.0.9", NULL);   /* outside, unauthenticated: local mail still in */
    rcpt(&pc, "<x@remote.test>", "<alice@example.test>", 250, "local", RCPT_LOCAL,
         "alice@example.test");
    rcpt(&pc, "<>", "<ALICE@Alias.Test.>", 250, "local", RCPT_LOCAL, "alice@example.test");
    rcpt(&pc, "<>", "<carol@example.test>", 250, "local", RCPT_LOCAL, "carol@example.test");
    rcpt(&pc, "<>", "<info@example.test>", 250, "local", RCPT_LOCAL, "alice@example.test");
    rcpt(&pc, "<>", "<chain1@alias.test>", 250, "local", RCPT_LOCAL, "alice@example.test");
    rcpt(&pc, "<>", "<d3@example.test>", 250, "local", RCPT_LOCAL, "alice@example.test");
    rcpt(&pc, "<>", "<d1@example.test>", 550, "unknown_user", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<loop1@example.test>", 550, "unknown_user", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<fwd@example.test>", 250, "local", RCPT_FORWARD, "fwd@example.test");
    struct mailaddr ff = A("<>"), ft = A("<FWD@alias.test>");
    struct policy_rcpt fr;
    policy_rcpt(&pc, &lk, &ff, &ft, NOW, &fr);      /* queued to the alias, forwarded later */
    CU_ASSERT_STRING_EQUAL(fr.target, "fwd@example.test");
    CU_ASSERT_STRING_EQUAL(fr.forward, "Friend@remote.test");
    rcpt(&pc, "<>", "<nobody@example.test>", 550, "unknown_user", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<bad@example.test>", 451, "lookup_error", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<postmaster@example.test>", 250, "local", RCPT_LOCAL,
         "postmaster@example.test");
    rcpt(&pc, "<>", "<postmaster>", 250, "local", RCPT_LOCAL, "postmaster@example.test");
    rcpt(&pc, "<>", "<PostMaster@alias.test>", 250, "local", RCPT_LOCAL,
         "postmaster@example.test");
    struct mailaddr t = A("<nobody@example.test>"), f = A("<>");
    struct policy_rcpt r;
    policy_rcpt(&pc, &lk, &f, &t, NOW, &r);
    CU_ASSERT_STRING_EQUAL(r.res.enh, "5.1.1");
    t = A("<loop1@example.test>");
    policy_rcpt(&pc, &lk, &f, &t, NOW, &r);
    CU_ASSERT_STRING_EQUAL(r.res.enh, "5.4.6");
    /* relay = no does not stop local mail */
    inst[0].relay = false;
    rcpt(&pc, "<>", "<bob@example.test>", 250, "local", RCPT_LOCAL, "bob@example.test");
    rcpt(&pc, "<>", "<x@remote.test>", 550, "relay_disabled", RCPT_NONE, NULL);
    fk.fail = true;
    rcpt(&pc, "<>", "<bob@example.test>", 451, "lookup_error", RCPT_NONE, NULL);
}

static void test_relay_rcpt(void)
{
    struct policy_client pc;
    reset();
    client(&pc, 0, "127.0.0.9", NULL);
    rcpt(&pc, "<x@remote.test>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<user%remote.test@example.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<remote.test!user@example.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<\"user@remote.test\"@example.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<@example.test:user@remote.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<alice@[127.0.0.1]>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<y@partner.test>", 250, "always_relay_to", RCPT_RELAY, "y@partner.test");
    rcpt(&pc, "<>", "<y@a.Partner.test>", 250, "always_relay_to", RCPT_RELAY, NULL);
    client(&pc, 0, "127.0.0.5", NULL);
    rcpt(&pc, "<>", "<Y@Remote.Test>", 250, "always_relay_from", RCPT_RELAY, "Y@remote.test");
    client(&pc, 0, "127.0.0.1", NULL);
    rcpt(&pc, "<x@remote.test>", "<y@remote.test>", 250, "lan_and_sender", RCPT_RELAY, NULL);
    inst[0].relay_nonlocal_senders = false;
    rcpt(&pc, "<x@remote.test>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    rcpt(&pc, "<bob@alias.test>", "<y@remote.test>", 250, "lan_and_sender", RCPT_RELAY, NULL);
    client(&pc, 0, "127.0.0.1", "bob@example.test");     /* 3b before 6 */
    rcpt(&pc, "<bob@example.test>", "<y@remote.test>", 550, "auth_no_privilege", RCPT_NONE, NULL);
    client(&pc, 0, "127.0.0.9", "carol@example.test");   /* disabled: no privilege */
    rcpt(&pc, "<>", "<y@remote.test>", 550, "auth_no_privilege", RCPT_NONE, NULL);
    client(&pc, 0, "127.0.0.9", "alice@example.test");
    rcpt(&pc, "<>", "<y@remote.test>", 250, "auth", RCPT_RELAY, NULL);
    inst[0].require_auth = true;
    client(&pc, 0, "127.0.0.1", NULL);
    rcpt(&pc, "<bob@example.test>", "<y@remote.test>", 530, "auth_required", RCPT_NONE, NULL);
    inst[0].require_auth = false;
    inst[0].relay_local_senders = true;
    client(&pc, 0, "127.0.0.9", NULL);
    rcpt(&pc, "<bob@example.test>", "<y@remote.test>", 250, "local_sender", RCPT_RELAY, NULL);
    rcpt(&pc, "<x@remote.test>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
}

/* SPEC "Authentication source": a relay-only account receives nothing (550 5.1.1,
 * also through an alias) and relays when logged in; a system login's relay right is
 * the login's (group membership), whatever the store says. */
static void test_relay_only_and_login_relay(void)
{
    struct policy_client pc;
    reset();
    client(&pc, 0, "127.0.0.9", NULL);
    rcpt(&pc, "<x@remote.test>", "<scanner@example.test>", 550, "unknown_user", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<Scanner@alias.test>", 550, "unknown_user", RCPT_NONE, NULL);
    rcpt(&pc, "<>", "<toscan@example.test>", 550, "unknown_user", RCPT_NONE, NULL);
    struct mailaddr f = A("<>"), t = A("<scanner@example.test>");
    struct policy_rcpt r;
    policy_rcpt(&pc, &lk, &f, &t, NOW, &r);
    CU_ASSERT_STRING_EQUAL(r.res.enh, "5.1.1");
    client(&pc, 0, "127.0.0.9", "scanner@example.test");
    rcpt(&pc, "<scanner@example.test>", "<y@remote.test>", 250, "auth", RCPT_RELAY, NULL);
    inst[0].sender_login_match = true;
    mail(&pc, "<scanner@example.test>", 250, "sender_ok");
    inst[0].sender_login_match = false;
    client(&pc, 0, "127.0.0.9", "nobody@example.test");   /* a system user, in the group */
    rcpt(&pc, "<>", "<y@remote.test>", 550, "auth_no_privilege", RCPT_NONE, NULL);
    policy_client_set_relay(&pc, true);
    rcpt(&pc, "<>", "<y@remote.test>", 250, "auth", RCPT_RELAY, NULL);
    client(&pc, 0, "127.0.0.9", "alice@example.test");    /* not in the group */
    policy_client_set_relay(&pc, false);
    rcpt(&pc, "<>", "<y@remote.test>", 550, "auth_no_privilege", RCPT_NONE, NULL);
}

static void test_pop_before_smtp(void)
{
    struct policy_client pc;
    reset();
    client(&pc, 1, "127.0.0.9", NULL);
    rcpt(&pc, "<>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    fk.pop = true;
    str_copy(fk.pop_user, "alice@example.test", sizeof fk.pop_user);
    fk.pop_time = NOW - 299;
    rcpt(&pc, "<>", "<y@remote.test>", 250, "pop_before_smtp", RCPT_RELAY, NULL);
    fk.pop_time = NOW - 300;      /* the window is over */
    rcpt(&pc, "<>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    fk.pop_time = NOW - 10;
    str_copy(fk.pop_user, "bob@example.test", sizeof fk.pop_user);   /* no privilege */
    rcpt(&pc, "<>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    /* the same entry on an instance without relay_pop_before_smtp: not even looked up */
    str_copy(fk.pop_user, "alice@example.test", sizeof fk.pop_user);
    client(&pc, 0, "127.0.0.9", NULL);
    fk.popauth_calls = 0;
    rcpt(&pc, "<>", "<y@remote.test>", 550, "denied", RCPT_NONE, NULL);
    CU_ASSERT_EQUAL(fk.popauth_calls, 0);
}

static void test_mail_spoof(void)
{
    struct policy_client pc;
    reset();
    client(&pc, 0, "127.0.0.9", NULL);
    mail(&pc, "<alice@example.test>", 550, "local_spoof");
    mail(&pc, "<nobody@ALIAS.test.>", 550, "local_spoof");
    mail(&pc, "<user%x@example.test>", 550, "local_spoof");
    mail(&pc, "<x@remote.test>", 250, "sender_ok");
    mail(&pc, "<>", 250, "sender_ok");
    mail(&pc, "<x@sub.example.test>", 250, "sender_ok");
    client(&pc, 0, "127.0.0.1", NULL);
    mail(&pc, "<alice@example.test>", 250, "sender_ok");
    client(&pc, 0, "127.0.0.5", NULL);
    mail(&pc, "<alice@example.test>", 250, "sender_ok");
    client(&pc, 0, "127.0.0.9", "bob@example.test");
    mail(&pc, "<alice@example.test>", 250, "sender_ok");   /* sender_login_match is off */
    /* POP-auth: any user's fresh entry proves a local user, on a pop instance only */
    fk.pop = true;
    str_copy(fk.pop_user, "bob@example.test", sizeof fk.pop_user);
    fk.pop_time = NOW - 5;
    client(&pc, 1, "127.0.0.9", NULL);
    mail(&pc, "<alice@example.test>", 250, "sender_ok");
    client(&pc, 0, "127.0.0.9", NULL);
    mail(&pc, "<alice@example.test>", 550, "local_spoof");
    fk.pop_time = NOW - 400;
    client(&pc, 1, "127.0.0.9", NULL);
    mail(&pc, "<alice@example.test>", 550, "local_spoof");
    fk.fail = true;
    mail(&pc, "<alice@example.test>", 451, "lookup_error");
    fk.fail = false;
    inst[1].reject_local_spoof = false;
    mail(&pc, "<alice@example.test>", 250, "sender_ok");
    struct mailaddr f = A("<alice@example.test>");
    struct policy_result r;
    inst[1].reject_local_spoof = true;
    policy_mail(&pc, &lk, &f, NOW, &r);
    CU_ASSERT_STRING_EQUAL(r.enh, "5.7.1");
}

static void test_sender_login_match(void)
{
    struct policy_client pc;
    reset();
    inst[0].sender_login_match = true;
    client(&pc, 0, "127.0.0.9", "alice@example.test");
    mail(&pc, "<alice@example.test>", 250, "sender_ok");
    mail(&pc, "<Alice@Alias.Test>", 250, "sender_ok");
    mail(&pc, "<info@example.test>", 250, "sender_ok");
    mail(&pc, "<chain1@example.test>", 250, "sender_ok");
    mail(&pc, "<>", 250, "sender_ok");
    mail(&pc, "<bob@example.test>", 553, "sender_login_match");
    mail(&pc, "<nobody@example.test>", 553, "sender_login_match");
    mail(&pc, "<alice@remote.test>", 553, "sender_login_match");
    mail(&pc, "<fwd@example.test>", 553, "sender_login_match");
    mail(&pc, "<loop1@example.test>", 553, "sender_login_match");
    client(&pc, 0, "127.0.0.9", "bob@example.test");
    mail(&pc, "<info@example.test>", 553, "sender_login_match");
    fk.fail = true;
    mail(&pc, "<info@example.test>", 451, "lookup_error");
    fk.fail = false;
    client(&pc, 0, "127.0.0.1", NULL);                /* unauthenticated: not checked */
    mail(&pc, "<bob@example.test>", 250, "sender_ok");
}

static void test_log_line(void)
{
    struct policy_client pc;
    char buf[512];
    struct mailaddr f = A("<x@remote.test>"), t = A("<y@remote.test>"), n = A("<>");
    struct policy_result r = { false, 550, "5.7.1", "Relaying denied", "denied" };
    reset();
    client(&pc, 0, "127.0.0.9", NULL);
    policy_log_format(buf, sizeof buf, &pc, &f, &t, &r);
    CU_ASSERT_STRING_EQUAL(buf, "relay: instance=mx ip=127.0.0.9 user=- from=<x@remote.test> "
                                "to=<y@remote.test> rule=denied result=REJECT 550");
    struct policy_result ok = { true, 250, "2.1.5", "OK", "auth" };
    client(&pc, 0, "127.0.0.1", "alice@example.test");
    policy_log_format(buf, sizeof buf, &pc, &n, &t, &ok);
    CU_ASSERT_STRING_EQUAL(buf, "relay: instance=mx ip=127.0.0.1 user=alice@example.test "
                                "from=<> to=<y@remote.test> rule=auth result=ACCEPT");
    policy_log_format(buf, sizeof buf, &pc, &n, NULL, &ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " to=- "));
}

/* testrelay_run with the fakes: output line and exit code */
static int tr(const char *want, int argc, ...)
{
    char *argv[16];
    char out[512] = "";
    va_list ap;
    va_start(ap, argc);
    argv[0] = "smtpd";
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int rc = testrelay_run(argc, argv, &cfg, &lk, f);
    fclose(f);
    if (want) {
        if (strcmp(out, want) != 0)
            fprintf(stderr, "\n  got '%s' want '%s'\n", out, want);
        CU_ASSERT_STRING_EQUAL(out, want);
    }
    return rc;
}

static void test_testrelay(void)
{
    reset();
    CU_ASSERT_EQUAL(tr("ACCEPT rule=lan_and_sender\n", 9, "-c", "x.conf", "--test-relay", "mx",
                       "--client", "127.0.0.1", "--to", "y@remote.test"), 0);
    CU_ASSERT_EQUAL(tr("REJECT 550 5.7.1 rule=denied Relaying denied\n", 7, "--test-relay",
                       "mx", "--client", "127.0.0.9", "--to", "<y@remote.test>"), 1);
    CU_ASSERT_EQUAL(tr("REJECT 550 5.7.1 rule=local_spoof Sender address rejected: local "
                       "sender from outside, log in first\n", 9, "--test-relay", "mx",
                       "--client", "127.0.0.9", "--from", "bob@example.test", "--to",
                       "alice@example.test"), 1);
    CU_ASSERT_EQUAL(tr("ACCEPT rule=local\n", 9, "--test-relay", "mx", "--client", "127.0.0.9",
                       "--from", "<>", "--to", "alice@example.test"), 0);
    CU_ASSERT_EQUAL(tr("ACCEPT rule=local\n", 9, "--test-relay", "mx", "--client", "127.0.0.9",
                       "--from", "", "--to", "postmaster"), 0);
    CU_ASSERT_EQUAL(tr("REJECT 550 5.1.1 rule=unknown_user User unknown\n", 7, "--test-relay",
                       "mx", "--client", "127.0.0.9", "--to", "nobody@example.test"), 1);
    CU_ASSERT_EQUAL(tr("ACCEPT rule=auth\n", 9, "--test-relay", "mx", "--client", "127.0.0.9",
                       "--auth", "alice", "--to", "y@remote.test"), 0);
    CU_ASSERT_EQUAL(tr("REJECT 550 5.7.1 rule=auth_no_privilege User may not relay\n", 9,
                       "--test-relay", "mx", "--client", "127.0.0.1", "--auth",
                       "BOB@alias.test", "--to", "y@remote.test"), 1);
    CU_ASSERT_EQUAL(tr("REJECT 554 5.7.1 rule=client_denied Access denied\n", 7, "--test-relay",
                       "mx", "--client", "127.0.0.66", "--to", "alice@example.test"), 1);
    CU_ASSERT_EQUAL(tr(NULL, 7, "--test-relay", "mx", "--client", "127.0.0.9", "--to",
                       "a@b@example.test"), 1);
    /* usage errors */
    CU_ASSERT_EQUAL(tr("", 5, "--test-relay", "mx", "--client", "127.0.0.1"), 2);
    CU_ASSERT_EQUAL(tr("", 7, "--test-relay", "nosuch", "--client", "127.0.0.1", "--to", "a@b.c"), 2);
    CU_ASSERT_EQUAL(tr("", 7, "--test-relay", "mx", "--client", "notanip", "--to", "a@b.c"), 2);
    CU_ASSERT_EQUAL(tr("", 8, "--test-relay", "mx", "--client", "127.0.0.1", "--to", "a@b.c",
                       "--bogus"), 2);
    CU_ASSERT_EQUAL(tr("", 6, "--test-relay", "mx", "--client", "127.0.0.1", "--to"), 2);
}

/* A bounce to one of our SRS addresses (SPEC "The outbound queue"): a good one goes to
 * the original sender whatever the relay table says, from any client; a forged or
 * expired one is 550 5.1.1. */
static void test_srs_rcpt(void)
{
    char dir[256], a[300], b[300], path[400];
    CU_ASSERT_FATAL(tu_tmpdir(dir, sizeof dir, "policy-srs") == 0);
    cfg.data_dir = dir;
    const unsigned char *key = srs_secret(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    struct policy_client pc;
    reset();
    client(&pc, 0, "192.0.2.7", NULL);              /* outside, relay refused to it */
    rcpt(&pc, "<>", "<x@remote.test>", 550, "denied", RCPT_NONE, NULL);
    CU_ASSERT_EQUAL(srs_forward(key, SRS_SECRET_LEN, "Bob@remote.test", "example.test", NOW, a,
                                sizeof a), SRS_OK);
    snprintf(path, sizeof path, "<%s>", a);
    rcpt(&pc, "<>", path, 250, "srs", RCPT_RELAY, "Bob@remote.test");
    rcpt(&pc, "<someone@else.test>", path, 250, "srs", RCPT_RELAY, "Bob@remote.test");
    /* SRS1 made by us from an SRS0 of ours: unwrapped twice */
    CU_ASSERT_EQUAL(srs_forward(key, SRS_SECRET_LEN, a, "other.test", NOW, b, sizeof b), SRS_OK);
    *strrchr(b, '@') = '\0';
    snprintf(path, sizeof path, "<%s@alias.test>", b);
    rcpt(&pc, "<>", path, 250, "srs", RCPT_RELAY, "Bob@remote.test");
    /* forged: one character of the hash changed */
    str_copy(b, a, sizeof b);
    b[5] = (b[5] == 'x' || b[5] == 'X') ? 'y' : 'x';   /* differs in any case */
    snprintf(path, sizeof path, "<%s>", b);
    rcpt(&pc, "<>", path, 550, "unknown_user", RCPT_NONE, NULL);
    /* expired: made 30 days ago */
    CU_ASSERT_EQUAL(srs_forward(key, SRS_SECRET_LEN, "Bob@remote.test", "example.test",
                                NOW - 30 * 86400, a, sizeof a), SRS_OK);
    snprintf(path, sizeof path, "<%s>", a);
    rcpt(&pc, "<>", path, 550, "unknown_user", RCPT_NONE, NULL);
    cfg.data_dir = NULL;
    tu_rmtree(dir);
}

static CU_TestInfo tests[] = {
    { "client facts", test_client },
    { "local recipients, aliases, postmaster", test_local_rcpt },
    { "relay attempts through the table", test_relay_rcpt },
    { "POP-before-SMTP", test_pop_before_smtp },
    { "relay-only accounts, the login's relay right", test_relay_only_and_login_relay },
    { "MAIL FROM: reject_local_spoof", test_mail_spoof },
    { "MAIL FROM: sender_login_match", test_sender_login_match },
    { "decision log line", test_log_line },
    { "--test-relay dry run", test_testrelay },
    { "SRS bounce addresses", test_srs_rcpt },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    CU_SuiteInfo suites[] = { { "policy", setup, teardown, NULL, NULL, tests },
                              CU_SUITE_INFO_NULL };
    return cu_run_suites(suites);
}
