/* srs: Sender Rewriting Scheme addresses (see srs.h): pure encode/decode first, then
 * the secret file. */
#include "srs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define SRS_FIELD_MAX 512
static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static bool is_sep(char c)
{
    return c == '=' || c == '+' || c == '-';
}

static bool has_tag(const char *local, char digit)
{
    return (local[0] == 'S' || local[0] == 's') && (local[1] == 'R' || local[1] == 'r') &&
           (local[2] == 'S' || local[2] == 's') && local[3] == digit && is_sep(local[4]);
}

bool srs_is_srs(const char *local)
{
    return has_tag(local, '0') || has_tag(local, '1');
}

/* HHHH of the fields (lower-cased, concatenated): 0, or -1 if they do not fit. */
static int make_hash(const unsigned char *key, size_t klen, const char *const *f, size_t nf,
                     char hash[SRS_HASH_LEN + 1])
{
    unsigned char data[3 * SRS_FIELD_MAX], mac[EVP_MAX_MD_SIZE], b64[4 * EVP_MAX_MD_SIZE];
    size_t n = 0;
    unsigned int ml = 0;
    for (size_t i = 0; i < nf; i++)
        for (const char *p = f[i]; *p; p++) {
            if (n >= sizeof data)
                return -1;
            data[n++] = (unsigned char)tolower((unsigned char)*p);
        }
    if (!HMAC(EVP_sha1(), key, (int)klen, data, n, mac, &ml) ||
        EVP_EncodeBlock(b64, mac, (int)ml) < SRS_HASH_LEN)
        return -1;
    memcpy(hash, b64, SRS_HASH_LEN);
    hash[SRS_HASH_LEN] = '\0';
    return 0;
}

static bool hash_ok(const unsigned char *key, size_t klen, const char *const *f, size_t nf,
                    const char *given, size_t glen)
{
    char h[SRS_HASH_LEN + 1];
    if (glen != SRS_HASH_LEN || make_hash(key, klen, f, nf, h) < 0)
        return false;
    unsigned diff = 0;     /* constant time, case-insensitive (as libsrs2 accepts) */
    for (size_t i = 0; i < SRS_HASH_LEN; i++)
        diff |= (unsigned)(tolower((unsigned char)h[i]) ^ tolower((unsigned char)given[i]));
    return diff == 0;
}

static void make_stamp(int64_t now, char tt[3])
{
    unsigned day = (unsigned)((now / 86400) % 1024);
    tt[0] = B32[(day >> 5) & 31];
    tt[1] = B32[day & 31];
    tt[2] = '\0';
}

static int b32_val(char c)
{
    const char *p = strchr(B32, toupper((unsigned char)c));
    return (c && p) ? (int)(p - B32) : -1;
}

/* The stamp tt (2 characters) is at most SRS_MAX_AGE_DAYS old. */
static bool stamp_fresh(const char *tt, int64_t now)
{
    int hi = b32_val(tt[0]), lo = b32_val(tt[1]);
    if (hi < 0 || lo < 0)
        return false;
    int then = hi << 5 | lo, today = (int)((now / 86400) % 1024);
    int age = (today - then + 1024) % 1024;
    return age <= SRS_MAX_AGE_DAYS;
}

/* Write the address; SRS_TOO_LONG if it or its local part does not fit. */
static enum srs_result emit(char *out, size_t outlen, const char *fmt_tag, const char *hash,
                            const char *mid, const char *user, const char *domain)
{
    int n = snprintf(out, outlen, "%s=%s=%s=%s@%s", fmt_tag, hash, mid, user, domain);
    if (n < 0 || (size_t)n >= outlen)
        return SRS_TOO_LONG;
    const char *at = strrchr(out, '@');
    return (at && (size_t)(at - out) <= SRS_LOCAL_MAX) ? SRS_OK : SRS_TOO_LONG;
}

enum srs_result srs_forward(const unsigned char *key, size_t klen, const char *sender,
                            const char *alias_domain, int64_t now, char *out, size_t outlen)
{
    char user[SRS_FIELD_MAX], hash[SRS_HASH_LEN + 1];
    const char *at = strrchr(sender, '@');
    if (!at || at == sender || !at[1] || (size_t)(at - sender) >= sizeof user ||
        strlen(at + 1) >= SRS_FIELD_MAX)
        return SRS_BAD;
    memcpy(user, sender, (size_t)(at - sender));
    user[at - sender] = '\0';
    const char *host = at + 1;
    if (has_tag(user, '1')) {
        /* SRS1=HHHH=first.domain=REST: keep first.domain and REST, hash anew */
        char *h = user + 5, *fhost = strchr(h, '='), *rest;
        if (!fhost || !(rest = strchr(fhost + 1, '=')))
            return SRS_BAD;
        *fhost++ = '\0';
        *rest++ = '\0';
        const char *f[] = { fhost, rest };
        if (make_hash(key, klen, f, 2, hash) < 0)
            return SRS_TOO_LONG;
        return emit(out, outlen, "SRS1", hash, fhost, rest, alias_domain);
    }
    if (has_tag(user, '0')) {
        /* SRS0<sep>REST@host becomes SRS1=HHHH=host==REST (REST keeps its separator) */
        const char *rest = user + 4;
        const char *f[] = { host, rest };
        if (make_hash(key, klen, f, 2, hash) < 0)
            return SRS_TOO_LONG;
        return emit(out, outlen, "SRS1", hash, host, rest, alias_domain);
    }
    char tt[3];
    make_stamp(now, tt);
    const char *f[] = { tt, host, user };
    if (make_hash(key, klen, f, 3, hash) < 0)
        return SRS_TOO_LONG;
    char mid[SRS_FIELD_MAX + 4];
    snprintf(mid, sizeof mid, "%s=%s", tt, host);
    return emit(out, outlen, "SRS0", hash, mid, user, alias_domain);
}

/* Split s at the next '=' into *field (NUL-terminated in place); returns the rest. */
static char *next_field(char *s, char **field)
{
    char *e = strchr(s, '=');
    if (!e)
        return NULL;
    *e = '\0';
    *field = s;
    return e + 1;
}

enum srs_result srs_reverse(const unsigned char *key, size_t klen, const char *local,
                            int64_t now, char *out, size_t outlen)
{
    char buf[SRS_FIELD_MAX];
    if (!srs_is_srs(local))
        return SRS_NOT_SRS;
    if (str_copy(buf, local + 5, sizeof buf) >= sizeof buf)
        return SRS_BAD;
    char *hash, *tt, *host, *rest = buf;
    int n;
    if (local[3] == '1') {
        /* HHHH=first.domain==REST -> SRS0=REST@first.domain */
        if (!(rest = next_field(rest, &hash)) || !(rest = next_field(rest, &host)) ||
            !host[0] || !is_sep(rest[0]) || !rest[1])
            return SRS_BAD;
        const char *f[] = { host, rest };        /* REST with its leading separator */
        if (!hash_ok(key, klen, f, 2, hash, strlen(hash)))
            return SRS_BAD;
        n = snprintf(out, outlen, "SRS0%s@%s", rest, host);
    } else {
        /* HHHH=TT=orig.domain=orig-local */
        if (!(rest = next_field(rest, &hash)) || !(rest = next_field(rest, &tt)) ||
            !(rest = next_field(rest, &host)) || strlen(tt) != 2 || !host[0] || !rest[0])
            return SRS_BAD;
        const char *f[] = { tt, host, rest };
        if (!hash_ok(key, klen, f, 3, hash, strlen(hash)))
            return SRS_BAD;
        if (!stamp_fresh(tt, now))
            return SRS_EXPIRED;
        n = snprintf(out, outlen, "%s@%s", rest, host);
    }
    return (n < 0 || (size_t)n >= outlen) ? SRS_TOO_LONG : SRS_OK;
}

/* ---------------------------------------------------------------- the secret ---- */

static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char secret_key[SRS_SECRET_LEN];
static bool secret_loaded;

/* Read exactly SRS_SECRET_LEN bytes from the regular file NAME in dfd (no symlink). */
static int read_secret(int dfd, const char *name, unsigned char *key)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    ssize_t r = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == SRS_SECRET_LEN)
        r = pread(fd, key, SRS_SECRET_LEN, 0);
    int e = errno;
    close(fd);
    if (r != SRS_SECRET_LEN)
        return errno = (r < 0 ? e : EINVAL), -1;
    return 0;
}

/* Make the secret: a complete temporary file, linked into place (EEXIST: another
 * process won the race; its file is complete too). */
static int create_secret(int dfd)
{
    unsigned char key[SRS_SECRET_LEN];
    char tmp[64];
    snprintf(tmp, sizeof tmp, "srs_secret.%ld.tmp", (long)getpid());
    if (RAND_bytes(key, sizeof key) != 1)
        return errno = EIO, -1;
    (void)unlinkat(dfd, tmp, 0);     /* a leftover of a dead process with our pid */
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = (write_all(fd, key, sizeof key) == 0 && fsync(fd) == 0) ? 0 : -1;
    int e = errno;
    if (close(fd) < 0 && rc == 0)
        e = errno, rc = -1;
    if (rc == 0 && linkat(dfd, tmp, dfd, "srs_secret", 0) < 0 && errno != EEXIST)
        e = errno, rc = -1;
    (void)unlinkat(dfd, tmp, 0);
    errno = e;
    return rc;
}

const unsigned char *srs_secret(const char *data_dir)
{
    const unsigned char *res = NULL;
    if (pthread_mutex_lock(&secret_mu) != 0)
        return NULL;
    if (secret_loaded) {
        res = secret_key;
    } else {
        int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            int rc = read_secret(dfd, "srs_secret", secret_key);
            if (rc < 0 && errno == ENOENT && create_secret(dfd) == 0)
                rc = read_secret(dfd, "srs_secret", secret_key);
            int e = errno;
            close(dfd);
            errno = e;
            if (rc == 0) {
                secret_loaded = true;
                res = secret_key;
            }
        }
    }
    (void)pthread_mutex_unlock(&secret_mu);
    return res;
}
