/* pop3_parse: the POP3 keyword table and command-line tokeniser (pure). */
#include "pop3_parse.h"

#include <string.h>
#include <strings.h>

#define ST_A (1u << P3S_AUTHORIZATION)
#define ST_T (1u << P3S_TRANSACTION)

static const struct {
    const char *name;
    enum pop3_cmd cmd;
    unsigned states;
    int min_args, max_args;      /* max -1: the rest of the line is one argument */
} cmds[] = {
    { "USER", P3_USER, ST_A, 1, 1 },
    { "PASS", P3_PASS, ST_A, 1, -1 },
    { "STAT", P3_STAT, ST_T, 0, 0 },
    { "LIST", P3_LIST, ST_T, 0, 1 },
    { "RETR", P3_RETR, ST_T, 1, 1 },
    { "DELE", P3_DELE, ST_T, 1, 1 },
    { "NOOP", P3_NOOP, ST_T, 0, 0 },
    { "RSET", P3_RSET, ST_T, 0, 0 },
    { "QUIT", P3_QUIT, ST_A | ST_T, 0, 0 },
    { "TOP", P3_TOP, ST_T, 2, 2 },
    { "UIDL", P3_UIDL, ST_T, 0, 1 },
    { "CAPA", P3_CAPA, ST_A | ST_T, 0, 0 },
    { "STLS", P3_STLS, ST_A, 0, 0 },
    { "AUTH", P3_AUTH, ST_A, 0, 2 },
};

const char *pop3_cmd_name(enum pop3_cmd cmd)
{
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (cmds[i].cmd == cmd)
            return cmds[i].name;
    return "?";
}

bool pop3_parse_num(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 2147483647ul)
            return false;
    }
    *out = v;
    return true;
}

static char *next_token(char **p)
{
    char *s = *p + strspn(*p, " \t");
    if (!*s)
        return NULL;
    char *e = s + strcspn(s, " \t");
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

enum pop3_parse_result pop3_parse(char *line, enum pop3_state state, struct pop3_req *req)
{
    memset(req, 0, sizeof *req);
    req->cmd = P3_UNKNOWN;
    size_t kl = strcspn(line, " \t");
    size_t i;
    for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strlen(cmds[i].name) == kl && strncasecmp(line, cmds[i].name, kl) == 0)
            break;
    if (i == sizeof cmds / sizeof cmds[0])
        return P3P_UNKNOWN;
    req->cmd = cmds[i].cmd;
    char *p = line + kl;
    req->rest = *p ? p + 1 : p;
    if (*p)
        *p++ = '\0';
    if (cmds[i].max_args < 0) {
        req->argc = *req->rest ? 1 : 0;
        req->argv[0] = req->rest;
    } else {
        char *t;
        while ((t = next_token(&p)) != NULL) {
            if (req->argc >= cmds[i].max_args)
                return P3P_BADARGS;
            req->argv[req->argc++] = t;
        }
    }
    if (req->argc < cmds[i].min_args)
        return P3P_BADARGS;
    if (!(cmds[i].states & (1u << state)))
        return P3P_BADSTATE;
    return P3P_OK;
}
