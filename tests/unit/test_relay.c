/* test_relay: the relay decision table rule by rule, then every combination of its
 * 14 booleans against an independent re-statement of SPEC's table; the open-relay
 * predicate over all combinations, cross-checked by simulating an outside client;
 * always_relay_to matching and the listen-address test; lan / always_relay_from lists
 * that cover every address (alone or together) make an instance open. */
#include <string.h>

#include "cu.h"
#include "ipmatch.h"
#include "relay.h"

static struct relay_facts base(void)
{
    struct relay_facts f;
    memset(&f, 0, sizeof f);
    f.relay = true;                    /* SPEC defaults */
    f.relay_nonlocal_senders = true;
    return f;
}

static void check(const struct relay_facts *f, bool accept, int code, const char *enh,
                  const char *rule)
{
    struct relay_result r;
    relay_decide(f, &r);
    CU_ASSERT_EQUAL(r.accept, accept);
    CU_ASSERT_EQUAL(r.code, code);
    CU_ASSERT_STRING_EQUAL(r.enh, enh);
    CU_ASSERT_STRING_EQUAL(r.rule, rule);
}

static void test_rules(void)
{
    struct relay_facts f = base();

    /* 8: nothing applies (outside client, defaults) */
    check(&f, false, 550, "5.7.1", "denied");
    /* 6: LAN client, defaults */
    f.in_lan = true;
    check(&f, true, 250, "2.1.5", "lan_and_sender");
    /* 6 needs the sender check too: non-local sender with relay_nonlocal_senders=no */
    f.relay_nonlocal_senders = false;
    check(&f, false, 550, "5.7.1", "denied");
    f.sender_local = true;
    check(&f, true, 250, "2.1.5", "lan_and_sender");
    /* 6 with relay_outside_lan from outside */
    f = base();
    f.relay_outside_lan = true;
    check(&f, true, 250, "2.1.5", "lan_and_sender");
    /* 7 */
    f = base();
    f.relay_local_senders = true;
    check(&f, false, 550, "5.7.1", "denied");
    f.sender_local = true;
    check(&f, true, 250, "2.1.5", "local_sender");
    /* 5 before 6 and 7 */
    f.in_lan = true;
    f.require_auth = true;
    check(&f, false, 530, "5.7.0", "auth_required");
    /* 4 before 5; needs the option, a fresh entry and the privilege */
    f.pop_fresh = f.pop_relay = true;
    check(&f, false, 530, "5.7.0", "auth_required");
    f.relay_pop_before_smtp = true;
    check(&f, true, 250, "2.1.5", "pop_before_smtp");
    f.pop_relay = false;
    check(&f, false, 530, "5.7.0", "auth_required");
    f.pop_relay = true;
    f.pop_fresh = false;
    check(&f, false, 530, "5.7.0", "auth_required");
    /* 3b before 4 and 6: authenticated without privilege, even from the LAN */
    f = base();
    f.in_lan = true;
    f.sender_local = true;
    f.authenticated = true;
    check(&f, false, 550, "5.7.1", "auth_no_privilege");
    f.relay_pop_before_smtp = f.pop_fresh = f.pop_relay = true;
    check(&f, false, 550, "5.7.1", "auth_no_privilege");
    /* 3 */
    f.auth_relay = true;
    check(&f, true, 250, "2.1.5", "auth");
    f.require_auth = true;
    check(&f, true, 250, "2.1.5", "auth");
    /* 2 before 3b */
    f.auth_relay = false;
    f.always_relay_from = true;
    check(&f, true, 250, "2.1.5", "always_relay_from");
    /* 1 before 2 */
    f.always_relay_to = true;
    check(&f, true, 250, "2.1.5", "always_relay_to");
    /* 0 before everything */
    f.relay = false;
    check(&f, false, 550, "5.7.1", "relay_disabled");
    struct relay_result r;
    relay_decide(&f, &r);
    CU_ASSERT_STRING_EQUAL(r.text, "Relaying disabled");
    f = base();
    relay_decide(&f, &r);
    CU_ASSERT_STRING_EQUAL(r.text, "Relaying denied");
}

/* SPEC's table, re-stated as data: the first row whose condition holds decides. */
static const char *spec_rule(const struct relay_facts *f, bool *accept)
{
    const struct {
        bool when, accept;
        const char *rule;
    } rows[] = {
        { !f->relay, false, "relay_disabled" },
        { f->always_relay_to, true, "always_relay_to" },
        { f->always_relay_from, true, "always_relay_from" },
        { f->authenticated && f->auth_relay, true, "auth" },
        { f->authenticated && !f->auth_relay, false, "auth_no_privilege" },
        { f->relay_pop_before_smtp && f->pop_fresh && f->pop_relay, true, "pop_before_smtp" },
        { f->require_auth, false, "auth_required" },
        { (f->in_lan || f->relay_outside_lan) && (f->sender_local || f->relay_nonlocal_senders),
          true, "lan_and_sender" },
        { f->relay_local_senders && f->sender_local, true, "local_sender" },
        { true, false, "denied" },
    };
    for (size_t i = 0;; i++) {
        if (rows[i].when) {
            *accept = rows[i].accept;
            return rows[i].rule;
        }
    }
}

static int spec_code(const char *rule)
{
    if (strcmp(rule, "auth_required") == 0)
        return 530;
    if (strcmp(rule, "relay_disabled") == 0 || strcmp(rule, "auth_no_privilege") == 0 ||
        strcmp(rule, "denied") == 0)
        return 550;
    return 250;
}

static void test_exhaustive(void)
{
    unsigned mismatches = 0, accepts = 0;
    for (unsigned bits = 0; bits < (1u << 14); bits++) {
        struct relay_facts f;
        bool *fields[] = { &f.relay, &f.require_auth, &f.relay_pop_before_smtp,
                           &f.relay_outside_lan, &f.relay_nonlocal_senders,
                           &f.relay_local_senders, &f.in_lan, &f.always_relay_from,
                           &f.authenticated, &f.auth_relay, &f.pop_fresh, &f.pop_relay,
                           &f.sender_local, &f.always_relay_to };
        for (unsigned i = 0; i < 14; i++)
            *fields[i] = (bits >> i) & 1u;
        bool want_accept;
        const char *want = spec_rule(&f, &want_accept);
        struct relay_result r;
        relay_decide(&f, &r);
        if (r.accept != want_accept || strcmp(r.rule, want) != 0 || r.code != spec_code(want)) {
            if (mismatches++ < 5)
                fprintf(stderr, "bits %#x: got %s/%d want %s\n", bits, r.rule, r.code, want);
        }
        accepts += r.accept;
        /* properties: an unauthenticated outside client with nothing special never relays */
        if (!f.always_relay_to && !f.always_relay_from && !f.authenticated && !f.in_lan &&
            !f.relay_outside_lan && !(f.relay_pop_before_smtp && f.pop_fresh && f.pop_relay) &&
            !(f.relay_local_senders && f.sender_local))
            CU_ASSERT_FALSE(r.accept);
        if (!f.relay)
            CU_ASSERT_FALSE(r.accept);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(accepts > 0 && accepts < (1u << 14));
}

/* Could an unauthenticated client outside the LAN, with no POP-auth entry and no
 * always_relay_* match, relay with some sender (local, non-local or <>), given that
 * reject_local_spoof refuses local senders from it at MAIL FROM? */
static bool outside_can_relay(const bool p[6])
{
    for (int sender = 0; sender < 3; sender++) {      /* 0 local, 1 non-local, 2 <> */
        if (sender == 0 && p[5])
            continue;                                 /* refused: local_spoof */
        struct relay_facts f;
        memset(&f, 0, sizeof f);
        f.require_auth = p[0];
        f.relay = p[1];
        f.relay_outside_lan = p[2];
        f.relay_nonlocal_senders = p[3];
        f.relay_local_senders = p[4];
        f.relay_pop_before_smtp = true;
        f.sender_local = sender == 0;
        struct relay_result r;
        relay_decide(&f, &r);
        if (r.accept)
            return true;
    }
    return false;
}

static void test_open_relay(void)
{
    unsigned open = 0;
    for (unsigned bits = 0; bits < 64; bits++) {
        bool p[6];
        for (int i = 0; i < 6; i++)
            p[i] = (bits >> i) & 1u;
        bool got = relay_policy_is_open(p[0], p[1], p[2], p[3], p[4], p[5]);
        bool spec = !p[0] && p[1] && ((p[2] && (p[3] || !p[5])) || (p[4] && !p[5]));
        CU_ASSERT_EQUAL(got, spec);
        CU_ASSERT_EQUAL(got, outside_can_relay(p));
        open += got;
    }
    CU_ASSERT(open > 0 && open < 64);
}

static void test_listen_and_instance(void)
{
    CU_ASSERT_FALSE(relay_listen_is_public("127.0.0.1"));
    CU_ASSERT_FALSE(relay_listen_is_public("127.5.6.7"));
    CU_ASSERT_FALSE(relay_listen_is_public("::1"));
    CU_ASSERT_FALSE(relay_listen_is_public("::ffff:127.0.0.1"));
    CU_ASSERT_FALSE(relay_listen_is_public("localhost"));
    CU_ASSERT_TRUE(relay_listen_is_public("0.0.0.0"));
    CU_ASSERT_TRUE(relay_listen_is_public("::"));
    CU_ASSERT_TRUE(relay_listen_is_public("192.0.2.1"));
    CU_ASSERT_TRUE(relay_listen_is_public("128.0.0.1"));
    CU_ASSERT_TRUE(relay_listen_is_public("mail.example.test"));

    struct listen_addr la[2] = { { "127.0.0.1", 25 }, { "0.0.0.0", 25 } };
    struct smtp_instance in;
    memset(&in, 0, sizeof in);
    in.common.listen = la;
    in.common.nlisten = 1;
    in.relay = true;
    in.relay_outside_lan = true;
    in.relay_nonlocal_senders = true;
    in.reject_local_spoof = true;
    CU_ASSERT_FALSE(relay_instance_is_open(NULL, &in));    /* loopback only */
    in.common.nlisten = 2;
    CU_ASSERT_TRUE(relay_instance_is_open(NULL, &in));
    in.require_auth = true;
    CU_ASSERT_FALSE(relay_instance_is_open(NULL, &in));
}

static struct iplist *pl(const char *text)
{
    char err[200];
    struct iplist *l = iplist_parse(text, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    return l;
}

static void test_listen_families(void)
{
    CU_ASSERT_EQUAL(relay_listen_families("127.0.0.1"), 0);
    CU_ASSERT_EQUAL(relay_listen_families("::1"), 0);
    CU_ASSERT_EQUAL(relay_listen_families("::ffff:127.0.0.2"), 0);
    CU_ASSERT_EQUAL(relay_listen_families("localhost"), 0);
    CU_ASSERT_EQUAL(relay_listen_families("0.0.0.0"), RELAY_FAM_V4);
    CU_ASSERT_EQUAL(relay_listen_families("192.0.2.1"), RELAY_FAM_V4);
    CU_ASSERT_EQUAL(relay_listen_families("::ffff:192.0.2.1"), RELAY_FAM_V4);
    CU_ASSERT_EQUAL(relay_listen_families("::"), RELAY_FAM_V6);      /* bound IPV6_V6ONLY */
    CU_ASSERT_EQUAL(relay_listen_families("2001:db8::1"), RELAY_FAM_V6);
    CU_ASSERT_EQUAL(relay_listen_families("mx.example.test"), RELAY_FAM_V4 | RELAY_FAM_V6);
}

/* An otherwise closed instance (SPEC defaults) is made open by a lan or always_relay_from
 * that covers every address of a family that reaches one of its listeners. */
/* An instance listening on LISTEN that relays, for the lists' checks below. */
static void open_instance(struct smtp_instance *in, struct listen_addr *listen,
                          struct iplist *always_from)
{
    memset(in, 0, sizeof *in);
    in->common.listen = listen;
    in->common.nlisten = 1;
    in->relay = true;
    in->relay_nonlocal_senders = true;
    in->reject_local_spoof = true;
    in->always_relay_from = always_from;
}

static void test_open_by_lists(void)
{
    struct listen_addr any4 = { "0.0.0.0", 25 }, lo = { "127.0.0.1", 25 };
    struct iplist *empty = pl(""), *def = pl("127.0.0.1, ::1"), *lan10 = pl("10.0.0.0/8");
    struct smtp_instance in;
    char why[300];
    open_instance(&in, &any4, empty);
    CU_ASSERT_FALSE(relay_instance_open(def, &in, why, sizeof why));
    CU_ASSERT_FALSE(relay_instance_open(lan10, &in, why, sizeof why));
    CU_ASSERT_FALSE(relay_instance_open(NULL, &in, why, sizeof why));

    static const char *open4[] = { "0.0.0.0/0", "*", "*.*.*.*", "0.0.0.0-255.255.255.255",
                                   "0.0.0.0/1, 128.0.0.0/1", "::/0", "::ffff:0.0.0.0/96",
                                   "10.0.0.0/8 0.0.0.0/0", "128.0.0.0/1 0.0.0.0-127.255.255.255",
                                   "0.0.0.0-10.0.0.0, 10.0.0.1-255.255.255.255",
                                   "0.*, 1.0.0.0/8 2.0.0.0/7 4.0.0.0/6 8.0.0.0/5 16.0.0.0/4 "
                                   "32.0.0.0/3 64.0.0.0/2 128.0.0.0/1" };
    for (size_t i = 0; i < sizeof open4 / sizeof open4[0]; i++) {
        struct iplist *l = pl(open4[i]);
        why[0] = '\0';
        CU_ASSERT_TRUE(relay_instance_open(l, &in, why, sizeof why));
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "lan = "));
        CU_ASSERT_PTR_NOT_NULL(strstr(why, open4[i]));
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "every IPv4 address"));
        in.always_relay_from = l;                      /* the other key, same verdict */
        CU_ASSERT_TRUE(relay_instance_open(def, &in, why, sizeof why));
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "always_relay_from = "));
        in.require_auth = true;                        /* rule 2 comes before rule 5 */
        CU_ASSERT_TRUE(relay_instance_is_open(def, &in));
        in.always_relay_from = empty;
        CU_ASSERT_FALSE(relay_instance_is_open(l, &in));   /* ... but before rule 6 */
        in.require_auth = false;
        in.relay = false;                              /* relay = no: rule 0 */
        CU_ASSERT_FALSE(relay_instance_is_open(l, &in));
        in.relay = true;
        in.relay_nonlocal_senders = false;             /* a local sender still relays */
        CU_ASSERT_TRUE(relay_instance_is_open(l, &in));
        in.relay_nonlocal_senders = true;
        in.common.listen = &lo;                               /* loopback only */
        CU_ASSERT_FALSE(relay_instance_is_open(l, &in));
        in.common.listen = &any4;
        iplist_free(l);
    }
    /* Not every address: a gap anywhere, or a family no listener takes. */
    static const char *closed4[] = { "0.0.0.0/1", "1.0.0.0-255.255.255.255",
                                     "0.0.0.0-255.255.255.254", "0.0.0.0/1, 128.0.0.1-255.255.255.255",
                                     "0.0.0.0-10.0.0.0, 10.0.0.2-255.255.255.255",
                                     "2000::/3", "8000::/1", "255.*", "0.0.0.0/1 ::1" };
    for (size_t i = 0; i < sizeof closed4 / sizeof closed4[0]; i++) {
        struct iplist *l = pl(closed4[i]);
        CU_ASSERT_FALSE(relay_instance_is_open(l, &in));
        iplist_free(l);
    }
    iplist_free(empty);
    iplist_free(def);
    iplist_free(lan10);
}

/* IPv6 listener: IPv6 coverage counts, IPv4 coverage does not (V6ONLY); the policy
 * reasons name their keys. */
static void test_open_v6_and_reasons(void)
{
    struct listen_addr any6 = { "::", 25 };
    struct iplist *empty = pl(""), *def = pl("127.0.0.1, ::1");
    struct smtp_instance in;
    char why[300];
    open_instance(&in, &any6, empty);
    struct iplist *all4 = pl("0.0.0.0/0"), *all6 = pl("::/0"), *v6only = pl("::/1, 8000::/1");
    struct iplist *v6gap = pl("::/1, 8000::/2");
    CU_ASSERT_FALSE(relay_instance_is_open(all4, &in));
    CU_ASSERT_TRUE(relay_instance_open(all6, &in, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "every IPv6 address"));
    CU_ASSERT_TRUE(relay_instance_is_open(v6only, &in));
    CU_ASSERT_FALSE(relay_instance_is_open(v6gap, &in));
    struct listen_addr both[2] = { { "0.0.0.0", 25 }, { "::", 25 } };
    in.common.listen = both;
    in.common.nlisten = 2;
    CU_ASSERT_TRUE(relay_instance_open(all6, &in, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "every IPv4 and IPv6 address"));
    CU_ASSERT_TRUE(relay_instance_open(all4, &in, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "every IPv4 address"));
    /* the policy reasons name their keys too */
    in.relay_outside_lan = true;
    CU_ASSERT_TRUE(relay_instance_open(def, &in, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "relay_outside_lan = yes"));
    in.relay_outside_lan = false;
    in.relay_local_senders = true;
    in.reject_local_spoof = false;
    CU_ASSERT_TRUE(relay_instance_open(def, &in, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "relay_local_senders = yes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "reject_local_spoof = no"));
    iplist_free(all4);
    iplist_free(all6);
    iplist_free(v6only);
    iplist_free(v6gap);
    iplist_free(empty);
    iplist_free(def);
}

static void test_domain_match(void)
{
    char *pats[] = { "example.net", "*.sub.test" };
    struct strlist l = { pats, 2 };
    CU_ASSERT_TRUE(relay_domain_match(&l, "example.net"));
    CU_ASSERT_TRUE(relay_domain_match(&l, "EXAMPLE.NET."));
    CU_ASSERT_FALSE(relay_domain_match(&l, "a.example.net"));
    CU_ASSERT_FALSE(relay_domain_match(&l, "xexample.net"));
    CU_ASSERT_TRUE(relay_domain_match(&l, "a.sub.test"));
    CU_ASSERT_TRUE(relay_domain_match(&l, "b.A.SUB.test"));
    CU_ASSERT_FALSE(relay_domain_match(&l, "sub.test"));
    CU_ASSERT_FALSE(relay_domain_match(&l, "xsub.test"));
    CU_ASSERT_FALSE(relay_domain_match(&l, "[192.0.2.1]"));
    CU_ASSERT_FALSE(relay_domain_match(&l, ""));
    struct strlist empty = { NULL, 0 };
    CU_ASSERT_FALSE(relay_domain_match(&empty, "example.net"));
}

static CU_TestInfo tests[] = {
    { "each rule and the order between them", test_rules },
    { "all 2^14 combinations against SPEC's table", test_exhaustive },
    { "open-relay predicate over all combinations", test_open_relay },
    { "listen addresses and instances", test_listen_and_instance },
    { "listen address families", test_listen_families },
    { "lan / always_relay_from covering every address make it open", test_open_by_lists },
    { "IPv6 listeners' coverage, the policy reasons' keys", test_open_v6_and_reasons },
    { "always_relay_to domain patterns", test_domain_match },
    CU_TEST_INFO_NULL,
};

CU_MAIN("relay", tests)
