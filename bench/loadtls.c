/* loadtls.c - smtpload's mail-client loads over TLS: a submission session (STARTTLS, AUTH
 * PLAIN, one message), a POP3 collection session (STLS or implicit TLS, UIDL, RETR, DELE)
 * and idle STARTTLS sessions held open. See smtpload.c's header for the command lines. */
#define _GNU_SOURCE
#include "loadtls.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- SMTP sessions ---------------- */
static int auth_plain_line(const char *user, const char *pass, char *line, size_t linesz)
{
    char raw[600], enc[900];
    size_t ul = strlen(user), pl = strlen(pass);
    if (ul + pl + 2 > sizeof raw)
        return -1;
    raw[0] = 0;
    memcpy(raw + 1, user, ul);
    raw[1 + ul] = 0;
    memcpy(raw + 2 + ul, pass, pl);
    if (b64enc((unsigned char *)raw, ul + pl + 2, enc, sizeof enc) < 0)
        return -1;
    int n = snprintf(line, linesz, "AUTH PLAIN %s\r\n", enc);
    return n < 0 || (size_t)n >= linesz ? -1 : 0;
}

/* EHLO, STARTTLS and EHLO again */
static int smtp_starttls(conn_t *c, char *last, size_t lastsz, const char **what)
{
    if ((*what = "ehlo", cmd(c, "EHLO client.example.test\r\n", 250, last, lastsz)) < 0 ||
        (*what = "starttls", cmd(c, "STARTTLS\r\n", 220, last, lastsz)) < 0 ||
        (*what = "tls handshake", c_tls(c)) < 0)
        return -1;
    return (*what = "ehlo after tls", cmd(c, "EHLO client.example.test\r\n", 250, last, lastsz));
}

int smtp_job_session(stats_t *st, conn_t *c, const smtp_job_t *j)
{
    char last[2048] = "", line[1000];
    const char *what = "connect";
    if (c_connect(c) < 0) {
        st_fail(st, what, NULL);
        return -1;
    }
    if ((what = "banner", cmd(c, NULL, 220, last, sizeof last)) < 0)
        goto bad;
    if (j->tls ? smtp_starttls(c, last, sizeof last, &what) < 0
               : (what = "ehlo", cmd(c, "EHLO client.example.test\r\n", 250, last, sizeof last)) < 0)
        goto bad;
    if (j->user && ((what = "auth", auth_plain_line(j->user, j->pass, line, sizeof line)) < 0 ||
                    cmd(c, line, 235, last, sizeof last) < 0))
        goto bad;
    snprintf(line, sizeof line, "MAIL FROM:<%s>\r\n", j->from);
    if ((what = "mail", cmd(c, line, 250, last, sizeof last)) < 0)
        goto bad;
    snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", j->rcpt);
    if ((what = "rcpt", cmd(c, line, 250, last, sizeof last)) < 0 ||
        (what = "data", cmd(c, "DATA\r\n", 354, last, sizeof last)) < 0)
        goto bad;
    if ((what = "body", c_write(c, j->body, j->bodylen)) < 0 || cmd(c, NULL, 250, last, sizeof last) < 0 ||
        (what = "quit", cmd(c, "QUIT\r\n", 221, last, sizeof last)) < 0)
        goto bad;
    c_close(c);
    return 0;
bad:
    st_fail(st, what, last);
    c_close(c);
    return -1;
}

int subm_session(stats_t *st, conn_t *c)
{
    smtp_job_t j = {.tls = 1, .user = g_user, .pass = g_pass, .from = g_from, .rcpt = g_rcpt,
                    .body = g_body, .bodylen = g_bodylen};
    return smtp_job_session(st, c, &j);
}

/* ---------------- POP3 ---------------- */
static long pop3_retrieve(conn_t *c, long n, char *last, size_t lastsz, const char **what)
{
    char line[64];
    for (long i = 1; i <= n; i++) {
        snprintf(line, sizeof line, "RETR %ld\r\n", i);
        if ((*what = "retr", pop_cmd(c, line, last, lastsz)) < 0 || pop_multi(c) < 0)
            return -1;
        snprintf(line, sizeof line, "DELE %ld\r\n", i);
        if ((*what = "dele", pop_cmd(c, line, last, lastsz)) < 0)
            return -1;
    }
    return n;
}

long pop3_session(stats_t *st, conn_t *c, enum pop_tls tls, const char *user, const char *pass,
                  long per_session)
{
    char last[1200] = "", line[600];
    const char *what = "connect";
    long n;
    if (c_connect(c) < 0) {
        st_fail(st, what, NULL);
        return -1;
    }
    if (tls == POP_IMPLICIT && (what = "tls handshake", c_tls(c)) < 0)
        goto bad;
    if ((what = "greeting", pop_cmd(c, NULL, last, sizeof last)) < 0)
        goto bad;
    if (tls == POP_STLS && ((what = "stls", pop_cmd(c, "STLS\r\n", last, sizeof last)) < 0 ||
                            (what = "tls handshake", c_tls(c)) < 0))
        goto bad;
    snprintf(line, sizeof line, "USER %s\r\n", user);
    if ((what = "user", pop_cmd(c, line, last, sizeof last)) < 0)
        goto bad;
    snprintf(line, sizeof line, "PASS %s\r\n", pass);
    if ((what = "pass", pop_cmd(c, line, last, sizeof last)) < 0 ||
        (what = "uidl", pop_cmd(c, "UIDL\r\n", last, sizeof last)) < 0 || (n = pop_multi(c)) < 0)
        goto bad;
    if (n > per_session)
        n = per_session;
    if (pop3_retrieve(c, n, last, sizeof last, &what) < 0 ||
        (what = "quit", pop_cmd(c, "QUIT\r\n", last, sizeof last)) < 0)
        goto bad;
    c_close(c);
    return n;
bad:
    st_fail(st, what, last);
    c_close(c);
    return -1;
}

/* ---------------- idle STARTTLS sessions ---------------- */
typedef struct {
    long from, to; /* this thread's share of the sessions */
    int *fds;
    SSL **ssls;
    stats_t st;
} idle_t;

static int idle_open(conn_t *c, stats_t *st)
{
    char last[2048] = "";
    const char *what = "connect";
    if (c_connect(c) < 0) {
        st_fail(st, what, NULL);
        return -1;
    }
    if ((what = "banner", cmd(c, NULL, 220, last, sizeof last)) < 0 ||
        (what = "ehlo", cmd(c, "EHLO idle.example.test\r\n", 250, last, sizeof last)) < 0 ||
        (what = "starttls", cmd(c, "STARTTLS\r\n", 220, last, sizeof last)) < 0 ||
        (what = "tls handshake", c_tls(c)) < 0 ||
        (what = "ehlo after tls", cmd(c, "EHLO idle.example.test\r\n", 250, last, sizeof last)) < 0) {
        st_fail(st, what, last);
        c_close(c);
        return -1;
    }
    return 0;
}

static void *idle_worker(void *arg)
{
    idle_t *x = arg;
    conn_t *c = malloc(sizeof *c);
    if (!c)
        die("out of memory");
    c->src = g_bind ? &g_src : NULL;
    c->dst = NULL;
    for (long i = x->from; i < x->to; i++) {
        x->fds[i] = -1;
        if (idle_open(c, &x->st) == 0) { /* kept: the socket and its TLS state */
            x->fds[i] = c->fd;
            x->ssls[i] = c->ssl;
            x->st.ok++;
        }
    }
    free(c);
    return NULL;
}

/* Sessions the server closed or wrote to while they were held. */
static long idle_dropped(const int *fds, long n)
{
    long d = 0;
    for (long i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (fds[i] >= 0 && poll(&p, 1, 0) != 0)
            d++;
    }
    return d;
}

int run_idle(long n, int threads, double hold)
{
    if (n < 1 || n > 100000 || threads < 1 || threads > 1000)
        die("idle: 1..100000 sessions, 1..1000 threads");
    int *fds = calloc((size_t)n, sizeof *fds);
    SSL **ssls = calloc((size_t)n, sizeof *ssls);
    idle_t *xs = calloc((size_t)threads, sizeof *xs);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    long held = 0, failed = 0;
    char err[256] = "";
    if (!fds || !ssls || !xs || !th)
        die("out of memory");
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        xs[i] = (idle_t){.from = n * i / threads, .to = n * (i + 1) / threads, .fds = fds, .ssls = ssls};
        if (pthread_create(&th[i], NULL, idle_worker, &xs[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        held += xs[i].st.ok;
        failed += xs[i].st.fail;
        if (!err[0] && xs[i].st.err[0])
            snprintf(err, sizeof err, "%s", xs[i].st.err);
    }
    for (char *q = err; *q; q++)
        if (*q == ' ')
            *q = '_';
    printf("READY held=%ld failed=%ld seconds=%.3f%s%s\n", held, failed, now() - t0, err[0] ? " first_error=" : "",
           err);
    fflush(stdout);
    usleep((useconds_t)(hold * 1e6));
    printf("DONE dropped_during_hold=%ld\n", idle_dropped(fds, n));
    for (long i = 0; i < n; i++)
        if (fds[i] >= 0) {
            SSL_free(ssls[i]);
            close(fds[i]);
        }
    free(fds);
    free(ssls);
    free(xs);
    free(th);
    return failed ? 1 : 0;
}
