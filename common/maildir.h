/* maildir: the Maildir layout, made and parsed in one place (pure but for maildir_make):
 * DATA_DIR/mail/DOMAIN/LOCALPART/{tmp,new,cur}, directories 0700, files 0600, and the
 * unique file names "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<wire size>" (":2,FLAGS"
 * added in cur/). Only the Maildir mail store (mailstore_maildir.c) uses it. */
#ifndef MS_MAILDIR_H
#define MS_MAILDIR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_UIDL_MAX 70

/* [server] mail_dir, once per process before any path is made: Maildirs live under
 * MAIL_DIR/DOMAIN/LOCALPART instead of DATA_DIR/mail (a file system the nodes of a
 * cluster share); "" or NULL: DATA_DIR/mail. */
void maildir_set_root(const char *mail_dir);
/* Path of ADDRESS's Maildir (address "local@domain", already canonical). -1 if it does
 * not fit or the address has no '@' or contains '/' or starts a part with '.'. */
int maildir_path(const char *data_dir, const char *address, char *out, size_t len);
/* mkdir -p the Maildir and its tmp/new/cur with mode 0700. 0 or -1 (errno set). */
int maildir_make(const char *path);

/* The unique part "<sec>.M<usec>P<pid>Q<q>.<host>" ('/' and ':' of the host escaped as
 * \057 and \072). -1 if it does not fit. */
int maildir_name_base(char *out, size_t len, long sec, long usec, long pid, unsigned long q,
                      const char *hostname);
/* The full name of a delivered message: BASE,S=<size>,W=<wire>. -1 if it does not fit. */
int maildir_name_full(char *out, size_t len, const char *base, uint64_t size, uint64_t wire);

/* UIDL for a file name: the unique part (before ':') when it is 1-70 characters of
 * 0x21-0x7E, else 32 hex digits of a hash of it. */
void maildir_uidl(const char *name, char out[MAILDIR_UIDL_MAX + 1]);
/* Sort key from the name's "SECONDS.MICROSECONDS" or Dovecot "SECONDS.M<usec>" prefix;
 * false if the name has no leading number. */
bool maildir_name_time(const char *name, int64_t *sec, long *usec);
/* The ",W=<n>" wire size carried by the name, if any. */
bool maildir_name_wsize(const char *name, uint64_t *size);
/* The "P<pid>" of a name made by maildir_name_base; 0 if none. */
long maildir_name_pid(const char *name);

#endif
