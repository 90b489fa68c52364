/* test_queue_bound: the queue runner's memory stays bounded with thousands of queued
 * next hops: 1,200 entries, each for its own next hop (a [routes] host that refuses
 * connections); the runner never holds more than QRUN_MAX_LOADED of them in memory,
 * leaves the rest on disk (parked: their ids only) and reads them when room is made, and
 * every entry is tried once and deferred (attempts=1, next try a queue_retry later). */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cu.h"
#include "queue.h"
#include "queue_file.h"
#include "queue_run.h"
#include "tutil.h"

#define N_ENTRIES 1200

static char dir[512];

/* A port where nothing listens (bound, not listening: connections are refused). */
static int closed_port(int *keep)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t al = sizeof a;
    *keep = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(*keep >= 0);
    CU_ASSERT_FATAL(bind(*keep, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(getsockname(*keep, (struct sockaddr *)&a, &al) == 0);
    return ntohs(a.sin_port);
}

static void fill_queue(struct config *cfg, struct route *routes, int port)
{
    static const char msg[] = "Subject: bound\n\nbody\n";
    FILE *f = tmpfile();
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(msg, 1, sizeof msg - 1, f) == sizeof msg - 1 && fflush(f) == 0);
    for (int i = 0; i < N_ENTRIES; i++) {
        char dom[32], host[32], rcpt[48], id[16];
        snprintf(dom, sizeof dom, "d%04d.test", i);
        snprintf(host, sizeof host, "127.0.%d.%d", 1 + i / 250, 1 + i % 250);
        routes[i] = (struct route){ strdup(dom), strdup(host), port };
        CU_ASSERT_FATAL(routes[i].domain && routes[i].host);
        snprintf(rcpt, sizeof rcpt, "u@%s", dom);
        snprintf(id, sizeof id, "B%04d", i);
        char *rcpts[1] = { rcpt };
        CU_ASSERT_FATAL(queue_enqueue(cfg, id, "", rcpts, 1, fileno(f), 0, sizeof msg - 1) == 0);
    }
    cfg->routes = routes;
    cfg->nroutes = N_ENTRIES;
    fclose(f);
}

/* Entries tried once (attempts=1, connection refused), next try >= start + queue_retry. */
static int count_tried(const char *qdir, int64_t started)
{
    char **ids;
    size_t n;
    int tried = 0;
    CU_ASSERT_FATAL(queue_list_ids(qdir, &ids, &n) == 0);
    for (size_t i = 0; i < n; i++) {
        struct qentry e;
        memset(&e, 0, sizeof e);
        if (queue_read(qdir, ids[i], &e) == 0 && e.nrcpt == 1 && e.rcpt[0].attempts == 1) {
            CU_ASSERT(e.rcpt[0].next_try >= started + 300);
            CU_ASSERT(strstr(e.rcpt[0].diag, "refused") != NULL);
            tried++;
        }
        qentry_free(&e);
    }
    queue_free_ids(ids, n);
    return tried;
}

static void test_thousands_of_next_hops(void)
{
    static struct route routes[N_ENTRIES];
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    CU_ASSERT_FATAL(tu_tmpdir(dir, sizeof dir, "qbound") == 0);
    cfg.hostname = "mail.example.test";
    cfg.domain = "example.test";
    cfg.data_dir = dir;
    cfg.relayhost = "";
    cfg.queue_retry = 300;
    cfg.queue_lifetime = 5 * 86400;
    cfg.queue_concurrency = 20;
    cfg.queue_destination_concurrency = 5;
    int keep;
    fill_queue(&cfg, routes, closed_port(&keep));

    struct qrun q;
    memset(&q, 0, sizeof q);
    q.cfg = &cfg;
    CU_ASSERT_FATAL(queue_dir(dir, q.qdir, sizeof q.qdir) == 0);
    CU_ASSERT_FATAL(qrun_init(&q) == 0);
    int64_t started = (int64_t)time(NULL);
    size_t max_loaded = 0;
    bool first = true, left_on_disk = false;
    for (int rounds = 0; rounds < 6000; rounds++) {
        int64_t wake = qrun_step(&q, (int64_t)time(NULL), first);
        if (first)                        /* the first read could not take them all */
            left_on_disk = q.more || qpark_count(&q.park) > 0;
        first = false;
        max_loaded = q.nloaded > max_loaded ? q.nloaded : max_loaded;
        if (q.nloaded == 0 && !q.more && qpark_count(&q.park) == 0)
            break;
        CU_ASSERT(wake == 0 || wake > started);
        struct pollfd p = { .fd = q.efd, .events = POLLIN };
        (void)poll(&p, 1, 50);
    }
    CU_ASSERT(left_on_disk);
    CU_ASSERT(max_loaded > 0);
    CU_ASSERT(max_loaded <= QRUN_MAX_LOADED);
    CU_ASSERT_EQUAL(q.nloaded, 0);
    CU_ASSERT_EQUAL(count_tried(q.qdir, started), N_ENTRIES);
    qrun_close(&q);
    close(keep);
    for (int i = 0; i < N_ENTRIES; i++) {
        free(routes[i].domain);
        free(routes[i].host);
    }
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
}

static CU_TestInfo tests[] = {
    { "thousands of next hops: bounded in memory, all tried", test_thousands_of_next_hops },
    CU_TEST_INFO_NULL,
};

CU_MAIN("queue_bound", tests)
