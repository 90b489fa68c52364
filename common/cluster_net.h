/* cluster_net: a bound on how long a connection to another cluster node takes to fail
 * (see cluster_net.c). */
#ifndef CLUSTER_NET_H
#define CLUSTER_NET_H

#include <stdbool.h>
#include <sys/socket.h>

#include "cluster_conf.h"

/* The sites of CC (NULL: none) are the ones whose connections are bounded. */
void cluster_net_watch(const struct cluster_conf *cc);

/* Whether a connection to SA (LEN bytes) goes to a watched site's port (pure). */
bool cluster_net_is_site(const struct sockaddr *sa, socklen_t len);

#endif
