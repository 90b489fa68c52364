/* store_bdb_rep: replication of the Berkeley DB store ([cluster], cluster_conf.h) with
 * Berkeley DB 5.3's replication manager: the sites, the ack policy and the timeouts
 * set before the environment opens, repmgr started after (the first process of a node
 * to start it listens on the node's port, the others are subordinate: they write at
 * the master and send on channels, but do not listen), the role changes logged, and
 * the message channel: a replica's write goes to the master as a cluster_req request,
 * which the master's dispatch applies (cluster_apply.c). Internal to store_bdb*.c. */
#ifndef MS_STORE_BDB_REP_H
#define MS_STORE_BDB_REP_H
#include <db.h>
#include <stdbool.h>

#include "cluster_req.h"
#include "store_bdb_env.h"

/* Internal result of store_run on a replica's worker: the write must go to the master. */
#define STORE_NOTMASTER (-3)

/* Whether this process replicates ([cluster] given to store_set_cluster). */
bool store_rep_on(void);
/* Whether the process is stopping (store_stopping): waits for the cluster give up. */
bool store_rep_stopping(void);
/* Before DB_ENV->open: sites, policies, callbacks. HOME is the environment's. */
int store_rep_configure(DB_ENV *env, const char *home);
/* After DB_ENV->open: start repmgr (DB_REP_IGNORE in a subordinate process is fine). */
int store_rep_start(DB_ENV *env);
/* Before the environment closes: the kept channels to the master closed (CLOSE_THEM),
 * or only forgotten (a panicked environment, discarded). */
void store_rep_drop_channels(bool close_them);
/* The process's store, for the master's dispatch of forwarded writes (NULL: none). */
void store_rep_attach(struct store *st);
/* Whether this thread's writes go to the node's writer (store_writer.h): a cluster, a
 * process that is not the writer, not in the dispatch nor in a write of its own. */
bool store_rep_delegates(void);

/* Called by the recovery watch (store_bdb_env.c) outside the store's lock: a process
 * that served the node's write channel but no longer listens (a reopen after another
 * process's recovery left the listener's role to that one) stops serving it, so that
 * its writes, and its clients', go to the new writer. */
void store_rep_tick(void);
/* True on a thread running the dispatch of a forwarded write: it must not wait for
 * the environment's lock (store_bdb_run.c) nor forward again. */
bool store_rep_in_dispatch(void);
/* Before a commit (store_bdb_run.c): in the dispatch of a forwarded write, the commit's
 * token is kept for the answer (the replica waits until its copy has it). */
void store_rep_before_commit(DB_TXN *txn);
/* Send Q to the master and wait for its answer in P, retrying while there is no master
 * (an election) for up to 30 s with a log line; the STORE_* code of the answer. Never
 * on an event-loop thread (store.h: a network wait). */
int store_rep_forward(struct store *st, const struct creq *q, struct crep *p);

/* The arguments of one forwarded write (the fields of struct creq it uses). */
struct creq_args {
    uint8_t op, sub;
    bool flag;
    const struct ipaddr *ip;
    int64_t t;
    uint32_t u[3];
    const void *s1, *s2;
    size_t s1len, s2len;
};
/* store_bdb.c's writes: R is what the local attempt gave; unless STORE_NOTMASTER it is
 * the answer, otherwise the request A goes to the node's writer (store_rep_delegates:
 * store_run_write answered STORE_NOTMASTER without a transaction) or, from the writer
 * or without one, to the master (store_rep_forward); REP, if not NULL, gets the answer. */
int store_fwd(struct store *st, int r, const struct creq_args *a, struct crep *rep);

#endif
