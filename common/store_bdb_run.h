/* store_bdb_run: how one store call runs (store.h "THE RULE"): one transaction around
 * the operation; on a worker a lock conflict is retried after a backoff, the health
 * check runs first and DB_RUNRECOVERY reopens the environment; on an event-loop thread
 * one attempt that answers STORE_AGAIN where it would wait. Internal to store_bdb*.c. */
#ifndef MS_STORE_BDB_RUN_H
#define MS_STORE_BDB_RUN_H
#include <db.h>
#include <errno.h>
#include <stdint.h>

#include "store_bdb_env.h"

#define ERR_BADREC EINVAL          /* a record that does not decode */
#define TXN_NONE UINT32_MAX        /* run without a transaction (no locks taken) */

typedef int (*txn_fn)(struct store *st, DB_TXN *txn, void *ctx);

/* fn inside a transaction of TXN_FLAGS (TXN_NONE: none), as above: a STORE_* code, or
 * with a cluster STORE_NOTMASTER (store_bdb_rep.h) on a worker at a replica: the write
 * goes to the master (store_fwd). At a replica a loop thread gets STORE_AGAIN instead;
 * the master's dispatch of a forwarded write never waits for the environment lock. */
int store_run(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags);
/* A write (a call whose STORE_NOTMASTER goes to store_fwd): in a cluster node's
 * process that is not the node's writer, STORE_NOTMASTER at once, before any
 * transaction (store_fwd hands it to the writer; on a loop thread STORE_AGAIN: a worker
 * does); otherwise store_run. */
int store_run_write(struct store *st, txn_fn fn, void *ctx, u_int32_t txn_flags);
/* A Berkeley DB (or ERR_BADREC) code as a STORE_* code, errors logged. */
int store_map(int ret);

#endif
