/* store_bdb_env: internal to the Berkeley DB backend (store_bdb.c, store_bdb_env.c).
 * struct store itself, opening/reopening/closing the environment, and the health
 * check (DB_ENV->failchk) that every operation runs first. */
#ifndef MS_STORE_BDB_ENV_H
#define MS_STORE_BDB_ENV_H
#include <db.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

enum { DBI_USERS, DBI_ALIASES, DBI_POPAUTH, DBI_AUTHFAIL, DBI_GREYLIST, DBI_N };

struct store {
    pthread_rwlock_t rw;            /* read: an operation; write: closing/reopening */
    pthread_mutex_t chk_mu;         /* one failchk at a time in this process */
    char home[PATH_MAX];
    DB_ENV *env;                    /* NULL after a failed reopen */
    DB *db[DBI_N];
    unsigned long gen;              /* bumped by every reopen */
    _Atomic int64_t last_chk_ms;    /* monotonic time of the last failchk */
    int reg_fd;                     /* our own read-only fd on __db.register, -1 if none;
                                     * never closed while the environment is open: closing
                                     * any fd of a file drops this process's fcntl locks */
    dev_t region_dev;               /* the environment's first region file (__db.001) as */
    ino_t region_ino;               /* opened: another opener's recovery replaces it (the */
    int64_t region_btime_ns;        /* inode number may come back: its birth time, 0 if
                                     * the file system keeps none) */
    _Atomic bool others_recovery;   /* a panic from another process's recovery: being
                                     * reopened, Berkeley DB's own lines kept out of the log */
    _Atomic pid_t dead_seen[16];    /* dead registrants already handled (written under
                                     * chk_mu; read without it by store_env_check_due) */
    _Atomic unsigned ndead_seen;
    /* With [cluster] only: a thread that reopens the environment as soon as another
     * process's recovery replaced its regions (store_bdb_env.c, "the cluster's watch"). */
    pthread_t watch;
    pid_t watch_pid;                /* the process that runs it, 0 none */
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv;
    bool watch_stop;
};

/* Free what dead processes left behind (locks, transactions). FORCE: now;
 * otherwise when the registry shows a process that died since we last looked
 * (a pread and an F_GETLK per registrant: cheap enough for every operation) or
 * when no check ran for a second. Returns 0 or a DB error
 * (DB_RUNRECOVERY if only recovery can help).
 * Call with st->rw read-locked and st->env != NULL. */
int store_env_check(struct store *st, bool force);
/* Whether store_env_check(st, false) would run failchk now (the routine interval
 * over, here by SLACK_MS more; with REGISTRY also a new dead registrant); it records
 * nothing, takes no lock and never waits: the loop-thread mode of store_bdb.c
 * refuses the call instead. Call with st->rw read-locked and st->env != NULL. */
bool store_env_check_due(struct store *st, int64_t slack_ms, bool registry);
/* Close and reopen everything (running recovery) unless another thread already
 * did so since generation seen_gen. */
void store_env_reopen(struct store *st, unsigned long seen_gen);
/* After DB_REP_HANDLE_DEAD (a replica's sync with its master rolled back committed
 * transactions): the database handles, not the environment, are closed and opened
 * again, unless another thread did (SEEN_GEN). */
void store_dbs_reopen(struct store *st, unsigned long seen_gen);
/* Sleep a little, longer with each attempt (randomised). */
void store_backoff(unsigned attempt);

#endif
