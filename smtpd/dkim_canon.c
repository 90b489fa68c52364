/* dkim_canon: relaxed canonicalization and header selection (see dkim_canon.h). */
#include "dkim_canon.h"

#include <string.h>
#include <strings.h>

static bool wsp(char c)
{
    return c == ' ' || c == '\t';
}

void dkim_body_init(struct dkim_body *b, dkim_sink out, void *ctx)
{
    memset(b, 0, sizeof *b);
    b->out = out;
    b->ctx = ctx;
}

static void body_char(struct dkim_body *b, char c)
{
    if (wsp(c)) {
        b->wsp = true;
        return;
    }
    for (; b->blank > 0; b->blank--)
        b->out(b->ctx, "\r\n", 2);
    if (b->wsp)
        b->out(b->ctx, " ", 1);
    b->wsp = false;
    b->out(b->ctx, &c, 1);
    b->text = true;
}

static void body_eol(struct dkim_body *b)
{
    if (b->text)
        b->out(b->ctx, "\r\n", 2);
    else
        b->blank++;
    b->text = b->wsp = false;
}

void dkim_body_feed(struct dkim_body *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (b->cr) {
            b->cr = false;
            if (c == '\n') {
                body_eol(b);
                continue;
            }
            body_char(b, '\r');
        }
        if (c == '\r')
            b->cr = true;
        else if (c == '\n')
            body_eol(b);
        else
            body_char(b, c);
    }
}

void dkim_body_end(struct dkim_body *b)
{
    if (b->cr) {
        b->cr = false;
        body_char(b, '\r');
    }
    if (b->text)
        b->out(b->ctx, "\r\n", 2);
    b->text = b->wsp = false;
    b->blank = 0;
}

void dkim_header_canon(const char *f, size_t n, bool crlf, dkim_sink out, void *ctx)
{
    size_t colon = 0;
    while (colon < n && f[colon] != ':')
        colon++;
    size_t name_end = colon;
    while (name_end > 0 && wsp(f[name_end - 1]))
        name_end--;
    for (size_t i = 0; i < name_end; i++) {
        char c = f[i];
        if (c == '\r' || c == '\n')
            continue;                          /* unfold (a broken field's name) */
        c = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        out(ctx, &c, 1);
    }
    out(ctx, ":", 1);
    bool pending = false, started = false;
    for (size_t i = colon + 1; i < n; i++) {
        char c = f[i];
        if (c == '\r' || c == '\n')
            continue;                          /* unfold */
        if (wsp(c)) {
            pending = started;                 /* none after the colon */
            continue;
        }
        if (pending)
            out(ctx, " ", 1);
        pending = false;
        started = true;
        out(ctx, &c, 1);
    }
    if (crlf)
        out(ctx, "\r\n", 2);
}

int dkim_fields(const char *text, size_t len, struct dkim_field *f, size_t max, size_t *hlen)
{
    size_t p = 0, nf = 0;
    while (p < len) {
        const char *nl = memchr(text + p, '\n', len - p);
        if (!nl)
            return -1;
        size_t e = (size_t)(nl - text);
        size_t end = e > p && text[e - 1] == '\r' ? e - 1 : e;
        if (end == p) {                        /* the empty line */
            *hlen = e + 1;
            return (int)nf;
        }
        if (wsp(text[p]) && nf > 0) {          /* a folded line */
            f[nf - 1].len = end - (size_t)(f[nf - 1].p - text);
        } else {
            if (nf == max)
                return -1;
            f[nf].p = text + p;
            f[nf].len = end - p;
            nf++;
        }
        p = e + 1;
    }
    return -1;
}

static bool name_is(const struct dkim_field *f, const char *name)
{
    size_t n = strlen(name);
    if (f->len < n)
        return false;
    if (strncasecmp(f->p, name, n) != 0)
        return false;
    size_t i = n;
    while (i < f->len && wsp(f->p[i]))
        i++;
    return i < f->len && f->p[i] == ':';
}

void dkim_select(const struct dkim_field *f, size_t nf, const char *const *names, int *sel)
{
    for (size_t k = 0; names[k]; k++) {
        sel[k] = -1;
        for (size_t i = nf; i-- > 0;) {
            bool used = false;
            for (size_t j = 0; j < k && !used; j++)
                used = sel[j] == (int)i;
            if (!used && name_is(&f[i], names[k])) {
                sel[k] = (int)i;
                break;
            }
        }
    }
}

size_t dkim_h_list(const struct dkim_field *f, size_t nf, const char *const *sign,
                   const char *const *oversign, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t s = 0; sign[s]; s++)
        for (size_t i = 0; i < nf; i++)
            if (name_is(&f[i], sign[s]) && n + 1 < max)
                names[n++] = sign[s];
    for (size_t s = 0; oversign[s] && n + 1 < max; s++)
        names[n++] = oversign[s];
    names[n] = NULL;
    return n;
}
