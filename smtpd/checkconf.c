/* checkconf: `smtpd --check-config` (per-instance effective policy line, then warning:
 * and error: findings) and the open-relay refusal the daemon applies at startup. */
#include "checkconf.h"

#include <stdbool.h>
#include <string.h>

#include "ipmatch.h"
#include "relay.h"
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
    char listen[512], to[512], mechs[128];

    listen_list(in, listen, sizeof listen);
    domain_list(&in->always_relay_to, to, sizeof to);
    mech_names(in->common.auth_mechs, ',', mechs, sizeof mechs);
    fprintf(out, "smtp %s: listen=%s tls=%s auth=%s plaintext_auth=%s require_auth=%s relay=%s "
            "relay_pop_before_smtp=%s relay_outside_lan=%s relay_nonlocal_senders=%s "
            "relay_local_senders=%s always_relay_from=%s always_relay_to=%s "
            "reject_local_spoof=%s sender_login_match=%s allow_open_relay=%s open_relay=%s\n",
            in->common.name, listen, tls_name(in->common.tls), mechs[0] ? mechs : "-",
            in->common.plaintext_auth == PLAINTEXT_ALWAYS ? "always" : "tls", yesno(in->require_auth),
            yesno(in->relay), yesno(in->relay_pop_before_smtp), yesno(in->relay_outside_lan),
            yesno(in->relay_nonlocal_senders), yesno(in->relay_local_senders),
            iplist_empty(in->always_relay_from) ? "-" : "set", to, yesno(in->reject_local_spoof),
            yesno(in->sender_login_match), yesno(in->allow_open_relay), yesno(relay_instance_is_open(cfg->lan, in)));
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
    if (!iplist_empty(in->always_relay_from) && iplist_empty(in->common.allow_clients))
        fprintf(out, "warning: %s:%d: instance %s sets always_relay_from without allow_clients: "
                "any client may connect; consider restricting allow_clients\n",
                cfg->path ? cfg->path : "-", in->common.line, in->common.name);
    if (in->relay_local_senders && in->reject_local_spoof)
        fprintf(out, "warning: %s:%d: instance %s: relay_local_senders = yes contradicts "
                "reject_local_spoof = yes (local senders from outside the LAN are refused at "
                "MAIL FROM, so local_sender never applies to them)\n",
                cfg->path ? cfg->path : "-", in->common.line, in->common.name);
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
    return errors;
}

int checkconf_main(const struct config *cfg)
{
    int errors = checkconf_report(cfg, stdout);
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
    }
    return 0;
}
