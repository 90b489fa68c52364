/* smtpload - the loads the peers' mailload does not have, the same program against both
 * servers: SCRAM-SHA-256 AUTH rate, local delivery with per-message latency, and the TLS
 * loads of mail clients (loadtls.c). Loopback targets only. Output: one "key=value ..."
 * line, like mailload, so the bench scripts parse both tools the same way.
 *
 *   smtpload scram   HOST PORT -u USER -p PASS [-c CONC] [-d SECS] [-b BINDIP]
 *       CONC threads loop for SECS: connect, banner, EHLO, AUTH SCRAM-SHA-256 (RFC 5802/7677,
 *       server signature checked), QUIT, close. The salted password is cached per salt and
 *       iteration count, as real clients do, so the client's PBKDF2 does not dominate.
 *   smtpload deliver HOST PORT -t RCPT [-f FROM] [-s SESSIONS] [-m COUNT] [-l BYTES] [-b BINDIP]
 *       SESSIONS threads send COUNT messages of about BYTES in all, one connection per message
 *       like smtp-source: banner, EHLO, MAIL, RCPT, DATA, body, QUIT. -F FILE sends FILE as
 *       the message instead (e.g. one DKIM-signed beforehand; LF or CRLF lines, dot-stuffed
 *       here); BINDIP may be this machine's own non-loopback address (a "remote" client
 *       whose SPF check really looks up DNS: libspf2 passes loopback clients unchecked).
 *   smtpload subm    HOST PORT -u USER -p PASS -t RCPT [-c CONC] [-m COUNT] [-l BYTES] [-b BINDIP]
 *       a mail client submitting: COUNT sessions by CONC threads, each connect, EHLO, STARTTLS,
 *       EHLO, AUTH PLAIN, MAIL FROM:<USER>, RCPT, DATA (BYTES, default 20 KB), QUIT; the
 *       latency is the whole session's.
 *   smtpload pop3    HOST PORT -U USERFILE -m PER_USER [-k stls|implicit|none] [-n PER_SESSION]
 *       a mail client collecting: one thread per "user password" line, sessions of connect,
 *       [TLS], USER, PASS, UIDL, RETR and DELE of up to PER_SESSION (20) messages, QUIT, until
 *       PER_USER messages were retrieved; a session finding none left is a failure.
 *   smtpload idle    HOST PORT N [-c THREADS] [-H HOLD_S] [-b BINDIP]
 *       N SMTP sessions through banner, EHLO, STARTTLS, EHLO, then held: prints READY held=...
 *       when all are up, holds HOLD_S seconds, prints DONE dropped_during_hold=...
 *   smtpload office  HOST MXPORT -U USERFILE -S SUBMPORT -P POP3PORT [-d SECS] [-i INBOUND]
 *                    [-r INTERVAL_S] [-b OUTSIDE_IP] [-l BYTES]: a whole office, see loadoffice.c
 * -R (TLS loads): each thread resumes its next TLS session with the last ticket it got, as
 * a mail client with a session cache does (prints resumed=N); default: full handshakes.
 * Build: gcc -O2 -pthread -o smtpload smtpload.c loadconn.c loadtls.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include "loadconn.h"
#include "loadtls.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- SCRAM-SHA-256 ---------------- */
const char *g_user, *g_pass;
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
const char *g_from = "loadsender@example.test", *g_rcpt;
char *g_body;
size_t g_bodylen;
static long g_count;
static long g_next; /* messages handed out so far (atomic) */

/* A message of about `bytes`: headers and 78-column lines, ending with CRLF.CRLF. */
static void make_body(long bytes);

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

/* -b: any address of this machine (bind() takes local ones only), not only loopback. */
static void set_src(const char *ip)
{
    memset(&g_src, 0, sizeof g_src);
    g_src.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &g_src.sin_addr) != 1)
        die("not a numeric IPv4 address: %s", ip);
    g_bind = 1;
}

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
enum mode { M_SCRAM, M_DELIVER, M_SUBM, M_POP3 };
static enum mode g_mode;
static double g_deadline;
static enum pop_tls g_pop_tls = POP_STLS;
static long g_per_user, g_per_session = 20;
static char **g_pusers, **g_ppass;

typedef struct {
    stats_t st;  /* sessions: ok, failures, items moved */
    stats_t lat; /* deliver: end of DATA -> 250; the others: the whole session */
    int idx;
} worker_t;

/* POP3: this thread's user collects until g_per_user messages were retrieved. */
static void pop3_worker(worker_t *w, conn_t *c)
{
    long got = 0;
    int fails = 0;
    while (got < g_per_user && fails < 20) {
        double t0 = now();
        long n = pop3_session(&w->st, c, g_pop_tls, g_pusers[w->idx], g_ppass[w->idx], g_per_session);
        if (n > 0) {
            st_add(&w->lat, now() - t0);
            got += n;
            w->st.ok++;
            continue;
        }
        if (n == 0)
            st_fail(&w->st, "empty mailbox", "fewer messages than expected");
        fails++;
        usleep(10000);
    }
    w->st.items += got;
}

static void *worker(void *arg)
{
    worker_t *w = arg;
    conn_t *c = malloc(sizeof *c);
    if (!c)
        die("out of memory");
    c->fd = -1;
    c->ssl = NULL;
    c->src = g_bind ? &g_src : NULL;
    c->dst = NULL;
    if (g_mode == M_POP3) {
        pop3_worker(w, c);
        free(c);
        return NULL;
    }
    for (;;) {
        double t0 = now();
        int r;
        if (g_mode == M_DELIVER || g_mode == M_SUBM) {
            if (__atomic_fetch_add(&g_next, 1, __ATOMIC_RELAXED) >= g_count)
                break;
            if (g_mode == M_DELIVER) {
                r = deliver_session(&w->st, c, &w->lat);
            } else if ((r = subm_session(&w->st, c)) == 0) {
                st_add(&w->lat, now() - t0);
                w->st.items++;
                w->st.ok++;
            }
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
    long items = 0;
    if (!ws || !th)
        die("out of memory");
    double t0 = now();
    g_deadline = t0 + secs;
    for (int i = 0; i < conc; i++) {
        ws[i].idx = i;
        if (pthread_create(&th[i], NULL, worker, &ws[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    double el = now() - t0;
    for (int i = 0; i < conc; i++) {
        for (size_t j = 0; j < ws[i].lat.n; j++)
            st_add(&all, ws[i].lat.v[j]);
        all.ok += ws[i].st.ok;
        all.fail += ws[i].st.fail;
        items += ws[i].st.items;
        if (!err[0] && ws[i].st.err[0])
            snprintf(err, sizeof err, "%s", ws[i].st.err);
        free(ws[i].lat.v);
    }
    qsort(all.v, all.n, sizeof(double), dcmp);
    double p50 = all.n ? all.v[all.n / 2] : 0, p99 = all.n ? all.v[(size_t)((double)all.n * 0.99)] : 0;
    double mx = all.n ? all.v[all.n - 1] : 0;
    printf("ok=%ld fail=%ld items=%ld seconds=%.3f rate_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
           all.ok, all.fail, items, el, (double)all.ok / el, p50 * 1e3, p99 * 1e3, mx * 1e3);
    if (err[0]) {
        for (char *q = err; *q; q++)
            if (*q == ' ')
                *q = '_';
        printf(" first_error=%s", err);
    }
    if (g_resume)
        printf(" resumed=%ld", (long)g_resumed);
    printf("\n");
    free(all.v);
    free(ws);
    free(th);
    return all.fail ? 1 : 0;
}

static void usage(void)
{
    die("usage: smtpload scram HOST PORT -u USER -p PASS [-c CONC] [-d SECS] [-b BINDIP]\n"
        "       smtpload deliver HOST PORT -t RCPT [-f FROM] [-s SESSIONS] [-m COUNT] [-l BYTES] [-b BINDIP]"
        " [-F FILE]\n"
        "       smtpload subm HOST PORT -u USER -p PASS -t RCPT [-c CONC] [-m COUNT] [-l BYTES] [-b BINDIP]\n"
        "       smtpload pop3 HOST PORT -U USERFILE -m PER_USER [-k stls|implicit|none] [-n PER_SESSION]\n"
        "       smtpload idle HOST PORT N [-c THREADS] [-H HOLD_S] [-b BINDIP]\n"
        "       smtpload office HOST MXPORT -U USERFILE -S SUBMPORT -P POP3PORT [-d SECS] [-i INBOUND] [-r INTERVAL_S]\n"
        "                       [-b OUTSIDE_IP] [-l BYTES]");
}

int main(int argc, char **argv)
{
    int conc = 10, opt, first = 4;
    double secs = 10, hold = 10;
    long bytes = -1, idle_n = 0;
    const char *ufile = NULL, *file = NULL;
    if (argc < 4)
        usage();
    if (!strcmp(argv[1], "deliver"))
        g_mode = M_DELIVER;
    else if (!strcmp(argv[1], "subm"))
        g_mode = M_SUBM;
    else if (!strcmp(argv[1], "pop3"))
        g_mode = M_POP3;
    else if (!strcmp(argv[1], "office"))
        return office_main(argc, argv);
    else if (!strcmp(argv[1], "idle")) {
        if (argc < 5)
            usage();
        idle_n = atol(argv[4]);
        first = 5;
    } else if (strcmp(argv[1], "scram") != 0)
        usage();
    set_addr(&g_dst, argv[2], atoi(argv[3]));
    g_count = 1000;
    optind = first;
    while ((opt = getopt(argc, argv, "u:p:c:d:b:t:f:s:m:l:U:k:n:H:F:R")) != -1) {
        switch (opt) {
        case 'u': g_user = optarg; break;
        case 'p': g_pass = optarg; break;
        case 'c': case 's': conc = atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'b': set_src(optarg); break;
        case 't': g_rcpt = optarg; break;
        case 'f': g_from = optarg; break;
        case 'm': g_count = g_per_user = atol(optarg); break;
        case 'l': bytes = atol(optarg); break;
        case 'F': file = optarg; break;
        case 'U': ufile = optarg; break;
        case 'k':
            g_pop_tls = !strcmp(optarg, "implicit") ? POP_IMPLICIT : !strcmp(optarg, "none") ? POP_PLAIN : POP_STLS;
            break;
        case 'n': g_per_session = atol(optarg); break;
        case 'H': hold = atof(optarg); break;
        case 'R': g_resume = 1; break;
        default: usage();
        }
    }
    if (idle_n > 0)
        return run_idle(idle_n, conc, hold);
    if (g_mode == M_POP3) {
        if (!ufile || g_per_user < 1 || g_per_session < 1)
            usage();
        conc = load_users(ufile, &g_pusers, &g_ppass);
    }
    if (conc < 1 || conc > 5000 || (g_mode == M_DELIVER && !g_rcpt) ||
        ((g_mode == M_SCRAM || g_mode == M_SUBM) && (!g_user || !g_pass)) || (g_mode == M_SUBM && !g_rcpt))
        usage();
    if (g_mode == M_DELIVER || g_mode == M_SUBM) {
        if (g_mode == M_SUBM)
            g_from = g_user;
        if (file && g_mode == M_DELIVER)
            load_body(file);
        else
            make_body(bytes > 0 ? bytes : g_mode == M_SUBM ? 20480 : 4096);
    }
    int r = run(conc, secs);
    free(g_body);
    return r;
}
