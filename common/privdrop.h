/* privdrop: the data_dir tree owned by run_as_user (0700), and the one-way drop from
 * root to run_as_user after the listeners are bound. Only CAP_NET_BIND_SERVICE is
 * kept, so that a reload (SIGHUP) can still bind a new port below 1024. */
#ifndef MS_PRIVDROP_H
#define MS_PRIVDROP_H
#include <stddef.h>

/* Create DATA_DIR, DATA_DIR/mail and DATA_DIR/queue (mode 0700) if missing; when
 * running as root also make them owned by USER. 0, or -1 with a message in err. */
int privdrop_dirs(const char *data_dir, const char *user, char *err, size_t errlen);

/* If running as root: initgroups, setgid, setuid to USER, keep only
 * CAP_NET_BIND_SERVICE, and check that root cannot be regained. A no-op when not
 * root. 0, or -1 with a message in err. */
int privdrop_to_user(const char *user, char *err, size_t errlen);

#endif
