/* cmd_backup: `userdb backup DIR` (a hot backup of the user store while the daemons
 * run) and `userdb restore DIR` (onto a stopped server). Both run as run_as_user like
 * every userdb command; as root, backup first creates a missing DIR (the last path
 * component only) and hands it to run_as_user, so that DIR may sit in a root-owned
 * place such as /var/backups. DIR must be empty or hold an earlier backup (the file
 * BACKUP_MARK says so): that one is replaced. The Maildirs and the queue are plain
 * files and are copied with ordinary tools (the printed hint). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "userdb.h"

#define BACKUP_MARK "mailserver-backup.txt"

int backup_prepare(struct udb *u)
{
    const char *dir = u->args[0];
    if (geteuid() != 0 || mkdir(dir, 0700) != 0)
        return UDB_OK;          /* exists (checked after the drop), or not root */
    struct passwd pw, *res = NULL;
    char buf[4096];
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || getpwnam_r(u->cfg->run_as_user, &pw, buf, sizeof buf, &res) != 0 ||
        res == NULL || fchown(fd, pw.pw_uid, pw.pw_gid) != 0) {
        udb_err("cannot hand %s to run_as_user '%s': %s", dir, u->cfg->run_as_user,
                fd < 0 ? strerror(errno) : "no such user, or chown failed");
        if (fd >= 0)
            (void)close(fd);
        return UDB_ERR;
    }
    (void)close(fd);
    return UDB_OK;
}

/* DIR's state: -1 unusable (said), 0 empty, 1 an earlier backup. */
static int backup_dir_state(const struct udb *u, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        udb_err("cannot open %s as run_as_user: %s (create it, or run userdb as root, "
                "which creates it)", dir, strerror(errno));
        return -1;
    }
    int files = 0, marked = 0;
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        files++;
        if (strcmp(de->d_name, BACKUP_MARK) == 0)
            marked = 1;
    }
    (void)closedir(d);
    if (files > 0 && !marked) {
        udb_err("%s is neither empty nor an earlier backup (no %s): refusing to write "
                "into it", dir, BACKUP_MARK);
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        udb_err("%s is not writable by run_as_user '%s'", dir, u->cfg->run_as_user);
        return -1;
    }
    return marked;
}

static int write_mark(const struct udb *u, const char *dir, const char *when)
{
    char path[4096], text[2048];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, BACKUP_MARK) >= sizeof path)
        return -1;
    int n = snprintf(text, sizeof text,
                     "mailserver user store backup (userdb backup), %s\n"
                     "from data_dir %s\n"
                     "Restore onto a stopped server: userdb restore %s\n"
                     "The Maildirs and the queue are not in here; copy them with\n"
                     "  rsync -a %s/mail %s/queue DEST/\n",
                     when, u->cfg->data_dir, dir, u->cfg->data_dir, u->cfg->data_dir);
    if (n < 0 || (size_t)n >= sizeof text)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, (size_t)n) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc == 0 ? fsync_dir(dir) : -1;
}

int cmd_backup(struct udb *u)
{
    const char *dir = u->args[0];
    char err[1024], when[32];
    int state = backup_dir_state(u, dir);
    if (state < 0)
        return UDB_ERR;
    if (store_backup(u->st, dir, state == 1, err, sizeof err) != STORE_OK) {
        udb_err("%s", err);
        return UDB_ERR;
    }
    udb_time((long long)time(NULL), when, sizeof when);
    if (write_mark(u, dir, when) != 0) {
        udb_err("cannot write %s/%s: %s", dir, BACKUP_MARK, strerror(errno));
        return UDB_ERR;
    }
    printf("backed up the user store of %s into %s (%s)\n"
           "the Maildirs and the queue are plain files; copy them too, e.g.\n"
           "  rsync -a %s/mail %s/queue DEST/\n",
           u->cfg->data_dir, dir, when, u->cfg->data_dir, u->cfg->data_dir);
    return UDB_OK;
}

static int count_user(const struct user_rec *r, void *ctx)
{
    (void)r;
    (*(unsigned *)ctx)++;
    return 0;
}

int cmd_restore(struct udb *u)
{
    const char *dir = u->args[0];
    char mark[4096], err[1024], moved[4096];
    if ((size_t)snprintf(mark, sizeof mark, "%s/%s", dir, BACKUP_MARK) >= sizeof mark ||
        access(mark, R_OK) != 0) {
        udb_err("%s is not a backup made by userdb backup (no readable %s)", dir, BACKUP_MARK);
        return UDB_ERR;
    }
    if (store_restore(dir, u->cfg->data_dir, moved, sizeof moved, err, sizeof err) != STORE_OK) {
        udb_err("%s", err);
        if (moved[0] != '\0')
            udb_err("the store that was there is now %s", moved);
        return UDB_ERR;
    }
    unsigned users = 0;
    if (store_open(u->cfg->data_dir, &u->st) != STORE_OK ||
        store_user_list(u->st, count_user, &users) != STORE_OK) {
        udb_err("the restored store in %s/db does not open", u->cfg->data_dir);
        return UDB_ERR;
    }
    printf("restored the user store from %s into %s/db: %u users\n", dir, u->cfg->data_dir, users);
    if (moved[0] != '\0')
        printf("the store that was there is now %s (remove it when all is well)\n", moved);
    return UDB_OK;
}
