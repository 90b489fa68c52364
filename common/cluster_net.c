/* cluster_net: the socket options of Berkeley DB's replication connections, set in one
 * place. Berkeley DB 5.3's replication manager sets none but SO_KEEPALIVE, so:
 * - a bound on how long a connection to another node takes to fail: repmgr connects
 *   with a blocking connect() and no timeout of its own; to a node behind a partition
 *   (its packets dropped, nothing refused) that waits out the kernel's SYN retries,
 *   about two minutes, and DB_ENV->close waits for it (every userdb run on the nodes
 *   still up, a daemon's stop). A connection to a peer's port gets one SYN
 *   retransmission (TCP_SYNCNT 1: it fails after about 3 s; repmgr tries again every
 *   second, DB_REP_CONNECTION_RETRY);
 * - Nagle off (TCP_NODELAY) on every replication connection, both ways: a commit goes
 *   out as two small messages (the log record, then the commit), and the second waited
 *   for the TCP acknowledgement of the first, which the other side's kernel delays by
 *   40 ms: every acknowledged commit took ~40 ms, a forwarded write twice that. The
 *   connections this process makes (to a peer's port, channels included) get it at
 *   connect(); the ones it accepts inherit it from the listening socket (Linux copies
 *   TCP_NODELAY to the accepted socket), which gets it at listen() when it is bound to
 *   this node's own replication port;
 * - a wait for this node's own port: when a process's open runs recovery (another one
 *   was killed), it may claim the listener's role in the new regions while the old
 *   listener, a process still in the old ones, has not yet let the port go (its
 *   recovery watch reopens within a quarter of a second, store_bdb_env.c). A bind()
 *   to the node's port that finds it in use tries again for up to BIND_WAIT_MS.
 *   Berkeley DB 5.3 does not give the role back when its bind() fails: it stays with
 *   the live process that could not listen, and the node replicated no more (seen
 *   as "electing" in `userdb cluster status` for good).
 * This connect(), bind() and listen() stand in for the C library's in our programs
 * (libdb-5.3.so's calls resolve to the executable's definitions); every other socket
 * is left as it is, and the call itself is the C library's (found with
 * dlsym(RTLD_NEXT): a cancellation point, seen by the sanitizers' interceptors). */
#include "cluster_net.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "log.h"

static atomic_uint site_ports[CLUSTER_MAX_PEERS];
static atomic_uint own_port;

void cluster_net_watch(const struct cluster_conf *cc)
{
    bool on = cc != NULL && cc->on;
    for (size_t i = 0; i < CLUSTER_MAX_PEERS; i++)
        atomic_store(&site_ports[i], on && i < cc->npeers ? cc->peers[i].port : 0u);
    atomic_store(&own_port, on ? cc->node.port : 0u);
}

/* The TCP/IP port of SA (LEN bytes); 0 for any other address. */
static unsigned port_of(const struct sockaddr *sa, socklen_t len)
{
    in_port_t port;
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        memcpy(&port, (const char *)sa + offsetof(struct sockaddr_in, sin_port), sizeof port);
    else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        memcpy(&port, (const char *)sa + offsetof(struct sockaddr_in6, sin6_port), sizeof port);
    else
        return 0;
    return ntohs(port);
}

bool cluster_net_is_site(const struct sockaddr *sa, socklen_t len)
{
    unsigned p = port_of(sa, len);
    for (size_t i = 0; p != 0 && i < CLUSTER_MAX_PEERS; i++)
        if (atomic_load_explicit(&site_ports[i], memory_order_relaxed) == p)
            return true;
    return false;
}

bool cluster_net_is_own(const struct sockaddr *sa, socklen_t len)
{
    unsigned p = port_of(sa, len);
    return p != 0 && atomic_load_explicit(&own_port, memory_order_relaxed) == p;
}

typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*bind_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*listen_fn)(int, int);
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static connect_fn real_connect;
static bind_fn real_bind;
static listen_fn real_listen;

static void real_init(void)
{
    void *c = dlsym(RTLD_NEXT, "connect"), *b = dlsym(RTLD_NEXT, "bind"),
         *l = dlsym(RTLD_NEXT, "listen");
    memcpy(&real_connect, &c, sizeof real_connect);   /* object to function pointer */
    memcpy(&real_bind, &b, sizeof real_bind);
    memcpy(&real_listen, &l, sizeof real_listen);
}

static bool real_found(void)
{
    if (pthread_once(&real_once, real_init) == 0 && real_connect != NULL && real_bind != NULL &&
        real_listen != NULL)
        return true;
    errno = ENOSYS;
    return false;
}

static void nodelay(int fd, const char *what)
{
    static const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        log_warn("store: cluster: cannot turn Nagle off on %s: %s", what, strerror(errno));
}

int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    static const int syncnt = 1;
    if (!real_found())
        return -1;
    if (cluster_net_is_site(addr.__sockaddr__, len)) {
        if (setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt) != 0)
            log_warn("store: cluster: cannot bound a connection's SYN retries: %s", strerror(errno));
        nodelay(fd, "a replication connection");
    }
    return real_connect(fd, addr, len);
}

#define BIND_WAIT_MS 5000
#define BIND_STEP_MS 50

int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    if (!real_found())
        return -1;
    int ret = real_bind(fd, addr, len);
    if (ret == 0 || errno != EADDRINUSE || !cluster_net_is_own(addr.__sockaddr__, len))
        return ret;
    unsigned port = atomic_load(&own_port);
    log_info("store: cluster: the replication port %u is still in use (a process of this "
             "node reopening its store?); waiting for it", port);
    int err = EADDRINUSE;
    for (int waited = 0; ret != 0 && err == EADDRINUSE && waited < BIND_WAIT_MS;
         waited += BIND_STEP_MS) {
        struct timespec ts = { 0, BIND_STEP_MS * 1000000L };
        (void)nanosleep(&ts, NULL);
        ret = real_bind(fd, addr, len);
        err = ret == 0 ? 0 : errno;
    }
    if (ret != 0 && err == EADDRINUSE)
        log_err("store: cluster: the replication port %u stayed in use for %d s: is another "
                "program on it? This process cannot replicate", port, BIND_WAIT_MS / 1000);
    errno = err;
    return ret;
}

int listen(int fd, int backlog)
{
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    if (!real_found())
        return -1;
    memset(&a, 0, sizeof a);
    if (getsockname(fd, (struct sockaddr *)&a, &al) == 0 &&
        cluster_net_is_own((const struct sockaddr *)&a, al))
        nodelay(fd, "the replication listener");
    return real_listen(fd, backlog);
}
