/* mtasts_parse: MTA-STS TXT record and policy file (see mtasts_parse.h). */
#include "mtasts_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

const char *mtasts_mode_name(enum mtasts_mode m)
{
    return m == MTASTS_ENFORCE ? "enforce" : m == MTASTS_TESTING ? "testing" : "none";
}

static const char *skip_wsp(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* RFC 8461 3.1: "v=STSv1" *WSP ";" ... "id=" 1*32(ALPHA/DIGIT) ... */
int mtasts_txt_parse(const char *txt, char *id, size_t idlen)
{
    const char *p = skip_wsp(txt);
    if (strncmp(p, "v=STSv1", 7) != 0)
        return 1;
    p = skip_wsp(p + 7);
    if (*p != ';' && *p != '\0')
        return 1;                        /* "v=STSv10": another version */
    bool have_id = false;
    while (*p == ';') {
        p = skip_wsp(p + 1);
        if (*p == '\0')
            break;
        size_t klen = strcspn(p, "=; \t");
        if (klen == 0 || p[klen] != '=')
            return -1;
        const char *v = p + klen + 1;
        size_t vlen = strcspn(v, "; \t");
        if (klen == 2 && strncmp(p, "id", 2) == 0 && !have_id) {
            if (vlen == 0 || vlen >= MTASTS_ID_MAX || vlen >= idlen)
                return -1;
            for (size_t i = 0; i < vlen; i++)
                if (!isalnum((unsigned char)v[i]))
                    return -1;
            memcpy(id, v, vlen);
            id[vlen] = '\0';
            have_id = true;
        }
        p = skip_wsp(v + vlen);
    }
    return *p == '\0' && have_id ? 0 : -1;
}

/* RFC 8461 3.2's mx pattern: a domain, or "*." and a domain. */
static bool mx_pattern_ok(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '*' && s[1] == '.') {
        s += 2;
        n -= 2;
    }
    if (n == 0 || n >= TLSP_NAME_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
        if (c == '.' && i + 1 < n && s[i + 1] == '.')
            return false;
    }
    return true;
}

struct seen { bool version, mode, max_age; };

/* One "key: value" line (value trimmed). 0, or -1 when it makes the policy invalid. */
static int policy_field(const char *k, size_t kl, const char *v, size_t vl,
                        struct mtasts_policy *p, struct seen *s)
{
#define KEY(name) (kl == sizeof(name) - 1 && strncmp(k, name, kl) == 0)
    if (KEY("version")) {
        if (!s->version && !(vl == 5 && strncmp(v, "STSv1", 5) == 0))
            return -1;
        s->version = true;
    } else if (KEY("mode")) {
        if (s->mode)
            return 0;                       /* the first one counts */
        s->mode = true;
        if (vl == 7 && strncmp(v, "enforce", 7) == 0)
            p->mode = MTASTS_ENFORCE;
        else if (vl == 7 && strncmp(v, "testing", 7) == 0)
            p->mode = MTASTS_TESTING;
        else if (vl == 4 && strncmp(v, "none", 4) == 0)
            p->mode = MTASTS_NONE;
        else
            return -1;
    } else if (KEY("max_age")) {
        if (s->max_age)
            return 0;
        char num[12];
        if (vl == 0 || vl > 10)
            return -1;
        memcpy(num, v, vl);                 /* v is not NUL-terminated */
        num[vl] = '\0';
        if (strspn(num, "0123456789") < vl)
            return -1;
        unsigned long a = strtoul(num, NULL, 10);
        p->max_age = a > MTASTS_MAX_AGE_MAX ? MTASTS_MAX_AGE_MAX : a;
        s->max_age = true;
    } else if (KEY("mx")) {
        if (!mx_pattern_ok(v, vl))
            return -1;
        if (p->nmx < TLSP_MX_MAX) {
            memcpy(p->mx[p->nmx], v, vl);
            p->mx[p->nmx][vl] = '\0';
            p->nmx++;
        }
    }                                       /* other keys: extensions, ignored */
    return 0;
#undef KEY
}

int mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *p)
{
    memset(p, 0, sizeof *p);
    struct seen s = { false, false, false };
    if (len > MTASTS_POLICY_MAX)
        return -1;
    for (size_t i = 0; i < len;) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line || memchr(line, '\0', n))
            return -1;
        size_t kl = (size_t)(colon - line);
        for (size_t k = 0; k < kl; k++) {
            unsigned char c = (unsigned char)line[k];
            if (!isalnum(c) && c != '_' && c != '-' && c != '.')
                return -1;
        }
        const char *v = colon + 1, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (policy_field(line, kl, v, (size_t)(end - v), p, &s) < 0)
            return -1;
    }
    if (!s.version || !s.mode || !s.max_age || (p->mode != MTASTS_NONE && p->nmx == 0))
        return -1;
    return 0;
}

void mtasts_to_tls_policy(const struct mtasts_policy *p, const char *domain,
                          struct tls_policy *out)
{
    memset(out, 0, sizeof *out);
    str_copy(out->domain, domain, sizeof out->domain);
    if (p->mode == MTASTS_NONE)
        return;                             /* opportunistic */
    out->mode = p->mode == MTASTS_ENFORCE ? TLSP_REQUIRED : TLSP_TESTING;
    out->via = TLSP_VIA_MTASTS;
    out->nmx = p->nmx;
    for (size_t i = 0; i < p->nmx && i < TLSP_MX_MAX; i++)
        str_copy(out->mx[i], p->mx[i], sizeof out->mx[i]);
}
