/* mtasts: MTA-STS policy lookup, cache and refresh for the queue (see mtasts.h). */
#include "mtasts.h"

#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

#define CACHE_DIR "mta-sts"

static pthread_mutex_t set_mu = PTHREAD_MUTEX_INITIALIZER;
static char set_data_dir[2048];
static char set_ca_file[2048];
static unsigned set_port = 443;

int outbound_tls_configure(const struct config *cfg)
{
    char err[512];
    const char *ca = cfg->tls_ca_file ? cfg->tls_ca_file : "";
    int rc = 0;
    if (mtasts_fetch_init() < 0) {
        log_err("mta-sts: cannot set up libcurl: policies are not fetched");
        rc = -1;
    }
    if (tlsp_configure(ca, err, sizeof err) < 0) {
        log_err("outbound TLS: %s: mail under an MTA-STS policy is deferred", err);
        rc = -1;
    }
    pthread_mutex_lock(&set_mu);
    str_copy(set_data_dir, cfg->data_dir, sizeof set_data_dir);
    str_copy(set_ca_file, ca, sizeof set_ca_file);
    set_port = cfg->mta_sts_fetch_port > 0 && cfg->mta_sts_fetch_port < 65536
                   ? cfg->mta_sts_fetch_port : 443;
    pthread_mutex_unlock(&set_mu);
    return rc;
}

int outbound_tls_check_config(const struct config *cfg, FILE *out)
{
    char err[512];
    const char *path = cfg->path ? cfg->path : "-";
    int errors = 0;
    if (cfg->tls_ca_file && cfg->tls_ca_file[0] && tlsp_configure(cfg->tls_ca_file, err, sizeof err) < 0) {
        fprintf(out, "error: %s: tls_ca_file: %s\n", path, err);
        errors++;
    }
    bool starttls = false;
    for (size_t i = 0; i < cfg->nsmtp; i++)
        starttls |= cfg->smtp[i].common.tls == TLS_STARTTLS || cfg->smtp[i].common.tls == TLS_REQUIRED;
    if ((cfg->mta_sts_policy == MTA_STS_TESTING || cfg->mta_sts_policy == MTA_STS_ENFORCE) &&
        (!starttls || !cfg->tls_cert || !cfg->tls_cert[0]))
        fprintf(out, "warning: %s: mta_sts_policy = %s but no [smtp] instance offers STARTTLS "
                "with tls_cert: senders that honour the policy cannot deliver to us\n", path,
                cfg->mta_sts_policy == MTA_STS_ENFORCE ? "enforce" : "testing");
    return errors;
}

/* ---------------------------------------------------------- cache file ---- */

char *mtasts_cache_format(const char *id, long long fetched, const char *policy, size_t plen,
                          size_t *outlen)
{
    char head[128];
    int n = snprintf(head, sizeof head, "id=%s\nfetched=%lld\n", id, fetched);
    if (n < 0 || (size_t)n >= sizeof head)
        return NULL;
    char *out = malloc((size_t)n + plen + 1);
    if (!out)
        return NULL;
    memcpy(out, head, (size_t)n);
    if (plen)
        memcpy(out + n, policy, plen);
    out[(size_t)n + plen] = '\0';
    *outlen = (size_t)n + plen;
    return out;
}

int mtasts_cache_parse(const char *text, size_t len, char *id, size_t idlen,
                       long long *fetched, const char **policy, size_t *plen)
{
    const char *nl1 = memchr(text, '\n', len);
    if (!nl1 || len < 3 || strncmp(text, "id=", 3) != 0)
        return -1;
    size_t il = (size_t)(nl1 - text) - 3;
    if (il == 0 || il >= idlen || il >= MTASTS_ID_MAX)
        return -1;
    memcpy(id, text + 3, il);
    id[il] = '\0';
    const char *p = nl1 + 1;
    size_t rest = len - (size_t)(p - text);
    const char *nl2 = memchr(p, '\n', rest);
    if (!nl2 || rest < 8 || strncmp(p, "fetched=", 8) != 0)
        return -1;
    char num[24];
    size_t nlen = (size_t)(nl2 - p) - 8;
    if (nlen == 0 || nlen >= sizeof num)
        return -1;
    memcpy(num, p + 8, nlen);
    num[nlen] = '\0';
    char *end = NULL;
    errno = 0;
    *fetched = strtoll(num, &end, 10);
    if (errno || *end)
        return -1;
    *policy = nl2 + 1;
    *plen = len - (size_t)(*policy - text);
    return 0;
}

/* A domain is a file name only when it is a plain host name. */
static bool name_ok(const char *d)
{
    size_t n = strlen(d);
    if (n == 0 || n >= TLSP_NAME_MAX || d[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.' && d[i] != '_')
            return false;
    return true;
}

struct cached {
    bool valid;                 /* read, parsed and not expired */
    char id[MTASTS_ID_MAX];
    long long fetched;
    struct mtasts_policy pol;
};

static void cache_read(const char *dir, const char *domain, struct cached *c, long long now)
{
    char path[4096];
    c->valid = false;
    snprintf(path, sizeof path, "%s/%s", dir, domain);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    char *buf = malloc(MTASTS_POLICY_MAX + 256);
    ssize_t n = buf ? pread_full(fd, buf, MTASTS_POLICY_MAX + 255, 0) : -1;
    (void)close(fd);
    const char *pol;
    size_t plen;
    if (n > 0 && mtasts_cache_parse(buf, (size_t)n, c->id, sizeof c->id, &c->fetched, &pol,
                                    &plen) == 0 &&
        mtasts_policy_parse(pol, plen, &c->pol) == 0)
        c->valid = now < c->fetched + (long long)c->pol.max_age;
    free(buf);
}

static void cache_write(const char *dir, const char *domain, const char *id, long long now,
                        const char *policy, size_t plen)
{
    char tmp[4096], dst[4096];
    size_t len;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        log_warn("mta-sts: cannot make %s: %s", dir, strerror(errno));
        return;
    }
    char *text = mtasts_cache_format(id, now, policy, plen, &len);
    snprintf(tmp, sizeof tmp, "%s/.%s.%ld", dir, domain, (long)gettid());
    snprintf(dst, sizeof dst, "%s/%s", dir, domain);
    if (!text || dfile_write(tmp, dst, dir, text, len) < 0)
        log_warn("mta-sts: cannot cache the policy of %s: %s", domain, strerror(errno));
    free(text);
}

/* ------------------------------------------------------------ the lookup ---- */

/* The id of DOMAIN's _mta-sts TXT record: 0 with id, 1 none (or not exactly one valid
 * record: RFC 8461 3.1 treats that as none), -1 when the lookup failed. */
static int txt_id(const char *domain, char *id, size_t idlen)
{
    char name[TLSP_NAME_MAX + 16];
    unsigned char ans[8192];
    enum dns_status st;
    snprintf(name, sizeof name, "_mta-sts.%s", domain);
    int len = dns_sync_query(name, ns_t_txt, ans, sizeof ans, &st);
    if (len < 0)
        return st == DNS_NXDOMAIN || st == DNS_NODATA ? 1 : -1;
    struct dns_answer a;
    if (dns_parse_answer(ans, (size_t)len, ns_t_txt, &a) < 0)
        return -1;
    int found = 0;
    for (size_t i = 0; i < a.n; i++) {
        char txt[1024], one[MTASTS_ID_MAX];
        if (dns_txt_join(a.rdata[i], a.rdlen[i], txt, sizeof txt) < 0)
            continue;
        int r = mtasts_txt_parse(txt, one, sizeof one);
        if (r == 1)
            continue;                  /* another kind of TXT record */
        if (r < 0 || found++)
            return 1;                  /* malformed, or two: no valid record */
        str_copy(id, one, idlen);
    }
    return found ? 0 : 1;
}

/* Fetch, parse and cache; 0 with *pol, or -1 (logged). */
static int refresh(const char *dir, const char *domain, const char *id, unsigned port,
                   const char *ca, long long now, struct mtasts_policy *pol)
{
    char err[512];
    size_t len = 0;
    char *buf = malloc(MTASTS_POLICY_MAX + 1);
    int rc = -1;
    if (!buf)
        return -1;
    if (mtasts_fetch(domain, port, ca, buf, &len, err, sizeof err) < 0)
        log_warn("mta-sts: %s: policy fetch failed: %s", domain, err);
    else if (mtasts_policy_parse(buf, len, pol) < 0)
        log_warn("mta-sts: %s: the policy file is not a valid MTA-STS policy", domain);
    else {
        cache_write(dir, domain, id, now, buf, len);
        log_info("mta-sts: %s: policy id=%s mode=%s max_age=%lu mx=%zu fetched", domain, id,
                 mtasts_mode_name(pol->mode), pol->max_age, pol->nmx);
        rc = 0;
    }
    free(buf);
    return rc;
}

void mtasts_lookup(const char *domain_in, struct tls_policy *out)
{
    char domain[TLSP_NAME_MAX], dir[2100], ca[2048], id[MTASTS_ID_MAX] = "";
    unsigned port;
    struct mtasts_policy none = { .mode = MTASTS_NONE };
    str_copy(domain, domain_in, sizeof domain);
    str_lower(domain);
    mtasts_to_tls_policy(&none, domain, out);
    if (!name_ok(domain))
        return;
    pthread_mutex_lock(&set_mu);
    snprintf(dir, sizeof dir, "%s/" CACHE_DIR, set_data_dir);
    str_copy(ca, set_ca_file, sizeof ca);
    port = set_port;
    pthread_mutex_unlock(&set_mu);

    long long now = (long long)time(NULL);
    struct cached c;
    cache_read(dir, domain, &c, now);
    int t = txt_id(domain, id, sizeof id);
    const struct mtasts_policy *use = c.valid ? &c.pol : NULL;
    struct mtasts_policy fresh;
    if (t == 0 && !(c.valid && strcmp(c.id, id) == 0)) {
        if (refresh(dir, domain, id, port, ca, now, &fresh) == 0)
            use = &fresh;
        else if (use)
            log_warn("mta-sts: %s: the cached policy (id=%s, mode %s) stays in force", domain,
                     c.id, mtasts_mode_name(c.pol.mode));
    }
    if (use)
        mtasts_to_tls_policy(use, domain, out);
}
