/* dane: TLSA lookups for outbound SMTP and OpenSSL's DANE matching (see dane.h; the
 * pure record parsing is dane_tlsa.c). */
#include "dane.h"

#include <arpa/nameser.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define TLSA_TYPE ns_t_tlsa      /* 52, RFC 6698 */

/* ---- DNS -------------------------------------------------------------------- */

enum dane_state dane_lookup(const char *host, int port, struct dane_tlsa_set *set, char *why,
                            size_t wl)
{
    memset(set, 0, sizeof *set);
    set->state = DANE_DEFER;
    str_copy(set->host, host, sizeof set->host);
    char name[DNS_NAME_MAX + 16];
    if (dane_tlsa_name(host, port, name, sizeof name) < 0) {
        snprintf(why, wl, "TLSA name of %.200s too long", host);
        return set->state;
    }
    unsigned char buf[8192];
    enum dns_status st;
    enum dns_sec sec = DNS_SEC_INSECURE;
    int len = dns_sync_query_sec(name, TLSA_TYPE, buf, sizeof buf, &st, &sec);
    if (len < 0) {
        if (sec == DNS_SEC_BOGUS)
            snprintf(why, wl, "DANE: TLSA lookup of %.200s: DNSSEC validation failed (bogus)", name);
        else if (st == DNS_NXDOMAIN || st == DNS_NODATA)
            set->state = DANE_NONE;   /* no TLSA records: opportunistic TLS */
        else
            snprintf(why, wl, "DANE: TLSA lookup of %.200s failed (temporary)", name);
        return set->state;
    }
    struct dns_answer a;
    if (dns_parse_answer(buf, (size_t)len, TLSA_TYPE, &a) < 0) {
        snprintf(why, wl, "DANE: TLSA answer for %.200s malformed", name);
        return set->state;
    }
    if (sec != DNS_SEC_SECURE) {      /* RFC 7672 2.2: insecure TLSA records are ignored */
        set->state = DANE_NONE;
        return set->state;
    }
    dane_tlsa_collect(&a, set);
    log_info("dane: %s: %zu usable TLSA record(s), %zu unusable", name, set->n, set->unusable);
    return set->state;
}

int dane_host_prepare(const char *host, int port, bool ref_secure, struct ipaddr *addrs,
                      size_t max, size_t *n, enum dns_status *st, struct dane_tlsa_set *set,
                      char *why, size_t wl)
{
    memset(set, 0, sizeof *set);
    set->state = DANE_NONE;
    why[0] = '\0';
    if (!ref_secure || !dns_validating())
        return dns_sync_addrs(host, addrs, max, n, st);
    enum dns_sec sec = DNS_SEC_INSECURE;
    if (dns_sync_addrs_sec(host, addrs, max, n, st, &sec) < 0) {
        if (sec == DNS_SEC_BOGUS) {
            set->state = DANE_DEFER;
            snprintf(why, wl, "DANE: address of %.200s: DNSSEC validation failed (bogus)", host);
        }
        return -1;
    }
    if (sec != DNS_SEC_SECURE)        /* RFC 7672 2.2.2: insecure addresses, no TLSA */
        return 0;
    return dane_lookup(host, port, set, why, wl) == DANE_DEFER ? -1 : 0;
}

/* ---- OpenSSL ---------------------------------------------------------------- */

int dane_ctx_init(SSL_CTX *ctx)
{
    return ctx && SSL_CTX_dane_enable(ctx) > 0 ? 0 : -1;
}

int dane_ssl_setup(SSL *ssl, const struct dane_tlsa_set *set)
{
    if (SSL_dane_enable(ssl, set->host) <= 0)      /* also the SNI name */
        return -1;
    (void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    int added = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct dane_tlsa *t = &set->r[i];
        if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len) > 0)
            added++;
    }
    return added ? 0 : -1;
}

int dane_ssl_verdict(SSL *ssl, char *why, size_t wl)
{
    long v = SSL_get_verify_result(ssl);
    uint8_t usage = 0, selector = 0, mtype = 0;
    int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, NULL, NULL);
    if (v != X509_V_OK || depth < 0) {
        snprintf(why, wl, "certificate does not match the TLSA records (%s)",
                 v != X509_V_OK ? X509_verify_cert_error_string(v) : "no record matched");
        return -1;
    }
    snprintf(why, wl, "%s(%u) %u %u matched at depth %d",
             usage == DANE_EE ? "DANE-EE" : "DANE-TA", usage, selector, mtype, depth);
    return 0;
}
