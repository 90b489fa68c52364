/* tls_load: read (through the certificate keeper or directly), check and make the
 * server context of tls_cert/tls_key (tls_load.h). */
#include "tls_load.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "certkeeper.h"
#include "log.h"
#include "tls.h"
#include "tls_check.h"

/* Both files' PEM: opened by the keeper when there is one, else here. 0, or -1. */
static int read_both(const char *cert, const char *key, char **cbuf, size_t *clen, char **kbuf,
                     size_t *klen, char *err, size_t errlen)
{
    int cfd = -1, kfd = -1;
    int via = certkeeper_open(cert, key, &cfd, &kfd, err, errlen);

    *cbuf = *kbuf = NULL;
    *clen = *klen = 0;
    if (via < 0)
        return -1;
    if (tls_file_read("tls_cert", cert, cfd, cbuf, clen, err, errlen) != 0) {
        if (kfd >= 0)
            (void)close(kfd);
        return -1;
    }
    if (tls_file_read("tls_key", key, kfd, kbuf, klen, err, errlen) != 0) {
        tls_file_free(*cbuf, *clen);
        *cbuf = NULL;
        return -1;
    }
    return 0;
}

enum tls_load_rc tls_load(const char *cert, const char *key, time_t now, struct tls_loaded *out)
{
    char *cbuf, *kbuf;
    size_t clen, klen;
    struct tls_pair p;
    enum tls_load_rc rc = TLS_LOAD_FAIL;

    memset(out, 0, sizeof *out);
    if (read_both(cert, key, &cbuf, &clen, &kbuf, &klen, out->msg, sizeof out->msg) != 0)
        return TLS_LOAD_FAIL;
    int parsed = tls_pair_parse(&p, cbuf, clen, kbuf, klen, cert, key, out->msg,
                                sizeof out->msg);
    tls_file_free(cbuf, clen);
    tls_file_free(kbuf, klen);
    if (parsed != 0)
        return TLS_LOAD_FAIL;
    (void)tls_pair_describe(&p, out->serial, sizeof out->serial, out->until, sizeof out->until);
    enum tls_validity v = tls_pair_validity(&p, cert, now, out->msg, sizeof out->msg);
    if (v != TLS_BAD_DATES && (out->ctx = tls_server_ctx_pair(&p, out->msg, sizeof out->msg)))
        rc = v == TLS_VALID ? TLS_LOAD_OK : TLS_LOAD_DATES;
    tls_pair_free(&p);
    return rc;
}

int tls_load_start(const char *cert, const char *key, bool needed, SSL_CTX **out, char *err,
                   size_t errlen)
{
    struct tls_loaded t;

    *out = NULL;
    switch (tls_load(cert, key, time(NULL), &t)) {
    case TLS_LOAD_OK:
        log_info("tls: %s serial %s, valid until %s", cert, t.serial, t.until);
        break;
    case TLS_LOAD_DATES:
        log_err("%s; serving it anyway (TLS clients will warn): renew it and reload", t.msg);
        break;
    case TLS_LOAD_FAIL:
        if (needed) {
            snprintf(err, errlen, "%s", t.msg);
            return -1;
        }
        log_warn("TLS disabled: %s", t.msg);
        return 0;
    }
    *out = t.ctx;
    return 0;
}

int tls_load_reload(const char *cert, bool needed, enum tls_load_rc rc, struct tls_loaded *t,
                    SSL_CTX **out, char *err, size_t errlen)
{
    *out = NULL;
    if (rc == TLS_LOAD_OK) {
        log_info("reload: tls_cert %s: serial %s, valid until %s", cert, t->serial, t->until);
        *out = t->ctx;
        t->ctx = NULL;
        return 0;
    }
    if (t->ctx)
        SSL_CTX_free(t->ctx);
    t->ctx = NULL;
    if (needed) {
        snprintf(err, errlen, "%s; keeping the old one", t->msg);
        return -1;
    }
    log_warn("reload: TLS disabled: %s", t->msg);
    return 0;
}
