/* checkconf: `smtpd --check-config` (per-instance effective policy line, then warning:
 * and error: findings) and the open-relay refusal the daemon applies at startup. */
#include "checkconf.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "antispam.h"
#include "authsrc.h"
#include "cluster_conf.h"
#include "confval.h"
#include "ipmatch.h"
#include "log.h"
#include "mtasts.h"
#include "privdrop.h"
#include "relay.h"
#include "tls_load.h"
#include "util.h"

static const char *yesno(bool b)
{
    return b ? "yes" : "no";
}

static const char *tls_name(enum tls_mode t)
{
    switch (t) {
    case TLS_STARTTLS: return "starttls";
    case TLS_REQUIRED: return "required";
    case TLS_IMPLICIT: return "implicit";
    default: return "off";
    }
}

/* "a:1,b:2" into buf */
static void listen_list(const struct smtp_instance *in, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < in->common.nlisten && off < len; i++) {
        const char *h = in->common.listen[i].host;
        int v6 = strchr(h, ':') != NULL;
        int n = snprintf(buf + off, len - off, "%s%s%s%s:%d", i ? "," : "", v6 ? "[" : "", h,
                         v6 ? "]" : "", in->common.listen[i].port);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static void domain_list(const struct strlist *l, char *buf, size_t len)
{
    size_t off = 0;
    str_copy(buf, l->n ? "" : "-", len);
    for (size_t i = 0; i < l->n && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", l->v[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static void instance_line(const struct config *cfg, const struct smtp_instance *in, FILE *out)
{
    char listen[512], to[512], mechs[128], checks[1024];

    listen_list(in, listen, sizeof listen);
    domain_list(&in->always_relay_to, to, sizeof to);
    mech_names(in->common.auth_mechs, ',', mechs, sizeof mechs);
    antispam_describe(in, checks, sizeof checks);
    fprintf(out, "smtp %s: listen=%s tls=%s auth=%s plaintext_auth=%s require_auth=%s relay=%s "
            "relay_pop_before_smtp=%s relay_outside_lan=%s relay_nonlocal_senders=%s "
            "relay_local_senders=%s always_relay_from=%s always_relay_to=%s "
            "reject_local_spoof=%s sender_login_match=%s allow_open_relay=%s open_relay=%s "
            "auth_source=%s checks=%s\n",
            in->common.name, listen, tls_name(in->common.tls), mechs[0] ? mechs : "-",
            in->common.plaintext_auth == PLAINTEXT_ALWAYS ? "always" : "tls", yesno(in->require_auth),
            yesno(in->relay), yesno(in->relay_pop_before_smtp), yesno(in->relay_outside_lan),
            yesno(in->relay_nonlocal_senders), yesno(in->relay_local_senders),
            iplist_empty(in->always_relay_from) ? "-" : "set", to, yesno(in->reject_local_spoof),
            yesno(in->sender_login_match), yesno(in->allow_open_relay), yesno(relay_instance_is_open(cfg->lan, in)),
            cv_auth_source_name(in->auth_source), checks);
}

/* Does the instance listen outside loopback (relay.h's sense of public)? */
static bool listens_public(const struct smtp_instance *in)
{
    for (size_t i = 0; i < in->common.nlisten; i++)
        if (relay_listen_is_public(in->common.listen[i].host))
            return true;
    return false;
}

/* SPEC "Anti-spam on an instance": on for the port-25 instance, off for submission. */
static void antispam_findings(const struct config *cfg, const struct smtp_instance *in, FILE *out)
{
    const char *path = cfg->path ? cfg->path : "-";
    if (in->require_auth && antispam_on(in))
        fprintf(out, "warning: %s:%d: instance %s has require_auth = yes (submission) and "
                "anti-spam checks on: authenticated sessions are exempt from them, so they only "
                "cost time here; turn them on for the port-25 instance instead\n",
                path, in->common.line, in->common.name);
    else if (!in->require_auth && !antispam_on(in) && listens_public(in))
        fprintf(out, "warning: %s:%d: instance %s listens outside loopback without "
                "require_auth (a port-25 instance) and has no anti-spam check: set dnsbl, "
                "greylist or content_filter (README \"Anti-spam\")\n",
                path, in->common.line, in->common.name);
}

/* Findings for one instance; returns the number of errors. */
static int instance_findings(const struct config *cfg, const struct smtp_instance *in, FILE *out)
{
    int errors = 0;
    char why[512];

    if (relay_instance_open(cfg->lan, in, why, sizeof why)) {
        fprintf(out, "%s: %s:%d: instance %s is an open relay: %s, and it listens outside "
                "loopback%s\n",
                in->allow_open_relay ? "warning" : "error", cfg->path ? cfg->path : "-",
                in->common.line, in->common.name, why,
                in->allow_open_relay ? " (allowed by allow_open_relay = yes)"
                                     : "; set allow_open_relay = yes if this is really wanted");
        if (!in->allow_open_relay)
            errors++;
    }
    if (authsrc_config_problem(cfg, in, why, sizeof why)) {
        fprintf(out, "error: %s:%d: instance %s: %s\n", cfg->path ? cfg->path : "-",
                in->common.line, in->common.name, why);
        errors++;
    }
    if (!iplist_empty(in->always_relay_from) && iplist_empty(in->common.allow_clients))
        fprintf(out, "warning: %s:%d: instance %s sets always_relay_from without allow_clients: "
                "any client may connect; consider restricting allow_clients\n",
                cfg->path ? cfg->path : "-", in->common.line, in->common.name);
    if (in->relay_local_senders && in->reject_local_spoof)
        fprintf(out, "warning: %s:%d: instance %s: relay_local_senders = yes contradicts "
                "reject_local_spoof = yes (local senders from outside the LAN are refused at "
                "MAIL FROM, so local_sender never applies to them)\n",
                cfg->path ? cfg->path : "-", in->common.line, in->common.name);
    antispam_findings(cfg, in, out);
    if (in->greylist && in->greylist_window <= in->greylist_delay)
        fprintf(out, "warning: %s:%d: instance %s: greylist_window (%us) is not longer than "
                "greylist_delay (%us): no retry can pass greylisting\n",
                cfg->path ? cfg->path : "-", in->common.line, in->common.name,
                in->greylist_window, in->greylist_delay);
    return errors;
}

int checkconf_report(const struct config *cfg, FILE *out)
{
    int errors = 0;

    for (size_t i = 0; i < cfg->nsmtp; i++)
        instance_line(cfg, &cfg->smtp[i], out);
    if (cfg->nsmtp == 0)
        fprintf(out, "warning: %s: no [smtp NAME] instance: smtpd will not listen anywhere\n",
                cfg->path ? cfg->path : "-");
    for (size_t i = 0; i < cfg->nsmtp; i++)
        errors += instance_findings(cfg, &cfg->smtp[i], out);
    errors += outbound_tls_check_config(cfg, out);        /* tls_ca_file, mta_sts_policy */
    return errors;
}

/* Does any instance authenticate against one fixed account? */
static bool any_fixed(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->nsmtp; i++)
        if (cfg->smtp[i].auth_source == AUTH_SOURCE_FIXED)
            return true;
    return false;
}

int checkconf_fixed_accounts(const struct config *cfg, struct store *st, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->nsmtp; i++) {
        const struct smtp_instance *in = &cfg->smtp[i];
        struct authsrc src;
        struct user_rec u;
        if (in->auth_source != AUTH_SOURCE_FIXED)
            continue;
        authsrc_from_instance(cfg, in, &src);
        if (!src.fixed_user[0])
            continue;                 /* reported by authsrc_config_problem */
        int rc = store_user_get(st, src.fixed_user, &u);
        explicit_bzero(&u, sizeof u);
        if (rc == STORE_OK)
            continue;
        if (rc == STORE_NOTFOUND)
            snprintf(err, errlen, "%s:%d: instance %s: auth_fixed_user %s is not in the user "
                     "store (userdb add %s --relay --no-mailbox)", cfg->path ? cfg->path : "-",
                     in->common.line, in->common.name, src.fixed_user, src.fixed_user);
        else
            snprintf(err, errlen, "instance %s: cannot read the user store to check "
                     "auth_fixed_user", in->common.name);
        return -1;
    }
    return 0;
}

/* --check-config: the fixed accounts in the store (as run_as_user, like every admin
 * command that opens data_dir); only when some instance has one. */
static int report_fixed(const struct config *cfg, FILE *out)
{
    char err[1024];
    struct store *st = NULL;
    if (!any_fixed(cfg))
        return 0;
    struct cluster_conf cc;
    cluster_conf_apply(cfg, &cc);
    if (privdrop_admin(cfg->data_dir, cfg->run_as_user, err, sizeof err) < 0 ||
        store_open(cfg->data_dir, &st) != STORE_OK || !st) {
        fprintf(out, "error: cannot open the user store under %s to check auth_fixed_user\n",
                cfg->data_dir);
        return 1;
    }
    int rc = checkconf_fixed_accounts(cfg, st, err, sizeof err);
    store_close(st);
    if (rc != 0)
        fprintf(out, "error: %s\n", err);
    return rc != 0;
}

/* --check-config: tls_cert/tls_key as a start loads them (still as root): what a start
 * refuses is an error when an instance of any kind uses TLS; an expired one a warning. */
static int report_tls(const struct config *cfg, FILE *out)
{
    struct tls_loaded t;
    bool needed = false;

    if (!cfg->tls_cert[0] || !cfg->tls_key[0])
        return 0;
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < config_count(cfg, (enum inst_kind)k); i++)
            needed |= config_common(cfg, (enum inst_kind)k, i)->tls != TLS_OFF;
    enum tls_load_rc rc = tls_load(cfg->tls_cert, cfg->tls_key, time(NULL), &t);
    if (t.ctx)
        SSL_CTX_free(t.ctx);
    if (rc == TLS_LOAD_DATES)
        fprintf(out, "warning: %s (a start serves it with a warning, a reload refuses it)\n",
                t.msg);
    else if (rc == TLS_LOAD_FAIL)
        fprintf(out, "%s: %s\n", needed ? "error" : "warning", t.msg);
    return rc == TLS_LOAD_FAIL && needed;
}

int checkconf_main(const struct config *cfg)
{
    int errors = checkconf_report(cfg, stdout);
    errors += report_tls(cfg, stdout);
    errors += report_fixed(cfg, stdout);
    if (fflush(stdout) != 0)
        return 1;
    return errors ? 1 : 0;
}

int checkconf_run(const char *path)
{
    char err[1024];
    struct config *cfg = config_load(path, err, sizeof err);

    if (!cfg) {
        printf("error: %s\n", err);
        return 1;
    }
    int rc = checkconf_main(cfg);
    config_free(cfg);
    return rc;
}

int checkconf_refuse_open_relay(const struct config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->nsmtp; i++) {
        const struct smtp_instance *in = &cfg->smtp[i];
        char why[512];
        if (!in->allow_open_relay && relay_instance_open(cfg->lan, in, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: instance %s is an open relay: %s (see smtpd "
                     "--check-config); refusing to start. Set allow_open_relay = yes to "
                     "override", cfg->path ? cfg->path : "-", in->common.line, in->common.name, why);
            return -1;
        }
        if (authsrc_config_problem(cfg, in, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: instance %s: %s; refusing to start",
                     cfg->path ? cfg->path : "-", in->common.line, in->common.name, why);
            return -1;
        }
    }
    return 0;
}
