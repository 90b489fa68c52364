/* store_bdb_backup: backup and restore of the Berkeley DB environment (store.h).
 * Backup is the library's own hot backup (DB_ENV->backup, what db_hotbackup does):
 * a checkpoint, then the database files and the log files copied page-consistently
 * while the daemons go on writing. Such a copy is usable only after catastrophic
 * recovery (DB_RECOVER_FATAL) replays its logs, which restore runs after copying the
 * files into a fresh DATA_DIR/db of a stopped server. */
#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "store_bdb_env.h"

#define REG_SLOT 25          /* __db.register slot size (store_bdb_env.c) */
#define REG_MAX_SLOTS 64

int store_backup(struct store *st, const char *dir, bool clean, char *err, size_t errlen)
{
    if (pthread_rwlock_rdlock(&st->rw) != 0) {
        snprintf(err, errlen, "cannot lock the store");
        return STORE_ERROR;
    }
    int ret = st->env == NULL ? DB_RUNRECOVERY : st->env->txn_checkpoint(st->env, 0, 0, DB_FORCE);
    /* DB_BACKUP_CLEAN empties DIR first: the caller allows it only for an earlier backup */
    if (ret == 0)
        ret = st->env->backup(st->env, dir, DB_CREATE | (clean ? DB_BACKUP_CLEAN : 0));
    (void)pthread_rwlock_unlock(&st->rw);
    if (ret != 0) {
        snprintf(err, errlen, "backup into %s failed: %s", dir, db_strerror(ret));
        return STORE_ERROR;
    }
    if (fsync_dir(dir) != 0) {
        snprintf(err, errlen, "cannot fsync %s: %s", dir, strerror(errno));
        return STORE_ERROR;
    }
    return STORE_OK;
}

/* A process that has HOME's environment open (it holds the fcntl lock on its
 * __db.register slot), or 0 when there is none. */
static long live_registrant(const char *home)
{
    char path[PATH_MAX], buf[REG_SLOT * REG_MAX_SLOTS];
    if ((size_t)snprintf(path, sizeof path, "%s/__db.register", home) >= sizeof path)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    long pid = 0;
    for (ssize_t off = 0; pid == 0 && n > 0 && off + REG_SLOT <= n; off += REG_SLOT) {
        if (buf[off] == 'X')
            continue;
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };
        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            pid = fl.l_pid > 0 ? (long)fl.l_pid : 1;
    }
    (void)close(fd);
    return pid;
}

/* Is NAME a file of the environment worth restoring (a database or a log)? */
static bool restorable(const char *name)
{
    size_t n = strlen(name);
    return (n > 3 && strcmp(name + n - 3, ".db") == 0) || strncmp(name, "log.", 4) == 0;
}

static int copy_file(int sdir, int ddir, const char *name, char *err, size_t errlen)
{
    int in = openat(sdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    char buf[65536];
    ssize_t r = 0;
    while (rc == 0 && (r = read(in, buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || write_all(out, buf, (size_t)r) != 0)
            rc = -1;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = -1;
    if (rc != 0)
        snprintf(err, errlen, "cannot copy %s: %s", name, strerror(errno));
    if (in >= 0)
        (void)close(in);
    if (out >= 0 && close(out) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* Copy the databases and logs of the backup in SRC into the new directory HOME.
 * The number of files copied, or -1 with err set. */
static int copy_backup(const char *src, const char *home, char *err, size_t errlen)
{
    int ddir = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *d = opendir(src);
    int copied = 0;
    if (ddir < 0 || d == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", d == NULL ? src : home, strerror(errno));
        copied = -1;
    }
    const struct dirent *de;
    while (copied >= 0 && (de = readdir(d)) != NULL) {
        if (!restorable(de->d_name))
            continue;
        if (copy_file(dirfd(d), ddir, de->d_name, err, errlen) != 0)
            copied = -1;
        else
            copied++;
    }
    if (d != NULL)
        (void)closedir(d);
    if (ddir >= 0)
        (void)close(ddir);
    return copied;
}

/* Catastrophic recovery of HOME: replays every log file copied with the databases. */
static int recover_fatal(const char *home, char *err, size_t errlen)
{
    DB_ENV *env = NULL;
    int ret = db_env_create(&env, 0);
    if (ret == 0)
        ret = env->open(env, home, DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
                        DB_INIT_TXN | DB_RECOVER_FATAL | DB_PRIVATE, 0600);
    if (ret == 0)
        ret = env->txn_checkpoint(env, 0, 0, DB_FORCE);
    if (env != NULL) {
        int c = env->close(env, 0);
        if (ret == 0)
            ret = c;
    }
    if (ret != 0)
        snprintf(err, errlen, "recovery of the restored files in %s failed: %s", home,
                 db_strerror(ret));
    return ret == 0 ? 0 : -1;
}

/* Move a non-empty HOME aside to HOME.before-restore-TIME (its name into moved). */
static int move_aside(const char *home, char *moved, size_t movedlen, char *err, size_t errlen)
{
    moved[0] = '\0';
    DIR *d = opendir(home);
    if (d == NULL && errno == ENOENT)
        return 0;
    if (d == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", home, strerror(errno));
        return -1;
    }
    bool empty = true;
    const struct dirent *de;
    while (empty && (de = readdir(d)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    (void)closedir(d);
    if (empty && rmdir(home) != 0) {
        snprintf(err, errlen, "cannot remove %s: %s", home, strerror(errno));
        return -1;
    }
    if (empty)
        return 0;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0) {
        snprintf(err, errlen, "cannot format the time");
        return -1;
    }
    /* never onto an existing name (a second restore within the same second) */
    for (int i = 1; i < 100; i++) {
        int n = i == 1 ? snprintf(moved, movedlen, "%s.before-restore-%s", home, stamp)
                       : snprintf(moved, movedlen, "%s.before-restore-%s-%d", home, stamp, i);
        if (n < 0 || (size_t)n >= movedlen)
            break;
        if (renameat2(AT_FDCWD, home, AT_FDCWD, moved, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    snprintf(err, errlen, "cannot move %s aside: %s", home, strerror(errno));
    moved[0] = '\0';
    return -1;
}

int store_restore(const char *src, const char *data_dir, char *moved, size_t movedlen,
                  char *err, size_t errlen)
{
    char home[PATH_MAX];
    moved[0] = '\0';
    if ((size_t)snprintf(home, sizeof home, "%s/db", data_dir) >= sizeof home) {
        snprintf(err, errlen, "data_dir too long");
        return STORE_ERROR;
    }
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", data_dir, strerror(errno));
        return STORE_ERROR;
    }
    long pid = live_registrant(home);
    if (pid != 0) {
        snprintf(err, errlen, "the store in %s is in use (process %ld): stop smtpd and pop3d "
                 "before a restore", home, pid);
        return STORE_ERROR;
    }
    if (move_aside(home, moved, movedlen, err, errlen) != 0)
        return STORE_ERROR;
    if (mkdir(home, 0700) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", home, strerror(errno));
        return STORE_ERROR;
    }
    int n = copy_backup(src, home, err, errlen);
    if (n < 0)
        return STORE_ERROR;
    if (n == 0) {
        snprintf(err, errlen, "%s holds no database or log files: not a backup", src);
        return STORE_ERROR;
    }
    if (recover_fatal(home, err, errlen) != 0)
        return STORE_ERROR;
    if (fsync_dir(home) != 0 || fsync_dir(data_dir) != 0) {
        snprintf(err, errlen, "cannot fsync %s: %s", home, strerror(errno));
        return STORE_ERROR;
    }
    return STORE_OK;
}
