/* smtpsink - the loopback next hop of the bench's relay rows (bench/bench_mx.sh): an SMTP
 * server that accepts every message, counts it at the final dot and stops after COUNT,
 * printing one "key=value ..." line: ok=N first_epoch=T last_epoch=T (CLOCK_REALTIME of the
 * first and the last message's final dot) and the total of message octets. Thread per
 * connection, no TLS offered (the queue then sends in clear, as to any such host). Replies
 * to pipelined commands go out together when the input read so far is used up, as a real
 * server's do (one write per reply would wait on the client's delayed ACK: Nagle).
 *
 *   smtpsink PORT -n COUNT [-T SECS]     exits 0 at COUNT messages, 1 at SECS (default 300)
 * Build: gcc -O2 -pthread -o smtpsink smtpsink.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long g_want, g_got, g_bytes;
static double g_first, g_last;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct {
    int fd;
    char buf[65536];
    size_t len, pos;
    char out[4096];
    size_t olen;
} conn_t;

static int flush_out(conn_t *c)
{
    size_t n = c->olen;
    c->olen = 0;
    return n == 0 || write(c->fd, c->out, n) == (ssize_t)n ? 0 : -1;
}

/* One line without its CRLF into out (cut at cap-1); -1 at EOF or error. */
static int get_line(conn_t *c, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    for (;;) {
        if (c->pos == c->len) {
            if (flush_out(c) < 0)
                return -1;
            ssize_t r = read(c->fd, c->buf, sizeof c->buf);
            if (r <= 0)
                return -1;
            c->len = (size_t)r;
            c->pos = 0;
        }
        char ch = c->buf[c->pos++];
        if (ch == '\n')
            break;
        if (n + 1 < cap)
            out[n++] = ch;
    }
    if (n && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    *outlen = n;
    return 0;
}

/* A reply, sent with the others before the next read that has to wait. */
static int say(conn_t *c, const char *s)
{
    size_t n = strlen(s);
    if (c->olen + n > sizeof c->out && flush_out(c) < 0)
        return -1;
    memcpy(c->out + c->olen, s, n);
    c->olen += n;
    return 0;
}

static void counted(long octets)
{
    pthread_mutex_lock(&g_mu);
    double t = wall();
    if (!g_got)
        g_first = t;
    g_last = t;
    g_bytes += octets;
    if (++g_got >= g_want)
        pthread_cond_signal(&g_done);
    pthread_mutex_unlock(&g_mu);
}

static void *session(void *arg)
{
    conn_t *c = arg;
    char line[1024];
    size_t n;
    if (say(c, "220 sink.bench ESMTP\r\n") < 0)
        goto out;
    while (get_line(c, line, sizeof line, &n) == 0) {
        const char *reply = "250 2.0.0 ok\r\n";
        if (!strncasecmp(line, "EHLO", 4))
            reply = "250-sink.bench\r\n250-8BITMIME\r\n250 PIPELINING\r\n";
        else if (!strncasecmp(line, "QUIT", 4)) {
            (void)say(c, "221 2.0.0 bye\r\n");
            (void)flush_out(c);
            break;
        } else if (!strncasecmp(line, "DATA", 4)) {
            long octets = 0;
            if (say(c, "354 go on\r\n") < 0)
                break;
            while (get_line(c, line, sizeof line, &n) == 0 && strcmp(line, ".") != 0)
                octets += (long)n + 2;
            if (say(c, reply) < 0 || flush_out(c) < 0)   /* the 250 first: the last */
                break;                                    /* message is not retried */
            counted(octets);
            continue;
        }
        if (say(c, reply) < 0)
            break;
    }
out:
    close(c->fd);
    free(c);
    return NULL;
}

static void *acceptor(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        conn_t *c = calloc(1, sizeof *c);
        pthread_t th;
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        if (pthread_create(&th, NULL, session, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(th);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double secs = 300;
    int opt, one = 1;
    if (argc < 2)
        goto usage;
    int port = atoi(argv[1]);
    optind = 2;
    while ((opt = getopt(argc, argv, "n:T:")) != -1) {
        if (opt == 'n')
            g_want = atol(optarg);
        else if (opt == 'T')
            secs = atof(optarg);
        else
            goto usage;
    }
    if (port <= 0 || port > 65535 || g_want < 1)
        goto usage;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0) {
        perror("smtpsink: listen");
        return 2;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, acceptor, &lfd) != 0)
        return 2;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)secs;
    int timedout = 0;
    pthread_mutex_lock(&g_mu);
    while (g_got < g_want && !timedout)
        timedout = pthread_cond_timedwait(&g_done, &g_mu, &dl) != 0;
    printf("ok=%ld first_epoch=%.6f last_epoch=%.6f octets=%ld%s\n", g_got, g_first, g_last, g_bytes,
           timedout ? " timeout=1" : "");
    pthread_mutex_unlock(&g_mu);
    fflush(stdout);
    _exit(timedout ? 1 : 0);
usage:
    fprintf(stderr, "usage: smtpsink PORT -n COUNT [-T SECS]\n");
    return 2;
}
