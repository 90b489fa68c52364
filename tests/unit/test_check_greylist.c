/* test_check_greylist: smtpd's greylisting row (smtpd/check_greylist.c) over a lookup
 * that keeps one triplet in memory with the real rule (greylist.h): off by default,
 * each exemption of the SPEC (authenticated, lan, always_relay_from, DNSWL, fresh
 * POP-before-SMTP), 451 4.7.1 then a pass after the delay, --test-relay's dry run
 * (nothing recorded), a lookup error, and the row's place in the RCPT stage (a
 * refused recipient is never greylisted). */
#include <string.h>

#include "antispam.h"
#include "check_greylist.h"
#include "cu.h"
#include "greylist.h"
#include "log.h"
#include "util.h"

struct mem {
    struct greylist_rec rec;
    bool have, fail, pop;
    int calls, writes;
    bool last_dry;
};
static struct mem m;

static int m_greylist(void *ctx, struct greylist_rec *r, int64_t now,
                      const struct greylist_params *p, bool dry, int *outcome)
{
    struct mem *x = ctx;
    x->calls++;
    x->last_dry = dry;
    if (x->fail)
        return STORE_ERROR;
    bool found = x->have && strcmp(x->rec.net, r->net) == 0 &&
                 strcmp(x->rec.sender, r->sender) == 0 && strcmp(x->rec.rcpt, r->rcpt) == 0;
    if (found) {
        r->first_seen = x->rec.first_seen;
        r->last_seen = x->rec.last_seen;
        r->passed = x->rec.passed;
    }
    *outcome = (int)greylist_decide(r, found, now, p);
    if (!dry) {
        x->rec = *r;
        x->have = true;
        x->writes++;
    }
    return STORE_OK;
}

static int m_popauth(void *ctx, const struct ipaddr *ip, char *user, size_t len, int64_t *t)
{
    struct mem *x = ctx;
    (void)ip;
    if (!x->pop)
        return STORE_NOTFOUND;
    str_copy(user, "bob@example.test", len);
    *t = 1000;
    return STORE_OK;
}

static struct config cfg;
static struct smtp_instance inst;
static struct policy_client pc;
static struct policy_lookup lk = { &m, NULL, NULL, m_popauth, m_greylist };
static struct mailaddr from, to;

static void reset(void)
{
    memset(&m, 0, sizeof m);
    memset(&cfg, 0, sizeof cfg);
    memset(&inst, 0, sizeof inst);
    cfg.pop_before_smtp_window = 300;
    inst.common.name = "mx";
    inst.greylist = true;
    inst.greylist_delay = 300;
    inst.greylist_window = 86400;
    inst.greylist_keep = 35 * 86400;
    memset(&pc, 0, sizeof pc);
    pc.cfg = &cfg;
    pc.inst = &inst;
    CU_ASSERT_EQUAL(ipaddr_parse("192.0.2.9", &pc.ip), 0);
    str_copy(pc.ipstr, "192.0.2.9", sizeof pc.ipstr);
    memset(&from, 0, sizeof from);
    memset(&to, 0, sizeof to);
    str_copy(from.text, "News@Sender.Example", sizeof from.text);
    str_copy(to.text, "alice@example.test", sizeof to.text);
}

/* The row alone at NOW: its verdict's answer (CONTINUE: it let the RCPT pass). */
static enum check_answer row(int64_t now, bool offline, bool dnswl, struct check_verdict *v)
{
    struct check_run run;
    struct antispam_client as;
    memset(&run, 0, sizeof run);
    memset(&as, 0, sizeof as);
    as.whitelisted = dnswl;
    run.ctx = (struct check_ctx){ .pc = &pc, .lk = &lk, .now = now, .offline = offline,
                                  .from = &from, .rcpt = &to, .as = &as };
    memset(v, 0, sizeof *v);
    v->answer = CHECK_CONTINUE;
    CU_ASSERT_EQUAL(check_greylist(&run, v), CHECK_DONE);
    return v->answer;
}

static void test_greylisted_then_passes(void)
{
    struct check_verdict v;
    reset();
    CU_ASSERT_EQUAL(row(1000, false, false, &v), CHECK_TEMPFAIL);
    CU_ASSERT_EQUAL(v.res.code, 451);
    CU_ASSERT_STRING_EQUAL(v.res.enh, "4.7.1");
    CU_ASSERT_STRING_EQUAL(v.res.rule, RULE_GREYLIST);
    CU_ASSERT_STRING_EQUAL(m.rec.sender, "news@sender.example");
    CU_ASSERT_STRING_EQUAL(m.rec.net, "192.0.2.0/24");
    CU_ASSERT_EQUAL(row(1299, false, false, &v), CHECK_TEMPFAIL);      /* too early */
    CU_ASSERT_EQUAL(row(1300, false, false, &v), CHECK_CONTINUE);      /* passes */
    CU_ASSERT_TRUE(m.rec.passed);
    from.null = true;                                                  /* <> : new */
    from.text[0] = '\0';
    CU_ASSERT_EQUAL(row(1400, false, false, &v), CHECK_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(m.rec.sender, "");
    inst.greylist = false;                                             /* off */
    CU_ASSERT_EQUAL(row(1500, false, false, &v), CHECK_CONTINUE);
    CU_ASSERT_EQUAL(m.calls, 4);
}

static void test_exemptions(void)
{
    struct check_verdict v;
    reset();
    pc.authenticated = true;
    CU_ASSERT_EQUAL(row(1000, false, false, &v), CHECK_CONTINUE);
    pc.authenticated = false;
    pc.in_lan = true;
    CU_ASSERT_EQUAL(row(1000, false, false, &v), CHECK_CONTINUE);
    pc.in_lan = false;
    pc.always_relay_from = true;
    CU_ASSERT_EQUAL(row(1000, false, false, &v), CHECK_CONTINUE);
    pc.always_relay_from = false;
    CU_ASSERT_EQUAL(row(1000, false, true, &v), CHECK_CONTINUE);        /* DNSWL */
    m.pop = true;                                                      /* login at 1000 */
    CU_ASSERT_EQUAL(row(1299, false, false, &v), CHECK_CONTINUE);
    CU_ASSERT_EQUAL(m.calls, 0);
    CU_ASSERT_EQUAL(row(1300, false, false, &v), CHECK_TEMPFAIL);       /* no longer fresh */
    CU_ASSERT_EQUAL(m.calls, 1);
}

static void test_dry_run_and_errors(void)
{
    struct check_verdict v;
    reset();
    CU_ASSERT_EQUAL(row(1000, true, false, &v), CHECK_TEMPFAIL);        /* says 451 ... */
    CU_ASSERT_TRUE(m.last_dry);
    CU_ASSERT_EQUAL(m.writes, 0);                                      /* ... records nothing */
    m.fail = true;
    CU_ASSERT_EQUAL(row(1000, false, false, &v), CHECK_TEMPFAIL);
    CU_ASSERT_EQUAL(v.res.code, 451);
    CU_ASSERT_STRING_EQUAL(v.res.enh, "4.3.0");
    CU_ASSERT_STRING_EQUAL(v.res.rule, RULE_LOOKUP_ERROR);
}

/* The RCPT stage of the daemon: srs, local, relay, then the greylist gate. An
 * unknown local user and a refused relay attempt keep their 550; an accepted one is
 * greylisted. */
static int f_user(void *ctx, const char *a, struct policy_user *pu)
{
    (void)ctx;
    *pu = (struct policy_user){ .relay = false, .enabled = true, .mailbox = true };
    return strcmp(a, "alice@example.test") == 0 ? STORE_OK : STORE_NOTFOUND;
}

static int f_alias(void *ctx, const char *a, char *t, size_t len)
{
    (void)ctx, (void)a, (void)t, (void)len;
    return STORE_NOTFOUND;
}

static void stage(const char *rcpt, int want_code, const char *want_rule)
{
    struct check_run run;
    struct policy_rcpt out;
    size_t n = 0;
    struct mailaddr r;
    memset(&run, 0, sizeof run);
    memset(&out, 0, sizeof out);
    CU_ASSERT_EQUAL_FATAL(addr_parse_mailbox(rcpt, &r), ADDR_OK);
    run.ctx = (struct check_ctx){ .pc = &pc, .lk = &lk, .now = 5000, .from = &from,
                                  .rcpt = &r, .rcpt_out = &out };
    const struct check_row *rows = checks_rows(CHECK_RCPT, &n);
    CU_ASSERT_EQUAL(checks_start(&run, CHECK_RCPT, rows, n), CHECK_DONE);
    CU_ASSERT_EQUAL(run.v.res.code, want_code);
    CU_ASSERT_STRING_EQUAL(run.v.res.rule, want_rule);
}

static void test_place_in_rcpt_stage(void)
{
    char *doms[] = { NULL };
    reset();
    cfg.domain = "example.test";
    cfg.domain_aliases.v = doms;
    cfg.domain_aliases.n = 0;
    lk.user = f_user;
    lk.alias = f_alias;
    inst.relay = true;
    inst.relay_nonlocal_senders = true;
    stage("nobody@example.test", 550, "unknown_user");
    stage("friend@example.net", 550, RULE_DENIED);
    CU_ASSERT_EQUAL(m.calls, 0);                                       /* never asked */
    stage("alice@example.test", 451, RULE_GREYLIST);
    CU_ASSERT_EQUAL(m.calls, 1);
    lk.user = NULL;
    lk.alias = NULL;
}

static CU_TestInfo tests[] = {
    { "451 4.7.1 for a new triplet, a pass after the delay", test_greylisted_then_passes },
    { "exemptions: auth, lan, always_relay_from, DNSWL, POP-before-SMTP", test_exemptions },
    { "--test-relay records nothing; a lookup error is 451 4.3.0", test_dry_run_and_errors },
    { "only an accepted recipient is greylisted", test_place_in_rcpt_stage },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    log_open("test_check_greylist", 1);
    CU_SuiteInfo suites[] = { { "check_greylist", NULL, NULL, NULL, NULL, tests },
                              CU_SUITE_INFO_NULL };
    return cu_run_suites(suites);
}
