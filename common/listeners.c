/* listeners: listening sockets (listeners.h). */
#include "listeners.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

static void resume_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd;
    (void)what;
    if (l->evl && evconnlistener_enable(l->evl) != 0)
        log_err("cannot resume accepting on %s:%d", l->host, l->port);
}

/* Out of descriptors or memory: the pending connection stays in the backlog and the
 * socket stays readable, so stop accepting for a second instead of spinning. */
static void accept_error_cb(struct evconnlistener *evl, void *arg)
{
    struct listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };

    log_err("accept on %s:%d: %s", l->host, l->port, evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        (void)evconnlistener_disable(evl);
        if (!l->ev_resume)
            l->ev_resume = evtimer_new(evconnlistener_get_base(evl), resume_accept_cb, l);
        if (!l->ev_resume || evtimer_add(l->ev_resume, &tv) != 0)
            (void)evconnlistener_enable(evl);
    }
}

static int bind_addr(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char pstr[16];
    int one = 1;

    snprintf(pstr, sizeof pstr, "%d", port);
    int r = getaddrinfo(host[0] ? host : NULL, pstr, &hints, &res);
    if (r != 0 || !res) {
        snprintf(err, errlen, "address %s:%d: %s", host, port, gai_strerror(r));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* TCP_NODELAY is inherited by the accepted sockets: each reply is written whole at the
     * end of its callback turn, and a reply in two pieces (a 20 KB RETR over TLS: a full
     * record and a short one) must not wait for the client's delayed ACK (40 ms) */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        (res->ai_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            (void)close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void listener_free(struct listener *l)
{
    if (l->ev_resume)
        event_free(l->ev_resume);
    if (l->evl)
        evconnlistener_free(l->evl);   /* closes the socket */
    else if (l->fd >= 0)
        (void)close(l->fd);
    free(l);
}

void listeners_free(struct listener *l)
{
    while (l) {
        struct listener *next = l->next;
        listener_free(l);
        l = next;
    }
}

int listener_start(struct listener *l, struct event_base *base, evconnlistener_cb cb)
{
    if (!l->listening && listen(l->fd, LISTEN_BACKLOG) != 0) {
        log_err("cannot listen on %s:%d: %s", l->host, l->port, strerror(errno));
        return -1;
    }
    l->listening = true;
    /* backlog 0: already listening (-1 would make libevent listen() again with 128) */
    l->evl = evconnlistener_new(base, cb, l, LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
    if (!l->evl) {
        log_err("cannot watch listener %s:%d", l->host, l->port);
        return -1;
    }
    evconnlistener_set_error_cb(l->evl, accept_error_cb);
    return 0;
}

bool listener_started(const struct listener *l)
{
    return l->evl != NULL;
}

static struct listener *take_listener(struct listener **list, const char *host, int port)
{
    for (struct listener **pp = list; *pp; pp = &(*pp)->next) {
        if ((*pp)->port == port && strcmp((*pp)->host, host) == 0) {
            struct listener *l = *pp;
            *pp = l->next;
            l->next = NULL;
            return l;
        }
    }
    return NULL;
}

void listeners_undo(struct listener *head, struct listener **old)
{
    while (head) {
        struct listener *l = head;
        head = l->next;
        if (l->evl && old) {
            l->next = *old;
            *old = l;
        } else {
            listener_free(l);
        }
    }
}

int listeners_for(const struct cfgref *r, struct listener **old, struct listener **out,
                  char *err, size_t errlen)
{
    struct listener *head = NULL, **tail = &head;

    for (size_t i = 0; i < r->ninst; i++) {
        const struct instance_common *si = r->inst[i];
        for (size_t j = 0; j < si->nlisten; j++) {
            const struct listen_addr *a = &si->listen[j];
            struct listener *l = old ? take_listener(old, a->host, a->port) : NULL;
            if (!l) {
                int fd = bind_addr(a->host, a->port, err, errlen);
                if (fd >= 0 && old && listen(fd, LISTEN_BACKLOG) != 0) {   /* reload */
                    snprintf(err, errlen, "cannot listen on %s:%d: %s", a->host, a->port,
                             strerror(errno));
                    (void)close(fd);
                    fd = -1;
                }
                if (fd < 0) {
                    size_t n = strlen(err);
                    snprintf(err + n, errlen - n, " (instance %s)", si->name);
                    goto fail;
                }
                l = xcalloc(1, sizeof *l);
                l->fd = fd;
                l->listening = old != NULL;
                str_copy(l->host, a->host, sizeof l->host);
                l->port = a->port;
            }
            l->inst_idx = i;
            *tail = l;
            tail = &l->next;
        }
    }
    *out = head;
    return 0;
fail:
    listeners_undo(head, old);
    return -1;
}
