/* pop3_session: the POP3 protocol on the connection framework: greeting, reading command
 * lines under the RFC 2449 length cap (AUTH continuation lines under SASLG_LINE_MAX),
 * streaming RETR/TOP as the output drains, pause/resume around worker jobs, idle
 * timeout, shutdown and refusal replies. */
#include "pop3_session.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ipmatch.h"
#include "log.h"
#include "sasl_glue.h"

#define STREAM_HIGH (256 * 1024)    /* stop filling the output above this ... */
#define STREAM_LOW (64 * 1024)      /* ... and go on once it drained to this */

#define MSG_SHUTDOWN "-ERR [SYS/TEMP] server shutting down"

static void conn_emit(struct pop3_session *s, const void *data, size_t len)
{
    conn_write(s->c, data, len);
}

void pop3_session_wait(struct pop3_session *s)
{
    s->busy = true;
    if (s->c)
        conn_pause(s->c);
}

void pop3_session_close(struct pop3_session *s, const char *line)
{
    if (s->closed)
        return;
    if (!s->busy) {                /* no job uses it: the mailbox lock goes before the */
        mailbox_close(s->mb);      /* last reply, so the client may log in again at once */
        s->mb = NULL;
    }
    if (line)
        pop3_reply(s, "%s", line);
    s->closed = true;
    if (s->c)
        conn_close(s->c);
}

void pop3_session_continue(struct pop3_session *s)
{
    s->busy = false;
    if (!s->c || s->closed)
        return;
    if (s->shutdown) {
        pop3_session_close(s, MSG_SHUTDOWN);
        return;
    }
    conn_resume(s->c);      /* input that waited is delivered to on_input */
}

/* Fill the output with the message being sent; true when the reply is complete. */
static bool stream_more(struct conn *c);

static void drained(struct conn *c)
{
    struct pop3_session *s = conn_proto(c);
    if (!s || s->closed)
        return;
    if (stream_more(c))
        pop3_on_input(c);
}

static bool stream_more(struct conn *c)
{
    struct pop3_session *s = conn_proto(c);
    bool failed = false, done = false;
    while (!done && conn_outbuf_len(c) < STREAM_HIGH)
        done = pop3_stream_pump(s, STREAM_LOW, &failed);
    if (!done) {
        conn_when_drained(c, drained, STREAM_LOW);
        return false;
    }
    if (failed) {
        log_err("pop3: read error while sending a message: ip=%s user=%s", conn_peer_str(c),
                s->user);
        pop3_session_close(s, NULL);
    } else if (s->shutdown) {
        pop3_session_close(s, MSG_SHUTDOWN);
    }
    return true;
}

void pop3_on_accept(struct conn *c)
{
    struct pop3_session *s = malloc(sizeof *s);
    if (!s) {
        conn_printf(c, "-ERR [SYS/TEMP] Out of memory\r\n");
        conn_close(c);
        return;
    }
    pop3_session_init(s);
    const struct pop3_instance *in = conn_instance(c);
    s->c = c;
    s->emit = conn_emit;
    s->cfg = conn_config(c);
    s->pol.tls = in->common.tls;
    s->pol.mechs = in->common.auth_mechs;
    s->pol.plaintext = in->common.plaintext_auth;
    s->pol.tls_active = conn_is_tls(c);
    s->pol.tls_available = conn_tls_available(c);
    s->pol.secure_net = iplist_match(s->cfg->secure_networks, conn_peer(c));
    conn_set_proto(c, s);
    pop3_reply(s, "+OK mailserver POP3 ready");
}

void pop3_on_input(struct conn *c)
{
    static __thread char line[SASLG_LINE_MAX + 2];   /* one per event loop */
    struct pop3_session *s = conn_proto(c);
    if (!s)
        return;
    while (!s->busy && !s->closed && !pop3_streaming(s)) {
        bool sasl = s->sasl_state != P3A_NONE;
        size_t len;
        enum conn_line r = conn_getline(c, line, sasl ? SASLG_LINE_MAX : POP3_LINE_MAX, &len);
        if (r == CONN_LINE_NONE)
            break;
        if (r == CONN_LINE_TOOLONG || strlen(line) != len) {
            if (sasl)
                pop3_auth_end(s);
            pop3_reply(s, "-ERR %s.", r == CONN_LINE_TOOLONG ? "Line too long" : "Invalid line");
            continue;
        }
        if (sasl)
            pop3_sasl_line(s, line);
        else
            pop3_execute(s, line);
        explicit_bzero(line, len);
        if (pop3_streaming(s) && !stream_more(c))
            break;
    }
}

void pop3_on_refuse(struct conn *c, enum server_refusal why)
{
    if (why == REFUSE_DENIED)
        conn_printf(c, "-ERR [SYS/PERM] access denied\r\n");
    else
        conn_printf(c, "-ERR [SYS/TEMP] too many connections\r\n");
}

void pop3_on_timeout(struct conn *c)
{
    struct pop3_session *s = conn_proto(c);
    if (!s) {
        conn_close(c);
        return;
    }
    /* in the middle of a message no status line may be sent */
    pop3_session_close(s, pop3_streaming(s) ? NULL
                                           : "-ERR [SYS/TEMP] autologout; idle for too long");
}

void pop3_on_shutdown(struct conn *c)
{
    struct pop3_session *s = conn_proto(c);
    if (!s) {
        conn_close(c);
        return;
    }
    s->shutdown = true;
    if (!s->busy && !pop3_streaming(s))
        pop3_session_close(s, MSG_SHUTDOWN);
}

void pop3_on_close(struct conn *c)
{
    struct pop3_session *s = conn_proto(c);
    if (!s)
        return;
    conn_set_proto(c, NULL);
    pop3_session_free_state(s);   /* a dropped session deletes nothing */
    explicit_bzero(s, sizeof *s);
    free(s);
}
