/* config: mailserver.conf loader (SPEC.md "mailserver.conf").
 * A line-by-line INI parser driven by the tables of config_kinds.c: the [server]
 * keys, the keys every instance has, and one row per protocol kind with its own
 * keys; each key names its value type and the struct field it fills. Values are
 * checked as they are read; what needs the whole file (required keys, TLS files,
 * listen clashes) is checked at the end. Every error is one line naming file, line
 * and key. */
#include "cluster_conf.h"
#include "config.h"
#include "config_kinds.h"
#include "confval.h"
#include "ipmatch.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------- */

static void set_str(char **field, const char *val)
{
    free(*field);
    *field = xstrdup(val);
}

#define FIELD(base, off, type) ((type *)(void *)((char *)(base) + (off)))

static int set_iplist(const struct keydef *k, void *base, const char *v, char *why, size_t wl)
{
    struct iplist *l = iplist_parse(v, why, wl);
    if (!l)
        return -1;
    iplist_free(*FIELD(base, k->off, struct iplist *));
    *FIELD(base, k->off, struct iplist *) = l;
    return 0;
}

/* relayhost: HOST[:PORT], or empty for MX lookups. */
static int set_hostport(const struct keydef *k, void *base, const char *v, char *why, size_t wl)
{
    char *host;
    if (!*v) {
        set_str(FIELD(base, k->off, char *), "");
        *FIELD(base, k->off2, int) = 25;
        return 0;
    }
    if (cv_hostport(v, &host, FIELD(base, k->off2, int), why, wl) < 0)
        return -1;
    free(*FIELD(base, k->off, char *));
    *FIELD(base, k->off, char *) = host;
    return 0;
}

/* The keys whose value is one of a few words, each an enum of config.h in that order. */
static int set_choice(const struct keydef *k, void *base, const char *v, char *why, size_t wl)
{
    static const char *const plain[] = { "tls", "always" };
    static const char *const cffail[] = { "accept", "tempfail" };
    static const char *const stspub[] = { "off", "none", "testing", "enforce" };
    int i;
    switch (k->type) {
    case V_PLAIN:
        if (cv_word(v, plain, 2, &i, why, wl) < 0)
            return -1;
        *FIELD(base, k->off, enum plaintext_auth) = (enum plaintext_auth)i;
        return 0;
    case V_CFFAIL:                          /* content_filter_failure: true for tempfail */
        if (cv_word(v, cffail, 2, &i, why, wl) < 0)
            return -1;
        *FIELD(base, k->off, bool) = i == 1;
        return 0;
    case V_STSPUB:
        if (cv_word(v, stspub, 4, &i, why, wl) < 0)
            return -1;
        *FIELD(base, k->off, enum mta_sts_publish) = (enum mta_sts_publish)i;
        return 0;
    default:
        snprintf(why, wl, "internal error: not a choice");
        return -1;
    }
}

/* Parse value v for key k into the struct at base (of kind kd; NULL for [server]). */
static int set_value(const struct keydef *k, void *base, const struct config_kind *kd, const char *v,
                     char *why, size_t wl)
{
    char dom[300];
    switch (k->type) {
    case V_NESTR:
        if (!*v) {
            snprintf(why, wl, "empty (expected a value)");
            return -1;
        }
        /* fall through */
    case V_STR:
        set_str(FIELD(base, k->off, char *), v);
        return 0;
    case V_HOST:
        if (!cv_hostname(v)) {
            snprintf(why, wl, "'%s' is not a host name (expected something like mail.example.com)", v);
            return -1;
        }
        set_str(FIELD(base, k->off, char *), v);
        return 0;
    case V_DOMAIN:
        if (cv_domain(v, dom, sizeof(dom), why, wl) < 0)
            return -1;
        set_str(FIELD(base, k->off, char *), dom);
        return 0;
    case V_DOMLIST:
    case V_RELAYTO:
        return cv_domains(v, k->type == V_RELAYTO, FIELD(base, k->off, struct strlist), why, wl);
    case V_DNSSERVERS:
        return cv_dns_servers(v, FIELD(base, k->off, struct strlist), why, wl);
    case V_IPLIST:
        return set_iplist(k, base, v, why, wl);
    case V_BOOL:
        return cv_bool(v, FIELD(base, k->off, bool), why, wl);
    case V_DUR:
    case V_DUR_NZ:
        return cv_duration(v, k->type == V_DUR_NZ, FIELD(base, k->off, unsigned), why, wl);
    case V_SIZE:
        return cv_size(v, FIELD(base, k->off, uint64_t), why, wl);
    case V_UINT:
        return cv_count(v, FIELD(base, k->off, unsigned), why, wl);
    case V_LISTEN:
        return cv_listen(v, FIELD(base, k->off, struct listen_addr *),
                            FIELD(base, k->off2, size_t), why, wl);
    case V_TLS:
        return cv_tls(v, kd ? kd->starttls : "starttls", FIELD(base, k->off, enum tls_mode), why, wl);
    case V_TIMEOUT:
        return cv_duration(v, true, FIELD(base, k->off, unsigned), why, wl);
    case V_MECHS:
        return cv_mechs(v, FIELD(base, k->off, unsigned), why, wl);
    case V_PLAIN:
    case V_CFFAIL:
    case V_STSPUB:
        return set_choice(k, base, v, why, wl);
    case V_AUTHSRC:
        return cv_auth_source(v, FIELD(base, k->off, enum auth_source), why, wl);
    case V_CFILTER:
        return cv_content_filter(v, FIELD(base, k->off, char *), FIELD(base, k->off2, int), why, wl);
    case V_SPF:
    case V_DMARC:
        return cv_authres_mode(v, k->type == V_SPF ? "reject" : "enforce",
                               FIELD(base, k->off, enum authres_mode), why, wl);
    case V_HOSTPORT:
        return set_hostport(k, base, v, why, wl);
    }
    snprintf(why, wl, "internal error: unknown type");
    return -1;
}

/* ---- defaults -------------------------------------------------------------- */

/* A key's default as text (made in buf if need be), or NULL when it has none:
 * auth_mechanisms has every mechanism of mechs.h, timeout the kind's. */
static const char *key_default(const struct keydef *k, const struct config_kind *kd, char *buf, size_t n)
{
    if (k->def)
        return k->def;
    if (k->type == V_MECHS)
        return mech_names(MECH_ALL, ' ', buf, n);
    if (k->type == V_TIMEOUT && kd)
        return kd->timeout;
    return NULL;
}

/* Fill every key that has a default; a built-in default that does not parse is a bug. */
static void apply_defaults(const struct keydef *keys, void *base, const struct config_kind *kd)
{
    char why[300], buf[128];
    for (const struct keydef *k = keys; k->name; k++) {
        const char *def = key_default(k, kd, buf, sizeof buf);
        if (def && set_value(k, base, kd, def, why, sizeof(why)) < 0) {
            fprintf(stderr, "config: bad built-in default for %s: %s\n", k->name, why);
            abort();
        }
    }
}

/* Free what the keys of a table own in the struct at base. */
static void free_fields(const struct keydef *keys, void *base)
{
    for (const struct keydef *k = keys; k->name; k++) {
        switch (k->type) {
        case V_STR: case V_NESTR: case V_HOST: case V_DOMAIN: case V_HOSTPORT: case V_CFILTER:
            free(*FIELD(base, k->off, char *));
            break;
        case V_DOMLIST: case V_RELAYTO: case V_DNSSERVERS:
            cv_strlist_free(FIELD(base, k->off, struct strlist));
            break;
        case V_IPLIST:
            iplist_free(*FIELD(base, k->off, struct iplist *));
            break;
        case V_LISTEN:
            cv_listen_free(*FIELD(base, k->off, struct listen_addr *), *FIELD(base, k->off2, size_t));
            break;
        default:
            break;
        }
    }
}

static void server_defaults(struct config *c)
{
    char host[256];
    apply_defaults(config_server_keys, c, NULL);
    apply_defaults(config_cluster_keys, c, NULL);
    if (gethostname(host, sizeof(host)) < 0 || !host[0])
        str_copy(host, "localhost", sizeof(host));
    host[sizeof(host) - 1] = '\0';
    c->hostname = xstrdup(host);
}

/* ---- the parser ------------------------------------------------------------ */

enum { SEC_NONE, SEC_SERVER, SEC_ROUTES, SEC_INSTANCE, SEC_CLUSTER };

#define SEEN_MAX 64        /* keys of a section: the common ones plus the kind's */

struct inst_lines {
    int tls, listen;   /* where tls and listen were set */
};

struct pstate {
    struct config *cfg;
    const char *path;
    int line;
    char *err;
    size_t errlen;
    int sec;                       /* SEC_* of the current section */
    const struct config_kind *kd;  /* SEC_INSTANCE: its kind ... */
    size_t idx;                    /* ... and its index among that kind's instances */
    int seen[SEEN_MAX];            /* line where each key of the section was set */
    int server_line, routes_line, cluster_line;
    struct inst_lines *lines[KIND_COUNT];   /* per instance of each kind */
};

__attribute__((format(printf, 3, 4)))
static int fail_at(struct pstate *st, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(st->err, st->errlen, "%s:%d: %s", st->path, line, msg);
    else
        snprintf(st->err, st->errlen, "%s: %s", st->path, msg);
    return -1;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

static size_t kind_index(const struct config_kind *kd)
{
    return (size_t)(kd - config_kinds);
}

static struct instance_common *inst_common(const struct config *c, const struct config_kind *kd, size_t i)
{
    return config_kind_common(kd, config_kind_get(c, kd, i));
}

static int instance_header(struct pstate *st, const struct config_kind *kd, const char *name)
{
    struct config *c = st->cfg;
    size_t n = config_kind_n(c, kd), k = kind_index(kd);
    for (size_t i = 0; i < n; i++) {
        const struct instance_common *other = inst_common(c, kd, i);
        if (strcmp(other->name, name) == 0)
            return fail_at(st, st->line, "duplicate instance name '[%s %s]' (first at line %d)", kd->name,
                           name, other->line);
    }
    void *inst = config_kind_add(c, kd);
    struct instance_common *ic = config_kind_common(kd, inst);
    apply_defaults(config_common_keys, ic, kd);
    apply_defaults(kd->keys, inst, kd);
    ic->name = xstrdup(name);
    ic->line = st->line;
    st->lines[k] = xrealloc_n(st->lines[k], n + 1, sizeof(*st->lines[k]));
    st->lines[k][n] = (struct inst_lines){ 0, 0 };
    st->sec = SEC_INSTANCE;
    st->kd = kd;
    st->idx = n;
    return 0;
}

/* "[smtp NAME] or [pop3 NAME]": every kind, for the unknown-section error. */
static const char *kinds_list(char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < KIND_COUNT && off < n; k++) {
        const char *sep = k == 0 ? "" : k + 1 == KIND_COUNT ? " or " : ", ";
        int w = snprintf(buf + off, n - off, "%s[%s NAME]", sep, config_kinds[k].name);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return buf;
}

static int section_header(struct pstate *st, char *line)
{
    size_t len = strlen(line);
    char kinds[200];
    if (line[len - 1] != ']')
        return fail_at(st, st->line, "bad section header '%s' (expected [section] or [kind NAME])", line);
    line[len - 1] = '\0';
    char *inner = str_trim(line + 1), *name = inner;
    while (*name && !isspace((unsigned char)*name))
        name++;
    if (*name)
        *name++ = '\0';
    name = str_trim(name);
    memset(st->seen, 0, sizeof(st->seen));
    const struct config_kind *kd = config_kind_by_name(inner);
    if (strcmp(inner, "server") == 0 || strcmp(inner, "routes") == 0 ||
        strcmp(inner, "cluster") == 0) {
        int *first = inner[0] == 's' ? &st->server_line
                     : inner[0] == 'r' ? &st->routes_line : &st->cluster_line;
        if (*name)
            return fail_at(st, st->line, "section '[%s]' takes no name (expected [%s])", inner, inner);
        if (*first)
            return fail_at(st, st->line, "duplicate section '[%s]' (first at line %d)", inner, *first);
        *first = st->line;
        st->sec = inner[0] == 's' ? SEC_SERVER : inner[0] == 'r' ? SEC_ROUTES : SEC_CLUSTER;
        return 0;
    }
    if (!kd)
        return fail_at(st, st->line, "unknown section '[%s%s%s]' (expected [server], [routes], [cluster], %s)",
                       inner, *name ? " " : "", name, kinds_list(kinds, sizeof kinds));
    if (!valid_name(name))
        return fail_at(st, st->line, "section '[%s%s%s]' needs a name of letters, digits, '_', '.' "
                       "or '-' (expected [%s NAME])", inner, *name ? " " : "", name, inner);
    return instance_header(st, kd, name);
}

static int route_line(struct pstate *st, const char *key, const char *val)
{
    struct config *c = st->cfg;
    char dom[300], why[300];
    struct route r = { NULL, NULL, 25 };
    if (cv_domain(key, dom, sizeof(dom), why, sizeof(why)) < 0)
        return fail_at(st, st->line, "key '%s': %s", key, why);
    for (size_t i = 0; i < c->nroutes; i++)
        if (strcmp(c->routes[i].domain, dom) == 0)
            return fail_at(st, st->line, "key '%s': route given twice in [routes]", key);
    if (!*val)
        return fail_at(st, st->line, "key '%s': empty (expected HOST[:PORT])", key);
    if (cv_hostport(val, &r.host, &r.port, why, sizeof(why)) < 0)
        return fail_at(st, st->line, "key '%s': %s", key, why);
    r.domain = xstrdup(dom);
    c->routes = xrealloc_n(c->routes, c->nroutes + 1, sizeof(*c->routes));
    c->routes[c->nroutes++] = r;
    return 0;
}

/* The key named KEY in the current section: its row, the struct it fills (*base) and
 * its slot in seen[] (*slot); NULL if the section has no such key. */
static const struct keydef *find_key(struct pstate *st, const char *key, void **base, size_t *slot)
{
    const struct keydef *tables[2] = { config_server_keys, NULL };
    void *bases[2] = { st->cfg, NULL };
    if (st->sec == SEC_INSTANCE) {
        void *inst = config_kind_get(st->cfg, st->kd, st->idx);
        tables[0] = config_common_keys;
        bases[0] = config_kind_common(st->kd, inst);
        tables[1] = st->kd->keys;
        bases[1] = inst;
    } else if (st->sec == SEC_CLUSTER) {
        tables[0] = config_cluster_keys;
    }
    size_t n = 0;
    for (size_t t = 0; t < 2 && tables[t]; t++) {
        for (const struct keydef *k = tables[t]; k->name; k++, n++) {
            if (strcmp(k->name, key) == 0 && n < SEEN_MAX) {
                *base = bases[t];
                *slot = n;
                return k;
            }
        }
    }
    return NULL;
}

static int key_line(struct pstate *st, char *key, char *val)
{
    if (st->sec == SEC_NONE)
        return fail_at(st, st->line, "key '%s': outside any section (expected a [section] header first)", key);
    if (st->sec == SEC_ROUTES)
        return route_line(st, key, val);
    char sect[200], why[400];
    if (st->sec == SEC_INSTANCE)
        snprintf(sect, sizeof(sect), "[%s %s]", st->kd->name,
                 inst_common(st->cfg, st->kd, st->idx)->name);
    else
        str_copy(sect, st->sec == SEC_CLUSTER ? "[cluster]" : "[server]", sizeof(sect));
    void *base = NULL;
    size_t i = 0;
    const struct keydef *k = find_key(st, key, &base, &i);
    if (!k)
        return fail_at(st, st->line, "key '%s': unknown in %s", key, sect);
    if (st->seen[i])
        return fail_at(st, st->line, "key '%s': given twice in %s (first at line %d)", key, sect, st->seen[i]);
    st->seen[i] = st->line;
    if (set_value(k, base, st->sec == SEC_INSTANCE ? st->kd : NULL, val, why, sizeof(why)) < 0)
        return fail_at(st, st->line, "key '%s': %s", key, why);
    if (k->type == V_IPLIST && k->off2 != NOOFF)
        *FIELD(base, k->off2, bool) = true;
    if (st->sec == SEC_INSTANCE && k->type == V_TLS)
        st->lines[kind_index(st->kd)][st->idx].tls = st->line;
    if (st->sec == SEC_INSTANCE && k->type == V_LISTEN)
        st->lines[kind_index(st->kd)][st->idx].listen = st->line;
    return 0;
}

static void strip_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

static int parse_line(struct pstate *st, char *raw)
{
    strip_comment(raw);
    char *line = str_trim(raw);
    if (!*line)
        return 0;
    if (line[0] == '[')
        return section_header(st, line);
    char *eq = strchr(line, '=');
    if (!eq)
        return fail_at(st, st->line, "'%.60s' is not a setting (expected 'key = value' or a "
                       "[section] header)", line);
    *eq = '\0';
    char *key = str_trim(line), *val = str_trim(eq + 1);
    if (!*key)
        return fail_at(st, st->line, "a setting without a key (expected 'key = value')");
    return key_line(st, key, val);
}

/* ---- whole-file checks ------------------------------------------------------ */

/* Every instance of the file, kind by kind in table order. */
struct inst_ref {
    const struct config_kind *kd;
    const struct instance_common *ic;
    const struct inst_lines *il;
};

static struct inst_ref *all_instances(const struct pstate *st, size_t *n)
{
    size_t total = 0, j = 0;
    for (size_t k = 0; k < KIND_COUNT; k++)
        total += config_kind_n(st->cfg, &config_kinds[k]);
    struct inst_ref *r = xcalloc(total, sizeof *r);
    for (size_t k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < config_kind_n(st->cfg, &config_kinds[k]); i++)
            r[j++] = (struct inst_ref){ &config_kinds[k], inst_common(st->cfg, &config_kinds[k], i),
                                        &st->lines[k][i] };
    *n = total;
    return r;
}

/* "[smtp NAME]" */
static const char *inst_label(const struct inst_ref *r, char *buf, size_t n)
{
    snprintf(buf, n, "[%s %s]", r->kd->name, r->ic->name);
    return buf;
}

static bool same_listen(const struct listen_addr *a, const struct listen_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* An address:port given twice, in one instance or two, could never be bound. */
static int check_listen_clash(struct pstate *st, const struct inst_ref *r, size_t total)
{
    char wk[200], wj[200];
    for (size_t k = 0; k < total; k++) {
        const struct instance_common *a = r[k].ic;
        for (size_t x = 0; x < a->nlisten; x++) {
            for (size_t j = 0; j <= k; j++) {
                const struct instance_common *b = r[j].ic;
                size_t lim = j == k ? x : b->nlisten;
                for (size_t y = 0; y < lim; y++)
                    if (same_listen(&a->listen[x], &b->listen[y]))
                        return fail_at(st, r[k].il->listen, "key 'listen': %s:%d is used twice (in %s and %s)",
                                       a->listen[x].host, a->listen[x].port, inst_label(&r[j], wj, sizeof wj),
                                       inst_label(&r[k], wk, sizeof wk));
            }
        }
    }
    return 0;
}

static int check_instance(struct pstate *st, const struct inst_ref *r)
{
    const struct config *c = st->cfg;
    char what[200];
    inst_label(r, what, sizeof what);
    if (r->ic->nlisten == 0)
        return fail_at(st, r->ic->line, "key 'listen': missing in %s (required: ADDRESS:PORT like 0.0.0.0:25)",
                       what);
    if (r->ic->tls != TLS_OFF && (!c->tls_cert[0] || !c->tls_key[0]))
        return fail_at(st, r->il->tls, "key 'tls': %s uses TLS but tls_cert or tls_key is not set " // NOLINT(clang-analyzer-core.NullDereference): lines[k] grows with the kind's instances
                       "(expected both PEM files in [server])", what);
    return 0;
}

static int check_all(struct pstate *st)
{
    if (!st->cfg->domain)
        return fail_at(st, st->server_line, "key 'domain': missing in [server] (required: the "
                       "primary local domain, like example.com)");
    struct cluster_conf cc;
    char why[400];
    if (cluster_conf_parse(st->cfg->cluster_node, st->cfg->cluster_peers, st->cfg->cluster_priority,
                           st->cfg->cluster_ack_policy, &cc, why, sizeof why) != 0)
        return fail_at(st, st->cluster_line, "[cluster] %s", why);
    size_t total;
    struct inst_ref *r = all_instances(st, &total);
    int rc = 0;
    for (size_t k = 0; k < total && rc == 0; k++)
        rc = check_instance(st, &r[k]);
    if (rc == 0)
        rc = check_listen_clash(st, r, total);
    free(r);
    return rc;
}

/* ---- public API -------------------------------------------------------------- */

const char *config_default_path(void)
{
    return access("./mailserver.conf", F_OK) == 0 ? "./mailserver.conf"
                                                  : "/etc/mailserver/mailserver.conf";
}

static int parse_file(struct pstate *st, FILE *f)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        st->line++;
        if (n > 4096)
            rc = fail_at(st, st->line, "line too long (expected at most 4096 characters)");
        else if (memchr(buf, '\0', (size_t)n))
            rc = fail_at(st, st->line, "NUL byte in line (expected a text file)");
        else
            rc = parse_line(st, buf);
    }
    if (rc == 0 && ferror(f))
        rc = fail_at(st, 0, "read error: %s", strerror(errno));
    free(buf);
    return rc;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
    struct pstate st;
    memset(&st, 0, sizeof(st));
    st.path = path;
    st.err = err;
    st.errlen = errlen;
    FILE *f = fopen(path, "r");
    if (!f) {
        fail_at(&st, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    st.cfg = xcalloc(1, sizeof(*st.cfg));
    st.cfg->path = xstrdup(path);
    server_defaults(st.cfg);
    int rc = parse_file(&st, f);
    fclose(f);
    if (rc == 0)
        rc = check_all(&st);
    for (size_t k = 0; k < KIND_COUNT; k++)
        free(st.lines[k]);
    if (rc < 0) {
        config_free(st.cfg);
        return NULL;
    }
    return st.cfg;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t kind = 0; kind < KIND_COUNT; kind++) {
        const struct config_kind *kd = &config_kinds[kind];
        for (size_t i = 0; i < config_kind_n(c, kd); i++) {
            void *inst = config_kind_get(c, kd, i);
            struct instance_common *ic = config_kind_common(kd, inst);
            free(ic->name);
            free_fields(config_common_keys, ic);
            free_fields(kd->keys, inst);
        }
        config_kind_drop(c, kd);
    }
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].domain);
        free(c->routes[i].host);
    }
    free(c->routes);
    free(c->path);
    free_fields(config_server_keys, c);
    free_fields(config_cluster_keys, c);
    free(c);
}

/* Lower-case copy without one trailing dot; false if empty or too long. */
static bool norm_lookup(const char *d, char *buf, size_t n)
{
    if (!d || str_copy(buf, d, n) >= n)
        return false;
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == '.')
        buf[--len] = '\0';
    str_lower(buf);
    return len > 0;
}

/* The comparable form of a domain (buf of n): lower case, no trailing dot; an address
 * literal with its address in one text form ("[IPv6:::FFFF:192.0.2.1]" and
 * "[192.0.2.001]" are not the same text, but "[IPv6:2001:DB8::1]" and
 * "[ipv6:2001:db8:0::1]" both become "[ipv6:2001:db8::1]", and a v4-mapped IPv6
 * literal becomes the IPv4 one). False for an empty domain or one that does not fit. */
static bool domain_key(const char *d, char *buf, size_t n)
{
    if (!norm_lookup(d, buf, n))
        return false;
    size_t len = strlen(buf);
    if (buf[0] != '[' || buf[len - 1] != ']')
        return true;
    char ip[64];
    bool v6 = strncmp(buf + 1, "ipv6:", 5) == 0;
    const char *in = v6 ? buf + 6 : buf + 1;
    size_t il = (size_t)(buf + len - 1 - in);
    struct ipaddr a;
    if (il >= sizeof ip)
        return true;                     /* not an address: compared as text */
    memcpy(ip, in, il);
    ip[il] = '\0';
    if ((strchr(ip, ':') != NULL) != v6 || ipaddr_parse(ip, &a) != 0)
        return true;
    char txt[INET6_ADDRSTRLEN];
    ipaddr_format(&a, txt, sizeof txt);
    int w = snprintf(buf, n, "[%s%s]", a.family == AF_INET6 ? "ipv6:" : "", txt);
    return w > 0 && (size_t)w < n;
}

bool config_is_local_domain(const struct config *cfg, const char *domain)
{
    char d[300], alias[300];
    if (!cfg || !domain_key(domain, d, sizeof(d)))
        return false;
    if (cfg->domain && domain_key(cfg->domain, alias, sizeof(alias)) && strcmp(alias, d) == 0)
        return true;
    for (size_t i = 0; i < cfg->domain_aliases.n; i++)
        if (domain_key(cfg->domain_aliases.v[i], alias, sizeof(alias)) && strcmp(alias, d) == 0)
            return true;
    return false;
}

const struct route *config_route(const struct config *cfg, const char *domain)
{
    char d[300];
    if (!cfg || !norm_lookup(domain, d, sizeof(d)))
        return NULL;
    for (size_t i = 0; i < cfg->nroutes; i++)
        if (strcmp(cfg->routes[i].domain, d) == 0)
            return &cfg->routes[i];
    return NULL;
}
