/* test_config: the mailserver.conf loader (common/config.c, common/confval.c):
 * defaults, every value type, every error kind (file, line and key named),
 * instances, routes, local domains, mechanism names (mailserver.conf.sample has
 * its own test_config_sample). */
#include "cu.h"
#include "config.h"
#include "confval.h"
#include "ipmatch.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static char conf_path[64];

/* Write text to a fresh temporary file; returns its path (static buffer). */
static const char *write_conf(const char *text)
{
    if (conf_path[0])
        unlink(conf_path);
    snprintf(conf_path, sizeof(conf_path), "/tmp/test_config_XXXXXX");
    int fd = mkstemp(conf_path);
    CU_ASSERT_FATAL(fd >= 0);
    size_t len = strlen(text);
    CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
    CU_ASSERT_FATAL(close(fd) == 0);
    return conf_path;
}

static struct config *load_ok(const char *text)
{
    char err[512] = "";
    struct config *c = config_load(write_conf(text), err, sizeof(err));
    if (!c)
        fprintf(stderr, "\n  unexpected error: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

/* The text must be refused with "PATH:LINE: ..." naming KEY (if not NULL) and containing WHAT. */
static void load_err(const char *text, int line, const char *key, const char *what)
{
    char err[512] = "", want[128];
    const char *path = write_conf(text);
    struct config *c = config_load(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    config_free(c);
    if (line > 0)
        snprintf(want, sizeof(want), "%s:%d: ", path, line);
    else
        snprintf(want, sizeof(want), "%s: ", path);
    bool ok = strncmp(err, want, strlen(want)) == 0 && strstr(err, what) && !strchr(err, '\n');
    if (key) {
        char k[80];
        snprintf(k, sizeof(k), "key '%s': ", key);
        ok = ok && strstr(err, k);
    }
    CU_ASSERT_TRUE(ok);
    if (!ok)
        fprintf(stderr, "\n  want %s... key %s ... '%s'; got '%s'\n", want, key ? key : "-", what, err);
}

#define SRV "[server]\ndomain = example.test\n"

/* A [server] plus an [smtp t] instance with one extra key line. */
static struct config *smtp_with(const char *line)
{
    char text[1024];
    snprintf(text, sizeof(text), SRV "tls_cert = /c\ntls_key = /k\n[smtp t]\nlisten = 127.0.0.1:25\n%s\n", line);
    return load_ok(text);
}

static void smtp_err(const char *line, const char *key, const char *what)
{
    char text[1024];
    snprintf(text, sizeof(text), SRV "tls_cert = /c\ntls_key = /k\n[smtp t]\nlisten = 127.0.0.1:25\n%s\n", line);
    load_err(text, 7, key, what);
}

static void server_err(const char *line, const char *key, const char *what)
{
    char text[1024];
    snprintf(text, sizeof(text), SRV "%s\n", line);
    load_err(text, 3, key, what);
}

static bool match(const struct iplist *l, const char *addr)
{
    struct ipaddr ip;
    CU_ASSERT_FATAL(ipaddr_parse(addr, &ip) == 0);
    return iplist_match(l, &ip);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_server_defaults(void)
{
    struct config *c = load_ok("[server]\ndomain = Example.TEST.\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char host[256] = "";
    CU_ASSERT_EQUAL(gethostname(host, sizeof(host)), 0);
    CU_ASSERT_STRING_EQUAL(c->hostname, host);
    CU_ASSERT_STRING_EQUAL(c->domain, "example.test");
    CU_ASSERT_EQUAL(c->domain_aliases.n, 0);
    CU_ASSERT_TRUE(match(c->lan, "127.0.0.1"));
    CU_ASSERT_TRUE(match(c->lan, "::1"));
    CU_ASSERT_FALSE(match(c->lan, "127.0.0.2"));
    CU_ASSERT_TRUE(match(c->secure_networks, "127.0.0.2"));
    CU_ASSERT_TRUE(match(c->secure_networks, "::1"));
    CU_ASSERT_FALSE(match(c->secure_networks, "10.0.0.1"));
    CU_ASSERT_STRING_EQUAL(c->data_dir, "/var/lib/mailserver");
    CU_ASSERT_STRING_EQUAL(c->run_as_user, "mail");
    CU_ASSERT_STRING_EQUAL(c->tls_cert, "");
    CU_ASSERT_STRING_EQUAL(c->tls_key, "");
    CU_ASSERT_EQUAL(c->pop_before_smtp_window, 300);
    CU_ASSERT_EQUAL(c->auth_fail_limit, 5);
    CU_ASSERT_EQUAL(c->auth_fail_window, 900);
    CU_ASSERT_EQUAL(c->auth_lockout, 900);
    CU_ASSERT_EQUAL(c->max_message_size, 25ull * 1024 * 1024);
    CU_ASSERT_EQUAL(c->max_hops, 50);
    CU_ASSERT_STRING_EQUAL(c->relayhost, "");
    CU_ASSERT_EQUAL(c->queue_retry, 300);
    CU_ASSERT_EQUAL(c->queue_lifetime, 5 * 86400);
    CU_ASSERT_EQUAL(c->queue_concurrency, 20);
    CU_ASSERT_EQUAL(c->queue_destination_concurrency, 5);
    CU_ASSERT_EQUAL(c->nroutes, 0);
    CU_ASSERT_EQUAL(c->nsmtp, 0);
    CU_ASSERT_EQUAL(c->npop3, 0);
    CU_ASSERT_STRING_EQUAL(c->path, conf_path);
    config_free(c);
}

/* The defaults every kind shares (struct instance_common), with its own timeout. */
static void check_common_defaults(const struct instance_common *ic, const char *name, int line,
                                  const char *host, int port, unsigned timeout)
{
    CU_ASSERT_STRING_EQUAL(ic->name, name);
    CU_ASSERT_EQUAL(ic->line, line);
    CU_ASSERT_EQUAL_FATAL(ic->nlisten, 1);
    CU_ASSERT_STRING_EQUAL(ic->listen[0].host, host);
    CU_ASSERT_EQUAL(ic->listen[0].port, port);
    CU_ASSERT_EQUAL(ic->tls, TLS_OFF);
    CU_ASSERT_EQUAL(ic->auth_mechs, MECH_ALL);
    CU_ASSERT_EQUAL(ic->plaintext_auth, PLAINTEXT_TLS);
    CU_ASSERT_TRUE(iplist_empty(ic->allow_clients) && ic->allow_clients);
    CU_ASSERT_TRUE(iplist_empty(ic->deny_clients) && ic->deny_clients);
    CU_ASSERT_EQUAL(ic->max_connections, 500);
    CU_ASSERT_EQUAL(ic->max_connections_per_ip, 20);
    CU_ASSERT_EQUAL(ic->timeout, timeout);
    CU_ASSERT_FALSE(ic->allow_clients_set);
}

static void test_instance_defaults(void)
{
    struct config *c = load_ok(SRV "[smtp a]\nlisten = 0.0.0.0:25\n[pop3 b]\nlisten = [::]:110\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(c->nsmtp, 1);
    CU_ASSERT_EQUAL_FATAL(c->npop3, 1);
    const struct smtp_instance *s = &c->smtp[0];
    check_common_defaults(&s->common, "a", 3, "0.0.0.0", 25, 300);
    CU_ASSERT_FALSE(s->require_auth);
    CU_ASSERT_TRUE(s->relay);
    CU_ASSERT_FALSE(s->relay_pop_before_smtp);
    CU_ASSERT_FALSE(s->relay_outside_lan);
    CU_ASSERT_TRUE(s->relay_nonlocal_senders);
    CU_ASSERT_FALSE(s->relay_local_senders);
    CU_ASSERT_PTR_NOT_NULL(s->always_relay_from);
    CU_ASSERT_TRUE(iplist_empty(s->always_relay_from));
    CU_ASSERT_EQUAL(s->always_relay_to.n, 0);
    CU_ASSERT_TRUE(s->reject_local_spoof);
    CU_ASSERT_FALSE(s->sender_login_match);
    CU_ASSERT_FALSE(s->allow_open_relay);
    CU_ASSERT_EQUAL(s->max_recipients, 100);
    CU_ASSERT_FALSE(s->always_relay_from_set);
    check_common_defaults(&c->pop3[0].common, "b", 5, "::", 110, 600);
    config_free(c);
}

/* ---- value types ----------------------------------------------------------- */

static void test_bools(void)
{
    const char *t[] = { "yes", "YES", "true", "True", "on", "ON" }, *f[] = { "no", "No", "false", "FALSE", "off", "Off" };
    for (int i = 0; i < 6; i++) {
        char line[64];
        snprintf(line, sizeof(line), "require_auth = %s", t[i]);
        struct config *c = smtp_with(line);
        CU_ASSERT_TRUE(c && c->smtp[0].require_auth);
        config_free(c);
        snprintf(line, sizeof(line), "relay = %s", f[i]);
        c = smtp_with(line);
        CU_ASSERT_TRUE(c && !c->smtp[0].relay);
        config_free(c);
    }
    smtp_err("relay = maybe", "relay", "expected yes/no");
    smtp_err("relay = 1", "relay", "'1' is not a boolean");
    smtp_err("relay =", "relay", "expected yes/no");
    smtp_err("allow_open_relay = sure", "allow_open_relay", "expected yes/no");
    struct config *c = smtp_with("allow_open_relay = yes");
    CU_ASSERT_TRUE(c && c->smtp[0].allow_open_relay);
    config_free(c);
}

static void test_durations(void)
{
    static const struct { const char *v; unsigned secs; } ok[] = {
        { "30s", 30 }, { "5m", 300 }, { "2h", 7200 }, { "5d", 432000 }, { "1S", 1 }, { "0s", 0 }, { "10M", 600 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), SRV "pop_before_smtp_window = %s\n", ok[i].v);
        struct config *c = load_ok(text);
        CU_ASSERT_TRUE(c && c->pop_before_smtp_window == ok[i].secs);
        config_free(c);
    }
    server_err("queue_retry = 300", "queue_retry", "bare number");
    server_err("queue_retry = 300", "queue_retry", "expected a number with s, m, h or d");
    server_err("queue_retry = 5x", "queue_retry", "'5x' is not a duration");
    server_err("queue_retry = m", "queue_retry", "not a duration");
    server_err("queue_retry = -5m", "queue_retry", "not a duration");
    server_err("queue_retry = 5 m", "queue_retry", "not a duration");
    server_err("queue_retry = 1h30m", "queue_retry", "not a duration");
    server_err("queue_retry =", "queue_retry", "not a duration");
    server_err("queue_retry = 0s", "queue_retry", "must not be zero");
    server_err("queue_lifetime = 99999999999d", "queue_lifetime", "not a duration");
    server_err("queue_concurrency = 0", "queue_concurrency", "not a count");
    server_err("queue_destination_concurrency = x", "queue_destination_concurrency",
               "not a count");
    server_err("auth_lockout = 50000000d", "auth_lockout", "not a duration");   /* > UINT_MAX seconds */
    smtp_err("timeout = 0m", "timeout", "must not be zero");
    struct config *c = smtp_with("timeout = 1h");
    CU_ASSERT_TRUE(c && c->smtp[0].common.timeout == 3600);
    config_free(c);
}

static void test_sizes(void)
{
    static const struct { const char *v; uint64_t n; } ok[] = {
        { "1000", 1000 }, { "64K", 65536 }, { "64k", 65536 }, { "25M", 26214400 }, { "1G", 1073741824ull },
        { "3g", 3ull << 30 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), SRV "max_message_size = %s\n", ok[i].v);
        struct config *c = load_ok(text);
        CU_ASSERT_TRUE(c && c->max_message_size == ok[i].n);
        config_free(c);
    }
    const char *bad[] = { "0", "25MB", "M", "-1", "", "1.5M", "25 M", "99999999999999999999", "99999999999G" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[100];
        snprintf(line, sizeof(line), "max_message_size = %s", bad[i]);
        server_err(line, "max_message_size", "expected a positive number of bytes");
    }
}

static void test_counts(void)
{
    struct config *c = smtp_with("max_recipients = 7");
    CU_ASSERT_TRUE(c && c->smtp[0].max_recipients == 7);
    config_free(c);
    smtp_err("max_recipients = 0", "max_recipients", "expected a whole number");
    smtp_err("max_connections = -1", "max_connections", "expected a whole number");
    smtp_err("max_connections_per_ip = 1e3", "max_connections_per_ip", "'1e3'");
    smtp_err("max_connections = 100000001", "max_connections", "expected a whole number");
    server_err("auth_fail_limit = five", "auth_fail_limit", "expected a whole number");
    c = load_ok(SRV "auth_fail_limit = 3\n");
    CU_ASSERT_TRUE(c && c->auth_fail_limit == 3);
    config_free(c);
    c = load_ok(SRV "max_hops = 5\n");
    CU_ASSERT_TRUE(c && c->max_hops == 5);
    config_free(c);
    server_err("max_hops = 0", "max_hops", "expected a whole number");
}

static void test_listen(void)
{
    struct config *c = load_ok(SRV "[smtp x]\nlisten = 0.0.0.0:25, [::]:25 127.0.0.1:2525,[2001:db8::1]:587\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(c->smtp[0].common.nlisten, 4);
    const struct listen_addr *l = c->smtp[0].common.listen;
    CU_ASSERT_TRUE(strcmp(l[0].host, "0.0.0.0") == 0 && l[0].port == 25);
    CU_ASSERT_TRUE(strcmp(l[1].host, "::") == 0 && l[1].port == 25);
    CU_ASSERT_TRUE(strcmp(l[2].host, "127.0.0.1") == 0 && l[2].port == 2525);
    CU_ASSERT_TRUE(strcmp(l[3].host, "2001:db8::1") == 0 && l[3].port == 587);
    config_free(c);
    const char *bad[] = { "127.0.0.1", "127.0.0.1:0", ":25", "127.0.0.1:65536", "[::1]25", "localhost:25",
                          "[1.2.3.4]:25", "127.0.0.1:x", "[::1]:", "256.0.0.1:25", "[::1:25", "127.0.0.1:-1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), SRV "[smtp x]\nlisten = %s\n", bad[i]);
        load_err(text, 4, "listen", "expected ADDRESS:PORT");
    }
    load_err(SRV "[smtp x]\nlisten = ::1:25\n", 4, "listen", "needs brackets");
    load_err(SRV "[pop3 x]\nlisten =\n", 4, "listen", "empty");
    c = load_ok(SRV "[smtp x]\nlisten = 127.0.0.1:65535\n");
    CU_ASSERT_TRUE(c && c->smtp[0].common.listen[0].port == 65535);
    config_free(c);
}

static void test_tls_modes(void)
{
    static const struct { const char *v; enum tls_mode m; } smtp[] = {
        { "off", TLS_OFF }, { "starttls", TLS_STARTTLS }, { "required", TLS_REQUIRED }, { "implicit", TLS_IMPLICIT },
        { "STARTTLS", TLS_STARTTLS },
    }, pop3[] = {
        { "off", TLS_OFF }, { "stls", TLS_STARTTLS }, { "required", TLS_REQUIRED }, { "implicit", TLS_IMPLICIT },
    };
    char text[300];
    for (size_t i = 0; i < sizeof(smtp) / sizeof(smtp[0]); i++) {
        snprintf(text, sizeof(text), "tls = %s", smtp[i].v);
        struct config *c = smtp_with(text);
        CU_ASSERT_TRUE(c && c->smtp[0].common.tls == smtp[i].m);
        config_free(c);
    }
    for (size_t i = 0; i < sizeof(pop3) / sizeof(pop3[0]); i++) {
        snprintf(text, sizeof(text), SRV "tls_cert = /c\ntls_key = /k\n[pop3 p]\nlisten = 127.0.0.1:110\ntls = %s\n",
                 pop3[i].v);
        struct config *c = load_ok(text);
        CU_ASSERT_TRUE(c && c->pop3[0].common.tls == pop3[i].m);
        config_free(c);
    }
    smtp_err("tls = stls", "tls", "expected off, starttls, required or implicit");
    smtp_err("tls = yes", "tls", "'yes' is not a TLS mode");
    load_err(SRV "tls_cert = /c\ntls_key = /k\n[pop3 p]\nlisten = 127.0.0.1:110\ntls = starttls\n", 7, "tls",
             "expected off, stls, required or implicit");
}

static void test_mechs_and_plaintext(void)
{
    struct config *c = smtp_with("auth_mechanisms = plain, Cram-MD5");
    CU_ASSERT_TRUE(c && c->smtp[0].common.auth_mechs == (MECH_PLAIN | MECH_CRAM_MD5));
    config_free(c);
    c = smtp_with("auth_mechanisms =");
    CU_ASSERT_TRUE(c && c->smtp[0].common.auth_mechs == 0);
    config_free(c);
    c = smtp_with("auth_mechanisms = scram-sha-256 LOGIN PLAIN CRAM-MD5 login");
    CU_ASSERT_TRUE(c && c->smtp[0].common.auth_mechs == MECH_ALL);
    config_free(c);
    smtp_err("auth_mechanisms = PLAIN DIGEST-MD5", "auth_mechanisms", "unknown mechanism 'DIGEST-MD5'");
    smtp_err("auth_mechanisms = SCRAM-SHA-1", "auth_mechanisms", "expected any of SCRAM-SHA-256");
    load_err(SRV "[pop3 p]\nlisten = 127.0.0.1:110\nauth_mechanisms = GSSAPI\n", 5, "auth_mechanisms", "'GSSAPI'");
    c = smtp_with("plaintext_auth = always");
    CU_ASSERT_TRUE(c && c->smtp[0].common.plaintext_auth == PLAINTEXT_ALWAYS);
    config_free(c);
    c = smtp_with("plaintext_auth = TLS");
    CU_ASSERT_TRUE(c && c->smtp[0].common.plaintext_auth == PLAINTEXT_TLS);
    config_free(c);
    smtp_err("plaintext_auth = never", "plaintext_auth", "expected tls or always");
}

/* The keys whose value is one of a few words (cv_word): each word in any case, and the
 * list of them in the error. */
static void test_word_choices(void)
{
    struct config *c = smtp_with("content_filter_fail = TempFail");
    CU_ASSERT_TRUE(c && c->smtp[0].cf_tempfail);
    config_free(c);
    c = smtp_with("content_filter_fail = accept");
    CU_ASSERT_TRUE(c && !c->smtp[0].cf_tempfail);
    config_free(c);
    smtp_err("content_filter_fail = drop", "content_filter_fail",
             "'drop' is not allowed (expected accept or tempfail)");
    c = smtp_with("spf = reject\ndmarc = Tag");
    CU_ASSERT_TRUE(c && c->smtp[0].spf == AUTHRES_ACT && c->smtp[0].dmarc == AUTHRES_TAG);
    config_free(c);
    smtp_err("dmarc = reject", "dmarc", "'reject' is not allowed (expected off, tag or enforce)");
    const char *sts[] = { "off", "none", "testing", "ENFORCE" };
    for (int i = 0; i < 4; i++) {
        char text[256];
        snprintf(text, sizeof text, SRV "mta_sts_policy = %s\n", sts[i]);
        c = load_ok(text);
        CU_ASSERT_TRUE(c && c->mta_sts_policy == (enum mta_sts_publish)i);
        config_free(c);
    }
    server_err("mta_sts_policy = on", "mta_sts_policy",
               "'on' is not allowed (expected off, none, testing or enforce)");
    static const char *const one[] = { "only" };
    char why[128];
    int i = -1;
    CU_ASSERT_EQUAL(cv_word("ONLY", one, 1, &i, why, sizeof why), 0);
    CU_ASSERT_EQUAL(i, 0);
    CU_ASSERT_EQUAL(cv_word("other", one, 1, &i, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "'other' is not allowed (expected only)");
}

static void test_relayhost(void)
{
    static const struct { const char *v, *host; int port; } ok[] = {
        { "smtp.example.net", "smtp.example.net", 25 }, { "smtp.example.net:587", "smtp.example.net", 587 },
        { "[smtp.example.net]:2525", "smtp.example.net", 2525 }, { "[smtp.example.net]", "smtp.example.net", 25 },
        { "[2001:db8::1]:26", "2001:db8::1", 26 }, { "[2001:db8::1]", "2001:db8::1", 25 },
        { "192.0.2.1:26", "192.0.2.1", 26 }, { "192.0.2.1", "192.0.2.1", 25 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), SRV "relayhost = %s\n", ok[i].v);
        struct config *c = load_ok(text);
        CU_ASSERT_TRUE(c && strcmp(c->relayhost, ok[i].host) == 0 && c->relayhost_port == ok[i].port);
        if (c && (strcmp(c->relayhost, ok[i].host) != 0 || c->relayhost_port != ok[i].port))
            fprintf(stderr, "\n  '%s' gave %s %d\n", ok[i].v, c->relayhost, c->relayhost_port);
        config_free(c);
    }
    server_err("relayhost = 2001:db8::1:25", "relayhost", "needs brackets");
    const char *bad[] = { "host:0", "host:abc", "[host", "bad host!", "host:", "[host]x", "host:70000", "a..b" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[100];
        snprintf(line, sizeof(line), "relayhost = %s", bad[i]);
        server_err(line, "relayhost", "expected HOST, HOST:PORT or [HOST]:PORT");
    }
}

static void test_routes(void)
{
    struct config *c = load_ok(SRV "[routes]\nExample.NET. = 127.0.0.1:2626\nother.org = mx.other.org\n"
                               "v6.test = [::1]:2727\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(c->nroutes, 3);
    CU_ASSERT_STRING_EQUAL(c->routes[0].domain, "example.net");
    const struct route *r = config_route(c, "EXAMPLE.net.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->host, "127.0.0.1");
    CU_ASSERT_EQUAL(r->port, 2626);
    r = config_route(c, "other.org");
    CU_ASSERT_TRUE(r && strcmp(r->host, "mx.other.org") == 0 && r->port == 25);
    r = config_route(c, "v6.test");
    CU_ASSERT_TRUE(r && strcmp(r->host, "::1") == 0 && r->port == 2727);
    CU_ASSERT_PTR_NULL(config_route(c, "sub.example.net"));
    CU_ASSERT_PTR_NULL(config_route(c, "example.com"));
    CU_ASSERT_PTR_NULL(config_route(c, ""));
    CU_ASSERT_PTR_NULL(config_route(c, NULL));
    config_free(c);
    load_err(SRV "[routes]\nexample.net = a:1\nEXAMPLE.NET = b:2\n", 5, "EXAMPLE.NET", "given twice");
    load_err(SRV "[routes]\nexample.net = a:0\n", 4, "example.net", "expected HOST");
    load_err(SRV "[routes]\nexample.net =\n", 4, "example.net", "empty");
    load_err(SRV "[routes]\nexa mple.net = a\n", 4, "exa mple.net", "not a domain");
}

static void test_domains(void)
{
    struct config *c = load_ok("[server]\ndomain = Example.Test\ndomain_aliases = Example.ORG., other.test [192.0.2.1]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(c->domain_aliases.n, 3);
    CU_ASSERT_STRING_EQUAL(c->domain_aliases.v[0], "example.org");
    CU_ASSERT_STRING_EQUAL(c->domain_aliases.v[1], "other.test");
    CU_ASSERT_TRUE(config_is_local_domain(c, "example.test"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "EXAMPLE.TEST"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "example.test."));
    CU_ASSERT_TRUE(config_is_local_domain(c, "Example.Org"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "other.test."));
    CU_ASSERT_TRUE(config_is_local_domain(c, "[192.0.2.1]"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "[192.0.2.2]"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "sub.example.test"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "example.test.."));
    CU_ASSERT_FALSE(config_is_local_domain(c, "xample.test"));
    CU_ASSERT_FALSE(config_is_local_domain(c, ""));
    CU_ASSERT_FALSE(config_is_local_domain(c, "."));
    CU_ASSERT_FALSE(config_is_local_domain(c, NULL));
    config_free(c);
    /* literals compare by address, whatever the text form on either side */
    c = load_ok("[server]\ndomain = example.test\n"
                "domain_aliases = [192.0.2.1] [IPv6:2001:DB8::1] [198.51.100.7]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(config_is_local_domain(c, "[192.0.2.1]"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "[IPv6:::ffff:192.0.2.1]"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "[ipv6:2001:db8:0::1]"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "[IPv6:2001:0db8:0000:0000:0000:0000:0000:0001]"));
    CU_ASSERT_TRUE(config_is_local_domain(c, "[IPv6:::FFFF:198.51.100.7]"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "[IPv6:2001:db8::2]"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "[2001:db8::1]"));     /* no IPv6: tag */
    CU_ASSERT_FALSE(config_is_local_domain(c, "[IPv6:192.0.2.1]"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "192.0.2.1"));         /* not a literal */
    CU_ASSERT_FALSE(config_is_local_domain(c, "[192.0.2.1"));
    CU_ASSERT_FALSE(config_is_local_domain(c, "example.test.."));
    config_free(c);
    load_err("[server]\ndomain = bad_domain.test\n", 2, "domain", "not a domain");
    load_err("[server]\ndomain = a..b\n", 2, "domain", "not a domain");
    load_err("[server]\ndomain = example.test..\n", 2, "domain", "not a domain");
    load_err("[server]\ndomain =\n", 2, "domain", "not a domain");
    load_err("[server]\ndomain = .example.test\n", 2, "domain", "not a domain");
    load_err("[server]\ndomain = two words\n", 2, "domain", "not a domain");
    server_err("domain_aliases = ok.test, b@d.test", "domain_aliases", "'b@d.test'");
    server_err("hostname = bad host", "hostname", "not a host name");
    c = load_ok(SRV "hostname = mail.example.test\n");
    CU_ASSERT_TRUE(c && strcmp(c->hostname, "mail.example.test") == 0);
    config_free(c);
}

static void test_relay_to(void)
{
    struct config *c = smtp_with("always_relay_to = Example.NET, *.Example.org. partner.test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const struct strlist *l = &c->smtp[0].always_relay_to;
    CU_ASSERT_EQUAL_FATAL(l->n, 3);
    CU_ASSERT_STRING_EQUAL(l->v[0], "example.net");
    CU_ASSERT_STRING_EQUAL(l->v[1], "*.example.org");
    CU_ASSERT_STRING_EQUAL(l->v[2], "partner.test");
    config_free(c);
    smtp_err("always_relay_to = *example.org", "always_relay_to", "expected example.net or *.example.net");
    smtp_err("always_relay_to = ok.test a..b", "always_relay_to", "'a..b'");
    smtp_err("always_relay_to = *.*.example.org", "always_relay_to", "'*.*.example.org'");
}

static void test_iplist_keys(void)
{
    struct config *c = load_ok(SRV "lan = 192.168.1.*, 10.0.0.0/8\nsecure_networks = 192.168.1.10-192.168.1.20\n"
                               "[smtp a]\nlisten = 127.0.0.1:25\nalways_relay_from = 198.51.100.7\n"
                               "allow_clients =\ndeny_clients = 203.0.113.0/24\n[smtp b]\nlisten = 127.0.0.1:26\n"
                               "[pop3 p]\nlisten = 127.0.0.1:110\nallow_clients = ::1\ndeny_clients = 10.*\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(match(c->lan, "192.168.1.77"));
    CU_ASSERT_TRUE(match(c->lan, "10.3.2.1"));
    CU_ASSERT_FALSE(match(c->lan, "127.0.0.1"));   /* replaced, not added to the default */
    CU_ASSERT_TRUE(match(c->secure_networks, "192.168.1.15"));
    CU_ASSERT_FALSE(match(c->secure_networks, "192.168.1.21"));
    const struct smtp_instance *a = &c->smtp[0], *b = &c->smtp[1];
    CU_ASSERT_TRUE(match(a->always_relay_from, "198.51.100.7"));
    CU_ASSERT_TRUE(a->always_relay_from_set);
    CU_ASSERT_TRUE(a->common.allow_clients_set);   /* set, even though empty */
    CU_ASSERT_TRUE(iplist_empty(a->common.allow_clients));
    CU_ASSERT_TRUE(match(a->common.deny_clients, "203.0.113.9"));
    CU_ASSERT_FALSE(b->always_relay_from_set);
    CU_ASSERT_FALSE(b->common.allow_clients_set);
    CU_ASSERT_TRUE(match(c->pop3[0].common.allow_clients, "::1"));
    CU_ASSERT_TRUE(match(c->pop3[0].common.deny_clients, "10.1.1.1"));
    config_free(c);
    server_err("lan = 10.0.0.0/8, 1.2.3", "lan", "bad IP pattern '1.2.3'");
    server_err("secure_networks = 1.2.3.4/33", "secure_networks", "'1.2.3.4/33'");
    smtp_err("always_relay_from = 10.0.0.9-10.0.0.1", "always_relay_from", "reversed");
    smtp_err("deny_clients = 192.*.1.1", "deny_clients", "'192.*.1.1'");
    load_err(SRV "[pop3 p]\nlisten = 127.0.0.1:110\nallow_clients = 2001:db8::/129\n", 5, "allow_clients",
             "'2001:db8::/129'");
}

static void test_multi_instance(void)
{
    struct config *c;
    c = load_ok(SRV "tls_cert = /c\ntls_key = /k\n"
                "[smtp mx]\nlisten = 0.0.0.0:25\nrelay = no\n"
                "[pop3 plain]\nlisten = 127.0.0.1:110\n"
                "[smtp submission]\nlisten = 0.0.0.0:587\nrequire_auth = yes\ntls = required\n"
                "[pop3 mx]\nlisten = 0.0.0.0:995\ntls = implicit\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(c->nsmtp, 2);
    CU_ASSERT_EQUAL_FATAL(c->npop3, 2);
    CU_ASSERT_STRING_EQUAL(c->smtp[0].common.name, "mx");
    CU_ASSERT_EQUAL(c->smtp[0].common.line, 5);
    CU_ASSERT_FALSE(c->smtp[0].relay);
    CU_ASSERT_FALSE(c->smtp[0].require_auth);
    CU_ASSERT_STRING_EQUAL(c->smtp[1].common.name, "submission");
    CU_ASSERT_EQUAL(c->smtp[1].common.line, 10);
    CU_ASSERT_TRUE(c->smtp[1].relay);
    CU_ASSERT_TRUE(c->smtp[1].require_auth);
    CU_ASSERT_EQUAL(c->smtp[1].common.tls, TLS_REQUIRED);
    CU_ASSERT_STRING_EQUAL(c->pop3[0].common.name, "plain");
    CU_ASSERT_EQUAL(c->pop3[0].common.tls, TLS_OFF);
    CU_ASSERT_STRING_EQUAL(c->pop3[1].common.name, "mx");   /* same name, other kind: allowed */
    CU_ASSERT_EQUAL(c->pop3[1].common.tls, TLS_IMPLICIT);
    CU_ASSERT_EQUAL(c->pop3[1].common.listen[0].port, 995);
    config_free(c);
}

/* ---- structural errors ------------------------------------------------------ */

static void test_section_errors(void)
{
    load_err(SRV "[foo]\n", 3, NULL, "unknown section '[foo]'");
    load_err(SRV "[imap main]\n", 3, NULL, "unknown section '[imap main]'");
    load_err(SRV "[smtp]\nlisten = 127.0.0.1:25\n", 3, NULL, "expected [smtp NAME]");
    load_err(SRV "[pop3 a/b]\n", 3, NULL, "expected [pop3 NAME]");
    load_err(SRV "[server x]\n", 3, NULL, "takes no name");
    load_err(SRV "[routes]\n[routes]\n", 4, NULL, "duplicate section '[routes]' (first at line 3)");
    load_err(SRV "\n[server]\n", 4, NULL, "duplicate section '[server]'");
    load_err(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[smtp a]\nlisten = 127.0.0.1:26\n", 5, NULL,
             "duplicate instance name '[smtp a]' (first at line 3)");
    load_err(SRV "[smtp a\n", 3, NULL, "bad section header");
    load_err("domain = example.test\n", 1, "domain", "outside any section");
    load_err(SRV "just some words\n", 3, NULL, "expected 'key = value'");
    load_err(SRV " = value\n", 3, NULL, "without a key");
}

static void test_key_errors(void)
{
    server_err("colour = blue", "colour", "unknown in [server]");
    smtp_err("stls = yes", "stls", "unknown in [smtp t]");
    load_err(SRV "[pop3 p]\nlisten = 127.0.0.1:110\nrelay = yes\n", 5, "relay", "unknown in [pop3 p]");
    load_err(SRV "Domain = x.test\n", 3, "Domain", "unknown");   /* keys are case-sensitive */
    load_err(SRV "domain = other.test\n", 3, "domain", "given twice in [server] (first at line 2)");
    smtp_err("listen = 127.0.0.1:26", "listen", "given twice in [smtp t] (first at line 6)");
    server_err("data_dir =", "data_dir", "empty");
    server_err("run_as_user =", "run_as_user", "empty");
}

static void test_required(void)
{
    load_err("[server]\nhostname = mx.test\n", 1, "domain", "missing in [server]");
    load_err("[smtp a]\nlisten = 127.0.0.1:25\n", 0, "domain", "missing in [server]");
    load_err("# nothing\n", 0, "domain", "missing");
    load_err(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[smtp b]\ntimeout = 1m\n", 5, "listen",
             "missing in [smtp b]");
    load_err(SRV "[pop3 p]\n", 3, "listen", "missing in [pop3 p]");
    /* TLS needs both files; the error points at the tls line */
    load_err(SRV "[smtp a]\nlisten = 127.0.0.1:25\ntls = starttls\n", 5, "tls", "tls_cert or tls_key");
    load_err(SRV "tls_cert = /c\n[smtp a]\nlisten = 127.0.0.1:25\n\ntls = implicit\n", 7, "tls", "tls_key");
    load_err(SRV "tls_key = /k\n[pop3 a]\nlisten = 127.0.0.1:110\ntls = stls\n", 6, "tls", "[pop3 a]");
    struct config *c = load_ok(SRV "[smtp a]\nlisten = 127.0.0.1:25\ntls = off\n");
    config_free(c);
    /* the files may come after the instance */
    c = load_ok("[smtp a]\nlisten = 127.0.0.1:25\ntls = required\n[server]\ndomain = x.test\ntls_cert = /c\n"
                "tls_key = /k\n");
    CU_ASSERT_TRUE(c && c->smtp[0].common.tls == TLS_REQUIRED);
    config_free(c);
    /* one address twice can never be bound */
    load_err(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[pop3 b]\nlisten = 127.0.0.1:110 127.0.0.1:25\n", 6, "listen",
             "127.0.0.1:25 is used twice");
    load_err(SRV "[smtp a]\nlisten = [::1]:25 [::1]:25\n", 4, "listen", "used twice");
}

static void test_file_errors(void)
{
    char err[256] = "";
    CU_ASSERT_PTR_NULL(config_load("/nonexistent/mailserver.conf", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/mailserver.conf: cannot open"));
    char big[6000];
    memset(big, 'a', sizeof(big));
    memcpy(big, SRV "x = ", strlen(SRV "x = "));
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    load_err(big, 3, NULL, "line too long");
    /* a tiny error buffer is truncated, not overflowed */
    char small[12];
    memset(small, 'x', sizeof(small));
    CU_ASSERT_PTR_NULL(config_load(write_conf("[nope]\n"), small, sizeof(small)));
    CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
}

static void test_comments(void)
{
    struct config *c = load_ok("# a comment\n   # indented comment\n[server]   # trailing\n"
                               "domain = example.test # trailing comment\n"
                               "tls_cert = /etc/ssl/a#b.pem\n"
                               "tls_key =   /k.pem\t# tab then comment\n"
                               "\n\t\n"
                               "data_dir=/srv/mail\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->domain, "example.test");
    CU_ASSERT_STRING_EQUAL(c->tls_cert, "/etc/ssl/a#b.pem");
    CU_ASSERT_STRING_EQUAL(c->tls_key, "/k.pem");
    CU_ASSERT_STRING_EQUAL(c->data_dir, "/srv/mail");
    config_free(c);
}

static void test_default_path(void)
{
    char cwd[PATH_MAX], dir[] = "/tmp/test_config_dir_XXXXXX";
    CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    CU_ASSERT_FATAL(chdir(dir) == 0);
    CU_ASSERT_STRING_EQUAL(config_default_path(), "/etc/mailserver/mailserver.conf");
    FILE *f = fopen("mailserver.conf", "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fclose(f) == 0);
    CU_ASSERT_STRING_EQUAL(config_default_path(), "./mailserver.conf");
    CU_ASSERT(unlink("mailserver.conf") == 0);
    CU_ASSERT_FATAL(chdir(cwd) == 0);
    CU_ASSERT(rmdir(dir) == 0);
}

static void cleanup(void)
{
    if (conf_path[0])
        unlink(conf_path);
}

static CU_TestInfo tests[] = {
    { "server defaults", test_server_defaults },
    { "instance defaults", test_instance_defaults },
    { "booleans", test_bools },
    { "durations", test_durations },
    { "sizes", test_sizes },
    { "counts", test_counts },
    { "listen", test_listen },
    { "tls modes", test_tls_modes },
    { "mechanisms, plaintext_auth", test_mechs_and_plaintext },
    { "one-of-a-few-words keys", test_word_choices },
    { "relayhost", test_relayhost },
    { "routes", test_routes },
    { "domains, config_is_local_domain", test_domains },
    { "always_relay_to", test_relay_to },
    { "IP list keys", test_iplist_keys },
    { "several instances", test_multi_instance },
    { "section errors", test_section_errors },
    { "key errors", test_key_errors },
    { "required keys, TLS files, listen clash", test_required },
    { "file errors", test_file_errors },
    { "comments", test_comments },
    { "config_default_path", test_default_path },
    { "cleanup", cleanup },
    CU_TEST_INFO_NULL,
};

CU_MAIN("config", tests)
