/* config_kinds: the tables that drive the mailserver.conf parser: the [server] keys,
 * the keys every listener instance has, and the protocol kinds ([smtp NAME],
 * [pop3 NAME]), each with its own keys. A third kind (IMAP) is its struct in
 * config.h, its key table and one row of config_kinds[] here; the parser, the
 * checks of the whole file, config_free and the server framework need nothing more. */
#include "config_kinds.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define S(f) offsetof(struct config, f)
#define C(f) offsetof(struct instance_common, f)
#define I(f) offsetof(struct smtp_instance, f)

const struct keydef config_server_keys[] = {
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
    { "dns_servers", V_DNSSERVERS, S(dns_servers), NOOFF, "" },   /* "": /etc/resolv.conf */
    { "dns_timeout", V_DUR_NZ, S(dns_timeout), NOOFF, "5s" },
    { "dns_trust_anchor", V_STR, S(dns_trust_anchor), NOOFF, "/usr/share/dns/root.key" },
    { "queue_concurrency", V_UINT, S(queue_concurrency), NOOFF, "20" },
    { "queue_destination_concurrency", V_UINT, S(queue_destination_concurrency), NOOFF, "5" },
    { "metrics_textfile", V_STR, S(metrics_textfile), NOOFF, "" },
    { "metrics_interval", V_DUR_NZ, S(metrics_interval), NOOFF, "30s" },
    { "tls_ca_file", V_STR, S(tls_ca_file), NOOFF, "" },        /* "": the system store */
    { "mta_sts_policy", V_STSPUB, S(mta_sts_policy), NOOFF, "off" },
    { "mta_sts_max_age", V_DUR_NZ, S(mta_sts_max_age), NOOFF, "7d" },
    { "mta_sts_fetch_port", V_UINT, S(mta_sts_fetch_port), NOOFF, "443" },
    { "mail_dir", V_STR, S(mail_dir), NOOFF, "" },          /* "": DATA_DIR/mail */
    { NULL, V_STR, 0, NOOFF, NULL },
};

/* [cluster]: the store replicated over several nodes (cluster_conf.h checks them). */
const struct keydef config_cluster_keys[] = {
    { "node", V_STR, S(cluster_node), NOOFF, "" },
    { "peers", V_STR, S(cluster_peers), NOOFF, "" },
    { "priority", V_UINT, S(cluster_priority), NOOFF, "100" },
    { "ack_policy", V_STR, S(cluster_ack_policy), NOOFF, "quorum" },
    { NULL, V_STR, 0, NOOFF, NULL },
};

/* Every [KIND NAME] has these. auth_mechanisms defaults to every mechanism of
 * mechs.h, timeout to the kind's. */
const struct keydef config_common_keys[] = {
    { "listen", V_LISTEN, C(listen), C(nlisten), NULL },   /* required */
    { "tls", V_TLS, C(tls), NOOFF, "off" },
    { "auth_mechanisms", V_MECHS, C(auth_mechs), NOOFF, NULL },
    { "plaintext_auth", V_PLAIN, C(plaintext_auth), NOOFF, "tls" },
    { "allow_clients", V_IPLIST, C(allow_clients), C(allow_clients_set), "" },
    { "deny_clients", V_IPLIST, C(deny_clients), NOOFF, "" },
    { "max_connections", V_UINT, C(max_connections), NOOFF, "500" },
    { "max_connections_per_ip", V_UINT, C(max_connections_per_ip), NOOFF, "20" },
    { "timeout", V_TIMEOUT, C(timeout), NOOFF, NULL },
    { NULL, V_STR, 0, NOOFF, NULL },
};

static const struct keydef smtp_keys[] = {
    { "require_auth", V_BOOL, I(require_auth), NOOFF, "no" },
    { "relay", V_BOOL, I(relay), NOOFF, "yes" },
    { "relay_pop_before_smtp", V_BOOL, I(relay_pop_before_smtp), NOOFF, "no" },
    { "relay_outside_lan", V_BOOL, I(relay_outside_lan), NOOFF, "no" },
    { "relay_nonlocal_senders", V_BOOL, I(relay_nonlocal_senders), NOOFF, "yes" },
    { "relay_local_senders", V_BOOL, I(relay_local_senders), NOOFF, "no" },
    { "always_relay_from", V_IPLIST, I(always_relay_from), I(always_relay_from_set), "" },
    { "always_relay_to", V_RELAYTO, I(always_relay_to), NOOFF, "" },
    { "reject_local_spoof", V_BOOL, I(reject_local_spoof), NOOFF, "yes" },
    { "sender_login_match", V_BOOL, I(sender_login_match), NOOFF, "no" },
    { "allow_open_relay", V_BOOL, I(allow_open_relay), NOOFF, "no" },
    { "max_recipients", V_UINT, I(max_recipients), NOOFF, "100" },
    { "greylist", V_BOOL, I(greylist), NOOFF, "no" },
    { "greylist_delay", V_DUR, I(greylist_delay), NOOFF, "5m" },
    { "greylist_window", V_DUR_NZ, I(greylist_window), NOOFF, "24h" },
    { "greylist_keep", V_DUR_NZ, I(greylist_keep), NOOFF, "35d" },
    { "auth_source", V_AUTHSRC, I(auth_source), NOOFF, "store" },
    { "pam_service", V_NESTR, I(pam_service), NOOFF, "mailserver" },
    { "system_relay_group", V_NESTR, I(system_relay_group), NOOFF, "mailrelay" },
    { "auth_fixed_user", V_STR, I(auth_fixed_user), NOOFF, "" },
    { "dnsbl", V_DOMLIST, I(dnsbl), NOOFF, "" },
    { "dnswl", V_DOMLIST, I(dnswl), NOOFF, "" },
    { "content_filter", V_CFILTER, I(cf_host), I(cf_port), "" },
    { "content_filter_fail", V_CFFAIL, I(cf_tempfail), NOOFF, "accept" },
    { "content_filter_timeout", V_DUR_NZ, I(cf_timeout), NOOFF, "30s" },
    { "spf", V_SPF, I(spf), NOOFF, "off" },
    { "dkim_verify", V_BOOL, I(dkim_verify), NOOFF, "no" },
    { "dmarc", V_DMARC, I(dmarc), NOOFF, "off" },
    { NULL, V_STR, 0, NOOFF, NULL },
};

static const struct keydef pop3_keys[] = {
    { NULL, V_STR, 0, NOOFF, NULL },
};

#define KIND(word, stls, tmo, keys, type, arr, n) \
    { word, stls, tmo, keys, sizeof(type), offsetof(type, common), S(arr), S(n) }

const struct config_kind config_kinds[KIND_COUNT] = {
    [KIND_SMTP] = KIND("smtp", "starttls", "5m", smtp_keys, struct smtp_instance, smtp, nsmtp),
    [KIND_POP3] = KIND("pop3", "stls", "10m", pop3_keys, struct pop3_instance, pop3, npop3),
};

const struct config_kind *config_kind_by_name(const char *name)
{
    for (size_t k = 0; k < KIND_COUNT; k++)
        if (strcmp(config_kinds[k].name, name) == 0)
            return &config_kinds[k];
    return NULL;
}

/* The arrays are typed pointers in struct config (struct smtp_instance *smtp); here
 * they are read and written through memcpy, as the untyped pointer they all are. */
static void *kind_array(const struct config *cfg, const struct config_kind *kd)
{
    void *a;
    memcpy(&a, (const char *)cfg + kd->array, sizeof a);
    return a;
}

static void kind_set_array(struct config *cfg, const struct config_kind *kd, void *array)
{
    memcpy((char *)cfg + kd->array, &array, sizeof array);
}

size_t config_kind_n(const struct config *cfg, const struct config_kind *kd)
{
    size_t n;
    memcpy(&n, (const char *)cfg + kd->count, sizeof n);
    return n;
}

void *config_kind_get(const struct config *cfg, const struct config_kind *kd, size_t i)
{
    return (char *)kind_array(cfg, kd) + i * kd->size;
}

struct instance_common *config_kind_common(const struct config_kind *kd, void *inst)
{
    return (struct instance_common *)(void *)((char *)inst + kd->common);
}

void *config_kind_add(struct config *cfg, const struct config_kind *kd)
{
    size_t n = config_kind_n(cfg, kd);
    char *a = xrealloc_n(kind_array(cfg, kd), n + 1, kd->size);
    memset(a + n * kd->size, 0, kd->size);
    kind_set_array(cfg, kd, a);
    n++;
    memcpy((char *)cfg + kd->count, &n, sizeof n);
    return a + (n - 1) * kd->size;
}

void config_kind_drop(struct config *cfg, const struct config_kind *kd)
{
    size_t n = 0;
    free(kind_array(cfg, kd));
    kind_set_array(cfg, kd, NULL);
    memcpy((char *)cfg + kd->count, &n, sizeof n);
}

/* ---- the public, generic view (config.h) ------------------------------------------ */

size_t config_count(const struct config *cfg, enum inst_kind kind)
{
    return config_kind_n(cfg, &config_kinds[kind]);
}

const void *config_instance(const struct config *cfg, enum inst_kind kind, size_t i)
{
    return config_kind_get(cfg, &config_kinds[kind], i);
}

const struct instance_common *config_common(const struct config *cfg, enum inst_kind kind, size_t i)
{
    const struct config_kind *kd = &config_kinds[kind];
    return config_kind_common(kd, config_kind_get(cfg, kd, i));
}
