/* config: mailserver.conf loader (SPEC.md "mailserver.conf").
 * A line-by-line INI parser driven by one key table per section kind: each key
 * names its value type and the struct field it fills. Values are checked as they
 * are read; what needs the whole file (required keys, TLS files, listen clashes)
 * is checked at the end. Every error is one line naming file, line and key. */
#include "config.h"
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

static void *xrealloc_n(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q)
        abort();
    return q;
}

static void set_str(char **field, const char *val)
{
    free(*field);
    *field = xstrdup(val);
}

/* ---- key tables ------------------------------------------------------------ */

enum vtype {
    V_STR, V_NESTR, V_HOST, V_DOMAIN, V_DOMLIST, V_RELAYTO, V_IPLIST, V_BOOL, V_DUR, V_DUR_NZ,
    V_SIZE, V_UINT, V_LISTEN, V_TLS_SMTP, V_TLS_POP3, V_MECHS, V_PLAIN, V_HOSTPORT
};

struct keydef {
    const char *name;
    enum vtype type;
    size_t off;
    size_t off2;       /* second field: count, port or "_set" flag; NOOFF if none */
    const char *def;   /* the default, parsed like a value; NULL: none (or special) */
};

#define NOOFF ((size_t)-1)
#define S(f) offsetof(struct config, f)
#define I(f) offsetof(struct smtp_instance, f)
#define P(f) offsetof(struct pop3_instance, f)
#define ALLMECHS "SCRAM-SHA-256 CRAM-MD5 LOGIN PLAIN"

static const struct keydef server_keys[] = {
    { "hostname", V_HOST, S(hostname), NOOFF, NULL },   /* default: gethostname() */
    { "domain", V_DOMAIN, S(domain), NOOFF, NULL },     /* required */
    { "domain_aliases", V_DOMLIST, S(domain_aliases), NOOFF, "" },
    { "lan", V_IPLIST, S(lan), NOOFF, "127.0.0.1, ::1" },
    { "secure_networks", V_IPLIST, S(secure_networks), NOOFF, "127.0.0.0/8, ::1" },
    { "data_dir", V_NESTR, S(data_dir), NOOFF, "/var/lib/mailserver" },
    { "run_as_user", V_NESTR, S(run_as_user), NOOFF, "mail" },
    { "tls_cert", V_STR, S(tls_cert), NOOFF, "" },
    { "tls_key", V_STR, S(tls_key), NOOFF, "" },
    { "pop_before_smtp_window", V_DUR, S(pop_before_smtp_window), NOOFF, "5m" },
    { "auth_fail_limit", V_UINT, S(auth_fail_limit), NOOFF, "5" },
    { "auth_fail_window", V_DUR_NZ, S(auth_fail_window), NOOFF, "15m" },
    { "auth_lockout", V_DUR, S(auth_lockout), NOOFF, "15m" },
    { "max_message_size", V_SIZE, S(max_message_size), NOOFF, "25M" },
    { "max_hops", V_UINT, S(max_hops), NOOFF, "50" },
    { "relayhost", V_HOSTPORT, S(relayhost), S(relayhost_port), "" },
    { "queue_retry", V_DUR_NZ, S(queue_retry), NOOFF, "5m" },
    { "queue_lifetime", V_DUR_NZ, S(queue_lifetime), NOOFF, "5d" },
    { "queue_concurrency", V_UINT, S(queue_concurrency), NOOFF, "20" },
    { "queue_destination_concurrency", V_UINT, S(queue_destination_concurrency), NOOFF, "5" },
    { NULL, V_STR, 0, NOOFF, NULL },
};

static const struct keydef smtp_keys[] = {
    { "listen", V_LISTEN, I(listen), I(nlisten), NULL },   /* required */
    { "tls", V_TLS_SMTP, I(tls), NOOFF, "off" },
    { "auth_mechanisms", V_MECHS, I(auth_mechs), NOOFF, ALLMECHS },
    { "plaintext_auth", V_PLAIN, I(plaintext_auth), NOOFF, "tls" },
    { "require_auth", V_BOOL, I(require_auth), NOOFF, "no" },
    { "relay", V_BOOL, I(relay), NOOFF, "yes" },
    { "relay_pop_before_smtp", V_BOOL, I(relay_pop_before_smtp), NOOFF, "no" },
    { "relay_outside_lan", V_BOOL, I(relay_outside_lan), NOOFF, "no" },
    { "relay_nonlocal_senders", V_BOOL, I(relay_nonlocal_senders), NOOFF, "yes" },
    { "relay_local_senders", V_BOOL, I(relay_local_senders), NOOFF, "no" },
    { "always_relay_from", V_IPLIST, I(always_relay_from), I(always_relay_from_set), "" },
    { "always_relay_to", V_RELAYTO, I(always_relay_to), NOOFF, "" },
    { "allow_clients", V_IPLIST, I(allow_clients), I(allow_clients_set), "" },
    { "deny_clients", V_IPLIST, I(deny_clients), NOOFF, "" },
    { "reject_local_spoof", V_BOOL, I(reject_local_spoof), NOOFF, "yes" },
    { "sender_login_match", V_BOOL, I(sender_login_match), NOOFF, "no" },
    { "allow_open_relay", V_BOOL, I(allow_open_relay), NOOFF, "no" },
    { "max_recipients", V_UINT, I(max_recipients), NOOFF, "100" },
    { "max_connections", V_UINT, I(max_connections), NOOFF, "500" },
    { "max_connections_per_ip", V_UINT, I(max_connections_per_ip), NOOFF, "20" },
    { "timeout", V_DUR_NZ, I(timeout), NOOFF, "5m" },
    { NULL, V_STR, 0, NOOFF, NULL },
};

static const struct keydef pop3_keys[] = {
    { "listen", V_LISTEN, P(listen), P(nlisten), NULL },   /* required */
    { "tls", V_TLS_POP3, P(tls), NOOFF, "off" },
    { "auth_mechanisms", V_MECHS, P(auth_mechs), NOOFF, ALLMECHS },
    { "plaintext_auth", V_PLAIN, P(plaintext_auth), NOOFF, "tls" },
    { "allow_clients", V_IPLIST, P(allow_clients), NOOFF, "" },
    { "deny_clients", V_IPLIST, P(deny_clients), NOOFF, "" },
    { "max_connections", V_UINT, P(max_connections), NOOFF, "500" },
    { "max_connections_per_ip", V_UINT, P(max_connections_per_ip), NOOFF, "20" },
    { "timeout", V_DUR_NZ, P(timeout), NOOFF, "10m" },
    { NULL, V_STR, 0, NOOFF, NULL },
};

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

/* Parse value v for key k into the struct at base. */
static int set_value(const struct keydef *k, void *base, const char *v, char *why, size_t wl)
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
    case V_TLS_SMTP:
    case V_TLS_POP3:
        return cv_tls(v, k->type == V_TLS_POP3, FIELD(base, k->off, enum tls_mode), why, wl);
    case V_MECHS:
        return cv_mechs(v, FIELD(base, k->off, unsigned), why, wl);
    case V_PLAIN:
        if (str_ieq(v, "tls") || str_ieq(v, "always")) {
            *FIELD(base, k->off, enum plaintext_auth) = str_ieq(v, "tls") ? PLAINTEXT_TLS : PLAINTEXT_ALWAYS;
            return 0;
        }
        snprintf(why, wl, "'%s' is not allowed (expected tls or always)", v);
        return -1;
    case V_HOSTPORT: {
        char *host;
        if (!*v) {   /* relayhost may be set empty: MX lookups */
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
    }
    snprintf(why, wl, "internal error: unknown type");
    return -1;
}

/* ---- defaults -------------------------------------------------------------- */

/* Fill every key that has a default; a built-in default that does not parse is a bug. */
static void apply_defaults(const struct keydef *keys, void *base)
{
    char why[300];
    for (const struct keydef *k = keys; k->name; k++) {
        if (k->def && set_value(k, base, k->def, why, sizeof(why)) < 0) {
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
        case V_STR: case V_NESTR: case V_HOST: case V_DOMAIN: case V_HOSTPORT:
            free(*FIELD(base, k->off, char *));
            break;
        case V_DOMLIST: case V_RELAYTO:
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
    apply_defaults(server_keys, c);
    if (gethostname(host, sizeof(host)) < 0 || !host[0])
        str_copy(host, "localhost", sizeof(host));
    host[sizeof(host) - 1] = '\0';
    c->hostname = xstrdup(host);
}

/* ---- the parser ------------------------------------------------------------ */

enum { SEC_NONE, SEC_SERVER, SEC_ROUTES, SEC_SMTP, SEC_POP3 };

struct inst_lines {
    int tls, listen;   /* where tls and listen were set */
};

struct pstate {
    struct config *cfg;
    const char *path;
    int line;
    char *err;
    size_t errlen;
    int kind;                      /* SEC_* of the current section */
    size_t idx;                    /* its instance index */
    int seen[32];                  /* line where each key of the section was set */
    int server_line, routes_line;
    struct inst_lines *sl, *pl;    /* per smtp / pop3 instance */
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

static int instance_header(struct pstate *st, bool pop3, const char *name)
{
    struct config *c = st->cfg;
    const char *kind = pop3 ? "pop3" : "smtp";
    size_t n = pop3 ? c->npop3 : c->nsmtp;
    for (size_t i = 0; i < n; i++) {
        const char *other = pop3 ? c->pop3[i].name : c->smtp[i].name;
        if (strcmp(other, name) == 0)
            return fail_at(st, st->line, "duplicate instance name '[%s %s]' (first at line %d)", kind,
                           name, pop3 ? c->pop3[i].line : c->smtp[i].line);
    }
    if (pop3) {
        c->pop3 = xrealloc_n(c->pop3, n + 1, sizeof(*c->pop3));
        st->pl = xrealloc_n(st->pl, n + 1, sizeof(*st->pl));
        memset(&c->pop3[n], 0, sizeof(c->pop3[n]));
        apply_defaults(pop3_keys, &c->pop3[n]);
        c->pop3[n].name = xstrdup(name);
        c->pop3[n].line = st->line;
        st->pl[n] = (struct inst_lines){ 0, 0 };
        c->npop3++;
    } else {
        c->smtp = xrealloc_n(c->smtp, n + 1, sizeof(*c->smtp));
        st->sl = xrealloc_n(st->sl, n + 1, sizeof(*st->sl));
        memset(&c->smtp[n], 0, sizeof(c->smtp[n]));
        apply_defaults(smtp_keys, &c->smtp[n]);
        c->smtp[n].name = xstrdup(name);
        c->smtp[n].line = st->line;
        st->sl[n] = (struct inst_lines){ 0, 0 };
        c->nsmtp++;
    }
    st->kind = pop3 ? SEC_POP3 : SEC_SMTP;
    st->idx = n;
    return 0;
}

static int section_header(struct pstate *st, char *line)
{
    size_t len = strlen(line);
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
    bool is_inst = strcmp(inner, "smtp") == 0 || strcmp(inner, "pop3") == 0;
    if (strcmp(inner, "server") == 0 || strcmp(inner, "routes") == 0) {
        int *first = inner[0] == 's' ? &st->server_line : &st->routes_line;
        if (*name)
            return fail_at(st, st->line, "section '[%s]' takes no name (expected [%s])", inner, inner);
        if (*first)
            return fail_at(st, st->line, "duplicate section '[%s]' (first at line %d)", inner, *first);
        *first = st->line;
        st->kind = inner[0] == 's' ? SEC_SERVER : SEC_ROUTES;
        return 0;
    }
    if (!is_inst)
        return fail_at(st, st->line, "unknown section '[%s%s%s]' (expected [server], [routes], "
                       "[smtp NAME] or [pop3 NAME])", inner, *name ? " " : "", name);
    if (!valid_name(name))
        return fail_at(st, st->line, "section '[%s%s%s]' needs a name of letters, digits, '_', '.' "
                       "or '-' (expected [%s NAME])", inner, *name ? " " : "", name, inner);
    return instance_header(st, strcmp(inner, "pop3") == 0, name);
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

static int key_line(struct pstate *st, char *key, char *val)
{
    static const char *kinds[] = { "", "server", "routes", "smtp", "pop3" };
    if (st->kind == SEC_NONE)
        return fail_at(st, st->line, "key '%s': outside any section (expected a [section] header first)", key);
    if (st->kind == SEC_ROUTES)
        return route_line(st, key, val);
    const struct keydef *keys = st->kind == SEC_SERVER ? server_keys
                              : st->kind == SEC_SMTP ? smtp_keys : pop3_keys;
    void *base = st->kind == SEC_SERVER ? (void *)st->cfg
               : st->kind == SEC_SMTP ? (void *)&st->cfg->smtp[st->idx] : (void *)&st->cfg->pop3[st->idx];
    const char *iname = st->kind == SEC_SMTP ? st->cfg->smtp[st->idx].name
                      : st->kind == SEC_POP3 ? st->cfg->pop3[st->idx].name : NULL;
    char sect[200], why[400];
    snprintf(sect, sizeof(sect), "[%s%s%s]", kinds[st->kind], iname ? " " : "", iname ? iname : "");
    size_t i = 0;
    while (keys[i].name && strcmp(keys[i].name, key) != 0)
        i++;
    if (!keys[i].name)
        return fail_at(st, st->line, "key '%s': unknown in %s", key, sect);
    if (st->seen[i])
        return fail_at(st, st->line, "key '%s': given twice in %s (first at line %d)", key, sect, st->seen[i]);
    st->seen[i] = st->line;
    if (set_value(&keys[i], base, val, why, sizeof(why)) < 0)
        return fail_at(st, st->line, "key '%s': %s", key, why);
    if (keys[i].type == V_IPLIST && keys[i].off2 != NOOFF)
        *FIELD(base, keys[i].off2, bool) = true;
    struct inst_lines *il = st->kind == SEC_SMTP ? &st->sl[st->idx]
                          : st->kind == SEC_POP3 ? &st->pl[st->idx] : NULL;
    if (il && strcmp(key, "tls") == 0)
        il->tls = st->line;
    if (il && strcmp(key, "listen") == 0)
        il->listen = st->line;
    return 0;
}

/* Cut a comment: '#' at the start or after whitespace. */
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

/* The listen addresses of instance k (smtp first, then pop3) and its name. */
static const struct listen_addr *inst_listen(const struct config *c, size_t k, size_t *n,
                                             char *what, size_t wl)
{
    bool pop3 = k >= c->nsmtp;
    size_t i = pop3 ? k - c->nsmtp : k;
    snprintf(what, wl, "[%s %s]", pop3 ? "pop3" : "smtp", pop3 ? c->pop3[i].name : c->smtp[i].name);
    *n = pop3 ? c->pop3[i].nlisten : c->smtp[i].nlisten;
    return pop3 ? c->pop3[i].listen : c->smtp[i].listen;
}

/* An address:port given twice, in one instance or two, could never be bound. */
static int check_listen_clash(struct pstate *st)
{
    const struct config *c = st->cfg;
    size_t total = c->nsmtp + c->npop3;
    for (size_t k = 0; k < total; k++) {
        char wk[200], wj[200];
        size_t nk, nj;
        const struct listen_addr *a = inst_listen(c, k, &nk, wk, sizeof(wk));
        int line = k < c->nsmtp ? st->sl[k].listen : st->pl[k - c->nsmtp].listen; // NOLINT(clang-analyzer-core.NullDereference): sl/pl grow with smtp/pop3
        for (size_t x = 0; x < nk; x++) {
            for (size_t j = 0; j <= k; j++) {
                const struct listen_addr *b = inst_listen(c, j, &nj, wj, sizeof(wj));
                size_t lim = j == k ? x : nj;
                for (size_t y = 0; y < lim; y++)
                    if (a[x].port == b[y].port && strcmp(a[x].host, b[y].host) == 0)
                        return fail_at(st, line, "key 'listen': %s:%d is used twice (in %s and %s)",
                                       a[x].host, a[x].port, wj, wk);
            }
        }
    }
    return 0;
}

static int check_instance(struct pstate *st, bool pop3, size_t i)
{
    const struct config *c = st->cfg;
    const char *name = pop3 ? c->pop3[i].name : c->smtp[i].name;
    int line = pop3 ? c->pop3[i].line : c->smtp[i].line;
    const struct inst_lines *il = pop3 ? &st->pl[i] : &st->sl[i];
    enum tls_mode tls = pop3 ? c->pop3[i].tls : c->smtp[i].tls;
    char what[200];
    snprintf(what, sizeof(what), "[%s %s]", pop3 ? "pop3" : "smtp", name);
    if ((pop3 ? c->pop3[i].nlisten : c->smtp[i].nlisten) == 0)
        return fail_at(st, line, "key 'listen': missing in %s (required: ADDRESS:PORT like 0.0.0.0:25)", what);
    if (tls != TLS_OFF && (!c->tls_cert[0] || !c->tls_key[0]))
        return fail_at(st, il->tls, "key 'tls': %s uses TLS but tls_cert or tls_key is not set " // NOLINT(clang-analyzer-core.NullDereference): as above
                       "(expected both PEM files in [server])", what);
    return 0;
}

static int check_all(struct pstate *st)
{
    if (!st->cfg->domain)
        return fail_at(st, st->server_line, "key 'domain': missing in [server] (required: the "
                       "primary local domain, like example.com)");
    for (size_t i = 0; i < st->cfg->nsmtp; i++)
        if (check_instance(st, false, i) < 0)
            return -1;
    for (size_t i = 0; i < st->cfg->npop3; i++)
        if (check_instance(st, true, i) < 0)
            return -1;
    return check_listen_clash(st);
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
    free(st.sl);
    free(st.pl);
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
    for (size_t i = 0; i < c->nsmtp; i++) {
        free(c->smtp[i].name);
        free_fields(smtp_keys, &c->smtp[i]);
    }
    for (size_t i = 0; i < c->npop3; i++) {
        free(c->pop3[i].name);
        free_fields(pop3_keys, &c->pop3[i]);
    }
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].domain);
        free(c->routes[i].host);
    }
    free(c->smtp);
    free(c->pop3);
    free(c->routes);
    free(c->path);
    free_fields(server_keys, c);
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
