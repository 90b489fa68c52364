/* log: one place for daemon and tool logging.
 * Foreground (-f) logs go to stderr with a timestamp; otherwise syslog, facility mail.
 * Never log a password or a SASL payload. */
#ifndef MS_LOG_H
#define MS_LOG_H
#include <syslog.h>

void log_open(const char *ident, int foreground);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
