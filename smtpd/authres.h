/* authres: the one Authentication-Results: header (RFC 8601) of a received message,
 * SPEC "Anti-spam on an instance": whenever SPF (and later DKIM, DMARC) ran, one
 * "Authentication-Results: HOSTNAME; spf=RESULT smtp.mailfrom=DOMAIN" line is put on top
 * of the message. An end-of-data row (checks.h: its header is prepended before the
 * durable delivery) over the facts the earlier rows left in antispam.h's client state.
 * authres_format is pure (tested). */
#ifndef MS_AUTHRES_H
#define MS_AUTHRES_H
#include <stdbool.h>
#include <stddef.h>

#include "check_dkim.h"
#include "checks.h"

#define RULE_AUTHRES "authres"

struct authres_facts {
    bool spf_ran;
    const char *spf;            /* spf_result_name() */
    bool spf_helo;              /* the HELO identity was checked (MAIL FROM:<>) */
    const char *spf_domain;     /* the domain checked */
    bool dkim_ran;
    const struct dkimv_sig *dkim;   /* the signatures (none: dkim=none) */
    size_t ndkim;
    bool dmarc_ran;
    const char *dmarc;          /* dmarcv_result_name() */
    const char *dmarc_why;      /* "p=reject"..., or "" */
    const char *dmarc_from;     /* the From: domain, or "" */
};

/* The header line (no line end) into out. 0, -1 when nothing ran or it does not fit. */
int authres_format(const char *hostname, const struct authres_facts *f, char *out, size_t n);

/* A header field of a header section: offset and length with its line end. */
struct authres_span {
    size_t at, len;
};
/* The Authentication-Results: fields of the header section at the start of TEXT (LEN
 * octets, LF line ends; up to the empty line or LEN) whose authserv-id is HOST (any
 * case): at most MAX into out, top first. Their count. */
size_t authres_ours(const char *text, size_t len, const char *host, struct authres_span *out,
                    size_t max);

struct spool;
/* Remove from the spooled message the Authentication-Results: fields that claim HOST (a
 * forged one must not pass for ours), looking at its first 64 KiB of header. On the
 * worker, before our own is prepended. 0, or -1 with errno (the spool is lost). */
int authres_strip(struct spool *sp, const char *host);

/* The end-of-data row. */
enum check_status check_authres(struct check_run *run, struct check_verdict *v);

#endif
