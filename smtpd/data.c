/* data: the incremental DATA state machine (end only at <CRLF>.<CRLF>, dot-unstuffing,
 * CRLF -> LF, bare CR/LF detection against SMTP smuggling, size limit). See data.h. */
#include "data.h"

#include <string.h>

void data_init(struct data_machine *m, uint64_t max_size, data_sink_fn sink, void *ctx)
{
    memset(m, 0, sizeof *m);
    m->st = DS_BOL;
    m->max_size = max_size;
    m->sink = sink;
    m->ctx = ctx;
    hopcount_init(&m->hops);
}

static void flush(struct data_machine *m)
{
    if (m->outlen == 0)
        return;
    hopcount_feed(&m->hops, m->out, m->outlen);
    if (!m->sink_failed && !m->too_big && !m->bad_newline && m->sink &&
        m->sink(m->ctx, m->out, m->outlen) < 0)
        m->sink_failed = true;
    m->outlen = 0;
}

/* One message octet (LF stands for a CRLF line end and counts 2). */
static void emit(struct data_machine *m, char c)
{
    m->size += (c == '\n') ? 2 : 1;
    if (m->max_size && m->size > m->max_size) {
        m->too_big = true;
        m->outlen = 0;
    }
    if (m->too_big || m->sink_failed || m->bad_newline)
        return;     /* the message will be refused: keep reading, store nothing more */
    if (m->outlen == sizeof m->out)
        flush(m);
    m->out[m->outlen++] = c;
}

static void bad(struct data_machine *m)
{
    m->bad_newline = true;
    m->outlen = 0;
}

/* Mid-line octet c (the state is DS_MID or just left it). */
static void mid(struct data_machine *m, char c)
{
    if (c == '\r') {
        m->st = DS_CR;
    } else if (c == '\n') {
        bad(m);           /* bare LF: never a line end */
        m->st = DS_MID;
    } else {
        emit(m, c);
        m->st = DS_MID;
    }
}

static void step(struct data_machine *m, char c)
{
    switch (m->st) {
    case DS_BOL:
        if (c == '.')
            m->st = DS_DOT;
        else
            mid(m, c);
        break;
    case DS_DOT:            /* a dot at the start of a line: stuffing, or the end */
        if (c == '\r')
            m->st = DS_DOT_CR;
        else
            mid(m, c);      /* the first dot is dropped (RFC 5321 4.5.2) */
        break;
    case DS_DOT_CR:
        if (c == '\n') {
            m->st = DS_END;
        } else {
            bad(m);         /* "." CR not followed by LF: a bare CR */
            mid(m, c);
        }
        break;
    case DS_CR:
        if (c == '\n') {
            emit(m, '\n');
            m->st = DS_BOL;
        } else {
            bad(m);         /* bare CR */
            mid(m, c);
        }
        break;
    case DS_MID:
        mid(m, c);
        break;
    case DS_END:
        break;
    }
}

size_t data_feed(struct data_machine *m, const char *buf, size_t len, bool *done)
{
    size_t i = 0;

    *done = (m->st == DS_END);
    while (i < len && m->st != DS_END)
        step(m, buf[i++]);
    if (m->st == DS_END) {
        *done = true;
        flush(m);
    }
    return i;
}

void data_result(const struct data_machine *m, struct smtp_reply *r)
{
    if (m->bad_newline) {
        r->code = 550;
        r->enh = "5.6.0";
        r->text = "Message refused: bare CR or LF in message (use CRLF line endings)";
    } else if (m->too_big) {
        r->code = 552;
        r->enh = "5.3.4";
        r->text = "Message size exceeds fixed maximum message size";
    } else if (m->max_hops && m->hops.count > m->max_hops) {
        r->code = 554;
        r->enh = "5.4.6";
        r->text = "Too many hops";
    } else if (m->sink_failed) {
        r->code = 451;
        r->enh = "4.3.0";
        r->text = "Local error while storing the message";
    } else {
        r->code = 250;
        r->enh = "2.0.0";
        r->text = "OK";
    }
}
