/* store_writer: a cluster node's one writer. Berkeley DB 5.3 gives the replicas'
 * acknowledgements to the process that listens on the node's replication port only, so
 * a commit made by any other process of the node learns of them late (~0.4 s). The
 * listener therefore serves a local channel, a unix socket DATA_DIR/run/store-writer.sock
 * (mode 0600: the daemons and userdb all run as run_as_user), and every other process
 * of the node (subordinate pop3d or smtpd, userdb) hands its store writes to it instead
 * of committing itself. Requests and answers are cluster_req's creq/crep, each framed
 * with a 4-octet big-endian length; the writer applies a request with cluster_apply (a
 * local commit at the master, the repmgr channel at a replica). One thread per client
 * connection (a client keeps one per thread). Internal to store_bdb_rep.c, which picks
 * the transport; without [cluster] nothing here runs. */
#ifndef MS_STORE_WRITER_H
#define MS_STORE_WRITER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cluster_req.h"

struct store;

#define SW_HDR 4                                  /* the length prefix */
#define SW_FRAME_MAX (SW_HDR + CREQ_WIRE_MAX)

/* ---- framing (pure) ---- */
/* Q (P) framed into BUF: the frame's length, or 0 if it does not fit. */
size_t sw_frame_req(const struct creq *q, uint8_t *buf, size_t len);
size_t sw_frame_rep(const struct crep *p, uint8_t *buf, size_t len);
/* The payload length a frame header announces, or 0 if it is out of range (0, or over
 * CREQ_WIRE_MAX): the connection is then dropped. */
size_t sw_frame_len(const uint8_t hdr[SW_HDR]);
/* Whether applying Q twice leaves the store as applying it once and answers alike (a
 * replace, a POP-auth record, a purge): such a request is redone when the writer died
 * before answering; any other then fails (its outcome is unknown). */
bool sw_idempotent(const struct creq *q);

/* What the writer tells about itself (a CREQ_STATUS request on the local channel). */
struct sw_info {
    pid_t pid;
    uint64_t served;              /* requests applied since it started */
    uint32_t conns;               /* client connections open now */
};
size_t sw_info_encode(const struct sw_info *i, uint8_t *buf, size_t len);
int sw_info_decode(const uint8_t *buf, size_t len, struct sw_info *i);

/* The channel's path for DATA_DIR into BUF; false if it does not fit a socket address. */
bool sw_path(const char *data_dir, char *buf, size_t len);

/* ---- the writer (the node's listener process) ---- */
/* Serve PATH for ST: bind a fresh socket and rename it over PATH (a new writer takes
 * over from a dead one's leftover), start the accepting thread. 0, or -1 (logged: the
 * node's other processes then write themselves). */
int store_writer_start(struct store *st, const char *path);
/* Stop serving: no new connection, the open ones shut down and their threads joined
 * (a request being applied ends first); PATH removed if still ours. */
void store_writer_stop(void);
/* Whether this process serves the channel (its own writes then commit directly). */
bool store_writer_serving(void);
/* In the child after fork (pthread_atfork, store_bdb_rep.c): the parent's writer and
 * this thread's connection are the parent's; the child has neither (its descriptors
 * closed, nothing shut down), and opens its own store. */
void store_writer_forget(void);

/* ---- a client (any other process of the node) ---- */
enum { SW_OK = 0, SW_UNREACHED = 1, SW_UNKNOWN = 2 };
/* Q to the writer at PATH over this thread's connection (made or remade as needed),
 * its answer in P. SW_OK; SW_UNREACHED: no writer took the request (nothing applied);
 * SW_UNKNOWN: the writer went away (or took over 40 s) before answering, the request
 * may or may not have been applied. Never on an event-loop thread. */
int store_writer_call(const char *path, const struct creq *q, struct crep *p);
/* Whether a writer answers at PATH now (this thread's connection, kept for its calls). */
bool store_writer_reachable(const char *path);
/* The writer's own figures, over a connection of its own. 0, or -1 (none answers). */
int store_writer_query(const char *path, struct sw_info *out);

#endif
