/* mtasts_fetch: the HTTPS fetch of an MTA-STS policy file with libcurl (mtasts.h).
 * The host name mta-sts.DOMAIN is resolved by our resolver (dns_sync_addrs:
 * dns_servers, /etc/hosts first) and handed to libcurl with CURLOPT_RESOLVE, so the
 * fetch uses the same DNS as the rest of the server and the certificate is still
 * checked against that name. RFC 8461 3.3: HTTPS only, the certificate verified, no
 * redirects; a 200 answer of type text/plain; our limits: 64 KB and a timeout. */
#include "mtasts.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "util.h"

#define FETCH_TIMEOUT 30     /* seconds, connect and transfer together */
#define FETCH_ADDRS 8

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok = -1;

static void curl_setup(void)
{
    curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int mtasts_fetch_init(void)
{
    if (pthread_once(&curl_once, curl_setup) != 0)
        return -1;
    return curl_ok;
}

struct sink {
    char *buf;
    size_t len;
    bool over;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (n > MTASTS_POLICY_MAX - s->len) {
        s->over = true;
        return 0;                       /* libcurl stops with CURLE_WRITE_ERROR */
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return n;
}

/* "HOST:PORT:ADDR,ADDR" for CURLOPT_RESOLVE from our resolver; 0 or -1 (err). */
static int resolve_entry(const char *host, unsigned port, char *out, size_t len, char *err,
                         size_t errlen)
{
    struct ipaddr a[FETCH_ADDRS];
    size_t n = 0;
    enum dns_status st;
    if (dns_sync_addrs(host, a, FETCH_ADDRS, &n, &st) < 0 || n == 0) {
        snprintf(err, errlen, "%s: %s", host,
                 st == DNS_NXDOMAIN ? "no address" : "DNS lookup failed");
        return -1;
    }
    size_t o = (size_t)snprintf(out, len, "%s:%u:", host, port);
    for (size_t i = 0; i < n && o < len; i++) {
        char text[64];
        ipaddr_format(&a[i], text, sizeof text);
        bool v6 = strchr(text, ':') != NULL;
        o += (size_t)snprintf(out + o, len - o, "%s%s%s%s", i ? "," : "", v6 ? "[" : "", text,
                              v6 ? "]" : "");
    }
    if (o >= len) {
        snprintf(err, errlen, "%s: too many addresses", host);
        return -1;
    }
    return 0;
}

static bool set_opts(CURL *h, const char *url, const char *ca, struct curl_slist *res,
                     struct sink *s, char *ebuf)
{
    return curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
           (!ca[0] || curl_easy_setopt(h, CURLOPT_CAINFO, ca) == CURLE_OK) &&
           curl_easy_setopt(h, CURLOPT_RESOLVE, res) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)FETCH_TIMEOUT) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long)MTASTS_POLICY_MAX) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_USERAGENT, "mailserver-smtpd") == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf) == CURLE_OK;
}

/* After the transfer: a 200 of type text/plain. 0 or -1 (err). */
static int check_answer(CURL *h, char *err, size_t errlen)
{
    long code = 0;
    const char *type = NULL;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
        snprintf(err, errlen, "HTTP status %ld", code);
        return -1;
    }
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) != CURLE_OK || !type ||
        strncasecmp(type, "text/plain", 10) != 0 || (type[10] && type[10] != ';' && type[10] != ' ')) {
        snprintf(err, errlen, "content type %s, not text/plain", type ? type : "missing");
        return -1;
    }
    return 0;
}

int mtasts_fetch(const char *domain, unsigned port, const char *ca_file, char *buf,
                 size_t *len, char *err, size_t errlen)
{
    char host[TLSP_NAME_MAX + 16], url[TLSP_NAME_MAX + 96], entry[1024];
    char ebuf[CURL_ERROR_SIZE] = "";
    struct sink s = { buf, 0, false };
    *len = 0;
    if (mtasts_fetch_init() < 0) {
        snprintf(err, errlen, "libcurl is not available");
        return -1;
    }
    snprintf(host, sizeof host, "mta-sts.%s", domain);
    if (port == 443)
        snprintf(url, sizeof url, "https://%s/.well-known/mta-sts.txt", host);
    else
        snprintf(url, sizeof url, "https://%s:%u/.well-known/mta-sts.txt", host, port);
    if (resolve_entry(host, port, entry, sizeof entry, err, errlen) < 0)
        return -1;
    struct curl_slist *res = curl_slist_append(NULL, entry);
    CURL *h = res ? curl_easy_init() : NULL;
    int rc = -1;
    if (!h)
        snprintf(err, errlen, "out of memory");
    else if (!set_opts(h, url, ca_file ? ca_file : "", res, &s, ebuf))
        snprintf(err, errlen, "libcurl refused an option");
    else {
        CURLcode c = curl_easy_perform(h);
        if (s.over)
            snprintf(err, errlen, "%s: larger than %d octets", url, MTASTS_POLICY_MAX);
        else if (c != CURLE_OK)
            snprintf(err, errlen, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(c));
        else if (check_answer(h, err, errlen) == 0)
            rc = 0;
    }
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(res);
    buf[s.len] = '\0';
    *len = rc == 0 ? s.len : 0;
    return rc;
}
