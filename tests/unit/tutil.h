/* tutil.h: scratch directories for the CUnit tests. tu_tmpdir makes a fresh private
 * directory $B/tmp-NAME-XXXXXX (B defaults to "build", as in the Makefile) so that
 * tests keep their files inside the build tree; tu_rmtree removes one again;
 * tu_capture_stderr keeps what a call logs. */
#ifndef MS_TEST_TUTIL_H
#define MS_TEST_TUTIL_H
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0 with the directory's path in buf, or -1. */
static inline int tu_tmpdir(char *buf, size_t len, const char *name)
{
    const char *b = getenv("B") ? getenv("B") : "build";
    if (mkdir(b, 0700) != 0 && access(b, W_OK) != 0)
        return -1;
    int n = snprintf(buf, len, "%s/tmp-%s-XXXXXX", b, name);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdtemp(buf) ? 0 : -1;
}

static inline int tu_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Remove PATH and everything under it (symlinks are not followed). */
static inline int tu_rmtree(const char *path)
{
    return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run fn with stderr captured (through a file in DIR) into buf, NUL-terminated;
 * -1 if stderr could not be redirected (fn not run). */
static inline int tu_capture_stderr(const char *dir, void (*fn)(void), char *buf, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (saved < 0 || fd < 0 || dup2(fd, 2) < 0) {
        if (saved >= 0)
            close(saved);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    return 0;
}

#endif
