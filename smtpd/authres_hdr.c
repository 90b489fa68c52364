/* authres_hdr: the pure parts of authres.h: the Authentication-Results: line we add,
 * and finding the fields of a received header section that claim our name (fuzzed). */
#include "authres.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int authres_format(const char *hostname, const struct authres_facts *f, char *out, size_t n)
{
    if (!f->spf_ran)
        return -1;
    int w = snprintf(out, n, "Authentication-Results: %s; spf=%s smtp.%s=%s", hostname,
                     f->spf, f->spf_helo ? "helo" : "mailfrom", f->spf_domain);
    return w < 0 || (size_t)w >= n ? -1 : 0;
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

