/* dkim_keys: DKIM key files, their names and TXT records (see dkim_keys.h). */
#include "dkim_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define KEY_FILE_MAX (16 * 1024)

const char *dkim_alg_name(enum dkim_alg alg)
{
    return alg == DKIM_ALG_ED25519 ? "ed25519" : "rsa";
}

int dkim_alg_parse(const char *s, enum dkim_alg *alg)
{
    if (strcmp(s, "rsa") == 0)
        *alg = DKIM_ALG_RSA;
    else if (strcmp(s, "ed25519") == 0)
        *alg = DKIM_ALG_ED25519;
    else
        return -1;
    return 0;
}

static bool ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

bool dkim_selector_valid(const char *sel)
{
    size_t n = strlen(sel);
    if (n == 0 || n > DKIM_SELECTOR_MAX || sel[0] == '-' || sel[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ldh(sel[i]))
            return false;
    return true;
}

/* A domain that may name a directory: labels of letters, digits and '-', lower case. */
static bool domain_ok(const char *d)
{
    size_t n = strlen(d);
    if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '.' ? d[i + 1] == '.' : !ldh(d[i]) || (d[i] >= 'A' && d[i] <= 'Z'))
            return false;
    }
    return true;
}

/* snprintf's return: 0 when the text fit in LEN, else -1. */
static int fits(int n, size_t len)
{
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int dkim_root_dir(const char *data_dir, char *buf, size_t len)
{
    return fits(snprintf(buf, len, "%s/dkim", data_dir), len);
}

int dkim_domain_dir(const char *data_dir, const char *domain, char *buf, size_t len)
{
    if (!domain_ok(domain))
        return -1;
    return fits(snprintf(buf, len, "%s/dkim/%s", data_dir, domain), len);
}

int dkim_key_path(const char *data_dir, const char *domain, const char *sel,
                  enum dkim_alg alg, char *buf, size_t len)
{
    char dir[4096];
    if (!dkim_selector_valid(sel) || dkim_domain_dir(data_dir, domain, dir, sizeof dir) < 0)
        return -1;
    return fits(snprintf(buf, len, "%s/%s.%s.key", dir, sel, dkim_alg_name(alg)), len);
}

int dkim_key_name_parse(const char *name, char *sel, size_t sellen, enum dkim_alg *alg)
{
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".key") != 0)
        return -1;
    const char *dot = NULL;
    for (const char *p = name + n - 5; p > name; p--)
        if (*p == '.') {
            dot = p;
            break;
        }
    if (!dot)
        return -1;
    char a[16];
    size_t alen = (size_t)(name + n - 4 - (dot + 1));
    size_t slen = (size_t)(dot - name);
    if (alen >= sizeof a || slen >= sellen || slen > DKIM_SELECTOR_MAX)
        return -1;
    memcpy(a, dot + 1, alen);
    a[alen] = '\0';
    memcpy(sel, name, slen);
    sel[slen] = '\0';
    if (dkim_alg_parse(a, alg) < 0 || !dkim_selector_valid(sel))
        return -1;
    return 0;
}

int dkim_txt_value(enum dkim_alg alg, const unsigned char *pub, size_t publen, char *buf,
                   size_t len)
{
    char b64[DKIM_TXT_MAX];
    if (publen == 0 || publen > (sizeof b64 - 1) / 4 * 3)
        return -1;
    int n = EVP_EncodeBlock((unsigned char *)b64, pub, (int)publen);
    if (n < 0)
        return -1;
    b64[n] = '\0';
    return fits(snprintf(buf, len, "v=DKIM1; k=%s; p=%s", dkim_alg_name(alg), b64), len);
}

void dkim_txt_record(FILE *f, const char *domain, const char *sel, const char *txt)
{
    size_t n = strlen(txt);
    fprintf(f, "%s._domainkey.%s.\tIN\tTXT\t", sel, domain);
    if (n <= 255) {
        fprintf(f, "\"%s\"\n", txt);
        return;
    }
    fputs("(", f);
    for (size_t i = 0; i < n; i += 255)
        fprintf(f, " \"%.*s\"", (int)(n - i < 255 ? n - i : 255), txt + i);
    fputs(" )\n", f);
}

/* The TXT value of KEY's public half. */
static int pkey_txt(enum dkim_alg alg, EVP_PKEY *key, char *txt, size_t txtlen)
{
    unsigned char pub[DKIM_TXT_MAX];
    size_t publen = sizeof pub;
    if (alg == DKIM_ALG_ED25519) {
        if (EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1)
            return -1;
    } else {
        int n = i2d_PUBKEY(key, NULL);
        unsigned char *p = pub;
        if (n <= 0 || (size_t)n > sizeof pub || i2d_PUBKEY(key, &p) != n)
            return -1;
        publen = (size_t)n;
    }
    return dkim_txt_value(alg, pub, publen, txt, txtlen);
}

static bool alg_matches(enum dkim_alg alg, EVP_PKEY *key)
{
    return EVP_PKEY_is_a(key, alg == DKIM_ALG_ED25519 ? "ED25519" : "RSA") == 1;
}

int dkim_key_generate(enum dkim_alg alg, int fd, char *txt, size_t txtlen)
{
    EVP_PKEY *key = alg == DKIM_ALG_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                            : EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                                                                (size_t)DKIM_RSA_BITS);
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc = -1;
    if (key && mem && PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) == 1) {
        long n = BIO_get_mem_data(mem, &data);
        if (n > 0 && write_all(fd, data, (size_t)n) == 0 && pkey_txt(alg, key, txt, txtlen) == 0)
            rc = 0;
    }
    BIO_free(mem);
    EVP_PKEY_free(key);
    return rc;
}

int dkim_key_txt(enum dkim_alg alg, const char *pem, char *txt, size_t txtlen)
{
    BIO *mem = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = mem ? PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL) : NULL;
    int rc = key && alg_matches(alg, key) ? pkey_txt(alg, key, txt, txtlen) : -1;
    EVP_PKEY_free(key);
    BIO_free(mem);
    return rc;
}

char *dkim_key_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    char *buf = malloc(KEY_FILE_MAX + 1);
    ssize_t n = buf ? pread_full(fd, buf, KEY_FILE_MAX, 0) : -1;
    int e = errno;
    close(fd);
    if (n <= 0 || n == KEY_FILE_MAX) {
        free(buf);
        errno = n < 0 ? e : EINVAL;
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int each_in_domain(const char *data_dir, const char *domain,
                          int (*fn)(const struct dkim_keyfile *k, void *arg), void *arg)
{
    struct dkim_keyfile k;
    struct dirent **names = NULL;
    if (dkim_domain_dir(data_dir, domain, k.path, sizeof k.path) < 0)
        return 0;                       /* not a name we make */
    int n = scandir(k.path, &names, NULL, name_cmp);
    if (n < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        str_copy(k.domain, domain, sizeof k.domain);
        if (rc == 0 &&
            dkim_key_name_parse(names[i]->d_name, k.selector, sizeof k.selector, &k.alg) == 0 &&
            dkim_key_path(data_dir, domain, k.selector, k.alg, k.path, sizeof k.path) == 0)
            rc = fn(&k, arg);
        free(names[i]);
    }
    free(names);
    return rc;
}

int dkim_keys_each(const char *data_dir, const char *domain,
                   int (*fn)(const struct dkim_keyfile *k, void *arg), void *arg)
{
    if (domain)
        return each_in_domain(data_dir, domain, fn, arg);
    char root[4096];
    struct dirent **names = NULL;
    if (dkim_root_dir(data_dir, root, sizeof root) < 0)
        return -1;
    int n = scandir(root, &names, NULL, name_cmp);
    if (n < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && names[i]->d_name[0] != '.')
            rc = each_in_domain(data_dir, names[i]->d_name, fn, arg);
        free(names[i]);
    }
    free(names);
    return rc;
}
