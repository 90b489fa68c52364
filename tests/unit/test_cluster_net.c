/* test_cluster_net: the replication connections' socket options (cluster_net.c): which
 * socket is a cluster one (pure), and the program's own connect() and listen() on
 * loopback: one SYN retransmission and Nagle off towards a peer's port, Nagle off on a
 * listener bound to the node's port and so on the connections it accepts; nothing on
 * any other socket; a bind() to the node's port that finds it in use waits for it to be
 * let go (up to 5 s), and to any other port fails at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster_conf.h"
#include "cluster_net.h"
#include "cu.h"

/* Watch the cluster of node NODE_PORT on loopback with one peer, 127.0.0.2:PEER_PORT. */
static void watch(unsigned node_port, unsigned peer_port)
{
    char node[64], peers[64], why[300];
    struct cluster_conf cc;
    snprintf(node, sizeof node, "127.0.0.1:%u", node_port);
    snprintf(peers, sizeof peers, "127.0.0.2:%u", peer_port);
    CU_ASSERT_EQUAL_FATAL(cluster_conf_parse(node, peers, 100, "quorum", &cc, why, sizeof why), 0);
    cluster_net_watch(&cc);
}

/* A TCP socket bound to a free loopback port (its port in *port), not yet listening. */
static int bound(unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A connection to loopback port PORT, made with the program's connect(). */
static int connected(unsigned port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((in_port_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static int tcp_opt(int fd, int opt)
{
    int v = -1;
    socklen_t vl = sizeof v;
    CU_ASSERT_EQUAL(getsockopt(fd, IPPROTO_TCP, opt, &v, &vl), 0);
    return v;
}

static void test_which(void)
{
    watch(7400, 7401);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(7401) };
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(7401) };
    CU_ASSERT_TRUE(cluster_net_is_site((struct sockaddr *)&a6, sizeof a6));
    CU_ASSERT_TRUE(cluster_net_is_site((struct sockaddr *)&a4, sizeof a4));
    CU_ASSERT_FALSE(cluster_net_is_own((struct sockaddr *)&a4, sizeof a4));
    CU_ASSERT_FALSE(cluster_net_is_site((struct sockaddr *)&a6, sizeof a6 - 1));   /* short */
    CU_ASSERT_FALSE(cluster_net_is_site((struct sockaddr *)&a4, sizeof a4 - 1));
    a6.sin6_port = htons(7400);                        /* this node's own port: not a peer */
    a4.sin_port = htons(7400);
    CU_ASSERT_FALSE(cluster_net_is_site((struct sockaddr *)&a6, sizeof a6));
    CU_ASSERT_TRUE(cluster_net_is_own((struct sockaddr *)&a6, sizeof a6));
    CU_ASSERT_TRUE(cluster_net_is_own((struct sockaddr *)&a4, sizeof a4));
    CU_ASSERT_FALSE(cluster_net_is_own((struct sockaddr *)&a4, sizeof a4 - 1));
    a4.sin_port = 0;                                   /* unbound */
    CU_ASSERT_FALSE(cluster_net_is_own((struct sockaddr *)&a4, sizeof a4));
    CU_ASSERT_FALSE(cluster_net_is_site((struct sockaddr *)&a4, sizeof a4));
    struct sockaddr un = { .sa_family = AF_UNIX };
    CU_ASSERT_FALSE(cluster_net_is_site(&un, sizeof un));
    CU_ASSERT_FALSE(cluster_net_is_own(&un, sizeof un));
    CU_ASSERT_FALSE(cluster_net_is_site(NULL, 0));
    CU_ASSERT_FALSE(cluster_net_is_own(NULL, 0));
    cluster_net_watch(NULL);                           /* no cluster: nothing is one */
    a6.sin6_port = htons(7401);
    a4.sin_port = htons(7400);
    CU_ASSERT_FALSE(cluster_net_is_site((struct sockaddr *)&a6, sizeof a6));
    CU_ASSERT_FALSE(cluster_net_is_own((struct sockaddr *)&a4, sizeof a4));
}

/* Node A (port a) listens; node B (port b) connects to A: B's connecting socket, A's
 * listener and the connection A accepts all have Nagle off; B's has one SYN retry. */
static void test_two_nodes(void)
{
    unsigned a, b;
    int la = bound(&a), lb = bound(&b);
    watch(a, b);                                       /* this process as node A */
    CU_ASSERT_FATAL(listen(la, 4) == 0);
    CU_ASSERT_EQUAL(tcp_opt(la, TCP_NODELAY), 1);
    watch(b, a);                                       /* now as node B */
    int c = connected(a), s = accept(la, NULL, NULL);
    CU_ASSERT_FATAL(s >= 0);
    CU_ASSERT_EQUAL(tcp_opt(c, TCP_NODELAY), 1);
    CU_ASSERT_EQUAL(tcp_opt(c, TCP_SYNCNT), 1);
    CU_ASSERT_EQUAL(tcp_opt(s, TCP_NODELAY), 1);
    CU_ASSERT_EQUAL(tcp_opt(s, TCP_SYNCNT), tcp_opt(lb, TCP_SYNCNT));   /* the default */
    CU_ASSERT_EQUAL(close(s), 0);
    CU_ASSERT_EQUAL(close(c), 0);
    CU_ASSERT_EQUAL(close(la), 0);
    CU_ASSERT_EQUAL(close(lb), 0);
}

/* A port no cluster watches (and any port without a cluster): nothing set anywhere. */
static void test_unwatched(void)
{
    unsigned p, q;
    int l = bound(&p), other = bound(&q);
    watch(q, q + 1 == p ? q + 2 : q + 1);              /* some other node and peer */
    CU_ASSERT_FATAL(listen(l, 4) == 0);
    CU_ASSERT_EQUAL(tcp_opt(l, TCP_NODELAY), 0);
    int c = connected(p), s = accept(l, NULL, NULL);
    CU_ASSERT_FATAL(s >= 0);
    CU_ASSERT_EQUAL(tcp_opt(c, TCP_NODELAY), 0);
    CU_ASSERT_NOT_EQUAL(tcp_opt(c, TCP_SYNCNT), 1);
    CU_ASSERT_EQUAL(tcp_opt(s, TCP_NODELAY), 0);
    CU_ASSERT_EQUAL(close(s), 0);
    CU_ASSERT_EQUAL(close(c), 0);
    watch(q, p);                                       /* p a peer's port ... */
    cluster_net_watch(NULL);                           /* ... then no cluster */
    c = connected(p);
    s = accept(l, NULL, NULL);
    CU_ASSERT_FATAL(s >= 0);
    CU_ASSERT_EQUAL(tcp_opt(c, TCP_NODELAY), 0);
    CU_ASSERT_NOT_EQUAL(tcp_opt(c, TCP_SYNCNT), 1);
    CU_ASSERT_EQUAL(close(s), 0);
    CU_ASSERT_EQUAL(close(c), 0);
    CU_ASSERT_EQUAL(close(l), 0);
    CU_ASSERT_EQUAL(close(other), 0);
}

/* A socket with SO_REUSEADDR (as Berkeley DB's listener) bound, with the program's
 * bind(), to loopback port PORT: 0 or the error. */
static int bind_reuse(int fd, unsigned port)
{
    static const int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((in_port_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CU_ASSERT_FATAL(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    return bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
}

static void *close_later(void *arg)
{
    struct timespec ts = { 0, 300000000L };
    (void)nanosleep(&ts, NULL);
    (void)close(*(int *)arg);
    return NULL;
}

/* The node's port held by a listener that closes 0.3 s later (an old environment's,
 * let go by its process's reopen): the bind waits and succeeds. Held for good: it
 * fails with EADDRINUSE after the wait. Another port held: it fails at once. */
static void test_bind_waits(void)
{
    unsigned p, q;
    int holder = bound(&p), other = bound(&q);
    CU_ASSERT_FATAL(listen(holder, 4) == 0);
    CU_ASSERT_FATAL(listen(other, 4) == 0);
    watch(p, q);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(bind_reuse(fd, q), EADDRINUSE);    /* a peer's port: no wait */
    CU_ASSERT_EQUAL(close(fd), 0);
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, close_later, &holder) == 0);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(bind_reuse(fd, p), 0);             /* waited for the holder */
    CU_ASSERT_EQUAL(pthread_join(t, NULL), 0);
    CU_ASSERT_EQUAL(listen(fd, 4), 0);
    int late = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(late >= 0);
    CU_ASSERT_EQUAL(bind_reuse(late, p), EADDRINUSE);  /* fd holds it for good */
    CU_ASSERT_EQUAL(close(late), 0);
    CU_ASSERT_EQUAL(close(fd), 0);
    CU_ASSERT_EQUAL(close(other), 0);
    cluster_net_watch(NULL);
}

static CU_TestInfo tests[] = {
    { "which socket is a cluster one", test_which },
    { "two nodes: Nagle off both ways, SYN retries bounded", test_two_nodes },
    { "an unwatched port, no cluster: nothing set", test_unwatched },
    { "bind to the node's port waits for it to be let go", test_bind_waits },
    CU_TEST_INFO_NULL,
};

CU_MAIN("cluster_net", tests)
