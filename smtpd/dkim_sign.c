/* dkim_sign: signing over our canonicalization with OpenSSL, the per-process key cache
 * of parsed keys (see dkim_sign.h). */
#include "dkim_sign.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#define SIG_MAX 1024           /* octets of a signature: RSA keys up to 8192 bits */
#define SIG_FIELD "DKIM-Signature"

struct key {
    char selector[DKIM_SELECTOR_MAX + 1];
    enum dkim_alg alg;
    EVP_PKEY *pkey;            /* parsed once: shared by the signing threads, read-only */
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
        EVP_PKEY_free(d->k[i].pkey);
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
    size_t len = strlen(pem);
    BIO *mem = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = mem ? PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL) : NULL;
    BIO_free(mem);
    OPENSSL_cleanse(pem, len);
    free(pem);
    int want = kf->alg == DKIM_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
    if (!pkey || EVP_PKEY_get_base_id(pkey) != want || EVP_PKEY_get_size(pkey) > SIG_MAX) {
        log_err("dkim: %s: not a usable %s private key", kf->path,
                kf->alg == DKIM_ALG_ED25519 ? "ed25519" : "rsa");
        EVP_PKEY_free(pkey);
        return 0;
    }
    struct key *k = &d->k[d->n++];
    str_copy(k->selector, kf->selector, sizeof k->selector);
    k->alg = kf->alg;
    k->pkey = pkey;
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

/* The message in hand: its header fields and our body hash. */
struct signing {
    struct hsink body;
    struct dkim_body canon;
    size_t hlen;                /* header section with its empty line */
    struct dkim_field f[MAX_FIELDS];
    int nf;
    char head[CHUNK];
    size_t headlen;
};

/* The body through our canonicalization into the body hash. 0 or -1. */
static int feed(struct signing *sg, const struct dkim_msg *m, char *buf)
{
    for (size_t pos = sg->hlen; pos < m->len;) {
        ssize_t got = dkim_msg_read(m, pos, buf, CHUNK);
        if (got <= 0)
            return -1;
        dkim_body_feed(&sg->canon, buf, (size_t)got);
        pos += (size_t)got;
    }
    dkim_body_end(&sg->canon);
    return 0;
}

static const char *alg_name(enum dkim_alg alg)
{
    return alg == DKIM_ALG_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

/* The tags of our signature with key K up to "b=" (RFC 6376 3.5, RFC 8463). */
static int sig_tags(const struct signing *sg, const struct key *k, const char *domain,
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
    int n = snprintf(v, vlen, "v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s; t=%lld; "
                     "h=%s; bh=%s; b=", alg_name(k->alg), domain, k->selector,
                     (long long)time(NULL), h, b64);
    return n < 0 || (size_t)n >= vlen ? -1 : 0;
}

/* The header hash: the selected fields, then our own with an empty b= (no CRLF). */
static int header_hash(const struct signing *sg, const char *tags, unsigned char *dig)
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
    int n = snprintf(self, sizeof self, SIG_FIELD ": %s", tags);
    if (n < 0 || (size_t)n >= sizeof self) {
        EVP_MD_CTX_free(h.md);
        return -1;
    }
    dkim_header_canon(self, (size_t)n, false, hsink_out, &h);
    return hsink_end(&h, dig);
}

/* K's signature of the header hash DIG: ed25519 signs the hash itself (RFC 8463),
 * rsa-sha256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1). 0 or -1. */
static int key_sign(const struct key *k, const unsigned char *dig, unsigned char *sig,
                    size_t *siglen)
{
    int ok;
    if (k->alg == DKIM_ALG_ED25519) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, siglen, dig, 32) == 1;
        EVP_MD_CTX_free(ctx);
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
        ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
             EVP_PKEY_sign(ctx, sig, siglen, dig, 32) == 1;
        EVP_PKEY_CTX_free(ctx);
    }
    return ok ? 0 : -1;
}

/* Our signature of the message in SG with key K, onto OUT. */
static int key_sig(const struct signing *sg, const struct key *k, const char *domain,
                   const unsigned char *bh, FILE *out)
{
    char tags[2048], b64[(SIG_MAX + 2) / 3 * 4 + 1];
    unsigned char dig[32], sig[SIG_MAX];
    size_t siglen = sizeof sig;
    if (sig_tags(sg, k, domain, bh, tags, sizeof tags) < 0 || header_hash(sg, tags, dig) < 0 ||
        key_sign(k, dig, sig, &siglen) < 0 ||
        EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen) <= 0)
        return -1;
    /* folded at the "; " between tags (the same under relaxed canonicalization),
     * lines of at most about 76 columns; b= on a line of its own, its value folded */
    size_t col = sizeof SIG_FIELD + 1;
    fputs(SIG_FIELD ":", out);
    for (const char *p = tags; *p;) {
        const char *e = strstr(p, "; ");
        size_t n = e ? (size_t)(e - p) + 1 : strlen(p);
        bool fold = col + n > 76 || strcmp(p, "b=") == 0;
        fputs(fold ? "\n\t" : " ", out);
        col = fold ? 8 + n : col + 1 + n;
        fwrite(p, 1, n, out);
        p += n + (e ? 1 : 0);
    }
    for (size_t i = 0, n = strlen(b64); i < n; i += 64) {
        if (i)
            fputs("\n\t ", out);
        fwrite(b64 + i, 1, n - i < 64 ? n - i : 64, out);
    }
    fputc('\n', out);
    return 0;
}

/* Sign with every key of D, the rsa ones first. */
static int sign_all(struct signing *sg, const struct domkeys *d, const struct dkim_msg *m,
                    char *buf, FILE *out)
{
    unsigned char bh[32];
    if (hsink_start(&sg->body) < 0)
        return -1;
    dkim_body_init(&sg->canon, hsink_out, &sg->body);
    if (feed(sg, m, buf) < 0 || hsink_end(&sg->body, bh) < 0) {
        log_err("dkim: signing for %s failed: read error", d->domain);
        return -1;
    }
    for (int ed = 0; ed < 2; ed++)
        for (size_t i = 0; i < d->n; i++) {
            const struct key *k = &d->k[i];
            if ((k->alg == DKIM_ALG_ED25519) == (ed == 1) && key_sig(sg, k, d->domain, bh, out) < 0) {
                log_err("dkim: %s %s key %s: signing failed", d->domain, alg_name(k->alg),
                        k->selector);
                return -1;
            }
        }
    return 0;
}

/* The fields we sign from, compacted: those the verifiers' feeder leaves out (a NUL, or
 * too long: dkim_feed.h) are never signed either. The new count. */
static int usable_fields(struct dkim_field *f, int nf)
{
    int k = 0;
    for (int i = 0; i < nf; i++)
        if (f[i].p && f[i].len <= DKIM_FEED_FIELD_MAX && !memchr(f[i].p, '\0', f[i].len))
            f[k++] = f[i];
    return k;
}

/* A From: field among F (RFC 6376 5.4: it must be signed). */
static bool has_from(const struct dkim_field *f, int nf)
{
    for (int i = 0; i < nf; i++) {
        const char *p = f[i].p, *e = f[i].p + f[i].len;
        if (f[i].len < 5 || strncasecmp(p, "from", 4) != 0)
            continue;
        for (p += 4; p < e && (*p == ' ' || *p == '\t'); p++)
            ;
        if (p < e && *p == ':')
            return true;
    }
    return false;
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
    sg->nf = usable_fields(sg->f, sg->nf);
    if (!has_from(sg->f, sg->nf)) {
        log_err("dkim: %s: the message has no From: field to sign", d->domain);
        goto done;
    }
    out = open_memstream(hdrs, hlen);
    if (out)
        rc = sign_all(sg, d, m, buf, out);
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
    int rc = sign_with(d, msg, hdrs, hlen);
    domkeys_unref(d);
    return rc;
}
