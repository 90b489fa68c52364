/* test_data: the DATA state machine: end of data, dot-stuffing, CRLF -> LF, SMTP
 * smuggling variants, long lines, the size limit, sink errors; every input fed whole,
 * byte by byte and in chunks of several sizes. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "data.h"

struct sinkbuf {
    char buf[1 << 16];
    size_t len;
    int fail_after;   /* fail on this call number (1-based), 0 = never */
    int calls;
};

static int sink(void *ctx, const char *b, size_t n)
{
    struct sinkbuf *s = ctx;
    s->calls++;
    if (s->fail_after && s->calls >= s->fail_after)
        return -1;
    if (s->len + n > sizeof s->buf)
        return -1;
    memcpy(s->buf + s->len, b, n);
    s->len += n;
    return 0;
}

struct run {
    bool done;
    size_t consumed;
    struct smtp_reply r;
    struct sinkbuf s;
};

/* Feed in chunks of size chunk (0 = all at once); stops feeding once done. */
static void feed(const char *in, size_t len, size_t chunk, uint64_t max, struct run *out)
{
    struct data_machine *m = malloc(sizeof *m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    memset(out, 0, sizeof *out);
    data_init(m, max, sink, &out->s);
    size_t off = 0;
    while (off < len && !out->done) {
        size_t n = chunk ? chunk : len;
        if (n > len - off)
            n = len - off;
        size_t c = data_feed(m, in + off, n, &out->done);
        CU_ASSERT(c <= n);
        if (!out->done)
            CU_ASSERT_EQUAL(c, n);
        off += c;
    }
    out->consumed = off;
    if (out->done)
        data_result(m, &out->r);
    free(m);
}

static const size_t chunks[] = { 0, 1, 2, 3, 5, 7, 64 };
#define NCHUNKS (sizeof chunks / sizeof chunks[0])

/* Expect: done after `consumed` bytes, code, and (for 250) the stored text. */
static void expect(const char *in, size_t len, uint64_t max, size_t consumed, int code,
                   const char *stored)
{
    for (size_t i = 0; i < NCHUNKS; i++) {
        struct run *r = malloc(sizeof *r);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        feed(in, len, chunks[i], max, r);
        CU_ASSERT_TRUE(r->done);
        CU_ASSERT_EQUAL(r->consumed, consumed);
        CU_ASSERT_EQUAL(r->r.code, code);
        if (stored) {
            CU_ASSERT_EQUAL(r->s.len, strlen(stored));
            CU_ASSERT(r->s.len == strlen(stored) && memcmp(r->s.buf, stored, r->s.len) == 0);
        }
        if (code != 250)
            CU_ASSERT_EQUAL(r->s.len, 0);   /* a refused message is not stored */
        free(r);
    }
}

#define S(lit) lit, sizeof(lit) - 1

static void test_simple(void)
{
    expect(S("Subject: x\r\n\r\nhello\r\n.\r\n"), 0, 24, 250, "Subject: x\n\nhello\n");
    /* empty message: the DATA command's CRLF is the first CRLF */
    expect(S(".\r\n"), 0, 3, 250, "");
    /* stops right after the end: the pipelined QUIT stays */
    expect(S("a\r\n.\r\nQUIT\r\n"), 0, 6, 250, "a\n");
    /* dot-stuffing */
    expect(S("..leading\r\n...\r\n.x\r\n.\r\n"), 0, 23, 250, ".leading\n..\nx\n");
    /* a line that is only ".." is a stuffed "." */
    expect(S("..\r\n.\r\n"), 0, 7, 250, ".\n");
    /* dots in the middle of lines are content */
    expect(S("a.b\r\n a .\r\n.\r\n"), 0, 14, 250, "a.b\n a .\n");
}

static void test_smuggling(void)
{
    /* each variant must not end the data: the real end follows, the result is 550 5.6.0 */
    static const char *const fake[] = { "\n.\n", "\n.\r\n", "\r.\r", "\r\n.\n", "\r.\r\n",
                                        "\n..\n", "\r\n.\rX", "x\ry", "x\ny" };
    for (size_t i = 0; i < sizeof fake / sizeof fake[0]; i++) {
        char in[256];
        int n = snprintf(in, sizeof in, "a%sMAIL FROM:<x@evil.test>\r\nb\r\n.\r\nNEXT", fake[i]);
        expect(in, (size_t)n, 0, (size_t)n - 4, 550, NULL);
        struct run r;
        feed(in, (size_t)n, 0, 0, &r);
        CU_ASSERT_STRING_EQUAL(r.r.enh, "5.6.0");
    }
    /* "<CRLF>.<CR><CRLF>" style: ".\r\r\n" is not an end */
    expect(S("a\r\n.\r\r\nb\r\n.\r\n"), 0, 13, 550, NULL);
    /* a bare LF right at the start */
    expect(S("\n.\r\n.\r\n"), 0, 7, 550, NULL);
    /* CR CR LF */
    expect(S("a\r\r\n.\r\n"), 0, 7, 550, NULL);
}

static void test_long_lines(void)
{
    size_t n = 5000;
    char *in = malloc(n + 16), *want = malloc(n + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    memset(in, 'x', n);
    memcpy(in + n, "\r\n.\r\n", 5);
    memset(want, 'x', n);
    want[n] = '\n';
    want[n + 1] = '\0';
    expect(in, n + 5, 0, n + 5, 250, want);
    /* exactly 998 + CRLF */
    memcpy(in + 998, "\r\n.\r\n", 5);
    want[998] = '\n';
    want[999] = '\0';
    expect(in, 998 + 5, 0, 998 + 5, 250, want);
    free(in);
    free(want);
}

static void test_size(void)
{
    /* size counts CRLF line ends and unstuffed content: "ab\r\n" = 4 */
    expect(S("ab\r\n.\r\n"), 4, 7, 250, "ab\n");
    expect(S("abc\r\n.\r\n"), 4, 8, 552, NULL);
    expect(S("..\r\n.\r\n"), 3, 7, 250, ".\n");
    /* over the limit: keeps reading to the real end, nothing inside is a command */
    char in[20000];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        memcpy(in + n, "0123456789abcd\r\n", 16);
        n += 16;
    }
    memcpy(in + n, ".\r\nQUIT\r\n", 9);
    expect(in, n + 9, 1000, n + 3, 552, NULL);
    struct run r;
    feed(in, n + 9, 0, 1000, &r);
    CU_ASSERT_STRING_EQUAL(r.r.enh, "5.3.4");
    /* bare LF beats too big */
    expect(S("abcdef\n\r\n.\r\n"), 2, 12, 550, NULL);
}

static void test_sink_error(void)
{
    struct run *r = malloc(sizeof *r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct data_machine *m = malloc(sizeof *m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    memset(r, 0, sizeof *r);
    r->s.fail_after = 1;
    data_init(m, 0, sink, &r->s);
    size_t c = data_feed(m, S("a\r\n.\r\n"), &r->done);
    CU_ASSERT_EQUAL(c, 6);
    CU_ASSERT_TRUE(r->done);
    data_result(m, &r->r);
    CU_ASSERT_EQUAL(r->r.code, 451);
    /* more than one buffer of output: several sink calls, all content in order */
    memset(r, 0, sizeof *r);
    data_init(m, 0, sink, &r->s);
    static char big[3 * DATA_OUTBUF];
    memset(big, 'y', sizeof big);
    bool done = false;
    CU_ASSERT_EQUAL(data_feed(m, big, sizeof big, &done), sizeof big);
    CU_ASSERT_FALSE(done);
    CU_ASSERT_EQUAL(data_feed(m, S("\r\n.\r\n"), &done), 5);
    CU_ASSERT_TRUE(done);
    CU_ASSERT(r->s.calls >= 3);
    CU_ASSERT_EQUAL(r->s.len, sizeof big + 1);
    CU_ASSERT_EQUAL(m->size, sizeof big + 2);
    /* feeding after the end consumes nothing */
    CU_ASSERT_EQUAL(data_feed(m, S("x"), &done), 0);
    CU_ASSERT_TRUE(done);
    free(m);
    free(r);
}

/* A message with n Received: lines (CRLF, as on the wire) and the end of data. */
static char *with_hops(unsigned n, size_t *len)
{
    size_t cap = 200 + (size_t)n * 64, u = 0;
    char *m = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (unsigned i = 0; i < n; i++)
        u += (size_t)snprintf(m + u, cap - u, "%s: from h%u by x; date\r\n",
                              i % 2 ? "received" : "Received", i);
    u += (size_t)snprintf(m + u, cap - u, "Subject: t\r\n\r\nReceived: in the body\r\n"
                                          ".\r\n");
    *len = u;
    return m;
}

/* max_hops (SPEC "SMTP", mail loops): more than max_hops Received: lines -> 554 5.4.6;
 * exactly max_hops passes; lines in the body do not count. */
static void test_max_hops(void)
{
    static const size_t chunks[] = { 0, 1, 7 };
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        for (unsigned n = 49; n <= 51; n++) {
            size_t len;
            char *msg = with_hops(n, &len);
            struct data_machine *m = malloc(sizeof *m);
            struct run *r = calloc(1, sizeof *r);
            CU_ASSERT_PTR_NOT_NULL_FATAL(m);
            CU_ASSERT_PTR_NOT_NULL_FATAL(r);
            data_init(m, 0, sink, &r->s);
            m->max_hops = 50;
            size_t off = 0, step = chunks[c] ? chunks[c] : len;
            while (off < len && !r->done)
                off += data_feed(m, msg + off, len - off < step ? len - off : step, &r->done);
            CU_ASSERT_TRUE(r->done);
            data_result(m, &r->r);
            CU_ASSERT_EQUAL(m->hops.count, n);
            CU_ASSERT_EQUAL(r->r.code, n > 50 ? 554 : 250);
            CU_ASSERT_STRING_EQUAL(r->r.enh, n > 50 ? "5.4.6" : "2.0.0");
            free(r);
            free(m);
            free(msg);
        }
    }
}

static CU_TestInfo tests[] = {
    { "end of data, dot-stuffing, CRLF to LF", test_simple },
    { "SMTP smuggling variants", test_smuggling },
    { "long lines kept as sent", test_long_lines },
    { "size limit", test_size },
    { "sink errors and large messages", test_sink_error },
    { "max_hops: more Received: lines than allowed -> 554 5.4.6", test_max_hops },
    CU_TEST_INFO_NULL,
};

CU_MAIN("data", tests)
