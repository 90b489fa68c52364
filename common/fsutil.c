/* fsutil: whole writes, range copies, directory fsyncs and durable files (see fsutil.h). */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* All LEN octets of buf to fd: at OFFSET (pwrite), or where fd stands when OFFSET < 0. */
static int write_loop(int fd, const char *p, size_t len, off_t offset)
{
    while (len > 0) {
        ssize_t w = offset < 0 ? write(fd, p, len) : pwrite(fd, p, len, offset);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
        if (offset >= 0)
            offset += w;
    }
    return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
    return write_loop(fd, buf, len, -1);
}

int pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
    if (offset < 0)
        return errno = EINVAL, -1;
    return write_loop(fd, buf, len, offset);
}

ssize_t pread_full(int fd, void *buf, size_t len, off_t offset)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, offset + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int copy_range(int out, int in, off_t offset, size_t len)
{
    char buf[65536];
    while (len > 0) {
        size_t want = len < sizeof buf ? len : sizeof buf;
        ssize_t r = pread_full(in, buf, want, offset);
        if (r < 0)
            return -1;
        if ((size_t)r < want)
            return errno = EIO, -1;     /* shorter than promised */
        if (write_all(out, buf, (size_t)r) < 0)
            return -1;
        offset += r;
        len -= (size_t)r;
    }
    return 0;
}

int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    if (close(fd) < 0 && r == 0)
        return -1;
    errno = e;
    return r;
}

int dfile_open(struct dfile *f, const char *tmp)
{
    f->fd = -1;
    if (str_copy(f->tmp, tmp, sizeof f->tmp) >= sizeof f->tmp)
        return errno = ENAMETOOLONG, -1;
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return f->fd < 0 ? -1 : 0;
}

void dfile_abort(struct dfile *f)
{
    int e = errno;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (unlink(f->tmp) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", f->tmp, strerror(errno));
    errno = e;
}

int dfile_commit(struct dfile *f, const char *dst, const char *syncdir)
{
    if (fsync(f->fd) < 0) {
        dfile_abort(f);
        return -1;
    }
    int r = close(f->fd);
    f->fd = -1;
    if (r < 0 || rename(f->tmp, dst) < 0) {
        dfile_abort(f);
        return -1;
    }
    return syncdir ? fsync_dir(syncdir) : 0;
}

int dfile_write(const char *tmp, const char *dst, const char *syncdir, const void *data,
                size_t len)
{
    struct dfile f;
    if (dfile_open(&f, tmp) < 0)
        return -1;
    if (write_all(f.fd, data, len) < 0) {
        dfile_abort(&f);
        return -1;
    }
    return dfile_commit(&f, dst, syncdir);
}
