/* maildir: paths and creation of Maildirs under DATA_DIR/mail. */
#include "maildir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int maildir_path(const char *data_dir, const char *address, char *out, size_t len)
{
    const char *at = strrchr(address, '@');
    if (!at || at == address || at[1] == '\0' || strchr(address, '/'))
        return -1;
    if (address[0] == '.' || at[1] == '.')
        return -1;
    int n = snprintf(out, len, "%s/mail/%s/%.*s", data_dir, at + 1, (int)(at - address), address);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int mkdir_one(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

int maildir_make(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n + 5 >= sizeof buf)
        return errno = ENAMETOOLONG, -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir_one(buf) < 0)
            return -1;
        *p = '/';
    }
    if (mkdir_one(buf) < 0)
        return -1;
    static const char *const sub[] = { "tmp", "new", "cur" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(buf + n, sizeof buf - n, "/%s", sub[i]);
        if (mkdir_one(buf) < 0)
            return -1;
    }
    return 0;
}
