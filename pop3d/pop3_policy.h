/* pop3_policy: what a POP3 session may do given its instance settings and connection:
 * USER/PASS and SASL mechanisms (tls = required, plaintext_auth), STLS, and the
 * CAPA list that advertises exactly that (RFC 2449, 2595, 5034). Pure code. */
#ifndef MS_POP3_POLICY_H
#define MS_POP3_POLICY_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pop3_parse.h"

struct pop3_policy {
    enum tls_mode tls;
    unsigned mechs;              /* configured MECH_* bits */
    enum plaintext_auth plaintext;
    bool tls_active;
    bool tls_available;          /* a certificate is loaded (STLS possible) */
    bool secure_net;             /* client in secure_networks */
};

enum pop3_verdict {
    P3V_OK,
    P3V_TLS_REQUIRED,            /* tls = required and not yet TLS */
    P3V_PLAINTEXT_DENIED,        /* plaintext_auth = tls, no TLS, not a secure network */
    P3V_NOMECH,                  /* mechanism not configured / unknown */
};

#define POP3_MSG_TLS_REQUIRED "-ERR [AUTH] TLS required: issue STLS first"
#define POP3_MSG_PLAINTEXT \
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections"

/* Mechanisms to advertise and accept now. */
unsigned pop3_offered_mechs(const struct pop3_policy *p);
enum pop3_verdict pop3_user_allowed(const struct pop3_policy *p);
enum pop3_verdict pop3_mech_allowed(const struct pop3_policy *p, const char *mech);
bool pop3_stls_offered(const struct pop3_policy *p);
/* The whole CAPA reply ("+OK ..." to ".\r\n") into buf; returns its length, or 0 if
 * it does not fit. */
size_t pop3_capa(const struct pop3_policy *p, enum pop3_state st, char *buf, size_t len);

#endif
