/* commands: POP3 command dispatch and the TRANSACTION-state commands (RFC 1939:
 * STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL) plus CAPA, one function each, over
 * the session's mailbox. RETR/TOP only start the reply; pop3_stream_pump sends it. */
#include "pop3.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sasl_glue.h"

void pop3_session_init(struct pop3_session *s)
{
    memset(s, 0, sizeof *s);
    s->state = P3S_AUTHORIZATION;
    s->msgfd = -1;
}

void pop3_session_free_state(struct pop3_session *s)
{
    if (s->msgfd >= 0)
        close(s->msgfd);
    s->msgfd = -1;
    mailbox_close(s->mb);
    s->mb = NULL;
    pop3_auth_end(s);
}

void pop3_emit(struct pop3_session *s, const void *data, size_t len)
{
    s->emit(s, data, len);
}

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 3)
        n = (int)(sizeof buf - 3);
    buf[n++] = '\r';
    buf[n++] = '\n';
    pop3_emit(s, buf, (size_t)n);
}

/* Message number argument of a live (not deleted) message, else -ERR and 0. */
static size_t msg_arg(struct pop3_session *s, const char *arg)
{
    unsigned long n;
    if (!pop3_parse_num(arg, &n)) {
        pop3_reply(s, "-ERR Invalid message number.");
        return 0;
    }
    const struct mbox_msg *m = mailbox_msg(s->mb, n);
    if (!m) {
        pop3_reply(s, "-ERR There's no message %lu.", n);
        return 0;
    }
    if (m->deleted) {
        pop3_reply(s, "-ERR Message is deleted.");
        return 0;
    }
    return n;
}

static void cmd_stat(struct pop3_session *s)
{
    size_t n;
    uint64_t oct;
    mailbox_stat(s->mb, &n, &oct);
    pop3_reply(s, "+OK %zu %" PRIu64, n, oct);
}

/* LIST and UIDL: one message or the whole scan listing. */
static void list_or_uidl(struct pop3_session *s, struct pop3_req *r, bool uidl)
{
    if (r->argc == 1) {
        size_t n = msg_arg(s, r->argv[0]);
        const struct mbox_msg *m = n ? mailbox_msg(s->mb, n) : NULL;
        if (m && uidl)
            pop3_reply(s, "+OK %zu %s", n, m->uidl);
        else if (m)
            pop3_reply(s, "+OK %zu %" PRIu64, n, m->size);
        return;
    }
    size_t cnt;
    uint64_t oct;
    mailbox_stat(s->mb, &cnt, &oct);
    if (uidl)
        pop3_reply(s, "+OK");
    else
        pop3_reply(s, "+OK %zu messages (%" PRIu64 " octets)", cnt, oct);
    for (size_t i = 1; i <= mailbox_count(s->mb); i++) {
        const struct mbox_msg *m = mailbox_msg(s->mb, i);
        if (m->deleted)
            continue;
        if (uidl)
            pop3_reply(s, "%zu %s", i, m->uidl);
        else
            pop3_reply(s, "%zu %" PRIu64, i, m->size);
    }
    pop3_emit(s, ".\r\n", 3);
}

/* RETR n / TOP n lines: open the file and send the status line; the text follows
 * through pop3_stream_pump. */
static void cmd_retr_top(struct pop3_session *s, struct pop3_req *r, bool top)
{
    unsigned long lines = 0;
    if (top && !pop3_parse_num(r->argv[1], &lines)) {
        pop3_reply(s, "-ERR Invalid number of lines.");
        return;
    }
    size_t n = msg_arg(s, r->argv[0]);
    if (!n)
        return;
    int fd = mailbox_open_msg(s->mb, n);
    if (fd < 0) {
        pop3_reply(s, "-ERR [SYS/TEMP] Cannot read message %zu.", n);
        return;
    }
    s->msgfd = fd;
    msgtext_enc_init(&s->conv, top ? (long)lines : -1);
    if (top) {
        pop3_reply(s, "+OK");
    } else {
        s->nretr++;
        pop3_reply(s, "+OK %" PRIu64 " octets", mailbox_msg(s->mb, n)->size);
    }
}

static void cmd_dele(struct pop3_session *s, struct pop3_req *r)
{
    size_t n = msg_arg(s, r->argv[0]);
    if (!n)
        return;
    if (mailbox_delete(s->mb, n) != MBOX_OK) {
        pop3_reply(s, "-ERR Message is deleted.");
        return;
    }
    s->ndele++;
    pop3_reply(s, "+OK Marked to be deleted.");
}

static void cmd_rset(struct pop3_session *s)
{
    size_t n;
    uint64_t oct;
    mailbox_undelete_all(s->mb);
    s->ndele = 0;
    mailbox_stat(s->mb, &n, &oct);
    pop3_reply(s, "+OK maildrop has %zu messages (%" PRIu64 " octets)", n, oct);
}

void pop3_capa_cmd(struct pop3_session *s)
{
    char buf[512];
    size_t n = pop3_capa(&s->pol, s->state, buf, sizeof buf);
    if (n == 0)
        pop3_reply(s, "-ERR [SYS/TEMP] Internal error.");
    else
        pop3_emit(s, buf, n);
}

bool pop3_streaming(const struct pop3_session *s)
{
    return s->msgfd >= 0;
}

bool pop3_stream_pump(struct pop3_session *s, size_t budget, bool *failed)
{
    char in[8192], out[2 * sizeof in + 8];
    size_t sent = 0;
    *failed = false;
    while (s->msgfd >= 0 && sent < budget) {
        ssize_t r = s->conv.done ? 0 : read(s->msgfd, in, sizeof in);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            *failed = true;
        if (r <= 0) {
            close(s->msgfd);
            s->msgfd = -1;
            if (!*failed)
                pop3_emit(s, out, msgtext_enc_finish(&s->conv, out));
            return true;
        }
        size_t used, w = msgtext_enc_run(&s->conv, in, (size_t)r, &used, out, sizeof out);
        pop3_emit(s, out, w);      /* out is large enough for all of in */
        sent += w;
    }
    return s->msgfd < 0;
}

static void dispatch(struct pop3_session *s, struct pop3_req *r)
{
    switch (r->cmd) {
    case P3_USER: pop3_cmd_user(s, r); break;
    case P3_PASS: pop3_cmd_pass(s, r); break;
    case P3_AUTH: pop3_cmd_auth(s, r); break;
    case P3_STLS: pop3_cmd_stls(s); break;
    case P3_QUIT: pop3_cmd_quit(s); break;
    case P3_CAPA: pop3_capa_cmd(s); break;
    case P3_STAT: cmd_stat(s); break;
    case P3_LIST: list_or_uidl(s, r, false); break;
    case P3_UIDL: list_or_uidl(s, r, true); break;
    case P3_RETR: cmd_retr_top(s, r, false); break;
    case P3_TOP: cmd_retr_top(s, r, true); break;
    case P3_DELE: cmd_dele(s, r); break;
    case P3_NOOP: pop3_reply(s, "+OK"); break;
    case P3_RSET: cmd_rset(s); break;
    case P3_UNKNOWN: pop3_reply(s, "-ERR Unknown command."); break;
    }
}

void pop3_execute(struct pop3_session *s, char *line)
{
    struct pop3_req r;
    switch (pop3_parse(line, s->state, &r)) {
    case P3P_OK:
        dispatch(s, &r);
        break;
    case P3P_UNKNOWN:
        pop3_reply(s, "-ERR Unknown command.");
        break;
    case P3P_BADARGS:
        pop3_reply(s, "-ERR Invalid arguments for %s.", pop3_cmd_name(r.cmd));
        break;
    case P3P_BADSTATE:
        if (s->state == P3S_TRANSACTION)
            pop3_reply(s, "-ERR Command not valid after login: %s.", pop3_cmd_name(r.cmd));
        else
            pop3_reply(s, "-ERR Not logged in: %s is valid only after login.", pop3_cmd_name(r.cmd));
        break;
    }
}
