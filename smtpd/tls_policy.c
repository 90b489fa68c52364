/* tls_policy: the outbound TLS policy seam (see tls_policy.h). */
#include "tls_policy.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "dane.h"
#include "log.h"
#include "tls.h"
#include "util.h"

/* ------------------------------------------------------------- pure part ---- */

const char *tlsp_via_name(enum tlsp_via v)
{
    return v == TLSP_VIA_MTASTS ? "mta-sts" : v == TLSP_VIA_DANE ? "dane" : "none";
}

const char *tlsp_label(const struct tls_policy *p)
{
    if (!p || p->mode == TLSP_OPPORTUNISTIC)
        return "";
    if (p->via == TLSP_VIA_DANE)
        return "DANE";
    return p->mode == TLSP_REQUIRED ? "MTA-STS enforce" : "MTA-STS testing";
}

/* Length without one trailing dot. */
static size_t bare_len(const char *s)
{
    size_t n = strlen(s);
    return n > 1 && s[n - 1] == '.' ? n - 1 : n;
}

bool tlsp_mx_match(const char *pattern, const char *host)
{
    size_t pl = bare_len(pattern), hl = bare_len(host);
    if (pl == 0 || hl == 0)
        return false;
    if (pl > 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.example.com": one label, not empty, then ".example.com" */
        const char *dot = memchr(host, '.', hl);
        if (!dot || dot == host)
            return false;
        size_t rest = hl - (size_t)(dot - host);
        return rest == pl - 1 && strncasecmp(dot, pattern + 1, rest) == 0;
    }
    return pl == hl && strncasecmp(pattern, host, pl) == 0;
}

bool tlsp_host_allowed(const struct tls_policy *p, const char *host)
{
    if (!p || p->via != TLSP_VIA_MTASTS)
        return true;
    for (size_t i = 0; i < p->nmx && i < TLSP_MX_MAX; i++)
        if (tlsp_mx_match(p->mx[i], host))
            return true;
    return false;
}

const struct tls_policy *tlsp_dane_policy(const struct tls_policy *p,
                                          const struct dane_tlsa_set *dane,
                                          struct tls_policy *scratch)
{
    if (!dane || (dane->state != DANE_USABLE && dane->state != DANE_TLS_ONLY))
        return p;
    memset(scratch, 0, sizeof *scratch);
    scratch->mode = TLSP_REQUIRED;
    scratch->via = TLSP_VIA_DANE;
    str_copy(scratch->domain, p ? p->domain : dane->host, sizeof scratch->domain);
    scratch->dane = dane;
    return scratch;
}

/* -------------------------------------------------------------- OpenSSL ---- */

static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *vctx;          /* the verifying context; replaced at a reload */

int tlsp_configure(const char *ca_file, char *err, size_t errlen)
{
    SSL_CTX *c = tls_client_ctx();      /* TLS 1.2+, our ciphers; verify result kept */
    if (!c) {
        snprintf(err, errlen, "cannot make a TLS client context");
        return -1;
    }
    int ok = ca_file && ca_file[0] ? SSL_CTX_load_verify_file(c, ca_file)
                                   : SSL_CTX_set_default_verify_paths(c);
    if (ok != 1) {
        unsigned long e = ERR_get_error();
        char buf[200] = "";
        if (e)
            ERR_error_string_n(e, buf, sizeof buf);
        snprintf(err, errlen, "cannot load the CA certificates %s: %s",
                 ca_file && ca_file[0] ? ca_file : "of the system", buf[0] ? buf : "unknown error");
        ERR_clear_error();
        SSL_CTX_free(c);
        return -1;
    }
    if (dane_ctx_init(c) < 0)           /* dane.h: TLSA matching on delivery */
        log_warn("tls policy: OpenSSL DANE unavailable: DANE hosts will be deferred");
    pthread_mutex_lock(&ctx_mu);
    SSL_CTX *old = vctx;
    vctx = c;
    pthread_mutex_unlock(&ctx_mu);
    SSL_CTX_free(old);                  /* connections still using it hold a reference */
    return 0;
}

SSL_CTX *tlsp_ctx(void)
{
    pthread_mutex_lock(&ctx_mu);
    SSL_CTX *c = vctx;
    if (c && SSL_CTX_up_ref(c) != 1)
        c = NULL;
    pthread_mutex_unlock(&ctx_mu);
    return c;
}

int tlsp_ssl_prepare(const struct tls_policy *p, SSL *ssl, const char *host)
{
    /* SNI: the MX name (an address literal has none) */
    if (host[0] && !strchr(host, ':') && strspn(host, "0123456789.") != strlen(host) &&
        SSL_set_tlsext_host_name(ssl, host) != 1)
        return -1;
    if (!p || p->mode == TLSP_OPPORTUNISTIC)
        return 0;
    if (p->via == TLSP_VIA_DANE) {
        const struct dane_tlsa_set *d = p->dane;
        return d->n == 0 ? 0 : dane_ssl_setup(ssl, d);    /* none usable: TLS only */
    }
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(vp, host, 0) == 1 ? 0 : -1;
}

int tlsp_ssl_check(const struct tls_policy *p, SSL *ssl, const char *host,
                   struct tls_outcome *o, char *why, size_t len)
{
    const char *cipher = SSL_get_cipher_name(ssl);
    str_copy(o->version, SSL_get_version(ssl), sizeof o->version);
    str_copy(o->cipher, cipher ? cipher : "", sizeof o->cipher);
    o->verified = TLSP_VIA_NONE;
    if (!p || p->mode == TLSP_OPPORTUNISTIC)
        return 0;
    if (p->via == TLSP_VIA_DANE) {
        const struct dane_tlsa_set *d = p->dane;
        char how[200];
        if (d->n == 0) {                   /* RFC 7672 2.2: encrypted, not authenticated */
            log_info("tls policy: %s: TLSA records, none usable: TLS without authentication",
                     host);
            return 0;
        }
        if (dane_ssl_verdict(ssl, how, sizeof how) < 0) {
            snprintf(why, len, "%s: %s", host, how);
            return -1;
        }
        log_info("tls policy: %s: %s", host, how);
        o->verified = TLSP_VIA_DANE;
        return 0;
    }
    long vr = SSL_get_verify_result(ssl);
    if (!SSL_get0_peer_certificate(ssl)) {
        snprintf(why, len, "certificate not verified for %s: no certificate", host);
        return -1;
    }
    if (vr != X509_V_OK) {
        snprintf(why, len, "certificate not verified for %s: %s", host,
                 X509_verify_cert_error_string(vr));
        return -1;
    }
    o->verified = p->via;
    return 0;
}
