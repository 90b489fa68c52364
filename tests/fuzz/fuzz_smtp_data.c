/* fuzz_smtp_data: libFuzzer harness for the DATA state machine (smtpd/data.h).
 * Input: 1 flag byte, 4 seed bytes, then the client's byte stream after "DATA\r\n".
 * The stream is fed once whole and once in chunks whose sizes come from the seed; both
 * runs must stop at the same offset with the same result and output, and that output is
 * compared with a simple reference (dot-unstuffing, CRLF -> LF, bare CR/LF -> 550). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fsd_sink {
    char *buf;
    size_t len, cap;
    size_t fail_after;   /* fail once more than this many bytes were written (0 = never) */
    bool failed;
};

static int fsd_write(void *ctx, const char *b, size_t n)
{
    struct fsd_sink *s = ctx;
    FZ_CHECK(!s->failed);   /* storing stops after a failure */
    if (s->len + n > s->cap) {
        size_t cap = (s->len + n) * 2 + 64;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            abort();
        s->buf = nb;
        s->cap = cap;
    }
    if (n)
        memcpy(s->buf + s->len, b, n);
    s->len += n;
    if (s->fail_after && s->len > s->fail_after) {
        s->failed = true;
        return -1;
    }
    return 0;
}

/* Feed stream in chunks (sizes from seed; chunk 0 = all). Returns bytes consumed. */
static size_t fsd_run(struct data_machine *m, const char *st, size_t n, uint32_t seed,
                      bool *done)
{
    size_t pos = 0;
    *done = false;
    while (pos < n && !*done) {
        size_t chunk = n - pos;
        if (seed) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            size_t c = (seed & 0x80000000u) ? (seed % 9000) + 1 : (seed % 7) + 1;
            if (c < chunk)
                chunk = c;
        }
        size_t used = data_feed(m, st + pos, chunk, done);
        FZ_CHECK(used <= chunk);
        FZ_CHECK(*done || used == chunk);
        pos += used;
    }
    return pos;
}

/* Reference: body = stream[0, end-3) is lines ending in CRLF; is any CR/LF bare? */
static bool fsd_bare(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\r' && (i + 1 >= n || b[i + 1] != '\n'))
            return true;
        if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r'))
            return true;
    }
    return false;
}

/* Reference output of a clean body into out (capacity >= n). */
static size_t fsd_ref(const char *b, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const char *eol = memchr(b + i, '\r', n - i);
        size_t ll = eol ? (size_t)(eol - (b + i)) : n - i;
        size_t skip = (ll > 0 && b[i] == '.') ? 1 : 0;
        memcpy(out + o, b + i + skip, ll - skip);
        o += ll - skip;
        out[o++] = '\n';
        i += ll + 2;
    }
    return o;
}

/* Reference end of data: just after the first ".\r\n" that starts the stream or follows
 * a CRLF (the DATA command's CRLF counts as the first one); 0 if there is none. */
static size_t fsd_ref_end(const char *st, size_t n)
{
    if (n >= 3 && memcmp(st, ".\r\n", 3) == 0)
        return 3;
    const char *p = n >= 5 ? memmem(st, n, "\r\n.\r\n", 5) : NULL;
    return p ? (size_t)(p - st) + 5 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    uint8_t flags = data[0];
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    const char *st = (const char *)data + 5;
    size_t n = size - 5;
    uint64_t max = (flags & 1) ? (uint64_t)(flags >> 2) * 16 : 0;
    size_t fail_after = (flags & 2) ? (size_t)(data[1]) * 4 + 1 : 0;
    struct fsd_sink s1 = { .fail_after = fail_after }, s2 = { .fail_after = fail_after };
    struct data_machine *m1 = malloc(sizeof *m1), *m2 = malloc(sizeof *m2);
    if (!m1 || !m2)
        abort();
    data_init(m1, max, fsd_write, &s1);
    data_init(m2, max, fsd_write, &s2);
    bool d1, d2;
    size_t e1 = fsd_run(m1, st, n, 0, &d1);
    size_t e2 = fsd_run(m2, st, n, seed ? seed : 1, &d2);
    FZ_CHECK(d1 == d2 && e1 == e2);
    size_t ref_end = fsd_ref_end(st, n);
    FZ_CHECK(d1 == (ref_end != 0));
    FZ_CHECK(!d1 || e1 == ref_end);
    if (d1) {
        struct smtp_reply r1, r2;
        data_result(m1, &r1);
        data_result(m2, &r2);
        FZ_CHECK(r1.code == r2.code);
        bool bare = fsd_bare(st, e1 - 3);
        if (bare)
            FZ_CHECK(r1.code == 550);
        else if (r1.code == 550)
            FZ_CHECK(!"550 without a bare CR or LF");
        if (!bare && !max && !fail_after)
            FZ_CHECK(r1.code == 250);
        if (r1.code == 250) {
            char *ref = malloc(e1 + 1);
            if (!ref)
                abort();
            size_t rl = fsd_ref(st, e1 - 3, ref);
            FZ_CHECK(s1.len == rl && s2.len == rl);
            FZ_CHECK(rl == 0 || (memcmp(s1.buf, ref, rl) == 0 && memcmp(s2.buf, ref, rl) == 0));
            free(ref);
        }
    }
    free(s1.buf);
    free(s2.buf);
    free(m1);
    free(m2);
    return 0;
}
