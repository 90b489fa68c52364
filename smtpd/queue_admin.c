/* queue_admin: `smtpd --queue list|flush` (see queue_admin.h). */
#include "queue_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "privdrop.h"
#include "runner.h"

static const char *const state_word[] = { "pending", "done", "bounced" };

void queue_admin_age(int64_t secs, char *buf, size_t len)
{
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(buf, len, "%llds", (long long)secs);
    else if (secs < 7200)
        snprintf(buf, len, "%lldm", (long long)(secs / 60));
    else if (secs < 172800)
        snprintf(buf, len, "%lldh", (long long)(secs / 3600));
    else
        snprintf(buf, len, "%lldd", (long long)(secs / 86400));
}

void queue_admin_line(const struct qentry *e, int64_t now, char *buf, size_t len)
{
    char age[32];
    const char *err = "";
    queue_admin_age(now - e->created, age, sizeof age);
    int n = snprintf(buf, len, "%s age=%s size=%llu from=<%s>", e->id, age,
                     (unsigned long long)e->size, e->sender);
    for (size_t i = 0; i < e->nrcpt && n >= 0 && (size_t)n < len; i++) {
        const struct qrcpt *r = &e->rcpt[i];
        if (r->state == QR_PENDING && r->attempts > 0) {
            char next[32];
            queue_admin_age(r->next_try - now, next, sizeof next);
            n += snprintf(buf + n, len - (size_t)n, " to=<%s>:pending(attempts=%u,next=%s)",
                          r->addr, r->attempts, r->next_try > now ? next : "now");
        } else {
            n += snprintf(buf + n, len - (size_t)n, " to=<%s>:%s", r->addr, state_word[r->state]);
        }
        if (r->state == QR_PENDING && r->diag && r->diag[0] && !err[0])
            err = r->diag;
    }
    if (err[0] && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " error=\"%s\"", err);
}

static int do_list(const char *qdir)
{
    char **ids;
    size_t n;
    if (queue_list_ids(qdir, &ids, &n) < 0) {
        fprintf(stderr, "smtpd: cannot list %s: %s\n", qdir, strerror(errno));
        return 1;
    }
    int64_t now = (int64_t)time(NULL);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        struct qentry e;
        if (queue_read(qdir, ids[i], &e) < 0)
            continue;                   /* removed meanwhile, or malformed (logged) */
        char line[8192];
        queue_admin_line(&e, now, line, sizeof line);
        printf("%s\n", line);
        qentry_free(&e);
        shown++;
    }
    queue_free_ids(ids, n);
    if (shown == 0)
        printf("queue is empty\n");
    return 0;
}

/* Runs as run_as_user (queue_admin_main dropped root): a symlink or a pid planted in
 * the queue directory can only be used with that user's own rights. */
static int do_flush(const struct config *cfg, const char *qdir)
{
    char path[QUEUE_DIR_MAX + 32];
    struct stat st;
    if (stat(qdir, &st) < 0) {
        printf("queue is empty\n");
        return 0;
    }
    snprintf(path, sizeof path, "%s/flush", qdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0)
        (void)close(fd);
    else if (errno != EEXIST) {             /* EEXIST: a flush is already asked for */
        fprintf(stderr, "smtpd: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    int pid = runner_pid_of(cfg->data_dir);
    if (pid > 0 && kill(pid, SIGUSR1) == 0)
        printf("flush requested; queue runner %d notified\n", pid);
    else if (pid > 0)
        printf("flush requested; queue runner %d not signalled (%s); it sees the flush "
               "file within a minute\n", pid, strerror(errno));
    else
        printf("flush requested; no queue runner is running (it flushes when smtpd starts)\n");
    return 0;
}

int queue_admin_main(int argc, char **argv, const struct config *cfg)
{
    const char *what = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc)
            what = argv[i + 1];
    bool list = what && strcmp(what, "list") == 0;
    if (!list && !(what && strcmp(what, "flush") == 0)) {
        fprintf(stderr, "usage: smtpd -c FILE --queue list|flush\n");
        return 2;
    }
    /* as root, become run_as_user before anything under data_dir is looked at */
    char qdir[QUEUE_DIR_MAX], err[1024];
    if (privdrop_admin(cfg->data_dir, cfg->run_as_user, err, sizeof err) != 0) {
        fprintf(stderr, "smtpd: %s\n", err);
        return 1;
    }
    if (queue_dir(cfg->data_dir, qdir, sizeof qdir) < 0) {
        fprintf(stderr, "smtpd: data_dir too long\n");
        return 1;
    }
    return list ? do_list(qdir) : do_flush(cfg, qdir);
}
