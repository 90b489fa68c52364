/* loadoffice.c - smtpload office: a whole small office at once, for SECS seconds.
 *   - every user of USERFILE ("user password" lines, user = address) polls POP3 once a
 *     minute over STLS (UIDL, RETR + DELE of everything there, QUIT), and sends one message
 *     a minute through submission (STARTTLS, AUTH PLAIN) half a minute later, to the next
 *     user; every 10th message goes to office@relay.test instead (relayed to the sink);
 *     the users' minutes are spread evenly
 *   - INBOUND outside sessions (from OUTSIDE_IP, default 127.0.0.9) each deliver one message
 *     every INTERVAL_S seconds (default 5) at MXPORT with STARTTLS to a user, spread evenly
 * Prints errors= (must be 0), local_sent=, relay_sent=, retrieved=, pop3_sessions= and the
 * sessions' p50/p99; the caller checks local_sent = retrieved + what is left in the Maildirs
 * and relay_sent at the sink. */
#define _GNU_SOURCE
#include "loadtls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in o_subm, o_pop3, o_mx, o_out;
static char **o_users, **o_pass;
static int o_nusers, o_ninbound = 20;
static double o_t0, o_end, o_interval = 5;
static char *o_body;
static size_t o_bodylen;
static long o_local, o_relay, o_retrieved, o_seq; /* atomic */

typedef struct {
    int idx;
    stats_t st;
    long sessions;
} othread_t;

static void sleep_until(double t)
{
    double d = t - now();
    if (d > 0)
        usleep((useconds_t)(d * 1e6));
}

static void body_init(long bytes)
{
    const char *line = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrst\r\n";
    size_t ll = strlen(line), cap = (size_t)bytes + 512, len;
    o_body = malloc(cap);
    if (!o_body)
        die("out of memory");
    len = (size_t)snprintf(o_body, cap, "From: office load\r\nTo: office\r\nSubject: office load\r\n\r\n");
    while (len + ll < (size_t)bytes) {
        memcpy(o_body + len, line, ll);
        len += ll;
    }
    memcpy(o_body + len, ".\r\n", 3);
    o_bodylen = len + 3;
}

static void timed_add(othread_t *t, double t0, int r)
{
    t->sessions++;
    if (r >= 0)
        st_add(&t->st, now() - t0);
}

static void user_send(othread_t *t, conn_t *c)
{
    char rcpt[300];
    int relay = __atomic_fetch_add(&o_seq, 1, __ATOMIC_RELAXED) % 10 == 9;
    if (relay)
        snprintf(rcpt, sizeof rcpt, "office@relay.test");
    else
        snprintf(rcpt, sizeof rcpt, "%s", o_users[(t->idx + 1) % o_nusers]);
    smtp_job_t j = {.tls = 1, .user = o_users[t->idx], .pass = o_pass[t->idx], .from = o_users[t->idx],
                    .rcpt = rcpt, .body = o_body, .bodylen = o_bodylen};
    c->dst = &o_subm;
    double t0 = now();
    int r = smtp_job_session(&t->st, c, &j);
    timed_add(t, t0, r);
    if (r == 0)
        __atomic_fetch_add(relay ? &o_relay : &o_local, 1, __ATOMIC_RELAXED);
}

static void *user_thread(void *arg)
{
    othread_t *t = arg;
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        die("out of memory");
    c->fd = -1;
    double off = 60.0 * t->idx / o_nusers;
    for (int k = 0;; k++) {
        double tp = o_t0 + off + 60.0 * k, ts = tp + 30;
        if (tp >= o_end)
            break;
        sleep_until(tp);
        double t0 = now();
        c->dst = &o_pop3;
        long n = pop3_session(&t->st, c, POP_STLS, o_users[t->idx], o_pass[t->idx], 1000000);
        timed_add(t, t0, n < 0 ? -1 : 0);
        if (n > 0)
            __atomic_fetch_add(&o_retrieved, n, __ATOMIC_RELAXED);
        if (ts >= o_end)
            break;
        sleep_until(ts);
        user_send(t, c);
    }
    free(c);
    return NULL;
}

static void *inbound_thread(void *arg)
{
    othread_t *t = arg;
    conn_t *c = calloc(1, sizeof *c);
    char rcpt[300];
    if (!c)
        die("out of memory");
    c->fd = -1;
    c->src = &o_out;
    c->dst = &o_mx;
    for (long k = 0;; k++) {
        double at = o_t0 + o_interval * t->idx / o_ninbound + o_interval * (double)k;
        if (at >= o_end)
            break;
        sleep_until(at);
        snprintf(rcpt, sizeof rcpt, "%s", o_users[(t->idx * 7 + k) % o_nusers]);
        smtp_job_t j = {.tls = 1, .from = "sender@remote.test", .rcpt = rcpt, .body = o_body,
                        .bodylen = o_bodylen};
        double t0 = now();
        int r = smtp_job_session(&t->st, c, &j);
        timed_add(t, t0, r);
        if (r == 0)
            __atomic_fetch_add(&o_local, 1, __ATOMIC_RELAXED);
    }
    free(c);
    return NULL;
}

static int report(othread_t *ts, int n, double el)
{
    stats_t all = {0};
    long errors = 0, sessions = 0;
    char err[256] = "";
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < ts[i].st.n; j++)
            st_add(&all, ts[i].st.v[j]);
        errors += ts[i].st.fail;
        sessions += ts[i].sessions;
        if (!err[0] && ts[i].st.err[0])
            snprintf(err, sizeof err, "%s", ts[i].st.err);
        free(ts[i].st.v);
    }
    qsort(all.v, all.n, sizeof(double), dcmp);
    double p50 = all.n ? all.v[all.n / 2] : 0, p99 = all.n ? all.v[(size_t)((double)all.n * 0.99)] : 0;
    printf("errors=%ld sessions=%ld local_sent=%ld relay_sent=%ld retrieved=%ld seconds=%.3f p50_ms=%.3f "
           "p99_ms=%.3f", errors, sessions, o_local, o_relay, o_retrieved, el, p50 * 1e3, p99 * 1e3);
    for (char *q = err; *q; q++)
        if (*q == ' ')
            *q = '_';
    printf("%s%s\n", err[0] ? " first_error=" : "", err);
    free(all.v);
    return errors ? 1 : 0;
}

int office_main(int argc, char **argv)
{
    int opt, sport = 0, pport = 0;
    double secs = 300;
    long bytes = 10240;
    const char *ufile = NULL, *outside = "127.0.0.9";
    if (argc < 4)
        die("office: HOST MXPORT -U USERFILE -S SUBMPORT -P POP3PORT [-d SECS] [-i N] [-r S] [-b IP] [-l BYTES]");
    optind = 4;
    while ((opt = getopt(argc, argv, "U:S:P:d:i:r:b:l:")) != -1) {
        switch (opt) {
        case 'U': ufile = optarg; break;
        case 'S': sport = atoi(optarg); break;
        case 'P': pport = atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'i': o_ninbound = atoi(optarg); break;
        case 'r': o_interval = atof(optarg); break;
        case 'b': outside = optarg; break;
        case 'l': bytes = atol(optarg); break;
        default: die("office: bad option");
        }
    }
    if (!ufile || !sport || !pport || o_ninbound < 0 || o_ninbound > 1000 || o_interval <= 0 || secs <= 0)
        die("office: -U, -S and -P are needed");
    set_addr(&o_mx, argv[2], atoi(argv[3]));
    set_addr(&o_subm, argv[2], sport);
    set_addr(&o_pop3, argv[2], pport);
    set_addr(&o_out, outside, 0);
    o_nusers = load_users(ufile, &o_users, &o_pass);
    if (o_nusers < 2)
        die("office: at least two users");
    body_init(bytes);
    int n = o_nusers + o_ninbound;
    othread_t *ts = calloc((size_t)n, sizeof *ts);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!ts || !th)
        die("out of memory");
    o_t0 = now();
    o_end = o_t0 + secs;
    for (int i = 0; i < n; i++) {
        ts[i].idx = i < o_nusers ? i : i - o_nusers;
        if (pthread_create(&th[i], NULL, i < o_nusers ? user_thread : inbound_thread, &ts[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    int r = report(ts, n, now() - o_t0);
    free(ts);
    free(th);
    free(o_body);
    return r;
}
