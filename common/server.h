/* server: the daemon skeleton shared by smtpd and pop3d: command line (-c FILE, -f),
 * config load, listeners for every instance, bind then privilege drop to run_as_user,
 * the store and SASL opened once per process after that, the event loops (the main one
 * accepts; each connection is served by one loop per CPU, loops.h), per-instance
 * access control (allow/deny) and connection limits (total and per IP), idle timeouts,
 * SIGTERM (stop accepting, on_shutdown for live sessions, exit 0 within 10 s) and
 * SIGHUP (reload: new/changed listeners and policies for new sessions, live sessions
 * keep the old config, removed listeners close, a bad config is refused and logged;
 * tls_cert/tls_key are reread from disk and checked, through the root certificate
 * keeper when started as root (certkeeper.h, tls_load.h)). */
#ifndef MS_SERVER_H
#define MS_SERVER_H
#include <stdbool.h>

#include "config.h"
#include "conn.h"
#include "store.h"
#include "workq.h"

enum server_refusal { REFUSE_DENIED, REFUSE_TOO_MANY, REFUSE_TOO_MANY_IP };

struct server_proto {
    const char *ident;            /* "smtpd", "pop3d": log ident */
    /* The kind it serves (KIND_SMTP: every [smtp NAME] of the config is one instance);
     * the framework reads their struct instance_common (listen, tls, access lists,
     * limits, timeout), the protocol its kind's struct through conn_instance. */
    enum inst_kind kind;
    /* A new accepted connection: send the greeting, set up protocol state. */
    void (*on_accept)(struct conn *c);
    /* A connection refused at connect: write the one reply line (the framework closes). */
    void (*on_refuse)(struct conn *c, enum server_refusal why);
    void (*on_input)(struct conn *c);
    /* Idle timeout: write the reply (421 4.4.2 / -ERR) and call conn_close. */
    void (*on_timeout)(struct conn *c);
    /* SIGTERM: the session should say goodbye (421) and conn_close now if idle, or
     * as soon as its current work ends. */
    void (*on_shutdown)(struct conn *c);
    /* The connection is gone: free protocol state. */
    void (*on_close)(struct conn *c);
    /* Called once per process after the store and SASL are open, and after each reload. */
    int (*on_start)(const struct config *cfg);
    /* Checks of a config against the store (smtpd: the auth_fixed_user accounts exist):
     * 0, or -1 with the error in err, and the start or the reload is refused. Run at
     * start before the loops and, for a reload, on a worker thread (store.h); optional. */
    int (*check_store)(const struct config *cfg, struct store *st, char *err, size_t errlen);
    /* Options other than -c/-f (e.g. smtpd --check-config): return -1 if not handled,
     * else an exit code; called after the config is loaded, before binding. */
    int (*on_option)(int argc, char **argv, const char *cfgpath);
};

/* Run the daemon; returns the process exit code. */
int server_main(int argc, char **argv, const struct server_proto *proto);

/* Process-wide handles, valid after start. */
struct store *server_store(void);
struct workq *server_workq(void);           /* the calling loop's worker pool */

#endif
