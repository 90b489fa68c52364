/* smtp_parse: the SMTP command parser (RFC 5321 4.1): a command line -> verb + argument,
 * MAIL FROM / RCPT TO with their ESMTP parameters (SIZE, BODY, AUTH), the EHLO/HELO
 * argument and the AUTH command's mechanism and initial response.
 * Pure code: no I/O. Errors come back as a ready-made reply (code, enhanced code, text). */
#ifndef MS_SMTP_PARSE_H
#define MS_SMTP_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Longest command line (RFC 5321 4.5.3.1.4: 512 octets including CRLF). The session
 * reads lines of at most SMTP_LINE_MAX - 2 octets; longer ones get 500 5.5.2. */
#define SMTP_LINE_MAX 512

enum smtp_verb {
    SMTP_UNKNOWN = 0,
    SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET, SMTP_NOOP,
    SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP, SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT,
};

/* A reply: code 0 means "no error". Strings are static. */
struct smtp_reply {
    int code;
    const char *enh;    /* "5.5.4" */
    const char *text;   /* "Syntax error" */
};

struct smtp_cmd {
    enum smtp_verb verb;
    char name[16];      /* the verb as sent, upper case (for "502 5.5.1 X not implemented") */
    const char *arg;    /* after the verb and one or more spaces; "" if none. Points into line. */
};

/* Split LINE (NUL-terminated, CRLF already stripped). Verbs are case-insensitive.
 * Returns 0, or -1 with r = 500 5.5.2 for an empty line or a line with a NUL/control
 * character (other than TAB) in it; an unknown verb is not an error (verb SMTP_UNKNOWN). */
int smtp_parse_line(const char *line, size_t len, struct smtp_cmd *out, struct smtp_reply *r);

/* Does a command take no argument (DATA, RSET, QUIT, STARTTLS)? If arg is not empty,
 * r = 501 5.5.4 "Syntax error: no parameters allowed" and -1. NOOP/HELP/VRFY accept any. */
int smtp_check_noarg(const struct smtp_cmd *c, struct smtp_reply *r);

enum smtp_body { BODY_NONE = 0, BODY_7BIT, BODY_8BITMIME };

struct smtp_mail {
    struct mailaddr addr;
    bool has_size;
    uint64_t size;                 /* SIZE=n */
    enum smtp_body body;           /* BODY= */
    bool has_auth;
    char auth[ADDR_PATH_MAX + 1];  /* AUTH=xtext as sent ("<>" possible); informational */
};

struct smtp_rcpt {
    struct mailaddr addr;
};

/* ARG is the text after "MAIL": "FROM:<path> [params]". max_size: reject SIZE above it
 * with 552 5.3.4 (0 = no check). Errors: 501 5.5.4 (no FROM:), 501 5.1.7 (bad sender
 * address or too long), 555 5.5.4 (unknown parameter), 501 5.5.4 (bad parameter value
 * or a parameter given twice). Returns 0 or -1. */
int smtp_parse_mail(const char *arg, uint64_t max_size, struct smtp_mail *out,
                    struct smtp_reply *r);

/* ARG is the text after "RCPT": "TO:<path>". <> is refused, bare <postmaster> accepted.
 * Errors: 501 5.5.4 (no TO:), 501 5.1.3 (bad address), 555 5.5.4 (any parameter: none
 * are supported). Returns 0 or -1. */
int smtp_parse_rcpt(const char *arg, struct smtp_rcpt *out, struct smtp_reply *r);

/* EHLO/HELO argument: one domain or address literal (any printable token is accepted,
 * as Postfix does by default; anything after it is ignored). Copies it to name.
 * Empty -> 501 5.5.4. Returns 0 or -1. */
int smtp_parse_helo(const char *arg, char *name, size_t namelen, struct smtp_reply *r);

/* AUTH argument: "MECH [initial-response]". mech gets the mechanism in upper case;
 * *initial points into arg at the initial response as sent ("=" = empty, per RFC 4954)
 * or is NULL when there is none. No mechanism or more than two words -> 501 5.5.4. */
int smtp_parse_auth(const char *arg, char *mech, size_t mechlen, const char **initial,
                    struct smtp_reply *r);

#endif
