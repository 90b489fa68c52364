/* dane: DANE for outbound SMTP (RFC 7672 over RFC 6698 TLSA records) on the queue's
 * delivery threads. The TLSA RRset of "_PORT._tcp.HOST" is looked up (validating,
 * dns_sync_query_sec) only for a host that is a DANE reference identifier: its MX RRset
 * (or the configured [routes]/relayhost name) and its address records are DNSSEC-secure
 * (RFC 7672 2.2). Usable records are DANE-TA(2) and DANE-EE(3) (PKIX-TA/EE, 0 and 1, are
 * unusable for SMTP: RFC 7672 3.1.3); OpenSSL's own DANE matches them during the
 * handshake (DANE-EE: no name or expiry checks, RFC 7672 3.1.1; DANE-TA: the chain up
 * to the record and the name against the MX host, 3.1.2).
 *
 * Outcomes: no TLSA (or insecure): STARTTLS when offered, as before. Usable records:
 * STARTTLS required and the peer must match, else the host is skipped and, with no other,
 * the mail deferred with the reason (never sent in clear). Records, none usable:
 * STARTTLS required, unauthenticated (RFC 7672 2.2). Bogus or failed TLSA lookup: defer.
 *
 * The record parsing and usability filter are pure (unit-tested); dane_lookup does the
 * DNS; dane_ssl_setup / dane_ssl_verdict wrap OpenSSL's SSL_dane_* calls. */
#ifndef MS_DANE_H
#define MS_DANE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

#define DANE_TLSA_MAX 8          /* usable records kept per host */
#define DANE_DATA_MAX 1024       /* association data kept (a full certificate may not fit) */

/* TLSA certificate usages (RFC 7218 names) */
enum { DANE_PKIX_TA = 0, DANE_PKIX_EE = 1, DANE_TA = 2, DANE_EE = 3 };

struct dane_tlsa {
    uint8_t usage, selector, mtype;
    size_t len;
    unsigned char data[DANE_DATA_MAX];
};

enum dane_state {
    DANE_NONE = 0,               /* no DANE for this host: opportunistic TLS */
    DANE_USABLE = 1,             /* n usable records: TLS required and authenticated */
    DANE_TLS_ONLY = 2,           /* records, none usable: TLS required, unauthenticated */
    DANE_DEFER = -1,             /* bogus / failed lookup: do not deliver to this host now */
};

struct dane_tlsa_set {
    enum dane_state state;
    size_t n;                    /* usable records in r */
    size_t unusable;             /* records skipped */
    struct dane_tlsa r[DANE_TLSA_MAX];
    char host[DNS_NAME_MAX];     /* the TLSA base domain (the MX host name) */
};

/* ---- pure ---------------------------------------------------------------- */

/* One TLSA RDATA (RFC 6698 2.1): 1 usable for SMTP (usage 2 or 3, selector 0 or 1,
 * matching type 0, 1 with 32 octets or 2 with 64), 0 well-formed but unusable (no
 * data, or matching type 0 over DANE_DATA_MAX), -1 malformed (under 3 octets). out is
 * filled when the return is 1. */
int dane_tlsa_parse(const unsigned char *rd, size_t len, struct dane_tlsa *out);
/* The records of a TLSA answer into set (usable ones kept, others counted); set->state
 * DANE_USABLE when any is, else DANE_TLS_ONLY (records but none usable). */
void dane_tlsa_collect(const struct dns_answer *a, struct dane_tlsa_set *set);
/* "_25._tcp.mx.example.net" into out; 0, or -1 when it does not fit. */
int dane_tlsa_name(const char *host, int port, char *out, size_t size);

/* ---- DNS (blocking: delivery threads only) ------------------------------- */

/* The TLSA records of HOST:PORT, set->state the outcome; why (for DANE_DEFER) says why.
 * Call only for a host whose MX and address records were secure. */
enum dane_state dane_lookup(const char *host, int port, struct dane_tlsa_set *set, char *why,
                            size_t wl);

/* Before connecting to HOST:PORT: its addresses into addrs (at most max, *n of them),
 * validated when REF_SECURE (the MX RRset, or a configured host name) and a trust anchor
 * is set, and when they are secure its TLSA records (set->state; else DANE_NONE). 0, or
 * -1: no address (*st: DNS_NXDOMAIN or DNS_ERROR; bogus ones are DANE_DEFER) or
 * set->state DANE_DEFER; why says so. */
int dane_host_prepare(const char *host, int port, bool ref_secure, struct ipaddr *addrs,
                      size_t max, size_t *n, enum dns_status *st, struct dane_tlsa_set *set,
                      char *why, size_t wl);

/* ---- OpenSSL ------------------------------------------------------------- */

/* Once on the delivery SSL_CTX (SSL_CTX_dane_enable); 0 or -1. */
int dane_ctx_init(SSL_CTX *ctx);
/* Before the handshake: the set's records as the peer's only trust (SSL_dane_enable with
 * the MX host as reference name, DANE-EE without name checks, SSL_dane_tlsa_add);
 * 0, or -1 (none could be added). */
int dane_ssl_setup(SSL *ssl, const struct dane_tlsa_set *set);
/* After the handshake: 0 when a record matched the peer's chain (why: "DANE-EE(3) ..."),
 * -1 with why when not. */
int dane_ssl_verdict(SSL *ssl, char *why, size_t wl);

#endif
