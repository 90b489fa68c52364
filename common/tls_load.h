/* tls_load: the server certificate a config names, as a checked TLS context, at start
 * and on every reload (server.c): the files are opened by the certificate keeper when
 * one runs (a key only root may read, certkeeper.h), else by the daemon itself; the
 * PEM is checked by tls_check.c (parses, key matches, validity window) and only then
 * made into a context. What a failed check means: tls_load_start, tls_load_reload. */
#ifndef MS_TLS_LOAD_H
#define MS_TLS_LOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct ssl_ctx_st SSL_CTX;

enum tls_load_rc {
    TLS_LOAD_OK,
    TLS_LOAD_DATES,     /* expired or not yet valid: ctx made all the same, msg says which */
    TLS_LOAD_FAIL       /* unreadable, garbled, the key does not match: no ctx */
};

struct tls_loaded {
    SSL_CTX *ctx;       /* the caller's reference (OK, DATES) */
    char serial[80];    /* the leaf's serial number (hex) and notAfter, for the log */
    char until[40];
    char msg[1024];     /* DATES, FAIL: the reason, naming the file */
};

/* Load CERT and KEY as they are on disk now, checked at NOW. */
enum tls_load_rc tls_load(const char *cert, const char *key, time_t now, struct tls_loaded *out);

/* At start: the context for CERT and KEY in *out (NULL: TLS off). A certificate out of
 * its validity window is served all the same with a loud log line: mail keeps flowing
 * (MTAs deliver over opportunistic TLS without verifying; local and plain sessions
 * need none) and the clients' own warnings join the log's. One that cannot be used
 * refuses the start when NEEDED (an instance uses TLS), else TLS is off with a warning.
 * 0, or -1 with err. */
int tls_load_start(const char *cert, const char *key, bool needed, SSL_CTX **out, char *err,
                   size_t errlen);

/* On reload, from the worker's load T (RC) of CERT: a good new context in *out (taken
 * from T). A refused one refuses the whole reload when NEEDED (an instance uses TLS):
 * -1 with err naming the file and the reason ("tls_cert F: certificate expired on D;
 * keeping the old one"), and the old certificate and configuration stay in force, as
 * for any refused reload; not needed, TLS is off with a warning. 0, or -1. */
int tls_load_reload(const char *cert, bool needed, enum tls_load_rc rc, struct tls_loaded *t,
                    SSL_CTX **out, char *err, size_t errlen);

#endif
