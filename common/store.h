/* store: the shared user store (users, aliases, POP-auth IP cache, auth-failure table,
 * greylisting triplets).
 * A narrow interface that names no database type: the Berkeley DB 5.3 backend
 * lives in store_bdb.c; another backend (LMDB) would be a new file behind this header.
 *
 * One struct store per process, opened after any fork. It is safe to use from
 * several threads of one process at once. Every call runs in its own transaction,
 * retries deadlocks, and reopens the environment after a fatal error (DB_RUNRECOVERY),
 * so callers only see STORE_OK / STORE_NOTFOUND / STORE_EXISTS / STORE_ERROR
 * (and STORE_AGAIN on an event-loop thread, below).
 * Result codes (0 success, negative error, positive a named outcome): STORE_OK 0,
 * STORE_NOTFOUND and STORE_EXISTS are answers, STORE_ERROR (-1) is a failure,
 * STORE_AGAIN (negative) a refusal to wait.
 *
 * THE RULE: on a worker thread, or in a process without an event loop (userdb, the
 * queue runner, the admin commands), a call may block: it backs off (nanosleep) on
 * a lock conflict, may run the failchk health check, and may close, recover and
 * reopen the whole environment. On an event-loop thread (store_mark_loop_thread) a
 * call makes ONE attempt and never waits: where a worker would back off, check or
 * recover (a reopen under way, a health check due, a lock conflict, DB_RUNRECOVERY)
 * it returns STORE_AGAIN at once, and the caller redoes the work on the loop's
 * worker pool (workq.h), or answers 4xx when the work cannot be redone (smtpd's
 * MAIL/RCPT checks and CRAM-MD5/SCRAM-SHA-256 steps run in the loop first this way).
 * Slow work (yescrypt: PLAIN, LOGIN, USER/PASS) and waiting (the lockout gate's wait
 * for a slot) stay on workers regardless. */
#ifndef MS_STORE_H
#define MS_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipmatch.h"

enum {
    STORE_OK = 0,
    STORE_NOTFOUND = 1,
    STORE_EXISTS = 2,
    STORE_ERROR = -1,
    STORE_AGAIN = -2,             /* temporary, event-loop threads only: redo the work
                                   * on a worker (THE RULE above) */
};

#define STORE_ADDR_MAX 321        /* 64 + 1 + 255 + NUL */

struct store;

/* Event-loop threads mark themselves (ON while their loop runs): calls on such a
 * thread never wait (THE RULE above). */
void store_mark_loop_thread(bool on);
/* Whether this thread is marked as an event-loop thread. */
bool store_loop_thread(void);
/* Whether a call on this thread would now get past the environment (no reopen under
 * way, no routine health check due; a cheap look, the dead-process look is the call's
 * own): false on a loop thread tells to hand work that cannot be redone halfway (a
 * SASL verification) to a worker before it starts. Never waits. */
bool store_loop_ready(struct store *st);
/* True if a call on this thread answered STORE_AGAIN since the last look; clears it.
 * For code that sees store results only indirectly (policy lookups, the SASL
 * auxprop callback): its work is compromised and must be redone on a worker. */
bool store_take_again(void);

/* Open (creating if needed) the environment under DATA_DIR/db (mode 0700, files 0600).
 * Runs recovery by itself when a previous user of the environment died. */
int store_open(const char *data_dir, struct store **out);
void store_close(struct store *st);
/* The health check (status.h): the dead-process check (failchk) run now and one read
 * transaction. STORE_OK, or STORE_ERROR with what is wrong in msg. Workers and
 * processes without an event loop only. */
int store_health(struct store *st, char *msg, size_t len);
/* Checkpoint and remove logs no longer needed; call every minute or so from one daemon. */
void store_maintain(struct store *st);

/* Hot backup (store_bdb_backup.c): a consistent copy of the databases and their logs
 * into DIR (created if missing) while the daemons keep running. CLEAN: empty DIR
 * first (only for a DIR that holds an earlier backup). STORE_OK, or STORE_ERROR with
 * a message in err. */
int store_backup(struct store *st, const char *dir, bool clean, char *err, size_t errlen);
/* Restore the backup in SRC as DATA_DIR/db of a stopped server: refused while any
 * process has the store open; a non-empty DATA_DIR/db is first renamed to
 * DATA_DIR/db.before-restore-TIME (that name in moved, else ""); the files are copied
 * and recovered (catastrophic recovery replays the copied logs). Called without the
 * store open. STORE_OK, or STORE_ERROR with a message in err. */
int store_restore(const char *src, const char *data_dir, char *moved, size_t movedlen,
                  char *err, size_t errlen);

/* ---- replication ([cluster]: store_bdb_rep.c) ----
 * With a cluster the environment is one site of a Berkeley DB replication group: reads
 * are local, a write on a replica goes to the master over the replication channel (a
 * network wait: on an event-loop thread such a call answers STORE_AGAIN, and a worker
 * redoes it), and while no master exists (an election) a write waits up to 30 s. */
struct cluster_conf;
/* Before store_open, once per process: replicate as CC says (NULL or CC->on false: a
 * single node, exactly as without the call). CC is copied. */
void store_set_cluster(const struct cluster_conf *cc);
/* Before store_open: this process (a short-lived tool: userdb) never serves the node's
 * write channel (store_bdb_rep.c, store_writer.h), even when it happens to become the
 * replication listener; it hands its writes to the daemon that does. */
void store_cluster_no_writer(void);

enum { NODE_UNKNOWN, NODE_MASTER, NODE_REPLICA, NODE_ELECTING };
struct store_node {
    int64_t last_change;          /* unix time of the last master change it saw, 0 none */
    uint32_t lsn_file, lsn_offset;   /* the end of its log */
    int role;                     /* NODE_* */
    unsigned priority;
    bool self;
    bool reachable;               /* answered the status request */
    char addr[300];               /* host:port of its replication */
};
/* This node and every peer (asked over the channel; a peer that does not answer within
 * a second is !reachable). STORE_OK, or STORE_ERROR without a cluster. */
int store_cluster_status(struct store *st, struct store_node *out, size_t max, size_t *n);
/* The process is stopping: writes waiting for a master (an election) give up now. */
void store_stopping(void);
/* Commits of this process that the ack policy did not confirm (the replicas did not
 * acknowledge in time: the change is on this node, maybe not yet on the others). */
unsigned long store_cluster_unacked(void);

/* ---- users: key is the lower-case full address at the primary domain ---- */
struct user_rec {
    char address[STORE_ADDR_MAX];
    bool relay;                   /* "Relay Mail beyond this server" */
    bool enabled;
    bool no_mailbox;              /* relay-only account (userdb add --no-mailbox): no
                                   * Maildir, receives no mail, no POP3 login */
    char pwhash[160];             /* salted slow hash (password.h) */
    unsigned char cram_md5[32];   /* HMAC-MD5 precalc state, Cyrus layout */
    bool has_cram_md5;
    char scram_sha256[256];       /* RFC 5803 "SCRAM-SHA-256$iter:salt$stored:server" */
    int64_t created;              /* unix time */
};

int store_user_get(struct store *st, const char *address, struct user_rec *out);
/* Insert (if !replace and the user exists: STORE_EXISTS) or replace. */
int store_user_put(struct store *st, const struct user_rec *u, bool replace);
int store_user_del(struct store *st, const char *address);
/* Calls cb for every user in key order; stops early if cb returns non-zero. */
int store_user_list(struct store *st, int (*cb)(const struct user_rec *u, void *ctx), void *ctx);

/* ---- aliases: ALIAS (full address, lower case) -> TARGET address ---- */
int store_alias_get(struct store *st, const char *alias, char *target, size_t len);
int store_alias_put(struct store *st, const char *alias, const char *target, bool replace);
int store_alias_del(struct store *st, const char *alias);
int store_alias_list(struct store *st, int (*cb)(const char *alias, const char *target, void *ctx), void *ctx);

/* ---- POP-auth IP cache: client IP -> (user, time of login) ---- */
struct popauth_rec {
    struct ipaddr ip;
    char user[STORE_ADDR_MAX];
    int64_t time;
};
int store_popauth_put(struct store *st, const struct ipaddr *ip, const char *user, int64_t now);
int store_popauth_get(struct store *st, const struct ipaddr *ip, struct popauth_rec *out);
int store_popauth_list(struct store *st, int (*cb)(const struct popauth_rec *r, void *ctx), void *ctx);
int store_popauth_flush(struct store *st);
/* Delete entries with time < before. */
int store_popauth_purge(struct store *st, int64_t before);

/* ---- auth-failure table: client -> (failures, first failure, locked until) ----
 * Keyed per client (ipaddr_client_key): an IPv4 address, an IPv6 /64. Every
 * function here takes any address of the client and works on its key. */
struct authfail_rec {
    struct ipaddr ip;             /* the client key */
    unsigned failures;
    int64_t first_failure;
    int64_t locked_until;         /* 0 when not locked */
    unsigned inflight;            /* verifications reserved and not yet finished */
    int64_t inflight_at;          /* time of the latest reservation */
};
int store_authfail_get(struct store *st, const struct ipaddr *ip, struct authfail_rec *out);
/* Atomically record one failed login at NOW and apply the lockout rule
 * (lockout.h); the new state is written to *out if out != NULL. */
int store_authfail_record(struct store *st, const struct ipaddr *ip, int64_t now,
                          unsigned limit, unsigned window, unsigned lockout,
                          struct authfail_rec *out);
/* Atomically: unless the client is locked or its failures in the window plus the
 * verifications under way reach LIMIT (lockout_reserve), reserve one verification.
 * *granted tells which; STORE_OK either way. */
int store_authfail_reserve(struct store *st, const struct ipaddr *ip, int64_t now,
                           unsigned limit, unsigned window, unsigned lockout, bool *granted);
/* Atomically give a reservation back; FAILED also records the failure (one
 * transaction, lockout_release). The new state goes to *out if out != NULL. */
int store_authfail_release(struct store *st, const struct ipaddr *ip, int64_t now, bool failed,
                           unsigned limit, unsigned window, unsigned lockout,
                           struct authfail_rec *out);
int store_authfail_list(struct store *st, int (*cb)(const struct authfail_rec *r, void *ctx), void *ctx);
int store_authfail_clear(struct store *st, const struct ipaddr *ip);
/* Delete records whose window and lock are both over at NOW. */
int store_authfail_purge(struct store *st, int64_t now, unsigned window);

/* ---- greylisting triplets (greylist.h): (net, sender, rcpt) -> (first seen, last
 * seen, passed). The rule itself is greylist.h's; these calls keep the records. ---- */
#define GREYLIST_NET_MAX 64
struct greylist_rec {
    char net[GREYLIST_NET_MAX];   /* "192.0.2.0/24", "2001:db8::/64" */
    char sender[STORE_ADDR_MAX];  /* lower case, "" for the null sender */
    char rcpt[STORE_ADDR_MAX];    /* lower case */
    int64_t first_seen, last_seen;
    bool passed;
};
struct greylist_params;
/* Atomically look up R's triplet (net, sender, rcpt set by greylist_triplet), apply
 * greylist_decide at NOW and, unless DRY, store the result. R gets the record and
 * *outcome the GREYLIST_* outcome. */
int store_greylist_check(struct store *st, struct greylist_rec *r, int64_t now,
                         const struct greylist_params *p, bool dry, int *outcome);
int store_greylist_list(struct store *st, int (*cb)(const struct greylist_rec *r, void *ctx), void *ctx);
int store_greylist_flush(struct store *st);
/* Delete the triplets greylist_expired says have run out at NOW. */
int store_greylist_purge(struct store *st, int64_t now, const struct greylist_params *p);

#endif
