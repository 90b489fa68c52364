/* fuzz_dkim: libFuzzer harness for the DKIM signer's parsing of a client's message
 * (smtpd/dkim_hdr.h, smtpd/dkim_canon.h): the From: domain, the header fields, the h=
 * list and its selection, and relaxed canonicalization of headers and body (split at a
 * point the input chooses). Checks bounds, termination and the canonical forms' rules.
 * Then the whole input is signed (dkim_sign_msg with an rsa key made once, so through
 * libopendkim and dkim_feed.h): a signature, or an error when there is no From: field,
 * never a crash (libopendkim's own header splitting aborted on an empty field). */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim_canon.h"
#include "dkim_hdr.h"
#include "dkim_keys.h"
#include "dkim_sign.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fd_out {
    size_t n;
    char last[2];          /* the last two octets written */
};

static void fd_sink(void *ctx, const char *p, size_t n)
{
    struct fd_out *o = ctx;
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(p[i] != '\n' || o->last[1] == '\r');   /* only CRLF line ends */
        o->last[0] = o->last[1];
        o->last[1] = p[i];
    }
    o->n += n;
}

static char fzk_dir[64];          /* a data_dir with one rsa key for example.test */

static int fzk_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void fzk_cleanup(void)
{
    (void)nftw(fzk_dir, fzk_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* The data_dir, made on the first call. */
static const char *fzk_keys(void)
{
    static int state;             /* 0 not yet, 1 made, -1 failed */
    char d[512], txt[DKIM_TXT_MAX];
    if (state != 0)
        return state > 0 ? fzk_dir : NULL;
    state = -1;
    snprintf(fzk_dir, sizeof fzk_dir, "/tmp/fuzz_dkim_XXXXXX");
    if (!mkdtemp(fzk_dir) || atexit(fzk_cleanup) != 0 ||
        dkim_root_dir(fzk_dir, d, sizeof d) < 0 || mkdir(d, 0700) < 0 ||
        dkim_domain_dir(fzk_dir, "example.test", d, sizeof d) < 0 || mkdir(d, 0700) < 0 ||
        dkim_key_path(fzk_dir, "example.test", "s1", DKIM_ALG_RSA, d, sizeof d) < 0)
        return NULL;
    int fd = open(d, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && dkim_key_generate(DKIM_ALG_RSA, fd, txt, sizeof txt) == 0)
        state = 1;
    if (fd >= 0 && close(fd) != 0)
        state = -1;
    return state > 0 ? fzk_dir : NULL;
}

static void fzk_sign(const char *text, size_t size)
{
    const char *dir = fzk_keys();
    FZ_CHECK(dir != NULL);
    struct dkim_msg m = { -1, 0, text, size };
    char *hdrs = NULL;
    size_t hlen = 0;
    int r = dkim_sign_msg(dir, "example.test", &m, &hdrs, &hlen);
    FZ_CHECK(r == DKIMS_SIGNED || r == -1);
    if (r == DKIMS_SIGNED)
        FZ_CHECK(hdrs && hlen > 15 && strncmp(hdrs, "DKIM-Signature:", 15) == 0);
    else
        FZ_CHECK(hdrs == NULL);
    free(hdrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char dom[64];
    memset(dom, 'x', sizeof dom);
    int r = dkim_from_domain(text, size, dom, sizeof dom);
    FZ_CHECK(r >= -1 && r <= 1);
    if (r == 0)
        FZ_CHECK(fz_terminated(dom, sizeof dom) && dom[0] != '\0' && dom[0] != '.');
    struct dkim_field f[32];
    size_t hlen = 0;
    int nf = dkim_fields(text, size, f, 32, &hlen);
    FZ_CHECK(nf >= -1 && nf <= 32);
    if (nf >= 0) {
        FZ_CHECK(hlen <= size);
        const char *names[40];
        int sel[40];
        size_t n = dkim_h_list(f, (size_t)nf, dkim_sign_headers, dkim_oversign_headers, names, 40);
        FZ_CHECK(n < 40 && names[n] == NULL);
        dkim_select(f, (size_t)nf, names, sel);
        for (size_t i = 0; i < n; i++) {
            FZ_CHECK(sel[i] >= -1 && sel[i] < nf);
            for (size_t j = 0; j < i; j++)
                FZ_CHECK(sel[i] < 0 || sel[i] != sel[j]);
        }
        for (int i = 0; i < nf; i++) {
            struct fd_out o = { 0, { 0, 0 } };
            FZ_CHECK(f[i].p >= text && f[i].p + f[i].len <= text + size);
            dkim_header_canon(f[i].p, f[i].len, true, fd_sink, &o);
            FZ_CHECK(o.n >= 3 && o.last[0] == '\r' && o.last[1] == '\n');
        }
    }
    struct fd_out o = { 0, { 0, 0 } };
    struct dkim_body b;
    size_t split = size ? data[0] % (size + 1) : 0;
    dkim_body_init(&b, fd_sink, &o);
    dkim_body_feed(&b, text, split);
    dkim_body_feed(&b, text + split, size - split);
    dkim_body_end(&b);
    FZ_CHECK(o.n == 0 || (o.last[0] == '\r' && o.last[1] == '\n'));
    fzk_sign(text, size);
    return 0;
}
