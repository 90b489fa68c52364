/* tls: OpenSSL server and client contexts (TLS 1.2+, sane ciphers). */
#ifndef MS_TLS_H
#define MS_TLS_H
#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

/* Server context from PEM files; NULL and a message in err on failure. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen);
/* Client context for outbound delivery (no certificate verification by default). */
SSL_CTX *tls_client_ctx(void);

#endif
