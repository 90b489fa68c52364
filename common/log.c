/* log: stderr in the foreground, syslog (facility mail) otherwise. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_to_stderr = 1;
static char log_ident[32] = "mailserver";

void log_open(const char *ident, int foreground)
{
    snprintf(log_ident, sizeof log_ident, "%s", ident);
    log_to_stderr = foreground;
    if (!foreground)
        openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_msg(int prio, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!log_to_stderr) {
        syslog(prio, "%s", line);
        return;
    }
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s %s: %s\n", ts, log_ident, line);
}
