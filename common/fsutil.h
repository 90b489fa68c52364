/* fsutil: the few file-system primitives that durability rests on, in one place:
 * writing a whole buffer and fsync'ing a directory after a rename or link into it. */
#ifndef MS_FSUTIL_H
#define MS_FSUTIL_H
#include <stddef.h>

/* write(2) until all of buf is written (EINTR retried). 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* fsync a directory so that entries renamed or linked into it are durable. 0 or -1. */
int fsync_dir(const char *path);

#endif
