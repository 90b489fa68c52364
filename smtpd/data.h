/* data: the SMTP DATA state machine (RFC 5321 4.1.1.4, 4.5.2) over raw input chunks.
 * Ends only at <CRLF>.<CRLF> (the CRLF ending the DATA command counts as the first
 * CRLF, so ".\r\n" right away is an empty message); removes dot-stuffing; stores lines
 * with LF endings through a caller-provided sink. A bare CR or bare LF anywhere marks
 * the message bad (SMTP smuggling): it is read on to the real <CRLF>.<CRLF> and nothing
 * inside is ever taken as the end or as a command; the result is 550 5.6.0. Over the
 * size limit it stops storing but keeps reading; the result is 552 5.3.4. Lines longer
 * than 998 octets are kept as sent. Chunk boundaries may fall anywhere. The Received:
 * lines of the header section are counted (received.h) against max_hops.
 * Pure code: the only output is the sink. */
#ifndef MS_DATA_H
#define MS_DATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "received.h"
#include "smtp_parse.h"

/* Receives message bytes (LF line endings, dots unstuffed), in order. Return 0, or -1
 * on a write error: storing stops, the machine keeps reading to the end, and the
 * result is 451 4.3.0. */
typedef int (*data_sink_fn)(void *ctx, const char *buf, size_t len);

enum data_state { DS_BOL, DS_DOT, DS_DOT_CR, DS_MID, DS_CR, DS_END };

#define DATA_OUTBUF 8192

struct data_machine {
    enum data_state st;
    uint64_t size;          /* message size in octets with CRLF line endings, unstuffed */
    uint64_t max_size;      /* 0 = no limit */
    bool bad_newline;       /* a bare CR or LF was seen */
    bool too_big;
    bool sink_failed;
    unsigned max_hops;      /* 0 = no limit; set after data_init */
    struct hopcount hops;   /* Received: lines of the header section */
    data_sink_fn sink;
    void *ctx;
    size_t outlen;
    char out[DATA_OUTBUF];  /* batches output for the sink */
};

void data_init(struct data_machine *m, uint64_t max_size, data_sink_fn sink, void *ctx);

/* Feed LEN bytes. Returns how many were consumed: all of them unless the end of data
 * was reached, in which case it stops right after the final ".\r\n" (the rest is the
 * next pipelined command) and *done is set. Output is flushed to the sink at the end. */
size_t data_feed(struct data_machine *m, const char *buf, size_t len, bool *done);

/* After done: the reply to give. code 250 (enh "2.0.0", caller adds its own text) when
 * the message is good and stored; else 550 5.6.0 (bare CR/LF, takes precedence),
 * 552 5.3.4 (too big), 554 5.4.6 (more than max_hops Received: header lines: a mail
 * loop; SPEC "SMTP"), 451 4.3.0 (sink failed). */
void data_result(const struct data_machine *m, struct smtp_reply *r);

#endif
