/* conn: one client connection on the event loop (libevent bufferevents), plain or TLS,
 * with line input under a length cap, buffered output (replies to pipelined commands
 * leave together), STARTTLS upgrade, idle timeout and flow control while slow work runs.
 * Protocols (smtpd/session, pop3d/session) see only this interface. */
#ifndef MS_CONN_H
#define MS_CONN_H
#include <stdbool.h>
#include <stddef.h>

#include "ipmatch.h"

struct conn;
struct evbuffer;
struct event_base;

enum conn_line {
    CONN_LINE_NONE = 0,     /* no complete line yet */
    CONN_LINE_OK = 1,       /* a line in buf, its CRLF (or LF) stripped */
    CONN_LINE_TOOLONG = -1, /* a line over the limit: the whole line is discarded (up to its LF) */
};

/* Read one line of at most max octets (not counting CRLF) into buf (size > max). */
enum conn_line conn_getline(struct conn *c, char *buf, size_t max, size_t *len);
/* The raw input buffer (for SMTP DATA). */
struct evbuffer *conn_inbuf(struct conn *c);

void conn_write(struct conn *c, const void *data, size_t len);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send what is buffered, then close. No callback but on_close follows. */
void conn_close(struct conn *c);

/* Discard any input already received (RFC 3207: no plaintext after STARTTLS) and start
 * a server-side TLS handshake on this connection. -1 when TLS is not configured. */
int conn_starttls(struct conn *c);
bool conn_is_tls(const struct conn *c);
bool conn_tls_available(const struct conn *c);   /* a certificate is loaded */
/* The TLS parameters for the log and the Received: header (smtpd/received.h):
 * "VERSION:CIPHER", e.g. "TLSv1.3:TLS_AES_256_GCM_SHA384"; "TLS" before the handshake
 * ends; "" without TLS. */
const char *conn_tls_info(const struct conn *c);

/* Stop reading while a worker job runs for this session; resume afterwards (any input
 * that arrived meanwhile is delivered to on_input then). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* Streaming a large reply (POP3 RETR): bytes waiting in the output buffer, and a one-shot
 * callback once they have drained to at most lowmark octets (NULL cancels). */
size_t conn_outbuf_len(const struct conn *c);
void conn_when_drained(struct conn *c, void (*cb)(struct conn *c), size_t lowmark);

const struct ipaddr *conn_peer(const struct conn *c);
int conn_peer_port(const struct conn *c);
const char *conn_peer_str(const struct conn *c);   /* "192.0.2.1" */
const struct ipaddr *conn_local(const struct conn *c);
int conn_local_port(const struct conn *c);
unsigned long conn_id(const struct conn *c);        /* unique per process, for logs */

void conn_set_proto(struct conn *c, void *proto);
void *conn_proto(const struct conn *c);
/* The instance this connection arrived on, as its kind's struct (struct smtp_instance
 * for smtpd, struct pop3_instance for pop3d: server_proto.kind) of the config that was
 * in force at accept (stays valid until the connection closes), and that config. */
const void *conn_instance(const struct conn *c);
const struct config *conn_config(const struct conn *c);
struct event_base *conn_base(const struct conn *c);

#endif
