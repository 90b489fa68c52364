/* test_msgtext: the one message-text encoder (LF -> CRLF, dot-stuffing, TOP limits) and
 * the wire size, as POP3 RETR/TOP and the SMTP client use them: fixed cases, every
 * chunking of input and output, and random texts against a naive reference. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "msgtext.h"

/* Run the encoder over text in chunks of `chunk` input and `ocap` output octets. */
static char *convert(const char *text, size_t len, long body, size_t chunk, size_t ocap)
{
    static char res[8192];
    struct msgtext_enc e;
    msgtext_enc_init(&e, body);
    size_t pos = 0, o = 0;
    char out[128];
    CU_ASSERT_FATAL(ocap <= sizeof out);
    while (pos < len && !e.done) {
        size_t n = len - pos < chunk ? len - pos : chunk, used;
        size_t w = msgtext_enc_run(&e, text + pos, n, &used, out, ocap);
        CU_ASSERT_FATAL(w > 0 || used > 0);
        CU_ASSERT_FATAL(o + w + MSGTEXT_END_MAX < sizeof res);
        memcpy(res + o, out, w);
        o += w;
        pos += used;
    }
    o += msgtext_enc_finish(&e, res + o);
    res[o] = '\0';
    return res;
}

static char *conv(const char *text, long body, size_t chunk, size_t ocap)
{
    return convert(text, strlen(text), body, chunk, ocap);
}

static void test_retr(void)
{
    const char *in = "Subject: x\n\n.hidden\nab\n..two\n.\nend\n";
    const char *want = "Subject: x\r\n\r\n..hidden\r\nab\r\n...two\r\n..\r\nend\r\n.\r\n";
    CU_ASSERT_STRING_EQUAL(conv(in, -1, 1000, 64), want);
    CU_ASSERT_STRING_EQUAL(conv(in, -1, 1, 2), want);
    CU_ASSERT_STRING_EQUAL(conv(in, -1, 3, 5), want);
    /* no final newline: the reply still ends in CRLF.CRLF */
    CU_ASSERT_STRING_EQUAL(conv("a: b\n\nlast", -1, 1000, 64), "a: b\r\n\r\nlast\r\n.\r\n");
    /* CRLF kept, bare CR kept, a dot mid-line is not stuffed */
    CU_ASSERT_STRING_EQUAL(conv("a\r\nb\rc.d\n", -1, 2, 3), "a\r\nb\rc.d\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(conv("", -1, 1, 2), ".\r\n");
    /* the wire size agrees with the converted length (less terminator and stuffing) */
    bool cr = false;
    const char *r = conv(in, -1, 1000, 64);
    size_t dots = 3;    /* lines starting with '.' */
    CU_ASSERT_EQUAL(msgtext_wire_size(in, strlen(in), &cr) + dots, strlen(r) - 3);
}

static void test_top(void)
{
    const char *in = "A: 1\nB: 2\n\nl1\n.l2\nl3\n";
    CU_ASSERT_STRING_EQUAL(conv(in, 0, 1000, 64), "A: 1\r\nB: 2\r\n\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(conv(in, 2, 1, 2), "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(conv(in, 99, 4, 7), "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(conv("A: 1\r\n\r\nx\r\ny\r\n", 1, 1000, 64), "A: 1\r\n\r\nx\r\n.\r\n");
    /* headers only, no blank line */
    CU_ASSERT_STRING_EQUAL(conv("A: 1\nB: 2", 0, 1000, 64), "A: 1\r\nB: 2\r\n.\r\n");
}

/* The SMTP client's cases (it sends the same form, then ".\r\n"). */
static void test_smtp_cases(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { "Subject: x\n\nbody\n", "Subject: x\r\n\r\nbody\r\n.\r\n" },
        { ".\n", "..\r\n.\r\n" },
        { "a\n.b\n..c\n", "a\r\n..b\r\n...c\r\n.\r\n" },
        { "x.y\n .z\n", "x.y\r\n .z\r\n.\r\n" },
        { "crlf\r\n.dot\r\n", "crlf\r\n..dot\r\n.\r\n" },
        { "no newline at end", "no newline at end\r\n.\r\n" },
        { "\n\n", "\r\n\r\n.\r\n" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (size_t chunk = 1; chunk <= 4; chunk++)
            for (size_t ocap = 2; ocap <= 5; ocap++)
                CU_ASSERT_STRING_EQUAL(conv(cases[k].in, -1, chunk, ocap), cases[k].out);
}

static void test_wire_size(void)
{
    bool cr = false;
    CU_ASSERT_EQUAL(msgtext_wire_size("a\nb\n", 4, &cr), 6);
    cr = false;
    CU_ASSERT_EQUAL(msgtext_wire_size("a\r\nb", 4, &cr), 4);
    cr = false;
    CU_ASSERT_EQUAL(msgtext_wire_size("a\r", 2, &cr), 2);   /* CR at a chunk end ... */
    CU_ASSERT_EQUAL(msgtext_wire_size("\nx", 2, &cr), 2);   /* ... pairs with the next LF */
    CU_ASSERT_EQUAL(msgtext_wire_size("", 0, &cr), 0);
    CU_ASSERT(!cr);
    CU_ASSERT_EQUAL(msgtext_wire_size("\n\n", 2, &cr), 4);
}

/* The obvious octet-by-octet form of the whole-message encoding, and its size. */
static size_t reference(const char *in, size_t len, char *out, size_t *wire)
{
    size_t o = 0;
    bool bol = true, cr = false;
    *wire = len;
    for (size_t i = 0; i < len; i++) {
        if (bol && in[i] == '.')
            out[o++] = '.';
        if (in[i] == '\n' && !cr) {
            out[o++] = '\r';
            (*wire)++;
        }
        out[o++] = in[i];
        bol = in[i] == '\n';
        cr = in[i] == '\r';
    }
    if (!bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}

static void test_random_against_reference(void)
{
    static const char alphabet[] = "..\n\n\r ax";
    char in[600], want[2 * sizeof in + 8];
    srand(4242);
    for (int round = 0; round < 300; round++) {
        size_t len = (size_t)(rand() % (int)sizeof in);
        for (size_t i = 0; i < len; i++)
            in[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        size_t wire, n = reference(in, len, want, &wire);
        want[n] = '\0';
        size_t chunk = 1 + (size_t)(rand() % 70), ocap = 2 + (size_t)(rand() % 100);
        CU_ASSERT_STRING_EQUAL(convert(in, len, -1, chunk, ocap), want);
        bool cr = false;
        uint64_t w = 0;
        for (size_t i = 0; i < len; i += chunk)
            w += msgtext_wire_size(in + i, len - i < chunk ? len - i : chunk, &cr);
        CU_ASSERT_EQUAL(w, wire);
    }
}

static CU_TestInfo tests[] = {
    { "RETR form", test_retr },
    { "TOP limits", test_top },
    { "SMTP DATA cases, every chunking", test_smtp_cases },
    { "wire size", test_wire_size },
    { "random texts against a reference", test_random_against_reference },
    CU_TEST_INFO_NULL,
};

CU_MAIN("msgtext", tests)
