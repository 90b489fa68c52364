/* privdrop: data_dir creation with the right owner, and dropping root for good
 * (keeping only CAP_NET_BIND_SERVICE for reloads). See privdrop.h for the rules. */
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* Who the data_dir tree is for (as_root false: we are that user already). */
struct owner {
    bool as_root;
    uid_t uid;
    gid_t gid;
    const char *user;
};

static int lookup_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int r = getpwnam_r(user, &pw, buf, sizeof buf, &res);

    if (r != 0 || !res) {
        snprintf(err, errlen, "run_as_user '%s': no such user", user);
        return -1;
    }
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    return 0;
}

/* Does the directory open on FD hold nothing but . and ..? */
static bool dir_empty(int fd)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return false;
    DIR *d = fdopendir(dfd);
    if (!d) {
        (void)close(dfd);
        return false;
    }
    bool empty = true;
    const struct dirent *de;
    while (empty && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = false;
    (void)closedir(d);
    return empty;
}

/* The directory open on FD: as root, hand it to the owner if root created it just now
 * (or it is an empty root-owned data_dir, TOP); refuse one that belongs to anybody else;
 * then mode 0700. */
static int settle_dir(int fd, const char *shown, bool created, bool top, const struct owner *o,
                      char *err, size_t errlen)
{
    struct stat st;

    if (o->as_root) {
        if (fstat(fd, &st) != 0) {
            snprintf(err, errlen, "cannot stat %s: %s", shown, strerror(errno));
            return -1;
        }
        if (st.st_uid == 0 && (created || top) && dir_empty(fd)) {
            if (fchown(fd, o->uid, o->gid) != 0) {
                snprintf(err, errlen, "cannot chown %s: %s", shown, strerror(errno));
                return -1;
            }
        } else if (st.st_uid != o->uid) {
            snprintf(err, errlen, "%s belongs to uid %lu, not to run_as_user '%s'; root does "
                     "not hand over what it did not create (chown -R %s it if it is meant "
                     "for the mail server)", shown, (unsigned long)st.st_uid, o->user, o->user);
            return -1;
        }
    }
    if (fchmod(fd, 0700) != 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", shown, strerror(errno));
        return -1;
    }
    return 0;
}

/* mkdir NAME in the directory PARENT if missing, open it without following a symlink
 * and settle it (above). The open directory, or -1 with err set. */
static int make_dir(int parent, const char *name, const char *shown, bool top,
                    const struct owner *o, char *err, size_t errlen)
{
    bool created = mkdirat(parent, name, 0700) == 0;
    if (!created && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", shown, strerror(errno));
        return -1;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open directory %s: %s", shown,
                 errno == ELOOP || errno == ENOTDIR ? "not a directory, or a symbolic link"
                                                    : strerror(errno));
        return -1;
    }
    if (settle_dir(fd, shown, created, top, o, err, errlen) != 0) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

int privdrop_dirs(const char *data_dir, const char *user, char *err, size_t errlen)
{
    struct owner o = { .as_root = geteuid() == 0, .user = user };
    char shown[4096];
    static const char *const subs[] = { "mail", "queue" };

    if (o.as_root && lookup_user(user, &o.uid, &o.gid, err, errlen) != 0)
        return -1;
    int top = make_dir(AT_FDCWD, data_dir, data_dir, true, &o, err, errlen);
    if (top < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; r == 0 && i < sizeof subs / sizeof subs[0]; i++) {
        if ((size_t)snprintf(shown, sizeof shown, "%s/%s", data_dir, subs[i]) >= sizeof shown) {
            snprintf(err, errlen, "data_dir too long");
            r = -1;
            break;
        }
        int fd = make_dir(top, subs[i], shown, false, &o, err, errlen);   /* no re-walk */
        if (fd < 0)
            r = -1;
        else
            (void)close(fd);
    }
    (void)close(top);
    return r;
}

/* While still root: empty the bounding set but for CAP_NET_BIND_SERVICE, so that no
 * later execve (of a set-uid or file-capability program) can hand a capability back.
 * Without CAP_SETPCAP (a container, a unit's CapabilityBoundingSet) the set stays as
 * it is, with a warning: no_new_privs alone already keeps execve from adding any. */
static int drop_bounding_set(long keep, char *err, size_t errlen)
{
    for (unsigned long cap = 0; cap < 64; cap++) {
        int r = prctl(PR_CAPBSET_READ, cap, 0L, 0L, 0L);
        if (r < 0)
            break;              /* EINVAL: past the last capability this kernel knows */
        if (r == 0 || (long)cap == keep)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0L, 0L, 0L) != 0) {
            if (errno == EPERM) {
                log_warn("cannot empty the capability bounding set (no CAP_SETPCAP); "
                         "relying on no_new_privs");
                return 0;
            }
            snprintf(err, errlen, "cannot drop capability %lu from the bounding set: %s",
                     cap, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* After setuid with PR_SET_KEEPCAPS: keep CAP_NET_BIND_SERVICE only (best effort). */
static void keep_bind_cap(void)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];

    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
    (void)syscall(SYS_capset, &hdr, data);
}

int privdrop_to_user(const char *user, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0)
        return 0;
    if (lookup_user(user, &uid, &gid, err, errlen) != 0)
        return -1;
    if (uid == 0) {
        snprintf(err, errlen, "run_as_user '%s' is root; refusing to run as root", user);
        return -1;
    }
    if (drop_bounding_set(CAP_NET_BIND_SERVICE, err, errlen) != 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0 || initgroups(user, gid) != 0 ||
        setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
        return -1;
    }
    keep_bind_cap();
    (void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != uid || geteuid() != uid ||
        getgid() != gid || getegid() != gid) {
        snprintf(err, errlen, "privilege drop to '%s' did not stick", user);
        return -1;
    }
    return 0;
}

int privdrop_admin(const char *data_dir, const char *user, char *err, size_t errlen)
{
    if (privdrop_dirs(data_dir, user, err, errlen) != 0)
        return -1;
    return privdrop_to_user(user, err, errlen);
}

int privdrop_keeper(char *err, size_t errlen)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];

    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0) {
        snprintf(err, errlen, "capget: %s", strerror(errno));
        return -1;
    }
    bool can_read = data[0].permitted & (1u << CAP_DAC_READ_SEARCH);
    if (drop_bounding_set(-1, err, errlen) != 0)
        return -1;
    memset(data, 0, sizeof data);
    if (can_read)
        data[0].effective = data[0].permitted = 1u << CAP_DAC_READ_SEARCH;
    if (syscall(SYS_capset, &hdr, data) != 0) {
        snprintf(err, errlen, "capset: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}
