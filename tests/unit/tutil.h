/* tutil.h: scratch directories for the CUnit tests. tu_tmpdir makes a fresh private
 * directory $B/tmp-NAME-XXXXXX (B defaults to "build", as in the Makefile) so that
 * tests keep their files inside the build tree; tu_rmtree removes one again. */
#ifndef MS_TEST_TUTIL_H
#define MS_TEST_TUTIL_H
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

#endif
