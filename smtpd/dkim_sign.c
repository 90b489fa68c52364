/* dkim_sign: signing with libopendkim, the per-process key cache (see dkim_sign.h). */
#include "dkim_sign.h"

#include <errno.h>
#include <opendkim/dkim.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dkim_hdr.h"
#include "dkim_keys.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

#define MAX_KEYS 8             /* per domain */
#define CHUNK 65536

struct key {
    char selector[DKIM_SELECTOR_MAX + 1];
    enum dkim_alg alg;
    char *pem;
};

/* One domain's keys as read at one state of its directory; shared, reference counted. */
struct domkeys {
    char domain[256];
    struct timespec mtime, ctime;
    ino_t ino;
    int refs;                  /* the cache's and each signer's */
    size_t n;
    struct key k[MAX_KEYS];
    struct domkeys *next;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct domkeys *cache;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static DKIM_LIB *lib;

static void lib_init(void)
{
    lib = dkim_init(NULL, NULL);
    if (!lib)
        return;
    unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;   /* our text has LF line endings */
    if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK ||
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)dkim_sign_headers,
                     sizeof(char **)) != DKIM_STAT_OK ||
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
                     (void *)dkim_oversign_headers, sizeof(char **)) != DKIM_STAT_OK) {
        log_err("dkim: cannot set the library's options");
        dkim_close(lib);
        lib = NULL;
    }
}

static void domkeys_unref(struct domkeys *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&cache_mu);
    int left = --d->refs;
    pthread_mutex_unlock(&cache_mu);
    if (left > 0)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->k[i].pem);
    free(d);
}

static int add_key(const struct dkim_keyfile *kf, void *arg)
{
    struct domkeys *d = arg;
    if (d->n == MAX_KEYS)
        return 0;
    char *pem = dkim_key_read(kf->path);
    if (!pem) {
        log_err("dkim: cannot read %s: %s", kf->path, strerror(errno));
        return 0;                  /* the domain's other keys still sign */
    }
    struct key *k = &d->k[d->n++];
    str_copy(k->selector, kf->selector, sizeof k->selector);
    k->alg = kf->alg;
    k->pem = pem;
    return 0;
}

/* Take the cache entry out of the list (the caller holds cache_mu); its reference is
 * the caller's now. */
static struct domkeys *cache_take(const char *domain)
{
    for (struct domkeys **pp = &cache; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->domain, domain) == 0) {
            struct domkeys *d = *pp;
            *pp = d->next;
            return d;
        }
    return NULL;
}

static bool same_state(const struct domkeys *d, const struct stat *st)
{
    return d->ino == st->st_ino && d->mtime.tv_sec == st->st_mtim.tv_sec &&
           d->mtime.tv_nsec == st->st_mtim.tv_nsec && d->ctime.tv_sec == st->st_ctim.tv_sec &&
           d->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* DOMAIN's keys with a reference for the caller; NULL when it has none. */
static struct domkeys *keys_for(const char *data_dir, const char *domain)
{
    char dir[4096];
    struct stat st;
    if (dkim_domain_dir(data_dir, domain, dir, sizeof dir) < 0 || stat(dir, &st) < 0) {
        pthread_mutex_lock(&cache_mu);
        struct domkeys *old = cache_take(domain);
        pthread_mutex_unlock(&cache_mu);
        domkeys_unref(old);
        return NULL;
    }
    pthread_mutex_lock(&cache_mu);
    for (struct domkeys *d = cache; d; d = d->next)
        if (strcmp(d->domain, domain) == 0 && same_state(d, &st)) {
            d->refs++;
            pthread_mutex_unlock(&cache_mu);
            return d->n ? d : (domkeys_unref(d), NULL);
        }
    pthread_mutex_unlock(&cache_mu);
    struct domkeys *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    str_copy(d->domain, domain, sizeof d->domain);
    d->ino = st.st_ino;
    d->mtime = st.st_mtim;
    d->ctime = st.st_ctim;
    d->refs = 2;                                   /* the cache's and the caller's */
    if (dkim_keys_each(data_dir, domain, add_key, d) < 0)
        log_err("dkim: cannot list %s: %s", dir, strerror(errno));
    log_info("dkim: %zu key(s) loaded for %s", d->n, domain);
    pthread_mutex_lock(&cache_mu);
    struct domkeys *old = cache_take(domain);
    d->next = cache;
    cache = d;
    pthread_mutex_unlock(&cache_mu);
    domkeys_unref(old);
    return d->n ? d : (domkeys_unref(d), NULL);
}

/* Up to LEN octets of the message at POS into BUF; the count, or -1. */
static ssize_t msg_read(const struct dkim_msg *m, size_t pos, char *buf, size_t len)
{
    if (pos >= m->len)
        return 0;
    if (len > m->len - pos)
        len = m->len - pos;
    if (m->buf) {
        memcpy(buf, m->buf + pos, len);
        return (ssize_t)len;
    }
    ssize_t n = pread_full(m->fd, buf, len, m->off + (off_t)pos);
    return n >= 0 && (size_t)n < len ? (errno = EIO, -1) : n;
}

/* Feed the whole message to every signer. 0 or -1. */
static int feed(DKIM **sig, size_t n, const struct dkim_msg *m, char *buf)
{
    for (size_t pos = 0; pos < m->len;) {
        ssize_t got = msg_read(m, pos, buf, CHUNK);
        if (got <= 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (dkim_chunk(sig[i], (u_char *)buf, (size_t)got) != DKIM_STAT_OK)
                return -1;
        pos += (size_t)got;
    }
    for (size_t i = 0; i < n; i++)
        if (dkim_chunk(sig[i], NULL, 0) != DKIM_STAT_OK || dkim_eom(sig[i], NULL) != DKIM_STAT_OK)
            return -1;
    return 0;
}

/* Append "DKIM-Signature: " and the field of SIG (CRLFs made LFs) to OUT. */
static int append_sig(DKIM *sig, FILE *out)
{
    u_char *h = NULL;
    size_t hl = 0;
    const size_t initial = sizeof DKIM_SIGNHEADER + 1;     /* "DKIM-Signature: " */
    if (dkim_getsighdr_d(sig, initial, &h, &hl) != DKIM_STAT_OK)
        return -1;
    fputs(DKIM_SIGNHEADER ": ", out);
    for (size_t i = 0; i < hl; i++)
        if (h[i] != '\r')
            fputc(h[i], out);
    fputc('\n', out);
    return 0;
}

/* Sign with every key of D. */
static int sign_with(const struct domkeys *d, const struct dkim_msg *m, char **hdrs,
                     size_t *hlen)
{
    DKIM *sig[MAX_KEYS] = { NULL };
    size_t n = 0;
    int rc = -1;
    char *buf = malloc(CHUNK);
    FILE *out = buf ? open_memstream(hdrs, hlen) : NULL;
    for (size_t i = 0; out && i < d->n; i++) {
        DKIM_STAT st;
        sig[n] = dkim_sign(lib, (const u_char *)"smtpd", NULL, (dkim_sigkey_t)d->k[i].pem,
                           (const u_char *)d->k[i].selector, (const u_char *)d->domain,
                           DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
                           d->k[i].alg == DKIM_ALG_ED25519 ? DKIM_SIGN_ED25519SHA256
                                                          : DKIM_SIGN_RSASHA256, -1, &st);
        if (sig[n])
            n++;
        else
            log_err("dkim: %s key %s: %s", d->domain, d->k[i].selector, dkim_getresultstr(st));
    }
    if (out && n > 0 && feed(sig, n, m, buf) == 0) {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            if (append_sig(sig[i], out) < 0) {
                log_err("dkim: signing for %s: %s", d->domain, dkim_geterror(sig[i]));
                rc = -1;
            }
    } else if (out && n > 0) {
        log_err("dkim: signing for %s failed: %s", d->domain, dkim_geterror(sig[0]));
    }
    for (size_t i = 0; i < n; i++)
        dkim_free(sig[i]);
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc < 0 && out) {
        free(*hdrs);
        *hdrs = NULL;
    }
    free(buf);
    return rc;
}

int dkim_sign_msg(const char *data_dir, const char *domain, const struct dkim_msg *msg,
                  char **hdrs, size_t *hlen)
{
    char from[256];
    *hdrs = NULL;
    *hlen = 0;
    if (!domain) {
        char head[CHUNK];
        ssize_t n = msg_read(msg, 0, head, sizeof head);
        if (n < 0 || dkim_from_domain(head, (size_t)n, from, sizeof from) != 0)
            return n < 0 ? -1 : DKIMS_NOKEY;
        domain = from;
    }
    struct domkeys *d = keys_for(data_dir, domain);
    if (!d)
        return DKIMS_NOKEY;
    if (pthread_once(&lib_once, lib_init) != 0 || !lib) {
        domkeys_unref(d);
        return -1;
    }
    int rc = sign_with(d, msg, hdrs, hlen);
    domkeys_unref(d);
    return rc;
}
