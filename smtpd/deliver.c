/* deliver: spool file during DATA, then durable Maildir delivery and queue hand-off
 * (see deliver.h). Runs its slow part (fsync) on a worker thread; the fsync of new/
 * is shared between concurrent deliveries (dirsync.h). */
#include "deliver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "dirsync.h"
#include "fsutil.h"
#include "log.h"
#include "maildir.h"
#include "util.h"

#define SPOOL_BUF 65536
#define SENDER_MAX 520

struct spool {
    const struct config *cfg;
    char id[64];
    char sender[SENDER_MAX];
    int fd;
    int err;                 /* sticky errno */
    char path[PATH_MAX];     /* the spool file */
    char base[256];          /* unique name without ,S=,W= */
    char maildir[PATH_MAX];  /* Maildir holding the spool file, "" for DATA_DIR/spool */
    bool made_maildir;       /* spool_open created that Maildir (its entries need fsync) */
    bool moved;              /* the spool file was renamed into new/: nothing to unlink */
    size_t rp_len;           /* length of the Return-Path line */
    size_t size;             /* all octets written (Return-Path included) */
    size_t lines;            /* LF count */
    size_t used;
    char buf[SPOOL_BUF];
};

static atomic_ulong deliver_seq;

/* Maildir names must not contain '/' or ':' (the usual \057 and \072 escapes). */
static int host_part(const char *host, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = host; *p; p++) {
        const char *rep = *p == '/' ? "\\057" : *p == ':' ? "\\072" : NULL;
        size_t n = rep ? 4 : 1;
        if (o + n >= len)
            return -1;
        memcpy(out + o, rep ? rep : p, n);
        o += n;
    }
    out[o] = '\0';
    return 0;
}

int deliver_name(char *out, size_t len, long sec, long usec, long pid, unsigned long q,
                 const char *hostname, size_t size, size_t wire)
{
    char host[256];
    if (host_part(hostname, host, sizeof host) < 0)
        return -1;
    int n = snprintf(out, len, "%ld.M%06ldP%ldQ%lu.%s,S=%zu,W=%zu", sec, usec, pid, q, host,
                     size, wire);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int make_base(struct spool *sp)
{
    struct timeval tv;
    char tmp[sizeof sp->base + 64];
    if (gettimeofday(&tv, NULL) < 0)
        return -1;
    unsigned long q = atomic_fetch_add(&deliver_seq, 1) + 1;
    if (deliver_name(tmp, sizeof tmp, (long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), q,
                     sp->cfg->hostname, 0, 0) < 0)
        return errno = ENAMETOOLONG, -1;
    char *comma = strstr(tmp, ",S=0,W=0");
    if (!comma)
        return errno = EINVAL, -1;
    *comma = '\0';
    if (str_copy(sp->base, tmp, sizeof sp->base) >= sizeof sp->base)
        return errno = ENAMETOOLONG, -1;
    return 0;
}

/* The spool file name; *dir gets the directory to create if it is missing. */
static int spool_path(struct spool *sp, const char *first_local, char *dir, size_t dirlen)
{
    int n;
    if (first_local) {
        if (maildir_path(sp->cfg->data_dir, first_local, sp->maildir, sizeof sp->maildir) < 0)
            return errno = EINVAL, -1;
        n = snprintf(dir, dirlen, "%s", sp->maildir);
        if (n < 0 || (size_t)n >= dirlen)
            return errno = ENAMETOOLONG, -1;
        n = snprintf(sp->path, sizeof sp->path, "%s/tmp/%s", sp->maildir, sp->base);
    } else {
        n = snprintf(dir, dirlen, "%s/spool", sp->cfg->data_dir);
        if (n < 0 || (size_t)n >= dirlen)
            return errno = ENAMETOOLONG, -1;
        n = snprintf(sp->path, sizeof sp->path, "%s/%s", dir, sp->base);
    }
    return (n < 0 || (size_t)n >= sizeof sp->path) ? (errno = ENAMETOOLONG, -1) : 0;
}

/* Create the spool file; the directories are made only when they are missing (the
 * usual case needs one open, not a mkdir per path component). */
static int spool_create(struct spool *sp, const char *dir)
{
    const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
    sp->fd = open(sp->path, flags, 0600);
    if (sp->fd >= 0 || errno != ENOENT)
        return sp->fd < 0 ? -1 : 0;
    if (sp->maildir[0]) {
        if (maildir_make(dir) < 0)
            return -1;
        sp->made_maildir = true;
    } else if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        return -1;
    }
    sp->fd = open(sp->path, flags, 0600);
    return sp->fd < 0 ? -1 : 0;
}

struct spool *spool_open(const struct config *cfg, const char *id, const char *sender,
                         const char *first_local)
{
    char dir[PATH_MAX];
    struct spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->cfg = cfg;
    sp->fd = -1;
    str_copy(sp->id, id, sizeof sp->id);
    str_copy(sp->sender, sender, sizeof sp->sender);
    if (make_base(sp) < 0 || spool_path(sp, first_local, dir, sizeof dir) < 0 ||
        spool_create(sp, dir) < 0)
        goto fail;
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
    for (size_t i = 0; i < len; i++)
        sp->lines += p[i] == '\n';
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
    if (sp->fd >= 0) {
        if (close(sp->fd) < 0)
            log_warn("spool close %s: %s", sp->path, strerror(errno));
        if (!sp->moved && unlink(sp->path) < 0 && errno != ENOENT)
            log_warn("spool unlink %s: %s", sp->path, strerror(errno));
    }
    free(sp);
}

/* Copy the spool file into DIR/tmp/NAME, fsync, rename to DIR/new/NAME (the spool
 * lives on another file system). */
static int copy_in(struct spool *sp, const char *dir, const char *name, const char *dst)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return -1;
    char buf[SPOOL_BUF];
    off_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = pread(sp->fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        off += r;
        if (write_all(out, buf, (size_t)r) < 0) {
            rc = -1;
            break;
        }
    }
    int e = errno;
    if (rc == 0 && fsync(out) < 0)
        rc = -1, e = errno;
    if (close(out) < 0 && rc == 0)
        rc = -1, e = errno;
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = -1, e = errno;
    if (rc < 0)
        unlink(tmp);
    errno = e;
    return rc;
}

/* A Maildir just made: make its directory entries (and its parents') durable. */
static int sync_fresh(const char *dir)
{
    char up[PATH_MAX];
    str_copy(up, dir, sizeof up);
    for (int i = 0; i < 3; i++) {
        if (fsync_dir(up) < 0)
            return -1;
        char *slash = strrchr(up, '/');
        if (!slash || slash == up)
            break;
        *slash = '\0';
    }
    return 0;
}

/* Put the file into one recipient's new/. OWN: the recipient whose Maildir holds the
 * spool file, which is renamed into new/ (no link + unlink); the others get a hard
 * link to SRC, the file's current path (a copy across file systems). The Maildir is
 * made only when the rename/link says it is missing. The path made is written to made. */
static int place_one(struct spool *sp, const char *address, bool own, const char *src,
                     const char *name, char *made, size_t madelen)
{
    char dir[PATH_MAX], newdir[PATH_MAX];
    bool fresh = own && sp->made_maildir;
    made[0] = '\0';
    if (own ? str_copy(dir, sp->maildir, sizeof dir) >= sizeof dir
            : maildir_path(sp->cfg->data_dir, address, dir, sizeof dir) < 0)
        return errno = EINVAL, -1;
    int n = snprintf(newdir, sizeof newdir, "%s/new", dir);
    int m = snprintf(made, madelen, "%s/%s", newdir, name);
    if (n < 0 || (size_t)n >= sizeof newdir || m < 0 || (size_t)m >= madelen)
        return made[0] = '\0', errno = ENAMETOOLONG, -1;
    int r = own ? rename(src, made) : link(src, made);
    if (r < 0 && errno == ENOENT) {    /* a Maildir not made yet */
        if (maildir_make(dir) < 0)
            return made[0] = '\0', -1;
        fresh = true;
        r = own ? rename(src, made) : link(src, made);
    }
    if (r < 0 && !own && errno == EXDEV)
        r = copy_in(sp, dir, name, made);
    if (r < 0)
        return made[0] = '\0', -1;
    if (own)
        sp->moved = true;
    if (dirsync(newdir) < 0) {         /* shared with concurrent deliveries to new/ */
        int e = errno;
        unlink(made);
        made[0] = '\0';
        return errno = e, -1;
    }
    return fresh ? sync_fresh(dir) : 0;
}

static bool seen_before(char *const *v, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (str_ieq(v[j], v[i]))
            return true;
    return false;
}

static int deliver_local(struct spool *sp, char *const *local, size_t nlocal, const char *name,
                         char (*made)[PATH_MAX])
{
    const char *src = sp->path;        /* where the file is now */
    for (size_t i = 0; i < nlocal; i++) {
        made[i][0] = '\0';
        if (seen_before(local, i))
            continue;
        bool own = i == 0 && sp->maildir[0];
        if (place_one(sp, local[i], own, src, name, made[i], PATH_MAX) < 0) {
            log_err("delivery of %s to %s failed: %s", sp->id, local[i], strerror(errno));
            return -1;
        }
        if (own)
            src = made[i];
    }
    return 0;
}

int deliver_commit(struct spool *sp, char *const *local, size_t nlocal, char *const *relay,
                   size_t nrelay, deliver_enqueue_fn enqueue, char *name, size_t namelen)
{
    char fname[512];
    char (*made)[PATH_MAX] = NULL;
    int rc = -1, e = 0;
    if (spool_flush(sp) < 0 || (nlocal > 0 && fsync(sp->fd) < 0)) {
        e = sp->err ? sp->err : errno;
        goto out;
    }
    if (snprintf(fname, sizeof fname, "%s,S=%zu,W=%zu", sp->base, sp->size,
                 sp->size + sp->lines) >= (int)sizeof fname) {
        e = ENAMETOOLONG;
        goto out;
    }
    made = calloc(nlocal ? nlocal : 1, sizeof *made);
    if (!made) {
        e = errno;
        goto out;
    }
    if (deliver_local(sp, local, nlocal, fname, made) < 0) {
        e = errno;
        goto out;
    }
    if (nrelay > 0 && enqueue(sp->cfg, sp->id, sp->sender, relay, nrelay, sp->fd,
                              (off_t)sp->rp_len, sp->size - sp->rp_len) < 0) {
        e = errno ? errno : EIO;
        goto out;
    }
    rc = 0;
    if (name)
        str_copy(name, fname, namelen);
out:
    for (size_t i = 0; rc < 0 && made && i < nlocal; i++)
        if (made[i][0] && unlink(made[i]) < 0)
            log_err("cannot remove %s after a failed delivery: %s", made[i], strerror(errno));
    free(made);
    spool_discard(sp);
    errno = e;
    return rc;
}

void deliver_clean_spool(const char *data_dir)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/spool", data_dir);
    if (n < 0 || (size_t)n >= sizeof dir)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *p = strchr(de->d_name, 'P');
        long pid = p ? strtol(p + 1, NULL, 10) : 0;
        if (de->d_name[0] == '.' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n > 0 && (size_t)n < sizeof path && unlink(path) == 0)
            log_info("removed stale spool file %s", path);
    }
    if (closedir(d) < 0)
        log_warn("closedir %s: %s", dir, strerror(errno));
}
