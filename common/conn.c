/* conn: one client connection on a libevent bufferevent (plain, implicit TLS, or
 * upgraded by STARTTLS): capped line input, buffered output, close after flush,
 * idle timeout, pause/resume around worker jobs, drain notification.
 *
 * Lifetime rules (what protocols may rely on):
 *  - on_close runs exactly once for every accepted connection, never from inside a
 *    conn_* call: the end of a connection is always finished from the event loop.
 *  - conn_close sends what is buffered, then closes; nothing but on_close follows.
 *    A peer that does not take the rest within min(timeout, 30 s) is dropped.
 *  - Refused connections (allow/deny, limits) never see on_accept or on_close.
 *  - When the peer hangs up (EOF), input already received is still handed to the
 *    protocol (also after a pause), then the connection is closed as if by conn_close
 *    (what is buffered is still sent); on a socket error or write timeout it is dropped.
 *  - While paused (a worker job runs for the session) the connection is never
 *    finished: on_close waits until conn_resume or conn_close.
 *  - A line over the cap (CONN_LINE_TOOLONG) is reported once, when its LF arrives;
 *    everything up to that LF is discarded as it comes in.
 *  - Timeouts: `timeout` of silence ends a connection (bufferevent read timeout); and
 *    a line read with conn_getline must be complete within `timeout` of the moment
 *    conn_getline first saw part of it (slow-loris). Raw input (conn_inbuf, SMTP DATA)
 *    only has the silence rule: a big message on a slow link keeps flowing. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn_internal.h"
#include "log.h"
#include "util.h"

#define CONN_READ_HIGHMARK (64 * 1024)   /* stop reading above this much unconsumed input */
#define CONN_LINGER_MAX 30                /* seconds a closing connection may take to flush */

enum {                                    /* deferred work, run from the loop */
    DEF_INPUT = 1u,      /* deliver buffered input to on_input */
    DEF_FINISH = 2u,     /* finish the connection: on_close, free */
    DEF_DRAINED = 4u,    /* output already at or below the drain mark */
    DEF_STARTTLS = 8u,   /* plaintext reply sent: switch to TLS now */
    DEF_FLUSH = 16u,     /* plain connection: write what this turn queued, in one go */
};

struct conn {
    struct conn *prev, *next;            /* the live list */
    struct event_base *base;
    struct bufferevent *bev;
    int fd;
    bool fd_owned;                       /* we close fd (plain); TLS bevs close it themselves */
    const struct server_proto *proto;
    struct cfgref *cref;
    size_t inst_idx;
    unsigned long id;
    struct ipaddr peer, local;
    int peer_port, local_port;
    char peer_str[64];
    void *pstate;
    struct event *ev_defer;
    struct event *ev_line;               /* a partial line must complete before this fires */
    unsigned defer_what;
    bool tls, tls_pending, closing, dead, paused, refused, skipping, accepted;
    bool eof;                            /* the peer sent FIN: no more input will come */
    void (*drained_cb)(struct conn *c);
    size_t drained_low;
    char tls_info[96];
    char end_reason[64];
    time_t started;
};

static __thread struct conn *live_head;   /* per loop: a connection stays in its loop */
static __thread size_t live_count;
static unsigned long next_id = 1;
static pthread_mutex_t tls_mu = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *starttls_ctx;             /* our own reference, under tls_mu */

static void setup_bev(struct conn *c);
static void flush_now(struct conn *c);

/* ---- small helpers --------------------------------------------------------- */

/* ev_defer: made active (EV_READ) for deferred work; its timeout (EV_TIMEOUT) is the
 * linger limit of a closing connection. */
static void defer(struct conn *c, unsigned what)
{
    c->defer_what |= what;
    event_active(c->ev_defer, EV_READ, 0);
}

static size_t outlen(const struct conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* Nothing more will be sent: the output is empty, or the peer of a TLS connection hung
 * up. libevent's TLS bufferevent stops reading and writing at the peer's EOF (a
 * close_notify, or a bare FIN), so what is still buffered would never drain and the
 * close would wait for the linger limit (a client that completes the handshake and
 * leaves at once, before the greeting went out; a QUIT sent with close_notify). */
static bool flushed(const struct conn *c)
{
    return outlen(c) == 0 || (c->tls && c->eof);
}

static void set_write_lowmark(struct conn *c)
{
    size_t low = (c->drained_cb && !c->closing && !c->tls_pending) ? c->drained_low : 0;
    bufferevent_setwatermark(c->bev, EV_WRITE, low, 0);
}

static void set_reason(struct conn *c, const char *reason)
{
    if (!c->end_reason[0])
        str_copy(c->end_reason, reason, sizeof c->end_reason);
}

/* No partial line is being timed any more (line complete, input discarded, paused). */
static void line_timer_stop(struct conn *c)
{
    if (c->ev_line)
        (void)event_del(c->ev_line);
}

/* conn_getline saw part of a line: start its clock unless it already runs. */
static void line_timer_start(struct conn *c)
{
    unsigned t = conn_server_instance(c)->timeout;

    if (!c->ev_line || t == 0 || evtimer_pending(c->ev_line, NULL))
        return;
    struct timeval tv = { .tv_sec = t, .tv_usec = 0 };
    if (evtimer_add(c->ev_line, &tv) != 0)
        log_warn("conn: id=%lu cannot start the line timer", c->id);
}

/* The socket is unusable: stop all I/O now; finish once no job is in flight. */
static void drop(struct conn *c, const char *reason)
{
    if (!c->dead) {
        c->dead = true;
        set_reason(c, reason);
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        line_timer_stop(c);
    }
    if (!c->paused)
        defer(c, DEF_FINISH);
}

/* Begin an orderly close: no more input; finish after the output drained. */
static void begin_close(struct conn *c, const char *reason)
{
    if (c->closing || c->dead)
        return;
    c->closing = true;
    set_reason(c, reason);
    c->drained_cb = NULL;
    bufferevent_disable(c->bev, EV_READ);
    line_timer_stop(c);
    set_write_lowmark(c);
    unsigned t = conn_server_instance(c)->timeout;
    struct timeval tv = { .tv_sec = (t && t < CONN_LINGER_MAX) ? t : CONN_LINGER_MAX };
    if (event_add(c->ev_defer, &tv) != 0)
        log_warn("conn: id=%lu no linger limit", c->id);
    if (flushed(c) && !c->paused)
        defer(c, DEF_FINISH);
}

/* ---- finishing --------------------------------------------------------------- */

static void release_socket(struct conn *c)
{
    SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;

    if (ssl && !c->dead && SSL_is_init_finished(ssl))
        (void)SSL_shutdown(ssl);   /* best effort close_notify; non-blocking */
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->fd_owned && c->fd >= 0)
        (void)close(c->fd);
    c->fd = -1;
}

static void conn_finish(struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        live_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    live_count--;
    if (c->accepted && c->proto->on_close)
        c->proto->on_close(c);
    release_socket(c);
    log_info("disconnect: id=%lu ip=%s duration=%lds reason=%s", c->id, c->peer_str,
             (long)(time(NULL) - c->started), c->end_reason[0] ? c->end_reason : "closed");
    event_free(c->ev_defer);
    if (c->ev_line)
        event_free(c->ev_line);
    bool counted = !c->refused;
    server_conn_gone(c, counted);
    cfgref_release(c->cref);
    free(c);
}

void conn_abort(struct conn *c)
{
    set_reason(c, "shutdown");
    c->dead = true;
    c->paused = false;
    conn_finish(c);
}

/* ---- callbacks --------------------------------------------------------------- */

static void deliver_input(struct conn *c)
{
    if (c->closing || c->dead || c->paused || c->tls_pending || !c->accepted)
        return;
    c->proto->on_input(c);
    if (c->eof && !c->paused && !c->closing && !c->dead)
        begin_close(c, "peer closed");   /* all that came before the FIN was handled */
}

static void switch_to_tls(struct conn *c)
{
    pthread_mutex_lock(&tls_mu);
    SSL *ssl = starttls_ctx ? SSL_new(starttls_ctx) : NULL;
    pthread_mutex_unlock(&tls_mu);
    struct bufferevent *nb = NULL;

    if (ssl) {
        SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);  /* see conn_new */
        nb = bufferevent_openssl_socket_new(c->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!nb) {
        if (ssl)
            SSL_free(ssl);
        log_err("starttls: id=%lu cannot set up TLS", c->id);
        c->tls_pending = false;
        drop(c, "tls setup failed");
        return;
    }
    bufferevent_free(c->bev);      /* plain bev: does not close the fd */
    c->bev = nb;
    c->fd_owned = false;           /* the TLS bufferevent closes it */
    c->tls = true;
    c->tls_pending = false;
    setup_bev(c);
}

static void defer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    unsigned w = c->defer_what;

    (void)fd;
    if ((what & EV_TIMEOUT) && c->closing && !c->dead) {
        drop(c, "close timeout");      /* the peer does not take what we send */
        return;
    }
    c->defer_what = 0;
    if (w & DEF_FLUSH)
        flush_now(c);   /* first: a reply queued after the close began still goes out */
    if (w & DEF_FINISH) {
        if (!c->paused && (c->dead || (c->closing && flushed(c))))
            conn_finish(c);
        return;
    }
    if ((w & DEF_STARTTLS) && c->tls_pending && !c->dead)
        switch_to_tls(c);
    if ((w & DEF_DRAINED) && c->drained_cb && !c->closing && !c->dead &&
        outlen(c) <= c->drained_low) {
        void (*cb)(struct conn *) = c->drained_cb;
        c->drained_cb = NULL;
        set_write_lowmark(c);
        cb(c);
    }
    if (w & DEF_INPUT)
        deliver_input(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    if (c->closing || c->dead) {
        struct evbuffer *in = bufferevent_get_input(bev);
        (void)evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    deliver_input(c);
}

/* The output shrank to n octets (written by the bufferevent or by flush_now): finish a
 * STARTTLS switch or a close, or ask a streaming protocol for more. */
static void output_level(struct conn *c, size_t n)
{
    if (c->tls_pending && n == 0) {
        switch_to_tls(c);
        return;
    }
    if (c->closing) {
        if (n == 0 && !c->paused)
            defer(c, DEF_FINISH);
        return;
    }
    if (c->drained_cb && n <= c->drained_low) {
        void (*cb)(struct conn *) = c->drained_cb;
        c->drained_cb = NULL;
        set_write_lowmark(c);
        cb(c);
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    size_t n = evbuffer_get_length(bufferevent_get_output(bev));

    if (c->dead)
        return;
    if (!c->tls && n == 0)
        bufferevent_disable(bev, EV_WRITE);   /* back to writing at the end of each turn */
    output_level(c, n);
}

/* Plain connections write directly: what the protocol queued during one callback turn
 * goes out in one writev at its end, with no write-readiness round trip through epoll.
 * Only what the socket does not take at once is left to the bufferevent (EV_WRITE). */
static void flush_now(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (c->dead || c->tls || (bufferevent_get_enabled(c->bev) & EV_WRITE))
        return;
    if (evbuffer_get_length(out) > 0) {
        /* the bufferevent keeps the start of its output frozen: only its writer drains */
        (void)evbuffer_unfreeze(out, 1);
        int r = evbuffer_write(out, c->fd);
        int e = errno;
        (void)evbuffer_freeze(out, 1);
        if (r < 0 && e != EAGAIN && e != EWOULDBLOCK && e != EINTR) {
            drop(c, strerror(e));
            return;
        }
    }
    size_t n = evbuffer_get_length(out);
    if (n > 0 && bufferevent_enable(c->bev, EV_WRITE) != 0) {
        drop(c, "cannot wait for writing");
        return;
    }
    output_level(c, n);
}

/* Output was queued: on a plain connection not already waiting for the socket, write it
 * at the end of this turn. */
static void queued_output(struct conn *c)
{
    if (!c->tls && !(bufferevent_get_enabled(c->bev) & EV_WRITE))
        defer(c, DEF_FLUSH);
}

static void tls_connected(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

    if (!ssl)
        return;
    snprintf(c->tls_info, sizeof c->tls_info, "%s:%s", SSL_get_version(ssl),
             SSL_get_cipher_name(ssl));
    log_info("tls: id=%lu %s", c->id, c->tls_info);
}

/* Log the OpenSSL errors of this connection; the last one becomes the reason. */
static void tls_error_log(struct conn *c)
{
    unsigned long e;
    char buf[160];

    while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
        if (ERR_GET_LIB(e) == 0)
            continue;                  /* "system library" noise; errno tells the rest */
        ERR_error_string_n(e, buf, sizeof buf);
        log_info("tls error: id=%lu ip=%s %s", c->id, c->peer_str, buf);
        const char *r = ERR_reason_error_string(e);
        snprintf(c->end_reason, sizeof c->end_reason, "tls: %s", r ? r : "error");
    }
}

/* The client took too long (silence, or a line that never ends): the protocol says
 * goodbye (421 4.4.2 / -ERR), then an orderly close. */
static void read_timeout(struct conn *c, const char *why)
{
    log_info("timeout: id=%lu ip=%s %s", c->id, c->peer_str, why);
    set_reason(c, "timeout");
    if (c->proto->on_timeout)
        c->proto->on_timeout(c);
    if (!c->closing && !c->dead)
        begin_close(c, "timeout");
}

static void line_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    if (c->closing || c->dead || c->paused || c->tls_pending || !c->accepted)
        return;
    read_timeout(c, "line not completed in time");
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        tls_connected(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->tls && !c->tls_info[0]) {
            drop(c, "tls handshake timeout");
        } else if ((what & BEV_EVENT_READING) && !c->closing && !c->dead && c->accepted) {
            read_timeout(c, "idle");
        } else {
            drop(c, (what & BEV_EVENT_READING) ? "timeout" : "write timeout");
        }
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        int e = EVUTIL_SOCKET_ERROR();
        if (c->tls && !c->end_reason[0])
            tls_error_log(c);
        drop(c, e ? evutil_socket_error_to_string(e) : "error");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->eof = true;
        if (c->tls && !c->tls_info[0])
            drop(c, "peer closed during tls handshake");
        else if (!c->paused && !c->tls_pending)
            begin_close(c, "peer closed");
    }
}

static void setup_bev(struct conn *c)
{
    const struct instance_common *si = conn_server_instance(c);
    struct timeval tv = { .tv_sec = si->timeout, .tv_usec = 0 };

    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_READ_HIGHMARK);
    set_write_lowmark(c);
    if (si->timeout > 0)
        bufferevent_set_timeouts(c->bev, &tv, &tv);
    if (c->tls)
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    if (!c->tls)
        bufferevent_disable(c->bev, EV_WRITE);   /* flush_now writes; see there */
    else if (bufferevent_enable(c->bev, EV_WRITE) != 0)
        log_warn("conn: id=%lu cannot enable writing", c->id);
    if (!c->paused && !c->closing && bufferevent_enable(c->bev, EV_READ) != 0)
        log_warn("conn: id=%lu cannot enable reading", c->id);
}

/* ---- creation (server.c) ------------------------------------------------------ */

static void fill_addrs(struct conn *c, const struct sockaddr *peer)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    memset(&ss, 0, sizeof ss);
    memset(&c->peer, 0, sizeof c->peer);
    memset(&c->local, 0, sizeof c->local);
    if (ipaddr_from_sockaddr(peer, &c->peer) != 0)
        c->peer.family = AF_INET;
    if (peer->sa_family == AF_INET6)
        c->peer_port = ntohs(((const struct sockaddr_in6 *)(const void *)peer)->sin6_port);
    else
        c->peer_port = ntohs(((const struct sockaddr_in *)(const void *)peer)->sin_port);
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0 && sl <= sizeof ss) {
        if (ipaddr_from_sockaddr((struct sockaddr *)&ss, &c->local) != 0)
            c->local.family = AF_INET;
        if (ss.ss_family == AF_INET6)
            c->local_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            c->local_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    ipaddr_format(&c->peer, c->peer_str, sizeof c->peer_str);
}

struct conn *conn_new(struct event_base *base, int fd, const struct sockaddr *peer,
                      struct cfgref *cref, size_t inst_idx, SSL_CTX *tls_ctx,
                      const struct server_proto *proto)
{
    struct conn *c = calloc(1, sizeof *c);
    SSL *ssl = NULL;

    if (!c || !(c->ev_defer = event_new(base, -1, 0, defer_cb, c)) ||
        !(c->ev_line = evtimer_new(base, line_timer_cb, c)))
        goto fail;
    c->base = base;
    c->fd = fd;
    c->proto = proto;
    c->cref = cref;
    c->inst_idx = inst_idx;
    c->started = time(NULL);
    fill_addrs(c, peer);
    if (tls_ctx) {
        if (!(ssl = SSL_new(tls_ctx)))
            goto fail;
        /* an idle TLS session keeps no 16 KB read and write buffers: 10,000 sessions
         * held after STARTTLS were 330 MB PSS with them */
        SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
        c->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!c->bev)
            goto fail;
        c->tls = true;
    } else {
        c->bev = bufferevent_socket_new(base, fd, BEV_OPT_DEFER_CALLBACKS);
        if (!c->bev)
            goto fail;
        c->fd_owned = true;
    }
    c->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    cfgref_hold(cref);
    setup_bev(c);
    c->next = live_head;
    if (live_head)
        live_head->prev = c;
    live_head = c;
    live_count++;
    return c;
fail:
    log_err("conn: cannot set up a connection (out of memory?)");
    if (ssl)
        SSL_free(ssl);
    if (c && c->ev_defer)
        event_free(c->ev_defer);
    if (c && c->ev_line)
        event_free(c->ev_line);
    free(c);
    (void)close(fd);
    return NULL;
}

void conn_mark_refused(struct conn *c)
{
    c->refused = true;
    c->accepted = false;
    set_reason(c, "refused");
}

void conn_mark_accepted(struct conn *c)
{
    c->accepted = true;
}

bool conn_accepted(const struct conn *c)
{
    return c->accepted;
}

const struct instance_common *conn_server_instance(const struct conn *c)
{
    return c->cref->inst[c->inst_idx];
}

struct conn *conn_first(void)
{
    return live_head;
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

size_t conn_live_count(void)
{
    return live_count;
}

void conn_set_tls_ctx(SSL_CTX *ctx)
{
    if (ctx && SSL_CTX_up_ref(ctx) != 1)
        ctx = NULL;                /* cannot happen with OpenSSL 3; STARTTLS off then */
    pthread_mutex_lock(&tls_mu);
    SSL_CTX *old = starttls_ctx;
    starttls_ctx = ctx;
    pthread_mutex_unlock(&tls_mu);
    if (old)
        SSL_CTX_free(old);
}

static bool have_tls_ctx(void)
{
    pthread_mutex_lock(&tls_mu);
    bool have = starttls_ctx != NULL;
    pthread_mutex_unlock(&tls_mu);
    return have;
}

/* ---- the protocol interface (conn.h) ------------------------------------------- */

enum conn_line conn_getline(struct conn *c, char *buf, size_t max, size_t *len)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t eol_len = 0;

    *len = 0;
    buf[0] = '\0';
    if (c->dead)
        return CONN_LINE_NONE;
    struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
    if (p.pos < 0) {
        size_t have = evbuffer_get_length(in);
        if (c->skipping || have > 0)
            line_timer_start(c);                /* part of a line: its clock runs */
        else
            line_timer_stop(c);
        if (c->skipping || have > max + 1) {   /* +1: a CR may still be followed by LF */
            (void)evbuffer_drain(in, have);
            c->skipping = true;
        }
        return CONN_LINE_NONE;
    }
    line_timer_stop(c);                         /* a whole line is here */
    size_t n = (size_t)p.pos;
    size_t content = n;
    if (n > 0 && !c->skipping) {
        struct evbuffer_ptr q;
        char last = 0;
        if (evbuffer_ptr_set(in, &q, n - 1, EVBUFFER_PTR_SET) == 0 &&
            evbuffer_copyout_from(in, &q, &last, 1) == 1 && last == '\r')
            content = n - 1;
    }
    if (c->skipping || content > max) {
        (void)evbuffer_drain(in, n + 1);
        c->skipping = false;
        return CONN_LINE_TOOLONG;
    }
    if (content > 0 && evbuffer_remove(in, buf, content) != (int)content)
        return CONN_LINE_NONE;
    (void)evbuffer_drain(in, n + 1 - content);   /* the CR (if any) and the LF */
    buf[content] = '\0';
    n = content;
    *len = n;
    return CONN_LINE_OK;
}

struct evbuffer *conn_inbuf(struct conn *c)
{
    return bufferevent_get_input(c->bev);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->dead || len == 0)
        return;
    if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0)
        drop(c, "out of memory");
    else
        queued_output(c);
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (c->dead)
        return;
    va_start(ap, fmt);
    r = evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
    va_end(ap);
    if (r < 0)
        drop(c, "out of memory");
    else
        queued_output(c);
}

void conn_close(struct conn *c)
{
    c->paused = false;             /* the protocol is done with this session */
    if (c->dead) {
        defer(c, DEF_FINISH);
        return;
    }
    if (c->closing) {
        if (flushed(c))
            defer(c, DEF_FINISH);
        return;
    }
    begin_close(c, "closed");
}

int conn_starttls(struct conn *c)
{
    if (c->tls || c->tls_pending || c->closing || c->dead || !have_tls_ctx())
        return -1;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    (void)evbuffer_drain(in, evbuffer_get_length(in));   /* RFC 3207, CVE-2011-0411 */
    c->skipping = false;
    line_timer_stop(c);
    bufferevent_disable(c->bev, EV_READ);
    c->tls_pending = true;
    set_write_lowmark(c);
    if (outlen(c) == 0)
        defer(c, DEF_STARTTLS);
    return 0;
}

bool conn_is_tls(const struct conn *c)
{
    return c->tls || c->tls_pending;
}

bool conn_tls_available(const struct conn *c)
{
    (void)c;
    return have_tls_ctx();
}

const char *conn_tls_info(const struct conn *c)
{
    return c->tls_info[0] ? c->tls_info : (conn_is_tls(c) ? "TLS" : "");
}

void conn_pause(struct conn *c)
{
    c->paused = true;
    line_timer_stop(c);            /* restarts when conn_getline next sees a partial line */
    if (!c->dead && !c->closing)
        bufferevent_disable(c->bev, EV_READ);
}

void conn_resume(struct conn *c)
{
    if (!c->paused)
        return;
    c->paused = false;
    if (c->dead || (c->closing && flushed(c))) {
        defer(c, DEF_FINISH);
        return;
    }
    if (c->closing)
        return;
    if (!c->tls_pending && bufferevent_enable(c->bev, EV_READ) != 0)
        log_warn("conn: id=%lu cannot enable reading", c->id);
    if (c->eof || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        defer(c, DEF_INPUT);
}

size_t conn_outbuf_len(const struct conn *c)
{
    return outlen(c);
}

void conn_when_drained(struct conn *c, void (*cb)(struct conn *c), size_t lowmark)
{
    if (c->closing || c->dead)
        return;
    c->drained_cb = cb;
    c->drained_low = lowmark;
    set_write_lowmark(c);
    if (cb && outlen(c) <= lowmark)
        defer(c, DEF_DRAINED);
}

const struct ipaddr *conn_peer(const struct conn *c) { return &c->peer; }
int conn_peer_port(const struct conn *c) { return c->peer_port; }
const char *conn_peer_str(const struct conn *c) { return c->peer_str; }
const struct ipaddr *conn_local(const struct conn *c) { return &c->local; }
int conn_local_port(const struct conn *c) { return c->local_port; }
unsigned long conn_id(const struct conn *c) { return c->id; }
void conn_set_proto(struct conn *c, void *proto) { c->pstate = proto; }
void *conn_proto(const struct conn *c) { return c->pstate; }
const void *conn_instance(const struct conn *c)
{
    return config_instance(c->cref->cfg, c->cref->kind, c->inst_idx);
}
const struct config *conn_config(const struct conn *c) { return c->cref->cfg; }
struct event_base *conn_base(const struct conn *c) { return c->base; }
