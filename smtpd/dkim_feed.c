/* dkim_feed: a message to libopendkim field by field (see dkim_feed.h). */
#include "dkim_feed.h"

#include <stdlib.h>
#include <string.h>

#include "dkim_sign.h"

#define CHUNK 65536

DKIM_STAT dkim_feed_init(struct dkim_feed *fd, DKIM *d)
{
    *fd = (struct dkim_feed){ d, malloc(DKIM_FEED_FIELD_MAX), 0, true, false, false };
    return fd->f ? DKIM_STAT_OK : DKIM_STAT_NORESOURCE;
}

void dkim_feed_free(struct dkim_feed *fd)
{
    free(fd->f);
    fd->f = NULL;
}

/* The field collected so far to the library (a malformed one is left out). */
static DKIM_STAT flush(struct dkim_feed *fd)
{
    DKIM_STAT st = DKIM_STAT_OK;
    if (fd->n > 0 && !fd->skip)
        st = dkim_header(fd->d, (u_char *)fd->f, fd->n);
    fd->n = 0;
    fd->skip = false;
    return st == DKIM_STAT_SYNTAX ? DKIM_STAT_OK : st;
}

static void field_add(struct dkim_feed *fd, const char *s, size_t k)
{
    if (fd->n + k > DKIM_FEED_FIELD_MAX || memchr(s, '\0', k))
        fd->skip = true;               /* too long to be anybody's signed header, or a NUL:
                                        * the library reads fields as C strings */
    else {
        memcpy(fd->f + fd->n, s, k);
        fd->n += k;
    }
}

/* The end of the header section: the last field, then dkim_eoh. */
static DKIM_STAT head_end(struct dkim_feed *fd)
{
    DKIM_STAT st = flush(fd);
    fd->body = true;
    return st == DKIM_STAT_OK ? dkim_eoh(fd->d) : st;
}

/* Octets of a header line (no LF) into the field, its CRs left out (line ends are the
 * library's, FIXCRLF): a span at a time, not an octet. */
static void field_add_line(struct dkim_feed *fd, const char *s, size_t k)
{
    while (k > 0) {
        const char *cr = memchr(s, '\r', k);
        size_t n = cr ? (size_t)(cr - s) : k;
        if (n > 0)
            field_add(fd, s, n);
        n += cr ? 1 : 0;
        s += n;
        k -= n;
    }
}

/* Header octets of BUF (LEN); *used: how many were header (the empty line included). */
static DKIM_STAT head_bytes(struct dkim_feed *fd, const char *buf, size_t len, size_t *used)
{
    DKIM_STAT st = DKIM_STAT_OK;
    size_t i = 0;
    while (i < len && st == DKIM_STAT_OK && !fd->body) {
        if (fd->bol) {
            char c = buf[i];
            if (c == '\r') {              /* line ends are the library's (FIXCRLF) */
                i++;
                continue;
            }
            fd->bol = false;
            if (c == '\n') {              /* the empty line: the body follows */
                i++;
                st = head_end(fd);
                continue;
            }
            if (c == ' ' || c == '\t')
                field_add(fd, "\r\n", 2);
            else
                st = flush(fd);
        }
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len;
        field_add_line(fd, buf + i, end - i);
        i = end;
        if (nl) {
            fd->bol = true;
            i++;
        }
    }
    *used = i;
    return st;
}

DKIM_STAT dkim_feed_bytes(struct dkim_feed *fd, const char *buf, size_t len)
{
    size_t used = 0;
    DKIM_STAT st = DKIM_STAT_OK;
    if (!fd->body)
        st = head_bytes(fd, buf, len, &used);
    if (st == DKIM_STAT_OK && fd->body && used < len)
        st = dkim_body(fd->d, (u_char *)buf + used, len - used);
    return st;
}

DKIM_STAT dkim_feed_end(struct dkim_feed *fd)
{
    return fd->body ? DKIM_STAT_OK : head_end(fd);      /* no body at all */
}

DKIM_STAT dkim_feed_msg(DKIM *d, const struct dkim_msg *msg)
{
    struct dkim_feed fd;
    char *buf = malloc(CHUNK);
    DKIM_STAT st = dkim_feed_init(&fd, d);
    if (!buf)
        st = DKIM_STAT_NORESOURCE;
    for (size_t pos = 0; pos < msg->len && st == DKIM_STAT_OK;) {
        ssize_t got = dkim_msg_read(msg, pos, buf, CHUNK);
        if (got <= 0)
            st = DKIM_STAT_INTERNAL;
        else
            st = dkim_feed_bytes(&fd, buf, (size_t)got);
        pos += got > 0 ? (size_t)got : 0;
    }
    if (st == DKIM_STAT_OK)
        st = dkim_feed_end(&fd);
    free(buf);
    dkim_feed_free(&fd);
    return st;
}
