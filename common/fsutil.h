/* fsutil: the few file-system primitives that durability rests on, in one place:
 * whole writes, range copies, directory fsyncs, and the durable file (write to a
 * temporary name, fsync, rename into place, fsync the directory) that the queue and
 * the mail store use for every file they commit.
 * Result codes (0 success, negative error, positive a named outcome): 0, or -1 with
 * errno; pread_full gives a count. */
#ifndef MS_FSUTIL_H
#define MS_FSUTIL_H
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* write(2) until all of buf is written (EINTR retried). 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* pwrite(2) the same way at OFFSET (FD's offset is not moved). 0, or -1 with errno. */
int pwrite_all(int fd, const void *buf, size_t len, off_t offset);
/* pread(2) until len octets are read or the file ends (EINTR retried). Returns the
 * octets read (less than len at the end of the file), or -1 with errno. */
ssize_t pread_full(int fd, void *buf, size_t len, off_t offset);
/* Copy len octets of IN from offset to OUT's position (pread: IN's offset is not moved).
 * 0, or -1 with errno (EIO when IN is shorter). */
int copy_range(int out, int in, off_t offset, size_t len);
/* fsync a directory so that entries renamed or linked into it are durable. 0 or -1. */
int fsync_dir(const char *path);

/* A file committed durably: dfile_open creates TMP (O_EXCL, 0600; errno EEXIST when it
 * exists), the caller writes to fd, dfile_commit fsyncs, closes and renames it to DST,
 * then fsyncs SYNCDIR (NULL: the caller does, e.g. with a shared directory fsync).
 * On any failure, and in dfile_abort, TMP is removed. */
struct dfile {
    int fd;
    char tmp[PATH_MAX];
};
int dfile_open(struct dfile *f, const char *tmp);
int dfile_commit(struct dfile *f, const char *dst, const char *syncdir);
void dfile_abort(struct dfile *f);
/* All of it: TMP with DATA, renamed to DST, SYNCDIR fsynced. 0, or -1 with errno. */
int dfile_write(const char *tmp, const char *dst, const char *syncdir, const void *data,
                size_t len);

#endif
