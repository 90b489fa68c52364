/* pop3_parse: POP3 command lines (RFC 1939, 2449, 2595, 5034) as pure code: the keyword
 * table with argument counts and the states each command is valid in, in-place
 * tokenising, and message-number parsing. No I/O. */
#ifndef MS_POP3_PARSE_H
#define MS_POP3_PARSE_H
#include <stdbool.h>

/* RFC 2449: a command line is at most 255 octets (CRLF not counted here). */
#define POP3_LINE_MAX 255

enum pop3_state { P3S_AUTHORIZATION, P3S_TRANSACTION, P3S_UPDATE };

enum pop3_cmd {
    P3_USER, P3_PASS, P3_STAT, P3_LIST, P3_RETR, P3_DELE, P3_NOOP, P3_RSET,
    P3_QUIT, P3_TOP, P3_UIDL, P3_CAPA, P3_STLS, P3_AUTH, P3_UNKNOWN,
};

enum pop3_parse_result {
    P3P_OK = 0,
    P3P_UNKNOWN = -1,    /* no such command */
    P3P_BADARGS = -2,    /* wrong number of arguments */
    P3P_BADSTATE = -3,   /* not valid in this state */
};

struct pop3_req {
    enum pop3_cmd cmd;
    int argc;
    char *argv[2];
    char *rest;          /* everything after "KEYWORD " (PASS: the password, spaces kept) */
};

/* Split LINE (modified in place) and check it against STATE. */
enum pop3_parse_result pop3_parse(char *line, enum pop3_state state, struct pop3_req *req);
const char *pop3_cmd_name(enum pop3_cmd cmd);
/* A decimal number: digits only, no sign, no overflow (max 2^31-1). */
bool pop3_parse_num(const char *s, unsigned long *out);

#endif
