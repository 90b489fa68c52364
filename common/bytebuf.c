/* bytebuf: bounded big-endian byte writing and reading (see bytebuf.h). */
#include "bytebuf.h"

#include <string.h>

void bw_raw(struct bytes_w *w, const void *src, size_t n)
{
    if (w->bad || n > w->len - w->off) {
        w->bad = true;
        return;
    }
    if (n > 0)
        memcpy(w->p + w->off, src, n);
    w->off += n;
}

void bw_uint(struct bytes_w *w, uint64_t v, unsigned nbytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < nbytes && i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
    bw_raw(w, b, nbytes > 8 ? 8 : nbytes);
}

void bw_str(struct bytes_w *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n >= max || n > 0xffff) {
        w->bad = true;
        return;
    }
    bw_uint(w, n, 2);
    bw_raw(w, s, n);
}

size_t bw_done(const struct bytes_w *w)
{
    return w->bad ? 0 : w->off;
}

void br_raw(struct bytes_r *r, void *dst, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        if (n > 0)
            memset(dst, 0, n);
        return;
    }
    if (n > 0)
        memcpy(dst, r->p + r->off, n);
    r->off += n;
}

uint64_t br_uint(struct bytes_r *r, unsigned nbytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    if (nbytes > 8)
        nbytes = 8;
    br_raw(r, b, nbytes);
    for (unsigned i = 0; i < nbytes && !r->bad; i++)
        v = (v << 8) | b[i];
    return r->bad ? 0 : v;
}

void br_str(struct bytes_r *r, char *dst, size_t max)
{
    size_t n = (size_t)br_uint(r, 2);
    if (r->bad || n >= max) {
        r->bad = true;
        dst[0] = '\0';
        return;
    }
    br_raw(r, dst, n);
    dst[r->bad ? 0 : n] = '\0';
}

int br_end(const struct bytes_r *r)
{
    return (r->bad || r->off != r->len) ? -1 : 0;
}
