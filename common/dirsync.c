/* dirsync: group commit of directory fsyncs (see dirsync.h). A small fixed table of
 * directories being synced; a caller takes a ticket after its link and waits until a
 * sync that started at or after that ticket has finished. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define DS_SLOTS 32
#define DS_PATH 1024

struct ds_slot {
    char path[DS_PATH];
    unsigned users;               /* callers inside for this path */
    bool syncing;
    unsigned long want, done;     /* tickets taken / covered by a finished sync */
    unsigned long failed_upto;    /* tickets covered by a failed sync */
    int err;
};

static pthread_mutex_t ds_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ds_cv = PTHREAD_COND_INITIALIZER;
static struct ds_slot ds_tab[DS_SLOTS];
static atomic_ulong ds_fsyncs;

static int fsync_path(const char *path)
{
    atomic_fetch_add(&ds_fsyncs, 1);
    return fsync_dir(path);
}

/* The slot for PATH, or a free one claimed for it; NULL when all are busy. */
static struct ds_slot *slot_for(const char *path)
{
    struct ds_slot *free_slot = NULL;
    for (size_t i = 0; i < DS_SLOTS; i++) {
        if (ds_tab[i].users > 0 && strcmp(ds_tab[i].path, path) == 0)
            return &ds_tab[i];
        if (ds_tab[i].users == 0 && !free_slot)
            free_slot = &ds_tab[i];
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof *free_slot);
        str_copy(free_slot->path, path, sizeof free_slot->path);
    }
    return free_slot;
}

/* With ds_mu held: wait until ticket t is covered; run the sync ourselves if nobody is. */
static int wait_ticket(struct ds_slot *s, unsigned long t)
{
    while (s->done < t && s->failed_upto < t) {
        if (s->syncing) {
            pthread_cond_wait(&ds_cv, &ds_mu);
            continue;
        }
        s->syncing = true;
        unsigned long g = s->want;   /* every ticket up to g linked before this sync */
        pthread_mutex_unlock(&ds_mu);
        int r = fsync_path(s->path);
        int e = errno;
        pthread_mutex_lock(&ds_mu);
        s->syncing = false;
        if (r == 0) {
            s->done = g;
        } else {
            s->failed_upto = g;
            s->err = e;
        }
        pthread_cond_broadcast(&ds_cv);
    }
    return s->done >= t ? 0 : (errno = s->err, -1);
}

int dirsync(const char *path)
{
    if (strlen(path) >= DS_PATH)
        return fsync_path(path);
    pthread_mutex_lock(&ds_mu);
    struct ds_slot *s = slot_for(path);
    if (!s) {                           /* table full: plain fsync */
        pthread_mutex_unlock(&ds_mu);
        return fsync_path(path);
    }
    s->users++;
    unsigned long t = ++s->want;
    int r = wait_ticket(s, t);
    int e = errno;
    s->users--;
    pthread_mutex_unlock(&ds_mu);
    errno = e;
    return r;
}

unsigned long dirsync_count(void)
{
    return atomic_load(&ds_fsyncs);
}
