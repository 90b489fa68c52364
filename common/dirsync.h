/* dirsync: group commit for directory fsyncs. Several delivery threads that have just
 * linked a file into the same Maildir new/ share one fsync of that directory: a caller
 * returns only after an fsync that started after its own link, so durability per caller
 * is unchanged (never a 250 before the entry is on disk), with fewer fsyncs under load. */
#ifndef MS_DIRSYNC_H
#define MS_DIRSYNC_H

/* fsync the directory PATH, sharing the fsync with concurrent callers on the same path.
 * 0, or -1 with errno set. Thread-safe. */
int dirsync(const char *path);
/* fsync(2) calls made so far on directories (for tests). */
unsigned long dirsync_count(void);

#endif
