/* privdrop: the data_dir tree owned by run_as_user (0700), and the one-way drop from
 * root to run_as_user. Root only ever creates the directories of the tree that are
 * missing and hands over what it just created; everything else under data_dir (files,
 * the pid file, existing directories) is touched only after the drop (SPEC "Admin
 * commands run as root"). After the drop only CAP_NET_BIND_SERVICE is kept, so that a
 * reload (SIGHUP) can still bind a new port below 1024; the bounding set holds nothing
 * else and no_new_privs is set, so no later execve can gain a privilege. */
#ifndef MS_PRIVDROP_H
#define MS_PRIVDROP_H
#include <stddef.h>

/* Create DATA_DIR, DATA_DIR/mail and DATA_DIR/queue (mode 0700) if missing. As root:
 * each directory created here is handed to USER (fchown on the new directory, never
 * through a symlink); an existing one must already belong to USER (else -1: root does
 * not give away what it did not create), except an empty root-owned DATA_DIR itself
 * (an admin's `mkdir`), which is handed over. 0, or -1 with a message in err. */
int privdrop_dirs(const char *data_dir, const char *user, char *err, size_t errlen);

/* If running as root: drop every capability but CAP_NET_BIND_SERVICE from the
 * bounding set, initgroups, setgid, setuid to USER, keep only CAP_NET_BIND_SERVICE,
 * set no_new_privs, and check that root cannot be regained. A no-op when not root.
 * 0, or -1 with a message in err. */
int privdrop_to_user(const char *user, char *err, size_t errlen);

/* For the certificate keeper (certkeeper.h), which stays uid 0: empty the bounding set,
 * keep no capability but CAP_DAC_READ_SEARCH (if it was held: to open a key file that
 * root does not own; a root-owned 0600 key needs none), set no_new_privs. 0, or -1. */
int privdrop_keeper(char *err, size_t errlen);

/* For the admin commands (userdb, smtpd --queue, --test-relay): privdrop_dirs, then
 * privdrop_to_user. Call it before anything under DATA_DIR is opened. */
int privdrop_admin(const char *data_dir, const char *user, char *err, size_t errlen);

#endif
