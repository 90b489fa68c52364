/* loadconn.c - the load clients' connection layer: see loadconn.h. */
#define _GNU_SOURCE
#include "loadconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sockaddr_in g_dst, g_src;
int g_bind;

double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void set_addr(struct sockaddr_in *sa, const char *ip, int port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    if (!strcmp(ip, "localhost"))
        ip = "127.0.0.1";
    if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
        die("not a numeric IPv4 address: %s", ip);
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        die("refusing non-loopback address %s", ip);
}

/* ---------------- TLS ---------------- */
static SSL_CTX *g_ctx;
static pthread_once_t g_ctx_once = PTHREAD_ONCE_INIT;

int g_resume;
atomic_long g_resumed;
/* -R: each client thread keeps the last session (TLS 1.3 ticket) the server gave it */
static __thread SSL_SESSION *t_sess;

static int keep_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    if (t_sess)
        SSL_SESSION_free(t_sess);
    t_sess = sess;
    return 1; /* the reference is ours */
}

static void ctx_init(void)
{
    g_ctx = SSL_CTX_new(TLS_client_method());
    if (!g_ctx)
        die("SSL_CTX_new failed");
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
    if (g_resume) {
        /* as Thunderbird (NSS) or Outlook (Schannel): the next connection to the same
         * server resumes the last session, skipping the server's signature */
        SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(g_ctx, keep_session);
    } else {
        /* a fresh full handshake per session, as a client that keeps no session cache */
        SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_mode(g_ctx, SSL_MODE_RELEASE_BUFFERS);
}

int c_tls(conn_t *c)
{
    if (pthread_once(&g_ctx_once, ctx_init) != 0)
        return -1;
    if (c->len != c->pos) /* plaintext after the go-ahead: an injection, refuse */
        return -1;
    c->len = c->pos = 0;
    c->ssl = SSL_new(g_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
        SSL_set_tlsext_host_name(c->ssl, "mail.example.test") != 1 ||
        (g_resume && t_sess && SSL_set_session(c->ssl, t_sess) != 1) || SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        return -1;
    }
    if (SSL_session_reused(c->ssl))
        atomic_fetch_add(&g_resumed, 1);
    return 0;
}

/* ---------------- blocking line I/O ---------------- */
int c_connect(conn_t *c)
{
    int one = 1;
    struct timeval tv = {30, 0};
    c->len = c->pos = 0;
    c->ssl = NULL;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        goto bad;
    if (c->src && (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0 ||
                   bind(c->fd, (const struct sockaddr *)c->src, sizeof *c->src) < 0))
        goto bad;
    if (connect(c->fd, (const struct sockaddr *)(c->dst ? c->dst : &g_dst), sizeof g_dst) < 0)
        goto bad;
    return 0;
bad:
    close(c->fd);
    c->fd = -1;
    return -1;
}

void c_close(conn_t *c)
{
    if (c->ssl) {
        (void)SSL_shutdown(c->ssl); /* close_notify, not waiting for the server's */
        SSL_free(c->ssl);
        ERR_clear_error();
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static ssize_t c_read(conn_t *c, char *p, size_t n)
{
    if (!c->ssl)
        return read(c->fd, p, n);
    int r = SSL_read(c->ssl, p, (int)n);
    if (r <= 0)
        ERR_clear_error();
    return r;
}

/* One line without CRLF into out (truncated to outsz-1); length, or -1. */
int c_line(conn_t *c, char *out, size_t outsz)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->pos));
            size_t m = n;
            if (m > 0 && c->buf[c->pos + m - 1] == '\r')
                m--;
            if (m >= outsz)
                m = outsz - 1;
            memcpy(out, c->buf + c->pos, m);
            out[m] = 0;
            c->pos += n + 1;
            return (int)m;
        }
        if (c->pos > 0) {
            memmove(c->buf, c->buf + c->pos, c->len - c->pos);
            c->len -= c->pos;
            c->pos = 0;
        }
        if (c->len == sizeof c->buf)
            return -1;
        ssize_t r = c_read(c, c->buf + c->len, sizeof c->buf - c->len);
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

int c_write(conn_t *c, const char *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w;
        if (c->ssl) {
            w = SSL_write(c->ssl, s + off, (int)(n - off));
            if (w <= 0)
                ERR_clear_error();
        } else {
            w = write(c->fd, s + off, n - off);
        }
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int c_send(conn_t *c, const char *s) { return c_write(c, s, strlen(s)); }

int smtp_reply(conn_t *c, char *last, size_t lastsz)
{
    char line[2048];
    for (;;) {
        int n = c_line(c, line, sizeof line);
        if (n < 3)
            return -1;
        if (n == 3 || line[3] == ' ') {
            snprintf(last, lastsz, "%s", line);
            return atoi(line);
        }
    }
}

int cmd(conn_t *c, const char *line, int want, char *last, size_t lastsz)
{
    if (line && c_send(c, line) < 0)
        return -1;
    return smtp_reply(c, last, lastsz) == want ? 0 : -1;
}

int pop_cmd(conn_t *c, const char *line, char *last, size_t lastsz)
{
    if (line && c_send(c, line) < 0)
        return -1;
    if (c_line(c, last, lastsz) < 0)
        return -1;
    return strncmp(last, "+OK", 3) == 0 ? 0 : -1;
}

long pop_multi(conn_t *c)
{
    char line[1200];
    long n = 0;
    for (;;) {
        if (c_line(c, line, sizeof line) < 0)
            return -1;
        if (line[0] == '.' && line[1] == 0)
            return n;
        n++;
    }
}

/* ---------------- stats ---------------- */
void st_add(stats_t *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

void st_fail(stats_t *s, const char *what, const char *last)
{
    s->fail++;
    if (!s->err[0])
        snprintf(s->err, sizeof s->err, "%s: %s", what, last && *last ? last : strerror(errno));
}

int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---------------- base64 ---------------- */
int b64enc(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    if ((n + 2) / 3 * 4 + 1 > outsz)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int b64dec(const char *in, unsigned char *out, size_t outsz)
{
    size_t l = strlen(in);
    if (l % 4 || l / 4 * 3 + 1 > outsz)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)l);
    if (n < 0)
        return -1;
    while (l > 0 && in[l - 1] == '=') {
        n--;
        l--;
    }
    out[n] = 0;
    return n;
}

/* ---------------- users ---------------- */
int load_users(const char *path, char ***users, char ***pass)
{
    FILE *f = fopen(path, "r");
    char u[256], p[256];
    int n = 0;
    if (!f)
        die("cannot open %s", path);
    *users = *pass = NULL;
    while (fscanf(f, "%255s %255s", u, p) == 2) {
        *users = realloc(*users, (size_t)(n + 1) * sizeof **users);
        *pass = realloc(*pass, (size_t)(n + 1) * sizeof **pass);
        if (!*users || !*pass || !((*users)[n] = strdup(u)) || !((*pass)[n] = strdup(p)))
            die("out of memory");
        n++;
    }
    fclose(f);
    return n;
}
