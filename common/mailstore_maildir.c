/* mailstore_maildir: the mail store (mailstore.h) over Maildirs, with names and paths
 * from maildir.h.
 * Delivery: the message is written to a temporary file in the first recipient's tmp/
 * (or DATA_DIR/spool), fsynced once, renamed into that recipient's new/ and hard-linked
 * into the other recipients' new/ (copied across file systems), and each new/ fsynced
 * through dirsync (shared between concurrent deliveries). A Maildir made on the way has
 * its entries fsynced too. On failure everything placed is removed.
 * Reading (POP3): an exclusive flock on DIR/pop3d.lock, new/ moved to cur/ with ":2,",
 * cur/ listed oldest first with wire sizes and UIDLs; deletions are marks until
 * mailbox_commit renames them into DIR/trash/ (purged after the reply). */
#include "mailstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "dirsync.h"
#include "fsutil.h"
#include "log.h"
#include "maildir.h"
#include "msgtext.h"
#include "util.h"

#define MBOX_LOCKFILE "pop3d.lock"
#define MBOX_TRASH "trash"

_Static_assert(MBOX_UIDL_MAX == MAILDIR_UIDL_MAX, "one UIDL length");

/* ---------------------------------------------------------------- delivery */

struct mstore_tx {
    char data_dir[PATH_MAX];
    char id[64];
    int fd;
    char path[PATH_MAX];     /* the temporary file */
    char base[256];          /* unique name without ,S=,W= */
    char name[512];          /* full name, once delivered */
    char maildir[PATH_MAX];  /* Maildir holding the temporary file, "" for DATA_DIR/spool */
    bool made_maildir;       /* begin created that Maildir (its entries need fsync) */
    bool moved;              /* the file was renamed into new/: nothing to unlink */
    uint64_t size;
    char (*made)[PATH_MAX];  /* entries placed by deliver, for undo */
    size_t nmade;
};

static atomic_ulong tx_seq;

static int make_base(struct mstore_tx *tx, const char *hostname)
{
    struct timeval tv;
    if (gettimeofday(&tv, NULL) < 0)
        return -1;
    unsigned long q = atomic_fetch_add(&tx_seq, 1) + 1;
    if (maildir_name_base(tx->base, sizeof tx->base, (long)tv.tv_sec, (long)tv.tv_usec,
                          (long)getpid(), q, hostname) < 0)
        return errno = ENAMETOOLONG, -1;
    return 0;
}

/* The temporary file's name; *dir gets the directory to create if it is missing. */
static int tx_path(struct mstore_tx *tx, const char *first, char *dir, size_t dirlen)
{
    int n;
    if (first) {
        if (maildir_path(tx->data_dir, first, tx->maildir, sizeof tx->maildir) < 0)
            return errno = EINVAL, -1;
        n = snprintf(dir, dirlen, "%s", tx->maildir);
        if (n < 0 || (size_t)n >= dirlen)
            return errno = ENAMETOOLONG, -1;
        n = snprintf(tx->path, sizeof tx->path, "%s/tmp/%s", tx->maildir, tx->base);
    } else {
        n = snprintf(dir, dirlen, "%s/spool", tx->data_dir);
        if (n < 0 || (size_t)n >= dirlen)
            return errno = ENAMETOOLONG, -1;
        n = snprintf(tx->path, sizeof tx->path, "%s/%s", dir, tx->base);
    }
    return (n < 0 || (size_t)n >= sizeof tx->path) ? (errno = ENAMETOOLONG, -1) : 0;
}

/* Create the file; the directories are made only when they are missing (the usual case
 * needs one open, not a mkdir per path component). */
static int tx_create(struct mstore_tx *tx, const char *dir)
{
    const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
    tx->fd = open(tx->path, flags, 0600);
    if (tx->fd >= 0 || errno != ENOENT)
        return tx->fd < 0 ? -1 : 0;
    if (tx->maildir[0]) {
        if (maildir_make(dir) < 0)
            return -1;
        tx->made_maildir = true;
    } else if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        return -1;
    }
    tx->fd = open(tx->path, flags, 0600);
    return tx->fd < 0 ? -1 : 0;
}

struct mstore_tx *mstore_tx_begin(const char *data_dir, const char *hostname, const char *id,
                                  const char *first)
{
    char dir[PATH_MAX];
    struct mstore_tx *tx = calloc(1, sizeof *tx);
    if (!tx)
        return NULL;
    tx->fd = -1;
    str_copy(tx->id, id, sizeof tx->id);
    if (str_copy(tx->data_dir, data_dir, sizeof tx->data_dir) >= sizeof tx->data_dir) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    if (make_base(tx, hostname) < 0 || tx_path(tx, first, dir, sizeof dir) < 0 ||
        tx_create(tx, dir) < 0)
        goto fail;
    return tx;
fail:;
    int e = errno;
    mstore_tx_end(tx);
    errno = e;
    return NULL;
}

int mstore_tx_fd(const struct mstore_tx *tx)
{
    return tx->fd;
}

const char *mstore_tx_name(const struct mstore_tx *tx)
{
    return tx->name;
}

void mstore_tx_end(struct mstore_tx *tx)
{
    if (!tx)
        return;
    if (tx->fd >= 0) {
        if (close(tx->fd) < 0)
            log_warn("spool close %s: %s", tx->path, strerror(errno));
        if (!tx->moved && unlink(tx->path) < 0 && errno != ENOENT)
            log_warn("spool unlink %s: %s", tx->path, strerror(errno));
    }
    free(tx->made);
    free(tx);
}

/* Copy the file into DIR/tmp/NAME, fsync, rename to DST (another file system). */
int mstore_tx_insert(struct mstore_tx *tx, uint64_t at, const char *text, size_t len)
{
    struct stat st;
    char buf[65536];
    if (fstat(tx->fd, &st) < 0)
        return -1;
    if ((uint64_t)st.st_size < at)
        return errno = EINVAL, -1;
    /* from the end backwards, so nothing is overwritten before it is moved */
    for (uint64_t pos = (uint64_t)st.st_size; pos > at;) {
        size_t n = pos - at < sizeof buf ? (size_t)(pos - at) : sizeof buf;
        pos -= n;
        ssize_t got = pread_full(tx->fd, buf, n, (off_t)pos);
        if (got != (ssize_t)n)
            return errno = got < 0 ? errno : EIO, -1;
        if (pwrite_all(tx->fd, buf, n, (off_t)(pos + len)) < 0)
            return -1;
    }
    if (pwrite_all(tx->fd, text, len, (off_t)at) < 0)
        return -1;
    return lseek(tx->fd, 0, SEEK_END) < 0 ? -1 : 0;
}

int mstore_tx_remove(struct mstore_tx *tx, uint64_t at, uint64_t len)
{
    struct stat st;
    char buf[65536];
    if (fstat(tx->fd, &st) < 0)
        return -1;
    uint64_t end = (uint64_t)st.st_size;
    if (at > end || len > end - at)
        return errno = EINVAL, -1;
    /* from the front forwards, so nothing is overwritten before it is moved */
    for (uint64_t pos = at + len; pos < end;) {
        size_t n = end - pos < sizeof buf ? (size_t)(end - pos) : sizeof buf;
        ssize_t got = pread_full(tx->fd, buf, n, (off_t)pos);
        if (got != (ssize_t)n)
            return errno = got < 0 ? errno : EIO, -1;
        if (pwrite_all(tx->fd, buf, n, (off_t)(pos - len)) < 0)
            return -1;
        pos += n;
    }
    if (ftruncate(tx->fd, (off_t)(end - len)) < 0)
        return -1;
    return lseek(tx->fd, 0, SEEK_END) < 0 ? -1 : 0;
}

static int copy_in(struct mstore_tx *tx, const char *dir, const char *dst)
{
    char tmp[PATH_MAX];
    struct dfile f;
    int n = snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, tx->name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    if (dfile_open(&f, tmp) < 0)
        return -1;
    if (copy_range(f.fd, tx->fd, 0, tx->size) < 0) {
        dfile_abort(&f);
        return -1;
    }
    return dfile_commit(&f, dst, NULL);     /* new/ is fsynced by the caller */
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
 * file, which is renamed into new/ (no link + unlink); the others get a hard link to
 * SRC, the file's current path (a copy across file systems). The Maildir is made only
 * when the rename/link says it is missing. The path made is written to made. */
static int place_one(struct mstore_tx *tx, const char *address, bool own, const char *src,
                     char *made, size_t madelen)
{
    char dir[PATH_MAX], newdir[PATH_MAX];
    bool fresh = own && tx->made_maildir;
    made[0] = '\0';
    if (own ? str_copy(dir, tx->maildir, sizeof dir) >= sizeof dir
            : maildir_path(tx->data_dir, address, dir, sizeof dir) < 0)
        return errno = EINVAL, -1;
    int n = snprintf(newdir, sizeof newdir, "%s/new", dir);
    int m = snprintf(made, madelen, "%s/%s", newdir, tx->name);
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
        r = copy_in(tx, dir, made);
    if (r < 0)
        return made[0] = '\0', -1;
    if (own)
        tx->moved = true;
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

int mstore_tx_deliver(struct mstore_tx *tx, char *const *addrs, size_t n, uint64_t size,
                      uint64_t wire)
{
    if (n == 0)
        return 0;
    tx->size = size;
    if (fsync(tx->fd) < 0)
        return -1;
    if (maildir_name_full(tx->name, sizeof tx->name, tx->base, size, wire) < 0) {
        tx->name[0] = '\0';
        return errno = ENAMETOOLONG, -1;
    }
    free(tx->made);
    tx->made = calloc(n, sizeof *tx->made);
    if (!tx->made)
        return -1;
    tx->nmade = n;
    const char *src = tx->path;        /* where the file is now */
    for (size_t i = 0; i < n; i++) {
        if (seen_before(addrs, i))
            continue;
        bool own = i == 0 && tx->maildir[0];
        if (place_one(tx, addrs[i], own, src, tx->made[i], PATH_MAX) < 0) {
            int e = errno;
            log_err("delivery of %s to %s failed: %s", tx->id, addrs[i], strerror(e));
            mstore_tx_undo(tx);
            return errno = e, -1;
        }
        if (own)
            src = tx->made[i];
    }
    return 0;
}

void mstore_tx_undo(struct mstore_tx *tx)
{
    int e = errno;
    for (size_t i = 0; tx->made && i < tx->nmade; i++)
        if (tx->made[i][0] && unlink(tx->made[i]) < 0)
            log_err("cannot remove %s after a failed delivery: %s", tx->made[i],
                    strerror(errno));
    free(tx->made);
    tx->made = NULL;
    tx->nmade = 0;
    errno = e;
}

void mstore_clean_spool(const char *data_dir)
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
        long pid = maildir_name_pid(de->d_name);
        if (de->d_name[0] == '.' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n > 0 && (size_t)n < sizeof path && unlink(path) == 0)
            log_info("removed stale spool file %s", path);
    }
    if (closedir(d) < 0)
        log_warn("closedir %s: %s", dir, strerror(errno));
}

/* ---------------------------------------------------------------- reading */

struct mb_entry {
    struct mbox_msg m;         /* what the session sees */
    char *name;                /* file name in cur/ */
    int64_t sec;               /* sort key: seconds.microseconds of the name */
    long usec;
};

struct mailbox {
    char path[PATH_MAX];
    int lockfd;
    int curfd;                 /* open cur/ directory */
    int trashfd;               /* open trash/ directory: deleted messages wait here */
    struct mb_entry *msgs;
    size_t n, cap;
};

static int msg_cmp(const void *a, const void *b)
{
    const struct mb_entry *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    if (x->usec != y->usec)
        return x->usec < y->usec ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Size and sort key from the file itself (no ",W=" or no time in the name). */
static int msg_from_file(struct mailbox *mb, const char *name, struct mb_entry *m, bool *skip)
{
    int fd = openat(mb->curfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *skip = true;
        return errno == ENOENT || errno == ELOOP ? 0 : -1;
    }
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        *skip = true;
        return 0;
    }
    if (rc == 0 && !maildir_name_wsize(name, &m->m.size))
        rc = msgtext_fd_wire_size(fd, (uint64_t)st.st_size, &m->m.size);
    close(fd);
    if (rc < 0)
        return -1;
    if (!maildir_name_time(name, &m->sec, &m->usec)) {
        m->sec = (int64_t)st.st_mtim.tv_sec;
        m->usec = st.st_mtim.tv_nsec / 1000;
    }
    return 0;
}

/* d_type is DT_REG for a regular file (DT_UNKNOWN: ask the file). With ",W=" and a
 * time in the name nothing needs to be opened: 10,000 messages, 20,000 syscalls less. */
static int add_msg(struct mailbox *mb, const char *name, unsigned char dtype)
{
    struct mb_entry m = { 0 };
    bool skip = false;
    if (dtype != DT_REG && dtype != DT_UNKNOWN)
        return 0;
    if (dtype != DT_REG || !maildir_name_wsize(name, &m.m.size) ||
        !maildir_name_time(name, &m.sec, &m.usec)) {
        if (msg_from_file(mb, name, &m, &skip) < 0)
            return -1;
        if (skip)
            return 0;
    }
    maildir_uidl(name, m.m.uidl);
    if (mb->n == mb->cap) {
        size_t cap = mb->cap ? mb->cap * 2 : 64;
        struct mb_entry *v = realloc(mb->msgs, cap * sizeof *v);
        if (!v)
            return -1;
        mb->msgs = v;
        mb->cap = cap;
    }
    m.name = strdup(name);
    if (!m.name)
        return -1;
    mb->msgs[mb->n++] = m;
    return 0;
}

static int scan_cur(struct mailbox *mb)
{
    int dfd = dup(mb->curfd);
    if (dfd < 0)
        return -1;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            rc = add_msg(mb, e->d_name, e->d_type);
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = -1;
    closedir(d);
    if (rc == 0 && mb->n > 1)
        qsort(mb->msgs, mb->n, sizeof *mb->msgs, msg_cmp);
    return rc;
}

/* Move every new/ message to cur/ with ":2," (atomic rename), then fsync both. */
static int move_new(struct mailbox *mb)
{
    char newdir[PATH_MAX + 8];
    int n = snprintf(newdir, sizeof newdir, "%s/new", mb->path);
    if (n < 0 || (size_t)n >= sizeof newdir)
        return -1;
    int nfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (nfd < 0)
        return -1;
    DIR *d = fdopendir(nfd);
    if (!d) {
        close(nfd);
        return -1;
    }
    int rc = 0, moved = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char to[NAME_MAX + 8];
        n = snprintf(to, sizeof to, strchr(e->d_name, ':') ? "%s" : "%s:2,", e->d_name);
        if (n < 0 || (size_t)n >= sizeof to)
            continue;          /* cannot be named in cur/: leave it in new/ */
        if (renameat(dirfd(d), e->d_name, mb->curfd, to) == 0)
            moved++;
        else if (errno != ENOENT)
            rc = -1;
    }
    if (moved && (fsync(mb->curfd) < 0 || fsync(dirfd(d)) < 0))
        rc = -1;
    closedir(d);
    return rc;
}

static int take_lock(struct mailbox *mb)
{
    char lp[PATH_MAX + 16];
    int n = snprintf(lp, sizeof lp, "%s/" MBOX_LOCKFILE, mb->path);
    if (n < 0 || (size_t)n >= sizeof lp)
        return MBOX_ERROR;
    mb->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (mb->lockfd < 0)
        return MBOX_ERROR;
    while (flock(mb->lockfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? MBOX_LOCKED : MBOX_ERROR;
    }
    return MBOX_OK;
}

/* trash/ next to cur/ (Maildir readers ignore it). Without it, commit unlinks. */
static void open_trash(struct mailbox *mb)
{
    if (mkdirat(mb->curfd, "../" MBOX_TRASH, 0700) < 0 && errno != EEXIST)
        return;
    mb->trashfd = openat(mb->curfd, "../" MBOX_TRASH,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

int mailbox_open(const char *data_dir, const char *address, struct mailbox **out)
{
    char path[PATH_MAX];
    *out = NULL;
    if (maildir_path(data_dir, address, path, sizeof path) < 0) {
        errno = EINVAL;
        return MBOX_ERROR;
    }
    struct mailbox *mb = calloc(1, sizeof *mb);
    if (!mb)
        return MBOX_ERROR;
    mb->lockfd = mb->curfd = mb->trashfd = -1;
    int rc = MBOX_ERROR;
    char cur[PATH_MAX + 8];
    int n = snprintf(cur, sizeof cur, "%s/cur", path);
    if (str_copy(mb->path, path, sizeof mb->path) >= sizeof mb->path || n < 0 ||
        (size_t)n >= sizeof cur || maildir_make(path) < 0)
        goto fail;
    rc = take_lock(mb);
    if (rc != MBOX_OK)
        goto fail;
    rc = MBOX_ERROR;
    mb->curfd = open(cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mb->curfd < 0 || move_new(mb) < 0 || scan_cur(mb) < 0)
        goto fail;
    open_trash(mb);
    *out = mb;
    return MBOX_OK;
fail:;
    int saved = errno;
    mailbox_close(mb);
    errno = saved;
    return rc;
}

void mailbox_close(struct mailbox *mb)
{
    if (!mb)
        return;
    for (size_t i = 0; i < mb->n; i++)
        free(mb->msgs[i].name);
    free(mb->msgs);
    if (mb->curfd >= 0)
        close(mb->curfd);
    if (mb->trashfd >= 0)
        close(mb->trashfd);
    if (mb->lockfd >= 0)
        close(mb->lockfd);      /* releases the flock */
    free(mb);
}

/* ---------------------------------------------------------------- access */

size_t mailbox_count(const struct mailbox *mb)
{
    return mb->n;
}

const struct mbox_msg *mailbox_msg(const struct mailbox *mb, size_t n)
{
    return n >= 1 && n <= mb->n ? &mb->msgs[n - 1].m : NULL;
}

void mailbox_stat(const struct mailbox *mb, size_t *count, uint64_t *octets)
{
    size_t c = 0;
    uint64_t o = 0;
    for (size_t i = 0; i < mb->n; i++) {
        if (!mb->msgs[i].m.deleted) {
            c++;
            o += mb->msgs[i].m.size;
        }
    }
    *count = c;
    *octets = o;
}

int mailbox_delete(struct mailbox *mb, size_t n)
{
    if (n < 1 || n > mb->n || mb->msgs[n - 1].m.deleted)
        return MBOX_ERROR;
    mb->msgs[n - 1].m.deleted = true;
    return MBOX_OK;
}

void mailbox_undelete_all(struct mailbox *mb)
{
    for (size_t i = 0; i < mb->n; i++)
        mb->msgs[i].m.deleted = false;
}

/* Deleting at QUIT: a rename into trash/ (same directory tree, no blocks to free) is
 * several times cheaper than an unlink, whose inode eviction dominated QUIT with
 * 10,000 deletions. One fsync of cur/ then makes the removal from the maildrop durable
 * before the +OK; the space is freed after the reply by mailbox_trash_purge. */
size_t mailbox_commit(struct mailbox *mb)
{
    size_t failed = 0, removed = 0;
    for (size_t i = 0; i < mb->n; i++) {
        if (!mb->msgs[i].m.deleted)
            continue;
        const char *name = mb->msgs[i].name;
        if ((mb->trashfd >= 0 && renameat(mb->curfd, name, mb->trashfd, name) == 0) ||
            unlinkat(mb->curfd, name, 0) == 0 || errno == ENOENT)
            removed++;
        else
            failed++;
    }
    if (removed && fsync(mb->curfd) < 0)
        failed += removed;
    return failed;
}

const char *mailbox_path(const struct mailbox *mb)
{
    return mb->path;
}

long mailbox_trash_purge(const char *path)
{
    char tp[PATH_MAX + 8];
    int n = snprintf(tp, sizeof tp, "%s/" MBOX_TRASH, path);
    if (n < 0 || (size_t)n >= sizeof tp)
        return -1;
    int fd = open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    long failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
            failed++;
    }
    closedir(d);
    return failed;
}

int mailbox_open_msg(const struct mailbox *mb, size_t n)
{
    if (n < 1 || n > mb->n)
        return errno = EINVAL, -1;
    return openat(mb->curfd, mb->msgs[n - 1].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}
