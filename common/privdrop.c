/* privdrop: data_dir creation with the right owner, and dropping root for good
 * (keeping only CAP_NET_BIND_SERVICE for reloads). */
#include "privdrop.h"

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

/* mkdir (if missing), then 0700 and, as root, the owner; never follows a symlink. */
static int make_dir(const char *path, bool as_root, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open directory %s: %s", path, strerror(errno));
        return -1;
    }
    int r = 0;
    if (as_root && fchown(fd, uid, gid) != 0) {
        snprintf(err, errlen, "cannot chown %s: %s", path, strerror(errno));
        r = -1;
    }
    if (r == 0 && fchmod(fd, 0700) != 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
        r = -1;
    }
    (void)close(fd);
    return r;
}

int privdrop_dirs(const char *data_dir, const char *user, char *err, size_t errlen)
{
    bool as_root = geteuid() == 0;
    uid_t uid = 0;
    gid_t gid = 0;
    char sub[4096];
    static const char *const subs[] = { "mail", "queue" };

    if (as_root && lookup_user(user, &uid, &gid, err, errlen) != 0)
        return -1;
    if (make_dir(data_dir, as_root, uid, gid, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", data_dir, subs[i]) >= sizeof sub) {
            snprintf(err, errlen, "data_dir too long");
            return -1;
        }
        if (make_dir(sub, as_root, uid, gid, err, errlen) != 0)
            return -1;
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
    if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0 || initgroups(user, gid) != 0 ||
        setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
        return -1;
    }
    keep_bind_cap();
    (void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
    if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != uid || geteuid() != uid ||
        getgid() != gid || getegid() != gid) {
        snprintf(err, errlen, "privilege drop to '%s' did not stick", user);
        return -1;
    }
    return 0;
}
