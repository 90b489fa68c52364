/* test_config_sample: mailserver.conf.sample, the file admins copy: it loads into
 * the instances `make run` starts, documents every key of SPEC.md, and every
 * "# key = value" it shows is the real default (uncommenting them all changes
 * nothing the loader produces). */
#include "cu.h"
#include "config.h"
#include "ipmatch.h"
#include "tutil.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static char scratch[256];

static bool match(const struct iplist *l, const char *addr)
{
    struct ipaddr ip;
    CU_ASSERT_FATAL(ipaddr_parse(addr, &ip) == 0);
    return iplist_match(l, &ip);
}

/* Write text to scratch/NAME; returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(text, 1, strlen(text), f) == strlen(text));
    CU_ASSERT_FATAL(fclose(f) == 0);
    return path;
}

static const char *sample_path(void)
{
    return access("mailserver.conf.sample", R_OK) == 0 ? "mailserver.conf.sample" : "../../mailserver.conf.sample";
}

static void test_sample_loads(void)
{
    char err[512] = "";
    struct config *c = config_load(sample_path(), err, sizeof(err));
    if (!c)
        fprintf(stderr, "\n  sample: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->domain, "example.test");
    CU_ASSERT_STRING_EQUAL(c->data_dir, "./var");
    CU_ASSERT_STRING_EQUAL(c->run_as_user, "mail");
    CU_ASSERT_STRING_EQUAL(c->tls_cert, "./var/tls/cert.pem");
    CU_ASSERT_STRING_EQUAL(c->tls_key, "./var/tls/key.pem");
    CU_ASSERT_EQUAL_FATAL(c->nsmtp, 2);
    CU_ASSERT_EQUAL_FATAL(c->npop3, 1);
    const struct smtp_instance *lan = &c->smtp[0], *sub = &c->smtp[1];
    CU_ASSERT_STRING_EQUAL(lan->common.name, "lan");
    CU_ASSERT_TRUE(lan->common.nlisten == 1 && strcmp(lan->common.listen[0].host, "127.0.0.1") == 0 && lan->common.listen[0].port == 2525);
    CU_ASSERT_TRUE(lan->relay && lan->reject_local_spoof && !lan->require_auth && lan->common.tls == TLS_OFF);
    CU_ASSERT_STRING_EQUAL(sub->common.name, "submission");
    CU_ASSERT_TRUE(sub->common.nlisten == 1 && strcmp(sub->common.listen[0].host, "127.0.0.1") == 0 && sub->common.listen[0].port == 2587);
    CU_ASSERT_TRUE(sub->require_auth && sub->common.tls == TLS_STARTTLS && sub->common.plaintext_auth == PLAINTEXT_TLS);
    const struct pop3_instance *p = &c->pop3[0];
    CU_ASSERT_STRING_EQUAL(p->common.name, "main");
    CU_ASSERT_TRUE(p->common.nlisten == 1 && strcmp(p->common.listen[0].host, "127.0.0.1") == 0 && p->common.listen[0].port == 2110);
    CU_ASSERT_EQUAL(p->common.tls, TLS_STARTTLS);
    config_free(c);
}

/* Read the sample; with uncomment, turn every "# key = value" line (a documented
 * default) except hostname's example into a live setting. */
static char *read_sample(bool uncomment)
{
    FILE *f = fopen(sample_path(), "r");
    CU_ASSERT_FATAL(f != NULL);
    size_t cap = 65536, used = 0;
    char *out = calloc(1, cap), line[1024];
    CU_ASSERT_FATAL(out != NULL);
    while (fgets(line, sizeof(line), f)) {
        const char *l = line;
        if (uncomment && strncmp(line, "# ", 2) == 0) {
            const char *p = line + 2;
            while ((*p >= 'a' && *p <= 'z') || *p == '_')
                p++;
            if (p > line + 2 && strncmp(p, " =", 2) == 0 && strncmp(line + 2, "hostname", 8) != 0)
                l = line + 2;
        }
        size_t n = strlen(l);
        CU_ASSERT_FATAL(used + n < cap);
        memcpy(out + used, l, n + 1);
        used += n;
    }
    CU_ASSERT(fclose(f) == 0);
    return out;
}

static void test_sample_documents_every_key(void)
{
    static const char *keys[] = {
        "hostname", "domain", "domain_aliases", "lan", "secure_networks", "data_dir", "run_as_user", "tls_cert",
        "tls_key", "pop_before_smtp_window", "auth_fail_limit", "auth_fail_window", "auth_lockout",
        "max_message_size", "max_hops", "relayhost", "queue_retry", "queue_lifetime", "listen", "tls", "auth_mechanisms",
        "plaintext_auth", "require_auth", "relay", "relay_pop_before_smtp", "relay_outside_lan",
        "relay_nonlocal_senders", "relay_local_senders", "always_relay_from", "always_relay_to", "allow_clients",
        "deny_clients", "reject_local_spoof", "sender_login_match", "allow_open_relay", "max_recipients",
        "greylist", "greylist_delay", "greylist_window", "greylist_keep",
        "dnsbl", "dnswl", "content_filter", "content_filter_fail", "content_filter_timeout",
        "auth_source", "pam_service", "system_relay_group", "auth_fixed_user", "dns_servers",
        "dns_timeout", "queue_concurrency", "queue_destination_concurrency",
        "tls_ca_file", "mta_sts_policy", "mta_sts_max_age", "mta_sts_fetch_port",
        "max_connections", "max_connections_per_ip", "timeout",
        "metrics_textfile", "metrics_interval", "mail_dir", "node", "peers", "priority",
        "ack_policy",
    };
    char *text = read_sample(true);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char want[80], want2[80];
        snprintf(want, sizeof(want), "\n%s =", keys[i]);
        snprintf(want2, sizeof(want2), "\n# %s =", keys[i]);
        bool found = strstr(text, want) || strstr(text, want2);
        CU_ASSERT_TRUE(found);
        if (!found)
            fprintf(stderr, "\n  sample lacks '%s'\n", keys[i]);
    }
    free(text);
}

/* Everything the loader produced, as text (iplists by probing addresses). */
static void dump(const struct config *c, char *buf, size_t n)
{
    static const char *probes[] = { "127.0.0.1", "127.0.0.2", "::1", "10.0.0.1", "192.168.1.5", "2001:db8::1" };
    size_t u = 0;
#define OUT(...) (u += (size_t)snprintf(buf + u, u < n ? n - u : 0, __VA_ARGS__))
#define IPS(l) do { for (size_t q = 0; q < 6; q++) OUT("%d", match((l), probes[q])); OUT(";"); } while (0)
    OUT("%s|%s|%s|%s|%s|%s|%u|%u|%u|%u|%llu|%s:%d|%u|%u|%zu|", c->hostname, c->domain, c->data_dir, c->run_as_user,
        c->tls_cert, c->tls_key, c->pop_before_smtp_window, c->auth_fail_limit, c->auth_fail_window, c->auth_lockout,
        (unsigned long long)c->max_message_size, c->relayhost, c->relayhost_port, c->queue_retry, c->queue_lifetime,
        c->domain_aliases.n);
    OUT("metrics %s %u|", c->metrics_textfile, c->metrics_interval);
    IPS(c->lan);
    IPS(c->secure_networks);
    for (size_t i = 0; i < c->nroutes; i++)
        OUT("route %s %s %d|", c->routes[i].domain, c->routes[i].host, c->routes[i].port);
    for (size_t i = 0; i < c->nsmtp; i++) {
        const struct smtp_instance *s = &c->smtp[i];
        OUT("smtp %s %zu %d %u %d %d%d%d%d%d%d %zu %d%d%d %u %u %u %u|", s->common.name, s->common.nlisten, s->common.tls, s->common.auth_mechs,
            s->common.plaintext_auth, s->require_auth, s->relay, s->relay_pop_before_smtp, s->relay_outside_lan,
            s->relay_nonlocal_senders, s->relay_local_senders, s->always_relay_to.n, s->reject_local_spoof,
            s->sender_login_match, s->allow_open_relay, s->max_recipients, s->common.max_connections,
            s->common.max_connections_per_ip, s->common.timeout);
        IPS(s->always_relay_from);
        IPS(s->common.allow_clients);
        IPS(s->common.deny_clients);
    }
    for (size_t i = 0; i < c->npop3; i++) {
        const struct pop3_instance *p = &c->pop3[i];
        OUT("pop3 %s %zu %d %u %d %u %u %u|", p->common.name, p->common.nlisten, p->common.tls, p->common.auth_mechs, p->common.plaintext_auth,
            p->common.max_connections, p->common.max_connections_per_ip, p->common.timeout);
        IPS(p->common.allow_clients);
        IPS(p->common.deny_clients);
    }
#undef OUT
#undef IPS
}

static void test_sample_defaults_are_true(void)
{
    char err[512] = "", a[4096], b[4096];
    struct config *plain = config_load(sample_path(), err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    char *text = read_sample(true);
    struct config *live = config_load(write_conf("uncommented.conf", text), err, sizeof(err));
    free(text);
    if (!live)
        fprintf(stderr, "\n  uncommented sample: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(live);
    dump(plain, a, sizeof(a));
    dump(live, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_EQUAL(live->nroutes, 0);
    config_free(plain);
    config_free(live);
}

static int suite_init(void)
{
    return tu_tmpdir(scratch, sizeof scratch, "test_config_sample");
}

static int suite_clean(void)
{
    return tu_rmtree(scratch);
}

static CU_TestInfo tests[] = {
    { "sample loads", test_sample_loads },
    { "sample documents every key", test_sample_documents_every_key },
    { "sample defaults are the real defaults", test_sample_defaults_are_true },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "config sample", suite_init, suite_clean, NULL, NULL, tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
