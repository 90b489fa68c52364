/* tls_policy: the outbound TLS policy seam (SPEC "Signing and publishing (outbound)":
 * MTA-STS and DANE). Per next hop the queue decides what TLS it requires (struct
 * tls_policy: opportunistic, testing or required, and who asks: MTA-STS (mtasts.h) or
 * DANE); smtpc_open (smtp_client.h) applies it to each host and connection through
 * the three calls below and reports what it got (struct tls_outcome: version, cipher,
 * verified by whom). A required policy that a host cannot meet (not in the policy's mx
 * list, no STARTTLS, a certificate that does not verify) makes the host unusable: the
 * mail is deferred, never sent in clear. Testing mode checks the same, logs what fails
 * and delivers anyway.
 *
 * The domain's policy comes from the queue (queue_dest.c: mtasts_lookup); DANE is per
 * MX host (its TLSA records are _PORT._tcp.HOST: dane.h), so smtpc_open looks each
 * host's up and tlsp_dane_policy makes a required policy of them (via DANE, the TLSA
 * set in p->dane) that takes precedence over MTA-STS (RFC 8461 section 2).
 *
 * MTA-STS verification is OpenSSL's: the chain against the system CA store (or
 * [server] tls_ca_file), the MX host name (SNI, X509_VERIFY_PARAM host, no partial
 * wildcards). DANE adds its TLSA records in tlsp_ssl_prepare (OpenSSL's
 * SSL_dane_enable / SSL_dane_tlsa_add); tlsp_ssl_check then asks whether one matched
 * (records of which none is usable: TLS required, unauthenticated: RFC 7672 2.2).
 *
 * Result codes: 0 success, negative error. */
#ifndef MS_TLS_POLICY_H
#define MS_TLS_POLICY_H
#include <stdbool.h>
#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

enum tlsp_mode {
    TLSP_OPPORTUNISTIC = 0,   /* STARTTLS when offered, no check (no policy) */
    TLSP_TESTING = 1,         /* verify, log failures, deliver anyway */
    TLSP_REQUIRED = 2,        /* verified TLS or no delivery (deferred) */
};

enum tlsp_via { TLSP_VIA_NONE = 0, TLSP_VIA_MTASTS = 1, TLSP_VIA_DANE = 2 };

#define TLSP_MX_MAX 16
#define TLSP_NAME_MAX 256

struct tls_policy {
    enum tlsp_mode mode;
    enum tlsp_via via;                    /* NONE exactly when mode is OPPORTUNISTIC */
    char domain[TLSP_NAME_MAX];           /* the recipient domain it is for */
    size_t nmx;                           /* MTA-STS: the policy's mx patterns */
    char mx[TLSP_MX_MAX][TLSP_NAME_MAX];  /* "mail.example.com", "*.example.net" */
    const void *dane;                     /* DANE: its TLSA set (dane.h), else NULL */
};

struct tls_outcome {
    char version[16];         /* "TLSv1.3", or "none" (no TLS) */
    char cipher[64];          /* "" without TLS */
    enum tlsp_via verified;   /* who the peer was verified for (NONE: not verified) */
};

/* ---- pure ---- */
const char *tlsp_via_name(enum tlsp_via v);          /* "none", "mta-sts", "dane" */
/* "MTA-STS enforce", "MTA-STS testing", "DANE", "" (opportunistic): the start of
 * every reason we give for a policy failure. */
const char *tlsp_label(const struct tls_policy *p);
/* RFC 8461 section 4.1: does HOST match PATTERN ("mx.example.com", or "*.example.com"
 * for exactly one more leftmost label)? Case-insensitive, trailing dots ignored. */
bool tlsp_mx_match(const char *pattern, const char *host);
/* May HOST be used under p (MTA-STS: it matches one of the mx patterns; else yes)? */
bool tlsp_host_allowed(const struct tls_policy *p, const char *host);

/* The policy for one host of the hop: its DANE state (dane.h: TLSA records, usable
 * or not) makes scratch a required DANE policy, which takes precedence over the
 * domain's p (RFC 8461 section 2); without DANE, p itself (may be NULL). */
struct dane_tlsa_set;
const struct tls_policy *tlsp_dane_policy(const struct tls_policy *p,
                                          const struct dane_tlsa_set *dane,
                                          struct tls_policy *scratch);

/* ---- OpenSSL ---- */
/* The verifying client context (CA_FILE, or the system store when NULL or ""): made
 * at the runner's start and at each reload; any thread. 0, or -1 (err says why: the
 * old context, if any, stays). */
int tlsp_configure(const char *ca_file, char *err, size_t errlen);
/* The verifying context with a reference for the caller (SSL_CTX_free it), or NULL. */
SSL_CTX *tlsp_ctx(void);
/* Before the handshake with HOST (the MX name): SNI, and for a checked policy the host
 * name to verify (and DANE's records). 0 or -1. */
int tlsp_ssl_prepare(const struct tls_policy *p, SSL *ssl, const char *host);
/* After the handshake: fill o; for a checked policy verify the peer. 0 when verified
 * (or nothing to check), -1 with why ("certificate not verified for HOST: REASON"). */
int tlsp_ssl_check(const struct tls_policy *p, SSL *ssl, const char *host,
                   struct tls_outcome *o, char *why, size_t len);

#endif
