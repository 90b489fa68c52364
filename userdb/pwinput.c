/* pwinput: how userdb reads a new password: one line from stdin with
 * --password-stdin, or twice from the terminal with echo off. The caller wipes
 * the buffer after use. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "userdb.h"

/* One line from fp into pw (without the newline). 0, or -1 on EOF/too long. */
static int read_line(FILE *fp, char *pw, size_t len)
{
    if (fgets(pw, (int)len, fp) == NULL)
        return -1;
    size_t n = strlen(pw);
    if (n > 0 && pw[n - 1] == '\n')
        pw[--n] = '\0';
    else if (!feof(fp))
        return -1;                 /* longer than the buffer */
    if (n > 0 && pw[n - 1] == '\r')
        pw[--n] = '\0';
    return 0;
}

static int prompt_noecho(const char *prompt, char *pw, size_t len)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        return -1;
    int r = read_line(stdin, pw, len);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &old) != 0)
        r = -1;
    return r;
}

int udb_read_password(const struct udb *u, char *pw, size_t len)
{
    if (u->password_stdin) {
        if (read_line(stdin, pw, len) != 0) {
            udb_err("cannot read the password from stdin (missing or too long)");
            return UDB_ERR;
        }
    } else if (isatty(STDIN_FILENO)) {
        char again[1024];
        if (prompt_noecho("New password: ", pw, len) != 0 ||
            prompt_noecho("Retype new password: ", again, sizeof again) != 0) {
            explicit_bzero(again, sizeof again);
            udb_err("cannot read the password");
            return UDB_ERR;
        }
        int same = strcmp(pw, again) == 0;
        explicit_bzero(again, sizeof again);
        if (!same) {
            udb_err("the passwords do not match");
            return UDB_ERR;
        }
    } else {
        udb_err("stdin is not a terminal: use --password-stdin");
        return UDB_USAGE;
    }
    if (pw[0] == '\0') {
        udb_err("empty password");
        return UDB_ERR;
    }
    return UDB_OK;
}
