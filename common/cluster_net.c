/* cluster_net: a bound on how long a connection to another cluster node takes to fail.
 * Berkeley DB 5.3's replication manager connects with a blocking connect() and no
 * timeout of its own: to a node behind a partition (its packets dropped, nothing
 * refused) that waits out the kernel's SYN retries, about two minutes, and
 * DB_ENV->close waits for it (every userdb run on the nodes still up, a daemon's stop).
 * This connect() stands in for the C library's in our programs (libdb-5.3.so's calls
 * resolve to the executable's definition): a TCP connection to a cluster site's port
 * gets one SYN retransmission (TCP_SYNCNT 1: it fails after about 3 s; repmgr tries
 * again every second, DB_REP_CONNECTION_RETRY); every other connect() is unchanged, and
 * the call itself is the C library's (found with dlsym(RTLD_NEXT), as a cancellation
 * point and under the sanitizers' interceptors alike). */
#include "cluster_net.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"

static atomic_uint site_ports[CLUSTER_MAX_PEERS];

void cluster_net_watch(const struct cluster_conf *cc)
{
    for (size_t i = 0; i < CLUSTER_MAX_PEERS; i++)
        atomic_store(&site_ports[i], cc != NULL && cc->on && i < cc->npeers ? cc->peers[i].port : 0u);
}

bool cluster_net_is_site(const struct sockaddr *sa, socklen_t len)
{
    in_port_t port;
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        memcpy(&port, (const char *)sa + offsetof(struct sockaddr_in, sin_port), sizeof port);
    else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        memcpy(&port, (const char *)sa + offsetof(struct sockaddr_in6, sin6_port), sizeof port);
    else
        return false;
    for (size_t i = 0; i < CLUSTER_MAX_PEERS; i++) {
        unsigned p = atomic_load_explicit(&site_ports[i], memory_order_relaxed);
        if (p != 0 && p == ntohs(port))
            return true;
    }
    return false;
}

typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static connect_fn real_connect;

static void real_init(void)
{
    void *f = dlsym(RTLD_NEXT, "connect");
    memcpy(&real_connect, &f, sizeof real_connect);   /* object to function pointer */
}

int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    static const int syncnt = 1;
    const struct sockaddr *sa = addr.__sockaddr__;
    if (pthread_once(&real_once, real_init) != 0 || real_connect == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (cluster_net_is_site(sa, len) &&
        setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt) != 0)
        log_warn("store: cluster: cannot bound a connection's SYN retries: %s", strerror(errno));
    return real_connect(fd, addr, len);
}
