/* maildir: paths, creation and file names of Maildirs under DATA_DIR/mail (see maildir.h). */
#include "maildir.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char mail_root[4096];       /* "" : DATA_DIR/mail */

void maildir_set_root(const char *mail_dir)
{
    if (mail_dir == NULL || strlen(mail_dir) >= sizeof mail_root)
        mail_dir = "";
    memcpy(mail_root, mail_dir, strlen(mail_dir) + 1);
}

int maildir_path(const char *data_dir, const char *address, char *out, size_t len)
{
    const char *at = strrchr(address, '@');
    if (!at || at == address || at[1] == '\0' || strchr(address, '/'))
        return -1;
    if (address[0] == '.' || at[1] == '.')
        return -1;
    int n = mail_root[0] != '\0'
                ? snprintf(out, len, "%s/%s/%.*s", mail_root, at + 1, (int)(at - address), address)
                : snprintf(out, len, "%s/mail/%s/%.*s", data_dir, at + 1, (int)(at - address), address);
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

/* ---------------------------------------------------------------- names: making */

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

int maildir_name_base(char *out, size_t len, long sec, long usec, long pid, unsigned long q,
                      const char *hostname)
{
    char host[256];
    if (host_part(hostname, host, sizeof host) < 0)
        return -1;
    int n = snprintf(out, len, "%ld.M%06ldP%ldQ%lu.%s", sec, usec, pid, q, host);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int maildir_name_full(char *out, size_t len, const char *base, uint64_t size, uint64_t wire)
{
    int n = snprintf(out, len, "%s,S=%llu,W=%llu", base, (unsigned long long)size,
                     (unsigned long long)wire);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* ---------------------------------------------------------------- names: parsing */

void maildir_uidl(const char *name, char out[MAILDIR_UIDL_MAX + 1])
{
    size_t len = strcspn(name, ":");
    bool ok = len >= 1 && len <= MAILDIR_UIDL_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)name[i] >= 0x21 && (unsigned char)name[i] <= 0x7e;
    if (ok) {
        memcpy(out, name, len);
        out[len] = '\0';
        return;
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)name, len, md);
    for (size_t i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool parse_digits(const char **pp, uint64_t *v, size_t maxdigits)
{
    const char *p = *pp;
    uint64_t x = 0;
    size_t n = 0;
    while (*p >= '0' && *p <= '9' && n < maxdigits) {
        x = x * 10 + (uint64_t)(*p - '0');
        p++;
        n++;
    }
    if (n == 0)
        return false;
    *pp = p;
    *v = x;
    return true;
}

bool maildir_name_time(const char *name, int64_t *sec, long *usec)
{
    const char *p = name;
    uint64_t s, u = 0;
    if (!parse_digits(&p, &s, 18))
        return false;
    *sec = (int64_t)s;
    *usec = 0;
    if (*p == '.') {
        p++;
        if (*p == 'M')
            p++;
        if (parse_digits(&p, &u, 6))
            *usec = (long)u;
    }
    return true;
}

bool maildir_name_wsize(const char *name, uint64_t *size)
{
    size_t len = strcspn(name, ":");
    for (const char *p = name; (p = strstr(p, ",W=")) != NULL && (size_t)(p - name) < len; p++) {
        const char *q = p + 3;
        uint64_t v;
        if (parse_digits(&q, &v, 18) && (*q == ',' || *q == ':' || *q == '\0')) {
            *size = v;
            return true;
        }
    }
    return false;
}

long maildir_name_pid(const char *name)
{
    const char *p = strchr(name, 'P');
    return p ? strtol(p + 1, NULL, 10) : 0;
}
