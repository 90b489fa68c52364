/* tls: OpenSSL 3 contexts. Server: TLS 1.2+, forward-secret AEAD ciphers for 1.2,
 * no compression or renegotiation, certificate chain and matching key from PEM.
 * Client (outbound delivery): TLS 1.2+, opportunistic, no verification. The PEM files
 * are read whole (bounded) and checked by tls_check.c before a context is made. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "fsutil.h"
#include "tls_check.h"

#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!MD5:!RC4:!3DES"

static void ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";

    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "", file ? file : "",
             buf[0] ? buf : "unknown error");
    ERR_clear_error();
}

static SSL_CTX *ctx_common(const SSL_METHOD *m)
{
    SSL_CTX *ctx = SSL_CTX_new(m);

    if (!ctx)
        return NULL;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* A peer that drops TCP without close_notify is a plain EOF: SMTP and POP3 have
     * their own end markers, so there is no truncation to detect. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

SSL_CTX *tls_server_ctx_pair(const struct tls_pair *p, char *err, size_t errlen)
{
    SSL_CTX *ctx = ctx_common(TLS_server_method());
    STACK_OF(X509) *chain = (STACK_OF(X509) *)p->chain;

    if (!ctx) {
        ssl_err(err, errlen, "cannot create a TLS context", NULL);
        return NULL;
    }
    if (SSL_CTX_use_certificate(ctx, p->leaf) != 1) {
        ssl_err(err, errlen, "tls_cert: cannot use the certificate", NULL);
        goto fail;
    }
    for (int i = 0; chain && i < sk_X509_num(chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1) {
            ssl_err(err, errlen, "tls_cert: cannot use the chain", NULL);
            goto fail;
        }
    if (SSL_CTX_use_PrivateKey(ctx, p->key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, "tls_key: cannot use the key", NULL);
        goto fail;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"mailserver", 10);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_file_free(char *buf, size_t len)
{
    if (buf)
        OPENSSL_cleanse(buf, len);
    free(buf);
}

int tls_file_read(const char *what, const char *path, int fd, char **out, size_t *len,
                  char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;

    *out = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO put there by mistake must not hold the open */
    if (fd < 0 && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        snprintf(err, errlen, "%s %s: cannot open: %s", what, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s %s: cannot stat: %s", what, path, strerror(errno));
        (void)close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > TLS_PEM_MAX) {
        snprintf(err, errlen, "%s %s: %s", what, path,
                 !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 1 MiB");
        goto fail;
    }
    buf = malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? pread_full(fd, buf, (size_t)st.st_size + 1, 0) : -1;
    if (n < 0 || n > st.st_size) {
        snprintf(err, errlen, "%s %s: cannot read: %s", what, path,
                 n < 0 ? strerror(errno) : "it grew while being read");
        goto fail;
    }
    (void)close(fd);
    *out = buf;
    *len = (size_t)n;
    return 0;
fail:
    tls_file_free(buf, buf ? (size_t)st.st_size + 1 : 0);
    (void)close(fd);
    return -1;
}

SSL_CTX *tls_client_ctx(void)
{
    SSL_CTX *ctx = ctx_common(TLS_client_method());

    if (ctx)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
}
