/* listeners: the listening sockets of a daemon's instances. Bound before the
 * privilege drop, listen()ed only when the loop serves (until then a client is
 * refused, not left in the backlog), kept open across a reload for addresses that stay,
 * and paused for a second when accept() runs out of descriptors. */
#ifndef MS_LISTENERS_H
#define MS_LISTENERS_H
#include <stdbool.h>
#include <stddef.h>

#include <event2/listener.h>

#include "conn_internal.h"

#define LISTEN_BACKLOG 1024

struct listener {
    struct listener *next;
    char host[128];
    int port;
    int fd;                       /* until evl takes it over */
    bool listening;
    struct evconnlistener *evl;
    struct event *ev_resume;      /* re-enables accepting after a descriptor shortage */
    size_t inst_idx;              /* the instance in the config generation */
};

/* Listeners for every address of every instance of R. Sockets already open in *OLD
 * for the same address are moved over (kept open; a reload); the rest are bound (and,
 * on a reload, listen()ed). On an error nothing is bound, what was taken from *OLD is
 * put back, and err names the address and the instance. */
int listeners_for(const struct cfgref *r, struct listener **old, struct listener **out,
                  char *err, size_t errlen);
/* Undo listeners_for: reused listeners go back to *OLD, new ones close. */
void listeners_undo(struct listener *head, struct listener **old);
/* Start accepting on L in BASE: cb(evl, fd, peer, len, l) per connection. */
int listener_start(struct listener *l, struct event_base *base, evconnlistener_cb cb);
bool listener_started(const struct listener *l);
/* Close every listener of the list. */
void listeners_free(struct listener *l);

#endif
