/* loadconn.h - the load clients' connection layer (bench/smtpload): blocking loopback
 * connections with line I/O over plain TCP or OpenSSL (STARTTLS, STLS, implicit TLS),
 * SMTP/POP3 replies, latency statistics and base64. Loopback targets only. */
#ifndef LOADCONN_H
#define LOADCONN_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stddef.h>

typedef struct {
    int fd;
    SSL *ssl;
    const struct sockaddr_in *src; /* bind to this source first; NULL: the kernel's choice */
    const struct sockaddr_in *dst; /* where to connect; NULL: g_dst */
    char buf[16384];
    size_t len, pos;
} conn_t;

typedef struct {
    double *v;
    size_t n, cap;
    long ok, fail;
    long items; /* messages moved by the sessions (POP3 RETR, submission) */
    char err[256];
} stats_t;

extern struct sockaddr_in g_dst, g_src;
extern int g_bind; /* -b given: g_src is the source of every connection of the plain modes */
extern int g_resume;        /* -R: TLS sessions resumed with the thread's last ticket */
extern _Atomic long g_resumed; /* handshakes that resumed */

double now(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void set_addr(struct sockaddr_in *sa, const char *ip, int port);

int c_connect(conn_t *c);
/* TLS client handshake on the connection (after STARTTLS/STLS, or at once for implicit TLS);
 * certificates are not verified (self-signed test pairs on both sides). */
int c_tls(conn_t *c);
void c_close(conn_t *c);
int c_line(conn_t *c, char *out, size_t outsz);
int c_write(conn_t *c, const char *s, size_t n);
int c_send(conn_t *c, const char *s);

/* SMTP: code of the last reply line (-1 on error), its text in last */
int smtp_reply(conn_t *c, char *last, size_t lastsz);
int cmd(conn_t *c, const char *line, int want, char *last, size_t lastsz);
/* POP3: 0 on +OK (line in last), -1 otherwise; pop_multi reads a dot-terminated body and
 * counts its lines (or -1) */
int pop_cmd(conn_t *c, const char *line, char *last, size_t lastsz);
long pop_multi(conn_t *c);

void st_add(stats_t *s, double x);
void st_fail(stats_t *s, const char *what, const char *last);
int dcmp(const void *a, const void *b);

int b64enc(const unsigned char *in, size_t n, char *out, size_t outsz);
int b64dec(const char *in, unsigned char *out, size_t outsz);

/* "user password" lines of a file: the number of users (exits when unreadable) */
int load_users(const char *path, char ***users, char ***pass);

#endif
