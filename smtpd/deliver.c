/* deliver: spool buffer during DATA, then durable delivery through the mail store and
 * the queue hand-off (see deliver.h). deliver_commit is the slow part (fsyncs): it runs
 * on a worker thread. */
#include "deliver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_sign.h"
#include "fsutil.h"
#include "log.h"
#include "mailstore.h"
#include "msgtext.h"
#include "stats.h"
#include "util.h"

#define SPOOL_BUF 65536
#define SENDER_MAX 520

struct spool {
    const struct config *cfg;
    char id[64];
    char sender[SENDER_MAX];
    struct mstore_tx *tx;    /* the store's temporary file */
    int fd;
    int err;                 /* sticky errno */
    size_t rp_len;           /* length of the Return-Path line */
    size_t size;             /* all octets written (Return-Path included) */
    uint64_t wire;           /* the same with CRLF line endings */
    bool prev_cr;            /* for the wire size across writes */
    size_t used;
    char buf[SPOOL_BUF];
};

struct spool *spool_open(const struct config *cfg, const char *id, const char *sender,
                         const char *first_local)
{
    struct spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->cfg = cfg;
    sp->fd = -1;
    str_copy(sp->id, id, sizeof sp->id);
    str_copy(sp->sender, sender, sizeof sp->sender);
    sp->tx = mstore_tx_begin(cfg->data_dir, cfg->hostname, id, first_local);
    if (!sp->tx)
        goto fail;
    sp->fd = mstore_tx_fd(sp->tx);
    char rp[SENDER_MAX + 32];
    int n = snprintf(rp, sizeof rp, "Return-Path: <%s>\n", sender);
    if (n < 0 || (size_t)n >= sizeof rp) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    if (spool_write(sp, rp, (size_t)n) < 0) {
        errno = sp->err;
        goto fail;
    }
    sp->rp_len = (size_t)n;
    return sp;
fail:;
    int e = errno;
    spool_discard(sp);
    errno = e;
    return NULL;
}

static int spool_flush(struct spool *sp)
{
    if (!sp->err && sp->used > 0 && write_all(sp->fd, sp->buf, sp->used) < 0)
        sp->err = errno ? errno : EIO;
    sp->used = 0;
    return sp->err ? -1 : 0;
}

int spool_write(struct spool *sp, const void *data, size_t len)
{
    const char *p = data;
    if (sp->err)
        return -1;
    sp->wire += msgtext_wire_size(p, len, &sp->prev_cr);
    sp->size += len;
    while (len > 0) {
        if (sp->used == sizeof sp->buf && spool_flush(sp) < 0)
            return -1;
        size_t n = sizeof sp->buf - sp->used;
        if (n > len)
            n = len;
        memcpy(sp->buf + sp->used, p, n);
        sp->used += n;
        p += n;
        len -= n;
    }
    return 0;
}

int spool_error(const struct spool *sp)
{
    return sp->err;
}

size_t spool_msg_size(const struct spool *sp)
{
    return sp->size - sp->rp_len;
}

void spool_discard(struct spool *sp)
{
    if (!sp)
        return;
    mstore_tx_end(sp->tx);
    free(sp);
}

int spool_prepend(struct spool *sp, const char *text, size_t len)
{
    if (spool_flush(sp) < 0)
        return errno = sp->err, -1;
    if (mstore_tx_insert(sp->tx, sp->rp_len, text, len) < 0) {
        sp->err = errno ? errno : EIO;
        return errno = sp->err, -1;
    }
    bool cr = false;
    sp->wire += msgtext_wire_size(text, len, &cr);
    sp->size += len;
    return 0;
}

long spool_read_head(struct spool *sp, char *buf, size_t n)
{
    if (spool_flush(sp) < 0)
        return errno = sp->err, -1;
    size_t have = sp->size - sp->rp_len;
    ssize_t got = pread_full(sp->fd, buf, n < have ? n : have, (off_t)sp->rp_len);
    return got < 0 ? -1 : (long)got;
}

int spool_remove(struct spool *sp, size_t at, size_t len)
{
    char *text = malloc(len ? len : 1);
    if (!text)
        return -1;
    long got = spool_read_head(sp, NULL, 0);   /* flushes */
    if (got < 0 || at > sp->size - sp->rp_len || len > sp->size - sp->rp_len - at ||
        pread_full(sp->fd, text, len, (off_t)(sp->rp_len + at)) != (ssize_t)len ||
        mstore_tx_remove(sp->tx, sp->rp_len + at, len) < 0) {
        int e = errno ? errno : EINVAL;
        free(text);
        sp->err = e;
        return errno = e, -1;
    }
    bool cr = false;
    sp->wire -= msgtext_wire_size(text, len, &cr);
    sp->size -= len;
    free(text);
    return 0;
}

int spool_sign(struct spool *sp)
{
    char *hdrs = NULL;
    size_t hlen = 0;
    if (spool_flush(sp) < 0)
        return errno = sp->err, -1;
    struct dkim_msg m = { .fd = sp->fd, .off = (off_t)sp->rp_len, .buf = NULL,
                          .len = sp->size - sp->rp_len };
    int rc = dkim_sign_msg(sp->cfg->data_dir, NULL, &m, &hdrs, &hlen);
    if (rc != DKIMS_SIGNED) {
        if (rc < 0)
            log_err("dkim: %s not signed (see above)", sp->id);
        return rc < 0 ? 0 : DKIMS_NOKEY;      /* unsigned mail still goes */
    }
    rc = spool_prepend(sp, hdrs, hlen);
    int e = errno;
    free(hdrs);
    errno = e;
    return rc;
}

int spool_text(struct spool *sp, int *fd, off_t *off, size_t *len)
{
    if (spool_flush(sp) < 0)
        return errno = sp->err, -1;
    *fd = sp->fd;
    *off = (off_t)sp->rp_len;
    *len = sp->size - sp->rp_len;
    return 0;
}

int deliver_commit(struct spool *sp, char *const *local, size_t nlocal, char *const *relay,
                   size_t nrelay, deliver_enqueue_fn enqueue, char *name, size_t namelen)
{
    int rc = -1, e = 0;
    if (spool_flush(sp) < 0) {
        e = sp->err;
        goto out;
    }
    if (mstore_tx_deliver(sp->tx, local, nlocal, sp->size, sp->wire) < 0) {
        e = errno;
        goto out;
    }
    if (nrelay > 0 && enqueue(sp->cfg, sp->id, sp->sender, relay, nrelay, sp->fd,
                              (off_t)sp->rp_len, sp->size - sp->rp_len) < 0) {
        e = errno ? errno : EIO;
        mstore_tx_undo(sp->tx);
        goto out;
    }
    rc = 0;
    stats_add(STAT_DELIVER_LOCAL, nlocal);     /* the status counters (stats.h) */
    stats_add(STAT_RELAY_QUEUED, nrelay);
    if (name)
        str_copy(name, mstore_tx_name(sp->tx), namelen);
out:
    spool_discard(sp);
    errno = e;
    return rc;
}
