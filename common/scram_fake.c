/* scram_fake: SCRAM-SHA-256 secrets for names that have none (scram_fake.h).
 * No SASL headers here (their md5.h clashes with OpenSSL's). */
#include "scram_fake.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

/* HMAC-SHA-256(key, LABEL NUL NAME) */
static int derive(const unsigned char *key, const char *label, const char *name,
                  unsigned char md[32])
{
    unsigned char msg[512];
    size_t ll = strlen(label) + 1, nl = strlen(name);
    unsigned int mdlen = 0;
    if (ll + nl > sizeof msg)
        nl = sizeof msg - ll;           /* names are far shorter; never overflow */
    memcpy(msg, label, ll);
    memcpy(msg + ll, name, nl);
    return HMAC(EVP_sha256(), key, SCRAM_FAKE_KEYLEN, msg, ll + nl, md, &mdlen) && mdlen == 32
               ? 0 : -1;
}

int scram_fake_secret(const unsigned char key[SCRAM_FAKE_KEYLEN], const char *name,
                      unsigned iterations, char *out, size_t outlen)
{
    unsigned char salt[32], stored[32], server[32];
    char bsalt[32], bstored[48], bserver[48];
    int rc = -1;
    if (!key || !name || !out || outlen == 0)
        return -1;
    if (derive(key, "salt", name, salt) == 0 && derive(key, "stored", name, stored) == 0 &&
        derive(key, "server", name, server) == 0) {
        EVP_EncodeBlock((unsigned char *)bsalt, salt, 16);   /* 16 bytes, as userdb's salts */
        EVP_EncodeBlock((unsigned char *)bstored, stored, 32);
        EVP_EncodeBlock((unsigned char *)bserver, server, 32);
        int n = snprintf(out, outlen, "SCRAM-SHA-256$%u:%s$%s:%s", iterations, bsalt, bstored,
                         bserver);
        rc = n > 0 && (size_t)n < outlen ? 0 : -1;
    }
    OPENSSL_cleanse(stored, sizeof stored);
    OPENSSL_cleanse(server, sizeof server);
    return rc;
}

static int read_key(const char *path, unsigned char *key)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = -1;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == SCRAM_FAKE_KEYLEN)
        n = read(fd, key, SCRAM_FAKE_KEYLEN);
    int saved = errno;
    (void)close(fd);
    if (n != SCRAM_FAKE_KEYLEN) {
        errno = n < 0 ? saved : EINVAL;
        return -1;
    }
    return 0;
}

/* Write a new key to a private temporary name, then link it into place: link(2)
 * fails with EEXIST if another process published one first (then we read that). */
static int make_key(const char *dir, const char *path)
{
    unsigned char key[SCRAM_FAKE_KEYLEN];
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.%ld", dir, SCRAM_FAKE_FILE, (long)getpid()) >=
        sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
        return -1;
    (void)unlink(tmp);                  /* a leftover of a dead process with our pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, key, sizeof key) == 0 && fsync(fd) == 0 ? 0 : -1;
    OPENSSL_cleanse(key, sizeof key);
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
        rc = -1;
    int saved = errno;
    (void)unlink(tmp);
    if (rc == 0)
        (void)fsync_dir(dir);
    errno = saved;
    return rc;
}

int scram_fake_key_load(const char *dir, unsigned char key[SCRAM_FAKE_KEYLEN])
{
    char path[4096];
    if (!dir || (size_t)snprintf(path, sizeof path, "%s/%s", dir, SCRAM_FAKE_FILE) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (read_key(path, key) == 0)
        return 0;
    if (errno != ENOENT || make_key(dir, path) != 0)
        return -1;
    return read_key(path, key);
}
