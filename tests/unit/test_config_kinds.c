/* test_config_kinds: the tables of common/config_kinds.c drive the loader: every
 * kind's row is a [KIND NAME] section that takes the common keys and its own (and no
 * other kind's), with its STARTTLS word and timeout default; the generic view
 * (config_count, config_common, config_instance) is the typed arrays of struct
 * config; the sample documents every key of the tables. A new kind is one row, and
 * these tests cover it without a change. */
#include "cu.h"
#include "config.h"
#include "config_kinds.h"
#include "confval.h"
#include "tutil.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define SRV "[server]\ndomain = example.test\ntls_cert = /c\ntls_key = /k\n"
#define SRV_LINES 4

static char scratch[256];

static const char *write_conf(const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/kinds.conf", scratch);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(text, 1, strlen(text), f) == strlen(text));
    CU_ASSERT_FATAL(fclose(f) == 0);
    return path;
}

static struct config *load_ok(const char *text)
{
    char err[512] = "";
    struct config *c = config_load(write_conf(text), err, sizeof err);
    if (!c)
        fprintf(stderr, "\n  unexpected error: %s\n  in: %s\n", err, text);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

/* Refused with an error at LINE containing WHAT. */
static void load_err(const char *text, int line, const char *what)
{
    char err[512] = "", want[600];
    const char *path = write_conf(text);
    struct config *c = config_load(path, err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    config_free(c);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    bool ok = strncmp(err, want, strlen(want)) == 0 && strstr(err, what);
    CU_ASSERT_TRUE(ok);
    if (!ok)
        fprintf(stderr, "\n  want '%s...%s', got '%s'\n", want, what, err);
}

static bool has_key(const struct keydef *keys, const char *name)
{
    for (const struct keydef *k = keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return true;
    return false;
}

/* A valid value for key k of kind kd: its default, or what the loader takes for none. */
static const char *value_for(const struct keydef *k, const struct config_kind *kd, char *buf, size_t n)
{
    if (k->def)
        return k->def;
    if (k->type == V_LISTEN)
        return "127.0.0.1:2600";
    if (k->type == V_MECHS)
        return mech_names(MECH_ALL, ' ', buf, n);
    if (k->type == V_TIMEOUT)
        return kd->timeout;
    CU_FAIL("a key without a default the test does not know");
    return "";
}

/* [KIND x] with a listen line, then EXTRA. */
static void kind_text(char *buf, size_t n, const struct config_kind *kd, const char *extra)
{
    snprintf(buf, n, SRV "[%s x]\nlisten = 127.0.0.1:2500\n%s", kd->name, extra);
}

static void test_every_kind_is_a_section(void)
{
    char text[1024];
    for (enum inst_kind k = 0; k < KIND_COUNT; k++) {
        const struct config_kind *kd = &config_kinds[k];
        CU_ASSERT_PTR_EQUAL(config_kind_by_name(kd->name), kd);
        kind_text(text, sizeof text, kd, "");
        struct config *c = load_ok(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        for (enum inst_kind o = 0; o < KIND_COUNT; o++)
            CU_ASSERT_EQUAL(config_count(c, o), o == k ? 1u : 0u);
        const struct instance_common *ic = config_common(c, k, 0);
        CU_ASSERT_STRING_EQUAL(ic->name, "x");
        CU_ASSERT_EQUAL(ic->line, SRV_LINES + 1);
        CU_ASSERT_TRUE(ic->nlisten == 1 && ic->listen[0].port == 2500);
        CU_ASSERT_EQUAL(ic->auth_mechs, MECH_ALL);
        CU_ASSERT_PTR_NOT_NULL(ic->allow_clients);
        CU_ASSERT_PTR_NOT_NULL(ic->deny_clients);
        CU_ASSERT_PTR_EQUAL((const char *)ic - kd->common, config_instance(c, k, 0));
        config_free(c);
    }
    CU_ASSERT_PTR_NULL(config_kind_by_name("server"));
    CU_ASSERT_PTR_NULL(config_kind_by_name("imap"));
}

/* Every key of the common table and of the kind's own is taken once, with its
 * default, in one section; each given twice is refused at its second line. */
static void test_every_key_of_a_kind(void)
{
    char text[8192], extra[6000], buf[128];
    for (enum inst_kind k = 0; k < KIND_COUNT; k++) {
        const struct config_kind *kd = &config_kinds[k];
        const struct keydef *tables[] = { config_common_keys, kd->keys };
        size_t off = 0;
        extra[0] = '\0';
        for (size_t t = 0; t < 2; t++)
            for (const struct keydef *key = tables[t]; key->name; key++)
                if (key->type != V_LISTEN)
                    off += (size_t)snprintf(extra + off, sizeof extra - off, "%s = %s\n", key->name,
                                            value_for(key, kd, buf, sizeof buf));
        CU_ASSERT_FATAL(off < sizeof extra);
        kind_text(text, sizeof text, kd, extra);
        config_free(load_ok(text));
        for (size_t t = 0; t < 2; t++) {
            for (const struct keydef *key = tables[t]; key->name; key++) {
                char two[512], what[200];
                const char *v = value_for(key, kd, buf, sizeof buf);
                snprintf(two, sizeof two, "%s = %s\n%s = %s\n", key->name, v, key->name, v);
                kind_text(text, sizeof text, kd, two);
                snprintf(what, sizeof what, "key '%s': given twice in [%s x] (first at line %d)",
                         key->name, kd->name, SRV_LINES + (key->type == V_LISTEN ? 2 : 3));
                load_err(text, SRV_LINES + (key->type == V_LISTEN ? 3 : 4), what);
            }
        }
    }
}

/* Another kind's own keys, and the [server] keys, are unknown in a kind's section. */
static void test_other_keys_unknown(void)
{
    char text[1024], line[200], what[200];
    for (enum inst_kind k = 0; k < KIND_COUNT; k++) {
        const struct config_kind *kd = &config_kinds[k];
        snprintf(what, sizeof what, "unknown in [%s x]", kd->name);
        for (enum inst_kind o = 0; o < KIND_COUNT; o++) {
            for (const struct keydef *key = config_kinds[o].keys; o != k && key->name; key++) {
                if (has_key(kd->keys, key->name))
                    continue;
                snprintf(line, sizeof line, "%s = yes\n", key->name);
                kind_text(text, sizeof text, kd, line);
                load_err(text, SRV_LINES + 3, what);
            }
        }
        kind_text(text, sizeof text, kd, "domain = example.test\n");
        load_err(text, SRV_LINES + 3, what);
        snprintf(text, sizeof text, SRV "listen = 127.0.0.1:25\n");
        load_err(text, SRV_LINES + 1, "key 'listen': unknown in [server]");
    }
}

/* tls takes the kind's STARTTLS word (and no other kind's); timeout defaults to the kind's. */
static void test_kind_words_and_defaults(void)
{
    char text[1024], line[200], what[200];
    for (enum inst_kind k = 0; k < KIND_COUNT; k++) {
        const struct config_kind *kd = &config_kinds[k];
        unsigned want;
        char why[200];
        CU_ASSERT_EQUAL_FATAL(cv_duration(kd->timeout, true, &want, why, sizeof why), 0);
        kind_text(text, sizeof text, kd, "");
        struct config *c = load_ok(text);
        CU_ASSERT_TRUE(c && config_common(c, k, 0)->timeout == want);
        config_free(c);
        snprintf(line, sizeof line, "tls = %s\n", kd->starttls);
        kind_text(text, sizeof text, kd, line);
        c = load_ok(text);
        CU_ASSERT_TRUE(c && config_common(c, k, 0)->tls == TLS_STARTTLS);
        config_free(c);
        snprintf(what, sizeof what, "(expected off, %s, required or implicit)", kd->starttls);
        for (enum inst_kind o = 0; o < KIND_COUNT; o++) {
            if (strcmp(config_kinds[o].starttls, kd->starttls) == 0)
                continue;
            snprintf(line, sizeof line, "tls = %s\n", config_kinds[o].starttls);
            kind_text(text, sizeof text, kd, line);
            load_err(text, SRV_LINES + 3, what);
        }
    }
}

/* The unknown-section error lists every kind, in the words it always used. */
static void test_unknown_section_lists_kinds(void)
{
    char what[300] = "(expected [server], [routes], [cluster], ";
    for (size_t k = 0; k < KIND_COUNT; k++) {
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "%s[%s NAME]", k == 0 ? "" : k + 1 == KIND_COUNT ? " or " : ", ",
                 config_kinds[k].name);
    }
    load_err(SRV "[imap x]\n", SRV_LINES + 1, what);
    load_err(SRV "[imap x]\n", SRV_LINES + 1, "(expected [server], [routes], [cluster], [smtp NAME] or [pop3 NAME])");
}

/* Instances keep file order per kind; the generic view is the typed arrays. */
static void test_generic_view_is_the_arrays(void)
{
    struct config *c = load_ok(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[pop3 b]\nlisten = 127.0.0.1:110\n"
                                   "[smtp c]\nlisten = 127.0.0.1:587\ntls = starttls\n[pop3 d]\n"
                                   "listen = 127.0.0.1:995\ntls = implicit\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(config_count(c, KIND_SMTP) == c->nsmtp && c->nsmtp == 2);
    CU_ASSERT_TRUE(config_count(c, KIND_POP3) == c->npop3 && c->npop3 == 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_PTR_EQUAL(config_instance(c, KIND_SMTP, i), &c->smtp[i]);
        CU_ASSERT_PTR_EQUAL(config_common(c, KIND_SMTP, i), &c->smtp[i].common);
        CU_ASSERT_PTR_EQUAL(config_instance(c, KIND_POP3, i), &c->pop3[i]);
        CU_ASSERT_PTR_EQUAL(config_common(c, KIND_POP3, i), &c->pop3[i].common);
    }
    CU_ASSERT_STRING_EQUAL(c->smtp[1].common.name, "c");
    CU_ASSERT_EQUAL(c->smtp[1].common.tls, TLS_STARTTLS);
    CU_ASSERT_STRING_EQUAL(c->pop3[1].common.name, "d");
    CU_ASSERT_EQUAL(c->pop3[1].common.tls, TLS_IMPLICIT);
    config_free(c);
    /* names are per kind; a listen address is unique across all of them */
    c = load_ok(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[pop3 a]\nlisten = 127.0.0.1:110\n");
    config_free(c);
    load_err(SRV "[pop3 a]\nlisten = 127.0.0.1:110\n[pop3 a]\n", SRV_LINES + 3,
             "duplicate instance name '[pop3 a]' (first at line 5)");
    load_err(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[pop3 b]\nlisten = 127.0.0.1:25\n", SRV_LINES + 4,
             "key 'listen': 127.0.0.1:25 is used twice (in [smtp a] and [pop3 b])");
    load_err(SRV "[smtp a]\nlisten = 127.0.0.1:25\n[pop3 b]\n", SRV_LINES + 3,
             "key 'listen': missing in [pop3 b]");
}

static char *read_sample(void)
{
    const char *p = access("mailserver.conf.sample", R_OK) == 0 ? "mailserver.conf.sample"
                                                                : "../../mailserver.conf.sample";
    FILE *f = fopen(p, "r");
    CU_ASSERT_FATAL(f != NULL);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    CU_ASSERT(fclose(f) == 0);
    return buf;
}

static void sample_has(const char *text, const char *key)
{
    char a[100], b[100];
    snprintf(a, sizeof a, "\n%s =", key);
    snprintf(b, sizeof b, "\n# %s =", key);
    bool found = strstr(text, a) || strstr(text, b);
    CU_ASSERT_TRUE(found);
    if (!found)
        fprintf(stderr, "\n  the sample lacks '%s'\n", key);
}

static void test_sample_documents_table_keys(void)
{
    const char *text = read_sample();
    for (const struct keydef *k = config_server_keys; k->name; k++)
        sample_has(text, k->name);
    for (const struct keydef *k = config_cluster_keys; k->name; k++)
        sample_has(text, k->name);
    for (const struct keydef *k = config_common_keys; k->name; k++)
        sample_has(text, k->name);
    for (size_t kind = 0; kind < KIND_COUNT; kind++)
        for (const struct keydef *k = config_kinds[kind].keys; k->name; k++)
            sample_has(text, k->name);
}

static int suite_init(void)
{
    return tu_tmpdir(scratch, sizeof scratch, "test_config_kinds");
}

static int suite_clean(void)
{
    return tu_rmtree(scratch);
}

static CU_TestInfo tests[] = {
    { "every kind is a section", test_every_kind_is_a_section },
    { "every key of a kind, once", test_every_key_of_a_kind },
    { "other kinds' keys and [server] keys are unknown", test_other_keys_unknown },
    { "the kind's STARTTLS word and timeout default", test_kind_words_and_defaults },
    { "unknown section lists every kind", test_unknown_section_lists_kinds },
    { "the generic view is the typed arrays", test_generic_view_is_the_arrays },
    { "the sample documents every key of the tables", test_sample_documents_table_keys },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "config kinds", suite_init, suite_clean, NULL, NULL, tests },
    CU_SUITE_INFO_NULL,
};

CU_MAIN_SUITES(suites)
