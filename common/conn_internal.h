/* conn_internal: what server.c and conn.c share and protocols never see: the
 * reference-counted config generation (one per load/reload), the listener record,
 * and the calls server.c makes to create connections and conn.c makes back when a
 * connection is gone. */
#ifndef MS_CONN_INTERNAL_H
#define MS_CONN_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "server.h"

#define SRV_MAX_INSTANCES 64

typedef struct ssl_ctx_st SSL_CTX;
struct sockaddr;

/* One loaded config with this daemon's instances. refs: 1 while it is the config in
 * force, plus 1 per live connection accepted under it; freed when it drops to 0. */
struct cfgref {
    struct config *cfg;
    unsigned refs;
    enum inst_kind kind;          /* the daemon's (server_proto.kind) */
    const struct instance_common *inst[SRV_MAX_INSTANCES];   /* its instances, in config order */
    size_t ninst;
};

void cfgref_hold(struct cfgref *r);
void cfgref_release(struct cfgref *r);

/* Create the connection for an accepted socket (fd is owned from here on, also on
 * failure). tls_ctx != NULL starts an implicit-TLS handshake. NULL on failure. */
struct conn *conn_new(struct event_base *base, int fd, const struct sockaddr *peer,
                      struct cfgref *cref, size_t inst_idx, SSL_CTX *tls_ctx,
                      const struct server_proto *proto);
/* Refused at connect: no on_accept, no on_close; the framework writes via on_refuse. */
void conn_mark_refused(struct conn *c);
/* Accepted: on_accept is about to run; from here on_input/on_close apply. */
void conn_mark_accepted(struct conn *c);
bool conn_accepted(const struct conn *c);
/* The instance the connection arrived on, as the framework sees it. */
const struct instance_common *conn_server_instance(const struct conn *c);
/* Force the connection down now (shutdown timeout): no flush; on_close follows. */
void conn_abort(struct conn *c);
/* Every live connection of the calling thread's loop, for SIGTERM (on_shutdown) and
 * forced shutdown. */
struct conn *conn_first(void);
struct conn *conn_next(const struct conn *c);
size_t conn_live_count(void);
/* The TLS context used by conn_starttls (NULL: STARTTLS unavailable); conn.c keeps
 * its own reference, so the caller may free its one. */
void conn_set_tls_ctx(SSL_CTX *ctx);

/* server.c: called by conn.c after a connection is gone (on_close already ran),
 * to release its limit counters and, on shutdown, end the loop when none remain. */
void server_conn_gone(struct conn *c, bool counted);

#endif
