/* msgtext: LF -> CRLF with dot-stuffing, and the wire size (see msgtext.h). The encoder
 * copies whole runs up to the next LF: one memchr + memcpy per line, not a test per octet. */
#include "msgtext.h"

#include <errno.h>
#include <string.h>

#include "fsutil.h"

void msgtext_enc_init(struct msgtext_enc *e, long body_lines)
{
    memset(e, 0, sizeof *e);
    e->bol = true;
    e->body_left = body_lines;
}

/* A line ended (its LF consumed): header/body bookkeeping for TOP. */
static void end_line(struct msgtext_enc *e)
{
    bool empty = e->line_len == 0 || (e->line_len == 1 && e->prev_cr);
    if (!e->in_body) {
        if (empty) {
            e->in_body = true;
            if (e->body_left == 0)
                e->done = true;
        }
    } else if (e->body_left > 0 && --e->body_left == 0) {
        e->done = true;
    }
    e->line_len = 0;
    e->bol = true;
    e->prev_cr = false;
}

size_t msgtext_enc_run(struct msgtext_enc *e, const char *in, size_t inlen, size_t *used,
                       char *out, size_t outcap)
{
    size_t i = 0, o = 0;
    while (i < inlen && !e->done) {
        if (in[i] == '\n') {
            size_t need = e->prev_cr ? 1 : 2;
            if (o + need > outcap)
                break;
            if (!e->prev_cr)
                out[o++] = '\r';
            out[o++] = '\n';
            i++;
            end_line(e);
            continue;
        }
        if (e->bol && in[i] == '.') {
            if (o + 2 > outcap)
                break;
            out[o++] = '.';
        }
        const char *lf = memchr(in + i, '\n', inlen - i);
        size_t run = lf ? (size_t)(lf - (in + i)) : inlen - i;
        if (run > outcap - o)
            run = outcap - o;
        if (run == 0)
            break;
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
        e->line_len += run;
        e->prev_cr = in[i - 1] == '\r';
        e->bol = false;
    }
    if (e->done)
        i = inlen;
    *used = i;
    return o;
}

size_t msgtext_enc_finish(const struct msgtext_enc *e, char *out)
{
    size_t o = 0;
    if (!e->bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}

size_t msgtext_header_len(const char *msg, size_t len, size_t max)
{
    size_t lim = len < max ? len : max;
    for (size_t i = 0; i < lim; i++) {
        if (msg[i] != '\n')
            continue;
        if (i + 1 < len && msg[i + 1] == '\n')
            return i + 1 < lim ? i + 1 : lim;
        if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
            return i + 1;
    }
    if (lim == len)
        return len;
    const char *lf = NULL;       /* cut: end at the last full line */
    for (size_t i = lim; i > 0; i--)
        if (msg[i - 1] == '\n') {
            lf = msg + i;
            break;
        }
    return lf ? (size_t)(lf - msg) : lim;
}

uint64_t msgtext_wire_size(const char *buf, size_t len, bool *prev_cr)
{
    uint64_t n = len;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        if (!lf)
            break;
        bool cr = lf > buf ? lf[-1] == '\r' : *prev_cr;
        n += !cr;
        p = lf + 1;
    }
    if (len > 0)
        *prev_cr = buf[len - 1] == '\r';
    return n;
}

int msgtext_fd_wire_size(int fd, uint64_t len, uint64_t *wire)
{
    char buf[32768];
    bool cr = false;
    *wire = 0;
    for (uint64_t off = 0; off < len;) {
        size_t want = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
        ssize_t r = pread_full(fd, buf, want, (off_t)off);
        if (r < 0)
            return -1;
        if ((size_t)r < want)
            return errno = EIO, -1;
        *wire += msgtext_wire_size(buf, want, &cr);
        off += want;
    }
    return 0;
}
