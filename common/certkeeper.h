/* certkeeper: the one process of a daemon started as root that keeps root, so that a
 * reload (SIGHUP) can take up a renewed certificate whose key only root may read
 * (certbot's privkey.pem is root:root 0600). Forked before the drop to run_as_user,
 * it is the daemon's child: systemd, the tests and `kill -HUP` still see one daemon
 * process (its pid, its signals, its exit status), and it dies with the daemon (EOF on
 * its socket, and PR_SET_PDEATHSIG). It reads no network input and never parses what
 * the daemon sends: any request means "open the tls_cert and tls_key that the config
 * file names now", and the answer is those two files opened read-only (SCM_RIGHTS), so
 * the daemon can read nothing through it but the files root's config points to, which
 * it holds in memory anyway. It keeps uid 0 but no capability beyond
 * CAP_DAC_READ_SEARCH, an empty bounding set and no_new_privs (privdrop.h).
 * Started as non-root there is no keeper: reloads read the files themselves. */
#ifndef MS_CERTKEEPER_H
#define MS_CERTKEEPER_H
#include <stdbool.h>
#include <stddef.h>

/* As root: fork the keeper for the config file CFGPATH (before the privilege drop, after
 * daemonizing). Not root: nothing. 0, or -1 with err. */
int certkeeper_start(const char *cfgpath, char *err, size_t errlen);

/* On a worker thread (it waits for the keeper, at most a few seconds): the files CERT
 * and KEY opened by the keeper. 1 with both descriptors (the caller closes them);
 * 0 when there is no keeper (read the files yourself); -1 with err (the keeper's
 * own error, or it found other paths in the config than CERT and KEY). */
int certkeeper_open(const char *cert, const char *key, int *cert_fd, int *key_fd, char *err,
                    size_t errlen);

/* The keeper's pid, or 0 (tests and logs). */
long certkeeper_pid(void);

/* Close our end: the keeper exits. */
void certkeeper_stop(void);

#endif
