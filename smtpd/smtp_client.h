/* smtp_client: the outbound SMTP client of the queue runner. Blocking style over a
 * non-blocking socket with poll deadlines (RFC 5321 4.5.3.2 timeouts), EHLO with HELO
 * fallback, STARTTLS as the next hop's TLS policy asks (tls_policy.h: opportunistic
 * without a check, or verified by MTA-STS or by DANE's TLSA records, dane.h),
 * PIPELINING, SIZE, per
 * recipient results, RSET between messages on a reused connection. Reply parsing,
 * EHLO keyword parsing are pure and unit-tested; the message text goes out through
 * msgtext.h (CRLF, dot-stuffing, the SIZE value). */
#ifndef MS_SMTP_CLIENT_H
#define MS_SMTP_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mx.h"
#include "tls_policy.h"

typedef struct ssl_ctx_st SSL_CTX;

/* RFC 5321 4.5.3.2 timeouts, seconds (MS_SMTPC_TIMEOUT in the environment caps them
 * all: meant for tests only). */
#define SMTPC_T_CONNECT 30
#define SMTPC_T_BANNER  300
#define SMTPC_T_MAIL    300
#define SMTPC_T_RCPT    300
#define SMTPC_T_DATA    120
#define SMTPC_T_BLOCK   180
#define SMTPC_T_DOT     600
#define SMTPC_T_OTHER   300   /* EHLO, STARTTLS, RSET, QUIT */

struct smtpc_reply {
    int code;           /* 0: no reply (network error, timeout): treat as temporary */
    char enh[16];       /* enhanced status code if the reply has one, else "" */
    char text[1024];    /* "250 text text" (all lines joined with a space) or our error */
};

struct smtpc_caps {
    bool esmtp, starttls, pipelining, eightbit, enhanced;
    bool size;
    uint64_t size_max;  /* 0: no limit given */
};

/* ---- pure helpers ---- */
/* One reply line: 1 if it is the last line of the reply, 0 if more follow ("250-"),
 * -1 if it is not a reply line. *code gets the 3-digit code, *text the rest. */
int smtpc_parse_line(const char *line, int *code, const char **text);
/* EHLO reply lines after the first (one keyword line, without the "250-"). */
void smtpc_caps_line(struct smtpc_caps *caps, const char *line);
/* Pull an enhanced status code ("5.1.1") off the start of text into enh (size >= 16);
 * returns 1 if found. */
int smtpc_enhanced(const char *text, char *enh);
/* RFC 5321 section 5 loop check: does a greeting or EHLO/HELO reply text ("220 name
 * ESMTP ...", "250 name Hello"; the code may be left off) name hostname as its first
 * word (case-insensitive, one trailing dot ignored)? Empty or NULL names never match. */
bool smtpc_names_host(const char *text, const char *hostname);

/* ---- connection ---- */
struct smtpc;

/* Connect to the first host of nh that answers with a 2xx banner (every address of each
 * host, in order), EHLO (HELO if refused), STARTTLS when offered and tls is not NULL.
 * Policy p (NULL: opportunistic) is applied per host: a host that cannot meet a
 * required policy (not in its mx list, no STARTTLS, not verified) is not used, and
 * why says so ("MTA-STS enforce: ...", temporary); testing mode logs and goes on.
 * NULL with why filled when none works (why->code 5xx: the last host refused us
 * permanently, else temporary). */
struct smtpc *smtpc_open(const struct nexthop *nh, const char *helo, SSL_CTX *tls,
                         const struct tls_policy *p, struct smtpc_reply *why);
/* One transaction: MAIL FROM:<sender> (with SIZE= when offered), RCPT TO for each
 * recipient, DATA with the message read from msgfd (size octets, LF line ends).
 * res[i] gets each recipient's result: 2xx delivered, 4xx/0 deferred, 5xx bounced.
 * Returns 0 if the connection can carry another message (after smtpc_rset), -1 if not. */
int smtpc_send(struct smtpc *c, const char *sender, char *const *rcpts, size_t n, int msgfd,
               uint64_t size, struct smtpc_reply *res);
int smtpc_rset(struct smtpc *c);
/* QUIT (best effort), close and free. NULL is fine. */
void smtpc_close(struct smtpc *c);
const char *smtpc_host(const struct smtpc *c);    /* "mx.example.net[192.0.2.1]:25" */
const struct smtpc_caps *smtpc_caps(const struct smtpc *c);
/* The connection's TLS: version ("none" without), cipher, verified by whom. */
const struct tls_outcome *smtpc_tls(const struct smtpc *c);

#endif
