/* cluster_apply: the master's side of the replication channel: a forwarded write
 * (cluster_req.h) applied with the very store function the replica called, and the
 * answer filled in. Works on the store interface only (store.h), so it is tested on a
 * single-node store. The status request is store_bdb_rep.c's own. */
#ifndef MS_CLUSTER_APPLY_H
#define MS_CLUSTER_APPLY_H
#include "cluster_req.h"
#include "store.h"

/* Apply Q to ST; P gets the STORE_* code and the op's results. */
void cluster_apply(struct store *st, const struct creq *q, struct crep *p);

#endif
