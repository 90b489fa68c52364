/* cmd_dkim: DKIM keys and the DNS records to publish (SPEC.md "Signing and publishing
 * (outbound)"):
 *   dkim add DOMAIN [--selector NAME] [--algorithm rsa|ed25519]   a new key, its TXT
 *   dkim list | dkim del DOMAIN SELECTOR
 *   dns [DOMAIN]   MX, SPF, each DKIM key, DMARC, the RFC 6186 SRV records and the
 *                  MTA-STS TXT record (mta_sts_policy) of a local domain (all of them
 *                  without DOMAIN), in zone-file syntax; then our host's TLSA record
 *                  for DANE (dns_tlsa.c).
 *   dns --mta-sts-policy   the policy file to serve (sts_publish.h).
 * Runs after the privilege drop: key files are made by run_as_user, 0600, O_EXCL and
 * O_NOFOLLOW, under data_dir/dkim/DOMAIN (dkim_keys.h); smtpd picks a change up by
 * itself (dkim_sign.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dkim_keys.h"
#include "sts_publish.h"
#include "userdb.h"
#include "util.h"

/* DOMAIN lower-cased into out when it is a local domain (not an address literal). */
static int local_domain(const struct udb *u, const char *domain, char *out, size_t len)
{
    if (str_copy(out, domain, len) >= len || domain[0] == '[' ||
        !config_is_local_domain(u->cfg, str_lower(out))) {
        udb_err("not a local domain: %s", domain);
        return UDB_ERR;
    }
    return UDB_OK;
}

/* The default selector: the algorithm and the month, "rsa-202612" (a new key for
 * rotation gets a new name). */
static void default_selector(enum dkim_alg alg, char *sel, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    char ym[16] = "0";
    if (gmtime_r(&now, &tm) != NULL && strftime(ym, sizeof ym, "%Y%m", &tm) == 0)
        ym[0] = '\0';
    snprintf(sel, len, "%s-%s", alg == DKIM_ALG_ED25519 ? "ed" : "rsa", ym);
}

static int mkdir_private(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    udb_err("cannot create %s: %s", dir, strerror(errno));
    return -1;
}

static int key_exists(const struct udb *u, const char *domain, const char *sel)
{
    char path[4096];
    for (int a = DKIM_ALG_RSA; a <= DKIM_ALG_ED25519; a++)
        if (dkim_key_path(u->cfg->data_dir, domain, sel, (enum dkim_alg)a, path,
                          sizeof path) == 0 && access(path, F_OK) == 0)
            return 1;
    return 0;
}

static int dkim_add(struct udb *u, const char *arg)
{
    char domain[256], sel[DKIM_SELECTOR_MAX + 1], dir[4096], path[4096], txt[DKIM_TXT_MAX];
    enum dkim_alg alg = DKIM_ALG_RSA;
    if (local_domain(u, arg, domain, sizeof domain) != UDB_OK)
        return UDB_ERR;
    if (u->algorithm && dkim_alg_parse(u->algorithm, &alg) < 0) {
        udb_err("unknown algorithm (rsa or ed25519): %s", u->algorithm);
        return UDB_USAGE;
    }
    if (!u->selector)
        default_selector(alg, sel, sizeof sel);
    if (u->selector && str_copy(sel, u->selector, sizeof sel) >= sizeof sel)
        sel[0] = '\0';                                 /* too long: refused below */
    if (!dkim_selector_valid(sel)) {
        udb_err("not a valid selector (a DNS label: letters, digits, '-'): %s",
                u->selector ? u->selector : sel);
        return UDB_USAGE;
    }
    if (key_exists(u, domain, sel)) {
        udb_err("%s already has a key with selector %s (one TXT record per selector)", domain, sel);
        return UDB_ERR;
    }
    if (dkim_root_dir(u->cfg->data_dir, dir, sizeof dir) < 0 || mkdir_private(dir) < 0 ||
        dkim_domain_dir(u->cfg->data_dir, domain, dir, sizeof dir) < 0 || mkdir_private(dir) < 0 ||
        dkim_key_path(u->cfg->data_dir, domain, sel, alg, path, sizeof path) < 0)
        return UDB_ERR;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        udb_err("cannot create %s: %s", path, strerror(errno));
        return UDB_ERR;
    }
    int rc = dkim_key_generate(alg, fd, txt, sizeof txt);
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) != 0 || rc != 0) {
        udb_err("cannot make the key %s", path);
        unlink(path);
        return UDB_ERR;
    }
    printf("added %s key %s for %s (%s); publish this TXT record:\n", dkim_alg_name(alg), sel,
           domain, path);
    dkim_txt_record(stdout, domain, sel, txt);
    return UDB_OK;
}

/* The TXT value of key K; 0 or -1 (said on stderr). */
static int key_txt(const struct dkim_keyfile *k, char *txt, size_t len)
{
    char *pem = dkim_key_read(k->path);
    int rc = pem ? dkim_key_txt(k->alg, pem, txt, len) : -1;
    free(pem);
    if (rc < 0)
        udb_err("cannot read the key %s", k->path);
    return rc;
}

static int list_one(const struct dkim_keyfile *k, void *arg)
{
    char txt[DKIM_TXT_MAX];
    (void)arg;
    if (key_txt(k, txt, sizeof txt) == 0)
        printf("%s\t%s\t%s\t%s\n", k->domain, k->selector, dkim_alg_name(k->alg), txt);
    return 0;
}

static int dkim_del(struct udb *u, const char *arg, const char *sel)
{
    char domain[256], path[4096];
    int found = 0;
    if (local_domain(u, arg, domain, sizeof domain) != UDB_OK)
        return UDB_ERR;
    for (int a = DKIM_ALG_RSA; a <= DKIM_ALG_ED25519; a++) {
        if (dkim_key_path(u->cfg->data_dir, domain, sel, (enum dkim_alg)a, path, sizeof path) < 0)
            break;
        if (unlink(path) == 0)
            found++;
        else if (errno != ENOENT) {
            udb_err("cannot remove %s: %s", path, strerror(errno));
            return UDB_ERR;
        }
    }
    if (!found) {
        udb_err("no key %s for %s", sel, domain);
        return UDB_ERR;
    }
    if (dkim_domain_dir(u->cfg->data_dir, domain, path, sizeof path) == 0 && rmdir(path) < 0 &&
        errno != ENOTEMPTY && errno != EEXIST)
        udb_err("cannot remove %s: %s", path, strerror(errno));
    printf("deleted key %s of %s; remove its TXT record %s._domainkey.%s\n", sel, domain, sel,
           domain);
    return UDB_OK;
}

int cmd_dkim(struct udb *u)
{
    const char *what = u->args[0];
    if (strcmp(what, "add") == 0 && u->nargs == 2)
        return dkim_add(u, u->args[1]);
    if (strcmp(what, "list") == 0 && u->nargs == 1 && !u->selector && !u->algorithm)
        return dkim_keys_each(u->cfg->data_dir, NULL, list_one, NULL) == 0 ? UDB_OK : UDB_ERR;
    if (strcmp(what, "del") == 0 && u->nargs == 3 && !u->selector && !u->algorithm)
        return dkim_del(u, u->args[1], u->args[2]);
    return udb_usage();
}

/* ---- dns ------------------------------------------------------------------- */

static int dns_dkim(const struct dkim_keyfile *k, void *arg)
{
    char txt[DKIM_TXT_MAX];
    if (key_txt(k, txt, sizeof txt) == 0)
        dkim_txt_record(arg, k->domain, k->selector, txt);
    return 0;
}

/* "v=spf1 mx -all", with the relayhost when mail leaves through one (the receivers
 * see its address, not ours). */
static void spf(FILE *f, const struct config *cfg, const char *domain)
{
    char host[256], mech[300] = "";
    unsigned char a[16];
    if (cfg->relayhost && cfg->relayhost[0]) {
        str_copy(host, cfg->relayhost[0] == '[' ? cfg->relayhost + 1 : cfg->relayhost, sizeof host);
        host[strcspn(host, "]")] = '\0';
        if (inet_pton(AF_INET, host, a) == 1)
            snprintf(mech, sizeof mech, " ip4:%s", host);
        else if (strncmp(host, "IPv6:", 5) == 0 && inet_pton(AF_INET6, host + 5, a) == 1)
            snprintf(mech, sizeof mech, " ip6:%s", host + 5);
        else if (inet_pton(AF_INET6, host, a) == 1)
            snprintf(mech, sizeof mech, " ip6:%s", host);
        else
            snprintf(mech, sizeof mech, " a:%s", host);
    }
    fprintf(f, "%s.\t3600\tIN\tTXT\t\"v=spf1 mx%s -all\"\n", domain, mech);
}

static int dns_domain(struct udb *u, const char *domain)
{
    const struct config *cfg = u->cfg;
    printf("; %s: the records to publish (%s needs its A/AAAA record too)\n", domain,
           cfg->hostname);
    printf("%s.\t3600\tIN\tMX\t10 %s.\n", domain, cfg->hostname);
    spf(stdout, cfg, domain);
    if (dkim_keys_each(cfg->data_dir, domain, dns_dkim, stdout) != 0) {
        udb_err("cannot list the DKIM keys of %s", domain);
        return UDB_ERR;
    }
    printf("_dmarc.%s.\t3600\tIN\tTXT\t\"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s\"\n",
           domain, domain);
    clientcfg_srv_domain(stdout, cfg, domain);
    char policy[1024], id[20];
    if (sts_policy_text(cfg, policy, sizeof policy, id, sizeof id) == 0)
        printf("; MTA-STS: serve `userdb dns --mta-sts-policy` as "
               "https://mta-sts.%s/.well-known/mta-sts.txt\n"
               "_mta-sts.%s.\t3600\tIN\tTXT\t\"v=STSv1; id=%s\"\n", domain, domain, id);
    return UDB_OK;
}

int cmd_dns(struct udb *u)
{
    char domain[256];
    if (u->sts_policy) {                 /* the file for https://mta-sts.DOMAIN/ */
        char policy[1024], id[20];
        if (u->nargs != 0)
            return udb_usage();
        if (sts_policy_text(u->cfg, policy, sizeof policy, id, sizeof id) < 0) {
            udb_err("mta_sts_policy is off in %s", u->cfg->path);
            return UDB_ERR;
        }
        fputs(policy, stdout);
        return UDB_OK;
    }
    int rc;
    if (u->nargs == 1) {
        rc = local_domain(u, u->args[0], domain, sizeof domain) == UDB_OK
                 ? dns_domain(u, domain) : UDB_ERR;
    } else {
        rc = dns_domain(u, u->cfg->domain);
        for (size_t i = 0; i < u->cfg->domain_aliases.n && rc == UDB_OK; i++)
            if (u->cfg->domain_aliases.v[i][0] != '[')      /* not an address literal */
                rc = dns_domain(u, u->cfg->domain_aliases.v[i]);
    }
    if (rc == UDB_OK && dns_tlsa(stdout, u->cfg) < 0)       /* our MX host's, once */
        rc = UDB_ERR;
    return rc;
}
