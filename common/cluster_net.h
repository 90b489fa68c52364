/* cluster_net: the socket options of Berkeley DB's replication connections (a bound on
 * a connection's SYN retries, Nagle off both ways) and a wait for this node's own port
 * while a process of the node still holds it, set by this module's connect(), bind()
 * and listen(), which stand in for the C library's (see cluster_net.c). */
#ifndef CLUSTER_NET_H
#define CLUSTER_NET_H

#include <stdbool.h>
#include <sys/socket.h>

#include "cluster_conf.h"

/* The sites of CC (NULL or no cluster: none) are the ones whose connections get the
 * options: the peers' ports for connect(), this node's own port for bind() and listen(). */
void cluster_net_watch(const struct cluster_conf *cc);

/* Whether a connection to SA (LEN bytes) goes to a watched peer's port (pure). */
bool cluster_net_is_site(const struct sockaddr *sa, socklen_t len);

/* Whether a socket bound to SA (LEN bytes) is on this node's replication port (pure). */
bool cluster_net_is_own(const struct sockaddr *sa, socklen_t len);

#endif
