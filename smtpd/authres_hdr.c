/* authres_hdr: the pure parts of authres.h: the Authentication-Results: line we add,
 * and finding the fields of a received header section that claim our name (fuzzed). */
#include "authres.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Append to out (size n, *used so far) printf-style; false when it does not fit. */
static bool put(char *out, size_t n, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t n, size_t *used, const char *fmt, ...)
{
    if (*used >= n)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out + *used, n - *used, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= n - *used)
        return false;
    *used += (size_t)w;
    return true;
}

#define VALUE_CHARS ".-_+/="          /* a domain, selector or base64 */
#define COMMENT_CHARS " .-_:"

/* S with only letters, digits and the characters of KEEP (a signature's values are the
 * sender's: no ';', parenthesis or line end may reach our header). */
static const char *clean(const char *s, const char *keep, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 1 < n; s++)
        if (isalnum((unsigned char)*s) || strchr(keep, *s))
            buf[o++] = *s;
    buf[o] = '\0';
    return o ? buf : "unknown";
}

static bool put_dkim(const struct dkimv_sig *g, char *out, size_t n, size_t *used)
{
    char d[256], s[64], b[16];
    if (!put(out, n, used, "; dkim=%s", dkimv_result_name(g->result)))
        return false;
    if (g->why[0] && !put(out, n, used, " (%s)", clean(g->why, COMMENT_CHARS, d, sizeof d)))
        return false;
    return put(out, n, used, " header.d=%s header.s=%s", clean(g->domain, VALUE_CHARS, d, sizeof d),
               clean(g->selector, VALUE_CHARS, s, sizeof s)) &&
           (!g->b[0] || put(out, n, used, " header.b=%s", clean(g->b, VALUE_CHARS, b, sizeof b)));
}

int authres_format(const char *hostname, const struct authres_facts *f, char *out, size_t n)
{
    size_t used = 0;
    if (!f->spf_ran && !f->dkim_ran && !f->dmarc_ran)
        return -1;
    if (!put(out, n, &used, "Authentication-Results: %s", hostname))
        return -1;
    if (f->spf_ran && !put(out, n, &used, "; spf=%s smtp.%s=%s", f->spf,
                           f->spf_helo ? "helo" : "mailfrom", f->spf_domain))
        return -1;
    if (f->dkim_ran && f->ndkim == 0 && !put(out, n, &used, "; dkim=none"))
        return -1;
    for (size_t i = 0; f->dkim_ran && i < f->ndkim; i++)
        if (!put_dkim(&f->dkim[i], out, n, &used))
            return -1;
    if (f->dmarc_ran) {
        char d[256];
        if (!put(out, n, &used, "; dmarc=%s", f->dmarc) ||
            (f->dmarc_why && f->dmarc_why[0] && !put(out, n, &used, " (%s)", f->dmarc_why)) ||
            (f->dmarc_from && f->dmarc_from[0] &&
             !put(out, n, &used, " header.from=%s", clean(f->dmarc_from, VALUE_CHARS, d, sizeof d))))
            return -1;
    }
    return 0;
}

static bool wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Does the value V (N octets, folded) start, after CFWS, with the authserv-id HOST? */
static bool claims(const char *v, size_t n, const char *host)
{
    size_t i = 0;
    for (int depth = 0; i < n; i++) {      /* CFWS: white space and (nested) comments */
        if (v[i] == '(')
            depth++;
        else if (v[i] == ')' && depth > 0)
            depth--;
        else if (depth == 0 && !wsp(v[i]))
            break;
    }
    size_t start = i;
    while (i < n && !wsp(v[i]) && v[i] != ';' && v[i] != '(')
        i++;
    size_t hl = strlen(host);
    return i - start == hl && strncasecmp(v + start, host, hl) == 0;
}

size_t authres_ours(const char *text, size_t len, const char *host, struct authres_span *out,
                    size_t max)
{
    static const char name[] = "authentication-results";
    const size_t nl = sizeof name - 1;
    size_t found = 0, at = 0;
    while (at < len && text[at] != '\n' && found < max) {
        size_t end = at;                   /* the field: its line and the folded ones */
        do {
            const char *lf = memchr(text + end, '\n', len - end);
            end = lf ? (size_t)(lf - text) + 1 : len;
        } while (end < len && (text[end] == ' ' || text[end] == '\t'));
        size_t i = at + nl;
        if (end - at > nl && strncasecmp(text + at, name, nl) == 0) {
            while (i < end && (text[i] == ' ' || text[i] == '\t'))
                i++;
            if (i < end && text[i] == ':' && claims(text + i + 1, end - i - 1, host))
                out[found++] = (struct authres_span){ at, end - at };
        }
        at = end;
    }
    return found;
}

