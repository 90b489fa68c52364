/* connlimit: who may connect to an instance: deny_clients/allow_clients, and the live
 * connection counts per instance and per (instance, client IP) behind
 * max_connections and max_connections_per_ip (an IPv6 client counts per /64). Counts are keyed by instance name, so
 * they carry over a reload. Pure bookkeeping, no I/O. */
#ifndef MS_CONNLIMIT_H
#define MS_CONNLIMIT_H

#include "ipmatch.h"
#include "server.h"

struct connlimit;

struct connlimit *connlimit_new(void);
void connlimit_free(struct connlimit *cl);

/* deny_clients/allow_clients of an instance: deny wins; a non-empty allow list must
 * match. The one access rule (the framework at connect, smtpd's connect check). */
bool connlimit_allowed(const struct instance_common *si, const struct ipaddr *ip);
/* -1 when the client may connect, else the refusal (enum server_refusal): access as
 * connlimit_allowed, then the limits; a limit of 0 means no limit. */
int connlimit_admit(const struct connlimit *cl, const struct instance_common *si,
                    const struct ipaddr *ip);
/* Count one admitted connection in, and out again when it is gone. */
void connlimit_add(struct connlimit *cl, const char *inst, const struct ipaddr *ip);
void connlimit_del(struct connlimit *cl, const char *inst, const struct ipaddr *ip);

unsigned connlimit_count(const struct connlimit *cl, const char *inst);
unsigned connlimit_count_ip(const struct connlimit *cl, const char *inst, const struct ipaddr *ip);

#endif
