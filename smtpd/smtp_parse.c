/* smtp_parse: SMTP command lines -> verb + argument; MAIL/RCPT with ESMTP parameters,
 * EHLO/HELO and AUTH arguments. Pure code; errors are ready-made replies. */
#include "smtp_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const struct {
    const char *name;
    enum smtp_verb verb;
} verbs[] = {
    { "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
    { "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
    { "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
    { "EXPN", SMTP_EXPN }, { "HELP", SMTP_HELP }, { "STARTTLS", SMTP_STARTTLS },
    { "AUTH", SMTP_AUTH }, { "BDAT", SMTP_BDAT },
};

static void set_reply(struct smtp_reply *r, int code, const char *enh, const char *text)
{
    r->code = code;
    r->enh = enh;
    r->text = text;
}

int smtp_parse_line(const char *line, size_t len, struct smtp_cmd *out, struct smtp_reply *r)
{
    size_t i, n = 0;

    memset(out, 0, sizeof *out);
    set_reply(r, 0, NULL, NULL);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 32 && c != '\t') || c == 127) {
            set_reply(r, 500, "5.5.2", "Syntax error: invalid character in command");
            return -1;
        }
    }
    if (len == 0 || line[len] != '\0') {
        set_reply(r, 500, "5.5.2", "Syntax error: empty command");
        return -1;
    }
    while (n < len && line[n] != ' ' && line[n] != '\t')
        n++;
    for (i = 0; i < n && i < sizeof out->name - 1; i++)
        out->name[i] = (char)toupper((unsigned char)line[i]);
    out->name[i] = '\0';
    out->verb = SMTP_UNKNOWN;
    if (n < sizeof out->name) {
        for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
            if (strcmp(out->name, verbs[i].name) == 0)
                out->verb = verbs[i].verb;
    }
    while (n < len && (line[n] == ' ' || line[n] == '\t'))
        n++;
    out->arg = line + n;
    return 0;
}

int smtp_check_noarg(const struct smtp_cmd *c, struct smtp_reply *r)
{
    set_reply(r, 0, NULL, NULL);
    switch (c->verb) {
    case SMTP_DATA: case SMTP_RSET: case SMTP_QUIT: case SMTP_STARTTLS:
        break;
    default:
        return 0;
    }
    for (const char *p = c->arg; *p; p++) {
        if (*p != ' ' && *p != '\t') {
            set_reply(r, 501, "5.5.4", "Syntax error: no parameters allowed");
            return -1;
        }
    }
    return 0;
}

/* Expect KEYWORD (case-insensitive, e.g. "FROM:") at arg, then optional spaces. */
static const char *after_keyword(const char *arg, const char *kw)
{
    size_t n = strlen(kw);
    if (strncasecmp(arg, kw, n) != 0)
        return NULL;
    arg += n;
    while (*arg == ' ')
        arg++;
    return arg;
}

static int addr_reply(int rc, const char *enh, struct smtp_reply *r)
{
    if (rc == ADDR_ELOCAL_LONG || rc == ADDR_EDOMAIN_LONG || rc == ADDR_EPATH_LONG)
        set_reply(r, 501, enh, addr_strerror(rc));
    else if (rc == ADDR_ENULL)
        set_reply(r, 501, enh, "Null recipient not allowed");
    else
        set_reply(r, 501, enh, strcmp(enh, "5.1.7") == 0 ? "Bad sender address syntax"
                                                         : "Bad recipient address syntax");
    return -1;
}

/* Next parameter "KEY[=VALUE]" from *pp into key/val (bounded); 0, 1 at end, -1 too long. */
static int next_param(const char **pp, char *key, size_t klen, char *val, size_t vlen)
{
    const char *p = *pp;
    size_t k = 0, v = 0;

    while (*p == ' ')
        p++;
    if (*p == '\0')
        return 1;
    while (*p && *p != ' ' && *p != '=') {
        if (k + 1 >= klen)
            return -1;
        key[k++] = *p++;
    }
    key[k] = '\0';
    val[0] = '\0';
    if (*p == '=') {
        p++;
        while (*p && *p != ' ') {
            if (v + 1 >= vlen)
                return -1;
            val[v++] = *p++;
        }
        val[v] = '\0';
    }
    *pp = p;
    return 0;
}

static int parse_size(const char *val, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)val[0]) || strlen(val) > 20)
        return -1;
    errno = 0;
    unsigned long long n = strtoull(val, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

/* One MAIL parameter; 0 or -1 with r set. */
static int mail_param(struct smtp_mail *m, const char *key, const char *val, uint64_t max_size,
                      struct smtp_reply *r)
{
    if (strcasecmp(key, "SIZE") == 0) {
        if (m->has_size || parse_size(val, &m->size) < 0) {
            set_reply(r, 501, "5.5.4", "Syntax error in SIZE parameter");
            return -1;
        }
        m->has_size = true;
        if (max_size && m->size > max_size) {
            set_reply(r, 552, "5.3.4", "Message size exceeds fixed maximum message size");
            return -1;
        }
    } else if (strcasecmp(key, "BODY") == 0) {
        if (m->body != BODY_NONE) {
            set_reply(r, 501, "5.5.4", "Duplicate BODY parameter");
            return -1;
        }
        if (strcasecmp(val, "7BIT") == 0)
            m->body = BODY_7BIT;
        else if (strcasecmp(val, "8BITMIME") == 0)
            m->body = BODY_8BITMIME;
        else {
            set_reply(r, 501, "5.5.4", "Unsupported BODY type");
            return -1;
        }
    } else if (strcasecmp(key, "AUTH") == 0) {
        if (m->has_auth || val[0] == '\0') {
            set_reply(r, 501, "5.5.4", "Syntax error in AUTH parameter");
            return -1;
        }
        m->has_auth = true;
        str_copy(m->auth, val, sizeof m->auth);
    } else {
        set_reply(r, 555, "5.5.4", "Unsupported parameter");
        return -1;
    }
    return 0;
}

/* The path of ARG after KEYWORD ("FROM:", "TO:"), parsed with FLAGS into *addr, and
 * *rest after it: 0, or -1 with r set (USAGE without the keyword, ENH's code for a bad
 * path). MAIL and RCPT share it. */
static int cmd_path(const char *arg, const char *keyword, unsigned flags, const char *enh,
                    const char *usage, struct mailaddr *addr, const char **rest,
                    struct smtp_reply *r)
{
    const char *p = after_keyword(arg, keyword);
    set_reply(r, 0, NULL, NULL);
    if (!p) {
        set_reply(r, 501, "5.5.4", usage);
        return -1;
    }
    int rc = addr_parse_path(p, flags, addr, &p);
    if (rc != ADDR_OK)
        return addr_reply(rc, enh, r);
    if (*p != '\0' && *p != ' ')
        return addr_reply(ADDR_ESYNTAX, enh, r);
    *rest = p;
    return 0;
}

int smtp_parse_mail(const char *arg, uint64_t max_size, struct smtp_mail *out,
                    struct smtp_reply *r)
{
    const char *p;
    char key[32], val[ADDR_PATH_MAX + 1];
    int rc;

    memset(out, 0, sizeof *out);
    if (cmd_path(arg, "FROM:", ADDR_ALLOW_NULL, "5.1.7", "Syntax: MAIL FROM:<address>",
                 &out->addr, &p, r) < 0)
        return -1;
    while ((rc = next_param(&p, key, sizeof key, val, sizeof val)) == 0) {
        if (mail_param(out, key, val, max_size, r) < 0)
            return -1;
    }
    if (rc < 0) {
        set_reply(r, 501, "5.5.4", "Syntax error in parameters");
        return -1;
    }
    return 0;
}

int smtp_parse_rcpt(const char *arg, struct smtp_rcpt *out, struct smtp_reply *r)
{
    const char *p;

    memset(out, 0, sizeof *out);
    if (cmd_path(arg, "TO:", ADDR_ALLOW_POSTMASTER, "5.1.3", "Syntax: RCPT TO:<address>",
                 &out->addr, &p, r) < 0)
        return -1;
    while (*p == ' ')
        p++;
    if (*p != '\0') {
        set_reply(r, 555, "5.5.4", "Unsupported parameter");
        return -1;
    }
    return 0;
}

int smtp_parse_helo(const char *arg, char *name, size_t namelen, struct smtp_reply *r)
{
    size_t n = 0;

    set_reply(r, 0, NULL, NULL);
    while (*arg == ' ' || *arg == '\t')
        arg++;
    while (arg[n] && arg[n] != ' ' && arg[n] != '\t')
        n++;
    if (n == 0) {
        set_reply(r, 501, "5.5.4", "Syntax: EHLO hostname");
        return -1;
    }
    if (n >= namelen || n > 255) {
        set_reply(r, 501, "5.5.4", "Syntax error: host name too long");
        return -1;
    }
    memcpy(name, arg, n);
    name[n] = '\0';
    return 0;
}

int smtp_parse_auth(const char *arg, char *mech, size_t mechlen, const char **initial,
                    struct smtp_reply *r)
{
    size_t n = 0, i;
    const char *p;

    set_reply(r, 0, NULL, NULL);
    *initial = NULL;
    while (arg[n] && arg[n] != ' ')
        n++;
    if (n == 0 || n >= mechlen || n > 20) {
        set_reply(r, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
        return -1;
    }
    for (i = 0; i < n; i++)
        mech[i] = (char)toupper((unsigned char)arg[i]);
    mech[n] = '\0';
    p = arg + n;
    while (*p == ' ')
        p++;
    if (*p) {
        if (strchr(p, ' ') != NULL) {
            set_reply(r, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
            return -1;
        }
        *initial = p;
    }
    return 0;
}
