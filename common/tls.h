/* tls: OpenSSL server and client contexts (TLS 1.2+, sane ciphers), and reading the
 * PEM files a server context is made from. */
#ifndef MS_TLS_H
#define MS_TLS_H
#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

struct tls_pair;

/* Server context serving P's chain and key (P keeps its own references); NULL and a
 * message in err on failure. The checks are tls_check.h's, done before. */
SSL_CTX *tls_server_ctx_pair(const struct tls_pair *p, char *err, size_t errlen);
/* The whole of a PEM file (a regular file of at most TLS_PEM_MAX octets) into a new
 * buffer: read from FD when FD >= 0 (then closed), else opened at PATH. WHAT
 * ("tls_cert", "tls_key") and PATH name it in err. 0, or -1 with err.
 * tls_file_free wipes the buffer (it may hold a private key) and frees it. */
int tls_file_read(const char *what, const char *path, int fd, char **out, size_t *len,
                  char *err, size_t errlen);
void tls_file_free(char *buf, size_t len);
/* Client context for outbound delivery (no certificate verification by default). */
SSL_CTX *tls_client_ctx(void);

#endif
