/* maildir: where mail lives: DATA_DIR/mail/DOMAIN/LOCALPART/{tmp,new,cur},
 * directories 0700, files 0600. Delivery is in maildir_deliver.h, reading in mailbox.h. */
#ifndef MS_MAILDIR_H
#define MS_MAILDIR_H
#include <stddef.h>

/* Path of ADDRESS's Maildir (address "local@domain", already canonical). -1 if it does
 * not fit or the address has no '@' or contains '/' or starts a part with '.'. */
int maildir_path(const char *data_dir, const char *address, char *out, size_t len);
/* mkdir -p the Maildir and its tmp/new/cur with mode 0700. 0 or -1 (errno set). */
int maildir_make(const char *path);

#endif
