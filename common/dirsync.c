/* dirsync: group commit of directory fsyncs (see dirsync.h). A small fixed table of
 * directories being synced; a caller takes a ticket after its link and waits until a
 * sync that started at or after that ticket has finished. Wake-ups are targeted: the
 * caller that ran a sync wakes exactly the waiters it covered and hands the next sync
 * to the first of the others (one wake-up per waiting caller, no herd on a shared
 * condition variable and its mutex). */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define DS_SLOTS 32
#define DS_PATH 1024

/* A caller waiting for a sync of its path: woken exactly once, by the thread whose
 * fsync covered its ticket (rc, err set) or to run the next fsync itself (syncer). */
struct ds_waiter {
    struct ds_waiter *next;
    unsigned long ticket;
    bool syncer;
    int rc, err;
    sem_t sem;
};

struct ds_slot {
    char path[DS_PATH];
    unsigned users;               /* callers inside for this path */
    bool syncing;                 /* a caller runs (or was made to run) the fsync */
    unsigned long want;           /* tickets taken */
    struct ds_waiter *waiters;    /* in ticket order */
};

static pthread_mutex_t ds_mu = PTHREAD_MUTEX_INITIALIZER;
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

/* With ds_mu held, as the slot's syncer: fsync, then take off the waiters it covered
 * (the tickets taken before it started) with its result into *wake, and the first of
 * the others (first in *wake), made the next syncer. Returns with ds_mu held and the fsync's
 * result; the caller posts *wake after unlocking. */
static int run_sync(struct ds_slot *s, struct ds_waiter **wake)
{
    unsigned long g = s->want;   /* every ticket up to g linked before this sync */
    pthread_mutex_unlock(&ds_mu);
    int r = fsync_path(s->path);
    int e = errno;
    pthread_mutex_lock(&ds_mu);
    struct ds_waiter **tail = wake;
    while (s->waiters && s->waiters->ticket <= g) {
        struct ds_waiter *w = s->waiters;
        s->waiters = w->next;
        w->rc = r;
        w->err = e;
        s->users--;              /* for it: it returns without the lock */
        *tail = w;
        tail = &w->next;
    }
    *tail = NULL;
    if (s->waiters) {            /* the first later ticket runs the next fsync: woken
                                  * first, the disk waits for nobody else */
        struct ds_waiter *w = s->waiters;
        s->waiters = w->next;
        w->syncer = true;
        w->next = *wake;
        *wake = w;
    } else {
        s->syncing = false;
    }
    errno = e;
    return r;
}

/* Wake the callers taken off by run_sync. glibc's sem_post touches a semaphore only
 * until the waiter can see the post (safe to destroy right after sem_wait, glibc bug
 * 12674), and the waiter may queue again at once, so the next pointer is read first. */
static void post_all(struct ds_waiter *w)
{
    while (w) {
        struct ds_waiter *n = w->next;
        if (sem_post(&w->sem) != 0)
            abort();             /* EOVERFLOW: impossible with one post per waiter */
        w = n;
    }
}

/* The calling thread's waiter: a thread waits for one sync at a time, and its node
 * stays valid while another thread still holds it in the list (up to the post). */
static __thread struct ds_waiter ds_self;

/* With ds_mu held: queue a waiter for ticket t and sleep until woken. Returns true
 * with ds_mu held when made the syncer; false without it, the result in *rc and errno
 * (users already counted down for it). */
static bool wait_turn(struct ds_slot *s, unsigned long t, int *rc)
{
    struct ds_waiter *w = &ds_self;
    *w = (struct ds_waiter){ .ticket = t };
    if (sem_init(&w->sem, 0, 0) != 0)
        abort();                 /* EINVAL: impossible for value 0 */
    struct ds_waiter **p = &s->waiters;
    while (*p)
        p = &(*p)->next;
    *p = w;
    pthread_mutex_unlock(&ds_mu);
    while (sem_wait(&w->sem) != 0)
        ;                        /* EINTR */
    sem_destroy(&w->sem);
    if (w->syncer) {
        pthread_mutex_lock(&ds_mu);
        return true;
    }
    *rc = w->rc;
    errno = w->err;
    return false;
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
    int r = 0;
    if (s->syncing && !wait_turn(s, t, &r))
        return r;                       /* covered by another caller's fsync */
    s->syncing = true;
    struct ds_waiter *wake = NULL;
    r = run_sync(s, &wake);
    int e = errno;
    s->users--;
    pthread_mutex_unlock(&ds_mu);
    post_all(wake);
    errno = e;
    return r;
}

unsigned long dirsync_count(void)
{
    return atomic_load(&ds_fsyncs);
}
