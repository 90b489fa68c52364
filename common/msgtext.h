/* msgtext: the one home of message-text conversions (pure, no I/O). Messages are stored
 * with LF line endings; on the wire (SMTP DATA, POP3 RETR/TOP) a line ends in CRLF and a
 * line starting with '.' gets one more '.'. A CR already before an LF is kept as the CR
 * of the CRLF. Used by the SMTP client, pop3d and the delivery's ",W=" size. Pure, but
 * for msgtext_fd_wire_size. */
#ifndef MS_MSGTEXT_H
#define MS_MSGTEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Streaming encoder: stored text -> CRLF, dot-stuffed, chunk by chunk. For POP3 TOP,
 * body_lines >= 0 stops after the header, the blank line and that many body lines. */
struct msgtext_enc {
    bool bol;            /* at the beginning of a line */
    bool prev_cr;        /* last input octet was CR */
    bool in_body;
    bool done;           /* TOP limit reached: further input is ignored */
    size_t line_len;     /* octets of the current line so far (CR included) */
    long body_left;      /* body lines still to send; -1 unlimited */
};

#define MSGTEXT_END_MAX 5   /* octets msgtext_enc_finish may write */

/* body_lines: -1 for the whole message. */
void msgtext_enc_init(struct msgtext_enc *e, long body_lines);
/* Encode input into out. Returns octets written; *used gets the input octets consumed.
 * outcap >= 2 * inlen always takes all the input; outcap >= 2 always makes progress. */
size_t msgtext_enc_run(struct msgtext_enc *e, const char *in, size_t inlen, size_t *used,
                       char *out, size_t outcap);
/* The end of the data: CRLF if the text did not end a line, then ".\r\n". Returns the
 * octets written to out (at most MSGTEXT_END_MAX). */
size_t msgtext_enc_finish(const struct msgtext_enc *e, char *out);

/* Length of the header section of msg (through its last header line, without the empty
 * line; or all of it), at most max octets, cut at a line end when possible. */
size_t msgtext_header_len(const char *msg, size_t len, size_t max);

/* Octets a stored text takes with CRLF line endings (what POP3 LIST and SMTP SIZE count:
 * no dot-stuffing, RFC 1939 and RFC 1870): len plus one per LF not preceded by CR.
 * prev_cr carries the state between chunks; start with false. */
uint64_t msgtext_wire_size(const char *buf, size_t len, bool *prev_cr);
/* The same for the first len octets of a file (pread, the offset is not moved).
 * 0, or -1 with errno (EIO when the file is shorter). */
int msgtext_fd_wire_size(int fd, uint64_t len, uint64_t *wire);

#endif
