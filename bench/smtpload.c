/* smtpload - the two SMTP loads the peers' mailload does not have: SCRAM-SHA-256 AUTH
 * rate, and local delivery with per-message latency (end of DATA to the 250).
 * Loopback targets only. Output: one "key=value ..." line, like mailload, so the bench
 * scripts parse both tools the same way.
 *
 *   smtpload scram   HOST PORT -u USER -p PASS [-c CONC] [-d SECS] [-b BINDIP]
 *       CONC threads loop for SECS: connect, banner, EHLO, AUTH SCRAM-SHA-256 (RFC 5802/7677,
 *       server signature checked), QUIT, close. The salted password is cached per salt and
 *       iteration count, as real clients do, so the client's PBKDF2 does not dominate.
 *   smtpload deliver HOST PORT -t RCPT [-f FROM] [-s SESSIONS] [-m COUNT] [-l BYTES] [-b BINDIP]
 *                    [-F FILE]
 *       SESSIONS threads send COUNT messages of about BYTES in all, one connection per message
 *       like smtp-source: banner, EHLO, MAIL, RCPT, DATA, body, QUIT. -F sends FILE as the
 *       message instead (e.g. one DKIM-signed beforehand; LF or CRLF lines, dot-stuffed here).
 *       BINDIP may be this machine's own non-loopback address (a "remote" client whose SPF
 *       check really looks up DNS: libspf2 passes loopback clients without a lookup).
 * Build: gcc -O2 -pthread -o smtpload smtpload.c -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* ---------------- addresses (loopback only) ---------------- */
static struct sockaddr_in g_dst, g_src;
static int g_bind;

static void set_addr(struct sockaddr_in *sa, const char *ip, int port, int any)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    if (!strcmp(ip, "localhost"))
        ip = "127.0.0.1";
    if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
        die("not a numeric IPv4 address: %s", ip);
    if (!any && (ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        die("refusing non-loopback address %s", ip);
}

/* ---------------- blocking line I/O ---------------- */
typedef struct {
    int fd;
    char buf[16384];
    size_t len, pos;
} conn_t;

static int c_connect(conn_t *c)
{
    int one = 1;
    struct timeval tv = {30, 0};
    c->len = c->pos = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        goto bad;
    if (g_bind && (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0 ||
                   bind(c->fd, (struct sockaddr *)&g_src, sizeof g_src) < 0))
        goto bad;
    if (connect(c->fd, (struct sockaddr *)&g_dst, sizeof g_dst) < 0)
        goto bad;
    return 0;
bad:
    close(c->fd);
    c->fd = -1;
    return -1;
}

static void c_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* One line without CRLF into out (truncated to outsz-1); length, or -1. */
static int c_line(conn_t *c, char *out, size_t outsz)
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
        ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

static int c_write(conn_t *c, const char *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(c->fd, s + off, n - off);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

static int c_send(conn_t *c, const char *s) { return c_write(c, s, strlen(s)); }

/* SMTP reply: code of the last line (-1 on error); its text in last. */
static int smtp_reply(conn_t *c, char *last, size_t lastsz)
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

static int cmd(conn_t *c, const char *line, int want, char *last, size_t lastsz)
{
    if (line && c_send(c, line) < 0)
        return -1;
    return smtp_reply(c, last, lastsz) == want ? 0 : -1;
}

/* ---------------- stats ---------------- */
typedef struct {
    double *v;
    size_t n, cap;
    long ok, fail;
    char err[256];
} stats_t;

static void st_add(stats_t *s, double x)
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

static void st_fail(stats_t *s, const char *what, const char *last)
{
    s->fail++;
    if (!s->err[0])
        snprintf(s->err, sizeof s->err, "%s: %s", what, last && *last ? last : strerror(errno));
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---------------- base64 ---------------- */
static int b64enc(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    if ((n + 2) / 3 * 4 + 1 > outsz)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int b64dec(const char *in, unsigned char *out, size_t outsz)
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

/* ---------------- SCRAM-SHA-256 ---------------- */
static const char *g_user, *g_pass;
static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_cache_key[256];
static unsigned char g_cache_sp[32];

/* SaltedPassword for (salt, iterations), computed once per distinct pair. */
static int salted_password(const char *salt_b64, long iter, unsigned char sp[32])
{
    char key[256];
    unsigned char salt[128];
    int sl, hit;
    int kn = snprintf(key, sizeof key, "%ld:%s", iter, salt_b64);
    if (kn < 0 || (size_t)kn >= sizeof key)
        return -1;
    pthread_mutex_lock(&g_cache_mu);
    hit = !strcmp(key, g_cache_key);
    if (hit)
        memcpy(sp, g_cache_sp, 32);
    pthread_mutex_unlock(&g_cache_mu);
    if (hit)
        return 0;
    sl = b64dec(salt_b64, salt, sizeof salt);
    if (sl <= 0 || iter <= 0 || iter > 10000000)
        return -1;
    if (PKCS5_PBKDF2_HMAC(g_pass, (int)strlen(g_pass), salt, sl, (int)iter, EVP_sha256(), 32, sp) != 1)
        return -1;
    pthread_mutex_lock(&g_cache_mu);
    snprintf(g_cache_key, sizeof g_cache_key, "%s", key);
    memcpy(g_cache_sp, sp, 32);
    pthread_mutex_unlock(&g_cache_mu);
    return 0;
}

static void hmac256(const unsigned char *k, size_t kl, const char *msg, unsigned char out[32])
{
    unsigned int ol = 32;
    HMAC(EVP_sha256(), k, (int)kl, (const unsigned char *)msg, strlen(msg), out, &ol);
}

/* value of attribute "X=" in a SCRAM message into out; -1 if absent */
static int scram_attr(const char *msg, char name, char *out, size_t outsz)
{
    const char *p = msg;
    while (p && *p) {
        if (p[0] == name && p[1] == '=') {
            size_t n = strcspn(p + 2, ",");
            if (n >= outsz)
                return -1;
            memcpy(out, p + 2, n);
            out[n] = 0;
            return 0;
        }
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return -1;
}

/* From server-first and our nonce: the client-final message (base64) and the expected
 * server signature (base64). */
static int scram_final(const char *bare, const char *cnonce, const char *sfirst,
                       char *out_b64, size_t outsz, char *vsig, size_t vsz)
{
    char nonce[256], salt[256], iters[32], cfwp[320], authmsg[1024], proof_b64[64], final[512];
    unsigned char sp[32], ckey[32], skey[32], stored[32], csig[32], proof[32], ssig[32];
    if (scram_attr(sfirst, 'r', nonce, sizeof nonce) < 0 || scram_attr(sfirst, 's', salt, sizeof salt) < 0 ||
        scram_attr(sfirst, 'i', iters, sizeof iters) < 0 || strncmp(nonce, cnonce, strlen(cnonce)) != 0)
        return -1;
    if (salted_password(salt, atol(iters), sp) < 0)
        return -1;
    snprintf(cfwp, sizeof cfwp, "c=biws,r=%s", nonce);
    if ((size_t)snprintf(authmsg, sizeof authmsg, "%s,%s,%s", bare, sfirst, cfwp) >= sizeof authmsg)
        return -1;
    hmac256(sp, 32, "Client Key", ckey);
    SHA256(ckey, 32, stored);
    hmac256(stored, 32, authmsg, csig);
    for (int i = 0; i < 32; i++)
        proof[i] = ckey[i] ^ csig[i];
    hmac256(sp, 32, "Server Key", skey);
    hmac256(skey, 32, authmsg, ssig);
    if (b64enc(proof, 32, proof_b64, sizeof proof_b64) < 0 || b64enc(ssig, 32, vsig, vsz) < 0)
        return -1;
    int n = snprintf(final, sizeof final, "%s,p=%s", cfwp, proof_b64);
    if (n < 0 || (size_t)n >= sizeof final)
        return -1;
    return b64enc((unsigned char *)final, (size_t)n, out_b64, outsz) < 0 ? -1 : 0;
}

/* The AUTH exchange after EHLO; 0 on 235 with a verified server signature. */
static int scram_exchange(conn_t *c, char *last, size_t lastsz)
{
    unsigned char rnd[18], sfirst[1024], sfinal[256];
    char cnonce[32], bare[384], gs2[400], enc[1400], line[1500], vsig[64], want[80];
    if (RAND_bytes(rnd, sizeof rnd) != 1 || b64enc(rnd, sizeof rnd, cnonce, sizeof cnonce) < 0)
        return -1;
    snprintf(bare, sizeof bare, "n=%s,r=%s", g_user, cnonce);
    int n = snprintf(gs2, sizeof gs2, "n,,%s", bare);
    if (b64enc((unsigned char *)gs2, (size_t)n, enc, sizeof enc) < 0)
        return -1;
    snprintf(line, sizeof line, "AUTH SCRAM-SHA-256 %s\r\n", enc);
    if (cmd(c, line, 334, last, lastsz) < 0 || b64dec(last + 4, sfirst, sizeof sfirst) < 0)
        return -1;
    if (scram_final(bare, cnonce, (char *)sfirst, enc, sizeof enc, vsig, sizeof vsig) < 0)
        return -1;
    snprintf(line, sizeof line, "%s\r\n", enc);
    if (c_send(c, line) < 0)
        return -1;
    int code = smtp_reply(c, last, lastsz);
    if (code != 334 && code != 235)
        return -1;
    if (strlen(last) > 4 && b64dec(last + 4, sfinal, sizeof sfinal) >= 0) {
        snprintf(want, sizeof want, "v=%s", vsig);
        if (strcmp((char *)sfinal, want) != 0) {
            snprintf(last, lastsz, "server signature mismatch");
            return -1;
        }
    } else if (code == 334) {
        return -1;
    }
    return code == 235 ? 0 : cmd(c, "\r\n", 235, last, lastsz);
}

static int scram_session(stats_t *st, conn_t *c)
{
    char last[2048] = "";
    if (c_connect(c) < 0) {
        st_fail(st, "connect", NULL);
        return -1;
    }
    if (cmd(c, NULL, 220, last, sizeof last) < 0) {
        st_fail(st, "banner", last);
    } else if (cmd(c, "EHLO load.example.test\r\n", 250, last, sizeof last) < 0) {
        st_fail(st, "ehlo", last);
    } else if (scram_exchange(c, last, sizeof last) < 0) {
        st_fail(st, "auth", last);
    } else if (cmd(c, "QUIT\r\n", 221, last, sizeof last) < 0) {
        st_fail(st, "quit", last);
    } else {
        c_close(c);
        st->ok++;
        return 0;
    }
    c_close(c);
    return -1;
}

/* ---------------- local delivery with latency ---------------- */
static const char *g_from = "loadsender@example.test", *g_rcpt;
static char *g_body;
static size_t g_bodylen;
static long g_count;
static long g_next; /* messages handed out so far (atomic) */

/* A message of about `bytes`: headers and 78-column lines, ending with CRLF.CRLF. */
static void make_body(long bytes)
{
    const char *line = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrst\r\n";
    size_t ll = strlen(line), cap = (size_t)bytes + 512;
    g_body = malloc(cap);
    if (!g_body)
        die("out of memory");
    int n = snprintf(g_body, cap, "From: <%s>\r\nTo: <%s>\r\nSubject: smtpload\r\n\r\n", g_from, g_rcpt);
    size_t len = (size_t)n;
    while (len + ll < (size_t)bytes) {
        memcpy(g_body + len, line, ll);
        len += ll;
    }
    memcpy(g_body + len, ".\r\n", 3);
    g_bodylen = len + 3;
}

/* The message in `path` as DATA: CRLF line ends, dot-stuffed, ending with CRLF.CRLF. */
static void load_body(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    size_t cap = 1 << 16, len = 0;
    int ch, bol = 1;
    g_body = malloc(cap);
    if (!g_body)
        die("out of memory");
    while ((ch = getc(f)) != EOF) {
        if (len + 8 > cap) {
            char *nb = realloc(g_body, cap *= 2);
            if (!nb)
                die("out of memory");
            g_body = nb;
        }
        if (ch == '\r')
            continue;
        if (bol && ch == '.')
            g_body[len++] = '.';
        if (ch == '\n')
            g_body[len++] = '\r';
        g_body[len++] = (char)ch;
        bol = ch == '\n';
    }
    fclose(f);
    if (!bol) {
        memcpy(g_body + len, "\r\n", 2);
        len += 2;
    }
    memcpy(g_body + len, ".\r\n", 3);
    g_bodylen = len + 3;
}

/* One connection, one message; the latency of the 250 after the final dot goes to lat. */
static int deliver_session(stats_t *st, conn_t *c, stats_t *lat)
{
    char last[2048] = "", line[600];
    const char *what = "connect";
    if (c_connect(c) < 0) {
        st_fail(st, what, NULL);
        return -1;
    }
    if ((what = "banner", cmd(c, NULL, 220, last, sizeof last)) < 0 ||
        (what = "ehlo", cmd(c, "EHLO load.example.test\r\n", 250, last, sizeof last)) < 0)
        goto bad;
    snprintf(line, sizeof line, "MAIL FROM:<%s>\r\n", g_from);
    if ((what = "mail", cmd(c, line, 250, last, sizeof last)) < 0)
        goto bad;
    snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", g_rcpt);
    if ((what = "rcpt", cmd(c, line, 250, last, sizeof last)) < 0 ||
        (what = "data", cmd(c, "DATA\r\n", 354, last, sizeof last)) < 0)
        goto bad;
    what = "body";
    if (c_write(c, g_body, g_bodylen) < 0)
        goto bad;
    double t0 = now();
    if (smtp_reply(c, last, sizeof last) != 250)
        goto bad;
    st_add(lat, now() - t0);
    if ((what = "quit", cmd(c, "QUIT\r\n", 221, last, sizeof last)) < 0)
        goto bad;
    c_close(c);
    st->ok++;
    return 0;
bad:
    st_fail(st, what, last);
    c_close(c);
    return -1;
}

/* ---------------- workers ---------------- */
static int g_mode_deliver;
static double g_deadline;

typedef struct {
    stats_t st;  /* per session (scram) or failures (deliver) */
    stats_t lat; /* deliver: end of DATA -> 250 */
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    conn_t *c = malloc(sizeof *c);
    if (!c)
        die("out of memory");
    c->fd = -1;
    for (;;) {
        double t0 = now();
        int r;
        if (g_mode_deliver) {
            if (__atomic_fetch_add(&g_next, 1, __ATOMIC_RELAXED) >= g_count)
                break;
            r = deliver_session(&w->st, c, &w->lat);
        } else {
            if (t0 >= g_deadline)
                break;
            r = scram_session(&w->st, c);
            if (r == 0)
                st_add(&w->lat, now() - t0);
        }
        if (r < 0)
            usleep(10000);
    }
    free(c);
    return NULL;
}

static int run(int conc, double secs)
{
    worker_t *ws = calloc((size_t)conc, sizeof *ws);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    stats_t all = {0};
    char err[256] = "";
    if (!ws || !th)
        die("out of memory");
    double t0 = now();
    g_deadline = t0 + secs;
    for (int i = 0; i < conc; i++)
        if (pthread_create(&th[i], NULL, worker, &ws[i]) != 0)
            die("pthread_create failed");
    for (int i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    double el = now() - t0;
    for (int i = 0; i < conc; i++) {
        for (size_t j = 0; j < ws[i].lat.n; j++)
            st_add(&all, ws[i].lat.v[j]);
        all.ok += ws[i].st.ok;
        all.fail += ws[i].st.fail;
        if (!err[0] && ws[i].st.err[0])
            snprintf(err, sizeof err, "%s", ws[i].st.err);
    }
    qsort(all.v, all.n, sizeof(double), dcmp);
    double p50 = all.n ? all.v[all.n / 2] : 0, p99 = all.n ? all.v[(size_t)((double)all.n * 0.99)] : 0;
    double mx = all.n ? all.v[all.n - 1] : 0;
    printf("ok=%ld fail=%ld seconds=%.3f rate_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", all.ok,
           all.fail, el, (double)all.ok / el, p50 * 1e3, p99 * 1e3, mx * 1e3);
    if (err[0]) {
        for (char *q = err; *q; q++)
            if (*q == ' ')
                *q = '_';
        printf(" first_error=%s", err);
    }
    printf("\n");
    return all.fail ? 1 : 0;
}

static void usage(void)
{
    die("usage: smtpload scram HOST PORT -u USER -p PASS [-c CONC] [-d SECS] [-b BINDIP]\n"
        "       smtpload deliver HOST PORT -t RCPT [-f FROM] [-s SESSIONS] [-m COUNT] [-l BYTES] [-b BINDIP]"
        " [-F FILE]");
}

int main(int argc, char **argv)
{
    int conc = 10, opt;
    double secs = 10;
    long bytes = 4096;
    const char *file = NULL;
    if (argc < 4)
        usage();
    g_mode_deliver = !strcmp(argv[1], "deliver");
    if (!g_mode_deliver && strcmp(argv[1], "scram") != 0)
        usage();
    set_addr(&g_dst, argv[2], atoi(argv[3]), 0);
    g_count = 1000;
    optind = 4;
    while ((opt = getopt(argc, argv, "u:p:c:d:b:t:f:s:m:l:F:")) != -1) {
        switch (opt) {
        case 'u': g_user = optarg; break;
        case 'p': g_pass = optarg; break;
        case 'c': case 's': conc = atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'b': set_addr(&g_src, optarg, 0, 1); g_bind = 1; break; /* bind(): local addresses only */
        case 't': g_rcpt = optarg; break;
        case 'f': g_from = optarg; break;
        case 'm': g_count = atol(optarg); break;
        case 'l': bytes = atol(optarg); break;
        case 'F': file = optarg; break;
        default: usage();
        }
    }
    if (conc < 1 || conc > 5000 || (g_mode_deliver ? !g_rcpt : (!g_user || !g_pass)))
        usage();
    if (g_mode_deliver && file)
        load_body(file);
    else if (g_mode_deliver)
        make_body(bytes);
    int r = run(conc, secs);
    free(g_body);
    return r;
}
