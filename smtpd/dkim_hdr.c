/* dkim_hdr: signed header list and the From: domain (see dkim_hdr.h). */
#include "dkim_hdr.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

const char *const dkim_sign_headers[] = {
    "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding", NULL,
};
const char *const dkim_oversign_headers[] = { "from", NULL };

/* The end of the line at P (the '\n' or LEN). */
static size_t line_end(const char *t, size_t len, size_t p)
{
    const char *nl = memchr(t + p, '\n', len - p);
    return nl ? (size_t)(nl - t) : len;
}

static bool is_from(const char *t, size_t len, size_t p)
{
    return len - p >= 5 && strncasecmp(t + p, "from:", 5) == 0;
}

static bool dom_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.';
}

/* The domain after the last '@' of the address in V[0..n): inside <...> when there
 * are angle brackets, else the whole value. */
static int addr_domain(const char *v, size_t n, char *dom, size_t domlen)
{
    const char *lt = NULL, *gt = NULL, *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i] == '<')
            lt = v + i;
    if (lt) {
        gt = memchr(lt, '>', (size_t)(v + n - lt));
        if (!gt)
            return 1;
        v = lt + 1;
        n = (size_t)(gt - v);
    }
    for (size_t i = 0; i < n; i++)
        if (v[i] == '@')
            at = v + i;
    if (!at)
        return 1;
    size_t k = 0;
    for (const char *p = at + 1; p < v + n && dom_char(*p); p++) {
        if (k + 1 >= domlen)
            return -1;
        char c = *p;
        dom[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dom[k] = '\0';
    for (const char *p = at + 1 + k; p < v + n; p++)   /* only blanks may follow */
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return 1;
    return k == 0 || dom[0] == '.' || dom[k - 1] == '.' ? 1 : 0;
}

/* The header section's extent: up to the empty line, or LEN. */
static size_t header_len(const char *t, size_t len)
{
    size_t p = 0;
    while (p < len) {
        size_t e = line_end(t, len, p);
        if (e == p || (e == p + 1 && t[p] == '\r'))
            return p;
        p = e + 1;
    }
    return len;
}

int dkim_from_domain(const char *text, size_t len, char *dom, size_t domlen)
{
    size_t from = 0;
    int nfrom = 0;
    if (domlen == 0)
        return -1;
    len = header_len(text, len);
    for (size_t p = 0; p < len; p = line_end(text, len, p) + 1)
        if (is_from(text, len, p)) {
            nfrom++;
            from = p;
        }
    if (nfrom != 1)
        return 1;
    size_t end = line_end(text, len, from);        /* the field and its folded lines */
    while (end + 1 < len && (text[end + 1] == ' ' || text[end + 1] == '\t'))
        end = line_end(text, len, end + 1);
    return addr_domain(text + from + 5, end - from - 5, dom, domlen);
}
