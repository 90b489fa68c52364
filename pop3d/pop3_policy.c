/* pop3_policy: POP3 login and capability policy (pure). */
#include "pop3_policy.h"

#include <stdio.h>

#include "auth.h"
#include "util.h"

static bool tls_missing(const struct pop3_policy *p)
{
    return p->tls == TLS_REQUIRED && !p->tls_active;
}

unsigned pop3_offered_mechs(const struct pop3_policy *p)
{
    if (tls_missing(p))
        return 0;
    return auth_offered_mechs(p->mechs, p->plaintext, p->tls_active || p->secure_net);
}

enum pop3_verdict pop3_user_allowed(const struct pop3_policy *p)
{
    if (tls_missing(p))
        return P3V_TLS_REQUIRED;
    if (p->plaintext == PLAINTEXT_TLS && !p->tls_active && !p->secure_net)
        return P3V_PLAINTEXT_DENIED;
    return P3V_OK;
}

enum pop3_verdict pop3_mech_allowed(const struct pop3_policy *p, const char *mech)
{
    unsigned bit = mech_bit(mech);
    if (!bit || !(p->mechs & bit))
        return P3V_NOMECH;
    if (tls_missing(p))
        return P3V_TLS_REQUIRED;
    if (!(pop3_offered_mechs(p) & bit))
        return P3V_PLAINTEXT_DENIED;
    return P3V_OK;
}

bool pop3_stls_offered(const struct pop3_policy *p)
{
    return (p->tls == TLS_STARTTLS || p->tls == TLS_REQUIRED) && !p->tls_active &&
           p->tls_available;
}

/* Append to buf; false once it no longer fits. */
static bool add(char *buf, size_t len, size_t *used, const char *a, const char *b)
{
    int n = snprintf(buf + *used, len - *used, "%s%s", a, b);
    if (n < 0 || (size_t)n >= len - *used)
        return false;
    *used += (size_t)n;
    return true;
}

size_t pop3_capa(const struct pop3_policy *p, enum pop3_state st, char *buf, size_t len)
{
    size_t used = 0;
    bool ok = len > 0 && add(buf, len, &used, "+OK Capability list follows\r\n",
                             "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (ok && st == P3S_AUTHORIZATION) {
        char mechs[64];
        unsigned offered = pop3_offered_mechs(p);
        if (pop3_user_allowed(p) == P3V_OK)
            ok = add(buf, len, &used, "USER\r\n", "");
        if (ok && offered) {
            mech_names(offered, ' ', mechs, sizeof mechs);
            ok = add(buf, len, &used, "SASL ", mechs) && add(buf, len, &used, "\r\n", "");
        }
        if (ok && pop3_stls_offered(p))
            ok = add(buf, len, &used, "STLS\r\n", "");
    }
    ok = ok && add(buf, len, &used, "IMPLEMENTATION mailserver\r\n", ".\r\n");
    return ok ? used : 0;
}
