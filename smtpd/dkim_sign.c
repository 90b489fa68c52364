/* dkim_sign: signing with libopendkim, the per-process key cache (see dkim_sign.h). */
#include "dkim_sign.h"

#include <errno.h>
#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dkim_canon.h"
#include "dkim_feed.h"
#include "dkim_hdr.h"
#include "dkim_keys.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

#define MAX_KEYS 8             /* per domain */
#define CHUNK 65536
#define MAX_FIELDS 512         /* header fields of a message we sign */
#define H_MAX 64               /* names in h= */

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
ssize_t dkim_msg_read(const struct dkim_msg *m, size_t pos, char *buf, size_t len)
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

/* A SHA-256 sink for dkim_canon's output, buffered. */
struct hsink {
    EVP_MD_CTX *md;
    bool err;
    size_t used;
    char buf[4096];
};

static void hsink_flush(struct hsink *h)
{
    if (h->used && EVP_DigestUpdate(h->md, h->buf, h->used) != 1)
        h->err = true;
    h->used = 0;
}

static void hsink_out(void *ctx, const char *data, size_t len)
{
    struct hsink *h = ctx;
    if (h->used + len > sizeof h->buf)
        hsink_flush(h);
    if (len > sizeof h->buf) {
        if (EVP_DigestUpdate(h->md, data, len) != 1)
            h->err = true;
        return;
    }
    memcpy(h->buf + h->used, data, len);
    h->used += len;
}

/* Start, and finish into a SHA-256 digest of 32 octets. 0 or -1. */
static int hsink_start(struct hsink *h)
{
    h->err = false;
    h->used = 0;
    h->md = EVP_MD_CTX_new();
    return h->md && EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

static int hsink_end(struct hsink *h, unsigned char *dig)
{
    unsigned int n = 0;
    hsink_flush(h);
    int rc = !h->err && EVP_DigestFinal_ex(h->md, dig, &n) == 1 && n == 32 ? 0 : -1;
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    return rc;
}

/* The message in hand: the signers of libopendkim (rsa) and the body hash of ours. */
struct signing {
    DKIM *sig[MAX_KEYS];
    size_t n;
    bool ed;                    /* an ed25519 key: the body hash below is needed */
    struct hsink body;
    struct dkim_body canon;
    size_t hlen;                /* header section with its empty line */
    struct dkim_field f[MAX_FIELDS];
    int nf;
    char head[CHUNK];
    size_t headlen;
};

/* Feed the whole message to every signer (libopendkim's through dkim_feed.h, never
 * dkim_chunk) and to our body hash, in one pass. 0 or -1. */
static int feed(struct signing *sg, const struct dkim_msg *m, char *buf)
{
    struct dkim_feed fd[MAX_KEYS];
    size_t nfd = 0;
    int rc = 0;
    for (; nfd < sg->n && rc == 0; nfd++)
        rc = dkim_feed_init(&fd[nfd], sg->sig[nfd]) == DKIM_STAT_OK ? 0 : -1;
    for (size_t pos = 0; pos < m->len && rc == 0;) {
        ssize_t got = dkim_msg_read(m, pos, buf, CHUNK);
        if (got <= 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < sg->n && rc == 0; i++)
            rc = dkim_feed_bytes(&fd[i], buf, (size_t)got) == DKIM_STAT_OK ? 0 : -1;
        if (sg->ed && pos + (size_t)got > sg->hlen) {
            size_t skip = pos < sg->hlen ? sg->hlen - pos : 0;
            dkim_body_feed(&sg->canon, buf + skip, (size_t)got - skip);
        }
        pos += (size_t)got;
    }
    for (size_t i = 0; i < sg->n && rc == 0; i++)
        if (dkim_feed_end(&fd[i]) != DKIM_STAT_OK || dkim_eom(sg->sig[i], NULL) != DKIM_STAT_OK)
            rc = -1;
    for (size_t i = 0; i < nfd; i++)
        dkim_feed_free(&fd[i]);
    if (rc == 0 && sg->ed)
        dkim_body_end(&sg->canon);
    return rc;
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

/* The tags of our ed25519-sha256 signature up to "b=" (RFC 8463, RFC 6376 3.5). */
static int ed_tags(const struct signing *sg, const struct key *k, const char *domain,
                   const unsigned char *bh, char *v, size_t vlen)
{
    const char *names[H_MAX];
    char h[H_MAX * 28] = "", b64[64];
    size_t hl = 0;
    dkim_h_list(sg->f, (size_t)sg->nf, dkim_sign_headers, dkim_oversign_headers, names, H_MAX);
    for (size_t i = 0; names[i]; i++) {       /* names are short: H_MAX of them fit */
        if (i)
            hl += str_copy(h + hl, ":", sizeof h - hl);
        hl += str_copy(h + hl, names[i], sizeof h - hl);
    }
    if (EVP_EncodeBlock((unsigned char *)b64, bh, 32) <= 0)
        return -1;
    int n = snprintf(v, vlen, "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=%s; s=%s; t=%lld; "
                     "h=%s; bh=%s; b=", domain, k->selector, (long long)time(NULL), h, b64);
    return n < 0 || (size_t)n >= vlen ? -1 : 0;
}

/* The header hash: the selected fields, then our own with an empty b= (no CRLF). */
static int ed_header_hash(const struct signing *sg, const char *tags, unsigned char *dig)
{
    const char *names[H_MAX];
    int sel[H_MAX];
    struct hsink h;
    dkim_h_list(sg->f, (size_t)sg->nf, dkim_sign_headers, dkim_oversign_headers, names, H_MAX);
    dkim_select(sg->f, (size_t)sg->nf, names, sel);
    if (hsink_start(&h) < 0) {
        EVP_MD_CTX_free(h.md);
        return -1;
    }
    for (size_t i = 0; names[i]; i++)
        if (sel[i] >= 0)
            dkim_header_canon(sg->f[sel[i]].p, sg->f[sel[i]].len, true, hsink_out, &h);
    char self[2048];
    int n = snprintf(self, sizeof self, DKIM_SIGNHEADER ": %s", tags);
    if (n < 0 || (size_t)n >= sizeof self) {
        EVP_MD_CTX_free(h.md);
        return -1;
    }
    dkim_header_canon(self, (size_t)n, false, hsink_out, &h);
    return hsink_end(&h, dig);
}

/* Our ed25519-sha256 signature of the message in SG with key K, onto OUT. */
static int ed_sign(const struct signing *sg, const struct key *k, const char *domain,
                   const unsigned char *bh, FILE *out)
{
    char tags[2048], b64[128];
    unsigned char dig[32], sig[64];
    size_t siglen = sizeof sig;
    if (ed_tags(sg, k, domain, bh, tags, sizeof tags) < 0 || ed_header_hash(sg, tags, dig) < 0)
        return -1;
    BIO *mem = BIO_new_mem_buf(k->pem, -1);
    EVP_PKEY *key = mem ? PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL) : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = key && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
                     EVP_DigestSign(ctx, sig, &siglen, dig, sizeof dig) == 1 &&
                     EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen) > 0
                 ? 0 : -1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    BIO_free(mem);
    if (rc < 0)
        return -1;
    /* folded at the "; " between tags (the same under relaxed canonicalization),
     * lines of at most about 76 columns; b= and its value on a line of their own */
    size_t col = sizeof DKIM_SIGNHEADER + 1;
    fputs(DKIM_SIGNHEADER ":", out);
    for (const char *p = tags; *p;) {
        const char *e = strstr(p, "; ");
        size_t n = e ? (size_t)(e - p) + 1 : strlen(p);
        bool fold = col + n > 76 || strcmp(p, "b=") == 0;
        fputs(fold ? "\n\t" : " ", out);
        col = fold ? 8 + n : col + 1 + n;
        fwrite(p, 1, n, out);
        p += n + (e ? 1 : 0);
    }
    fprintf(out, "%s\n", b64);
    return 0;
}

/* Start libopendkim's signer for rsa key K (NULL on failure, logged). */
static DKIM *rsa_start(const struct domkeys *d, const struct key *k)
{
    DKIM_STAT st;
    DKIM *sig = dkim_sign(lib, (const u_char *)"smtpd", NULL, (dkim_sigkey_t)k->pem,
                          (const u_char *)k->selector, (const u_char *)d->domain,
                          DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
    if (!sig)
        log_err("dkim: %s key %s: %s", d->domain, k->selector, dkim_getresultstr(st));
    return sig;
}

/* Sign with every key of D: the rsa ones through libopendkim, ed25519 ourselves. */
static int sign_all(struct signing *sg, const struct domkeys *d, const struct dkim_msg *m,
                    char *buf, FILE *out)
{
    unsigned char bh[32];
    for (size_t i = 0; i < d->n; i++) {
        if (d->k[i].alg == DKIM_ALG_ED25519)
            sg->ed = true;
        else if ((sg->sig[sg->n] = rsa_start(d, &d->k[i])) != NULL)
            sg->n++;
    }
    if (sg->ed && hsink_start(&sg->body) < 0)
        return -1;
    if (sg->ed)
        dkim_body_init(&sg->canon, hsink_out, &sg->body);
    if (feed(sg, m, buf) < 0 || (sg->ed && hsink_end(&sg->body, bh) < 0)) {
        log_err("dkim: signing for %s failed: %s", d->domain,
                sg->n ? dkim_geterror(sg->sig[0]) : "read error");
        return -1;
    }
    for (size_t i = 0; i < sg->n; i++)
        if (append_sig(sg->sig[i], out) < 0) {
            log_err("dkim: signing for %s: %s", d->domain, dkim_geterror(sg->sig[i]));
            return -1;
        }
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].alg == DKIM_ALG_ED25519 && ed_sign(sg, &d->k[i], d->domain, bh, out) < 0) {
            log_err("dkim: %s ed25519 key %s: signing failed", d->domain, d->k[i].selector);
            return -1;
        }
    return 0;
}

/* Sign with every key of D. */
static int sign_with(const struct domkeys *d, const struct dkim_msg *m, char **hdrs,
                     size_t *hlen)
{
    int rc = -1;
    struct signing *sg = calloc(1, sizeof *sg);
    char *buf = malloc(CHUNK);
    FILE *out = NULL;
    if (!sg || !buf)
        goto done;
    ssize_t got = dkim_msg_read(m, 0, sg->head, sizeof sg->head);
    sg->nf = got < 0 ? -1 : dkim_fields(sg->head, (size_t)got, sg->f, MAX_FIELDS, &sg->hlen);
    if (sg->nf < 0) {
        log_err("dkim: %s: the header section is too large to sign", d->domain);
        goto done;
    }
    out = open_memstream(hdrs, hlen);
    if (out)
        rc = sign_all(sg, d, m, buf, out);
    for (size_t i = 0; i < sg->n; i++)
        dkim_free(sg->sig[i]);
    EVP_MD_CTX_free(sg->body.md);
done:
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc < 0 && out) {
        free(*hdrs);
        *hdrs = NULL;
    }
    free(buf);
    free(sg);
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
        ssize_t n = dkim_msg_read(msg, 0, head, sizeof head);
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
