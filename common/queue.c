/* queue: putting a message into the durable outbound queue.
 *
 * On-disk format, under DATA_DIR/queue (directories 0700, files 0600):
 *   tmp/          files being written (never read; stale ones are removed by the runner)
 *   msg/QID       the message: exactly the bytes received (Received: header first, LF
 *                 line endings, no Return-Path, not dot-stuffed)
 *   env/QID       the envelope, a text file; its presence is the commit point of an entry:
 *                     mailserver-queue 1
 *                     id QID
 *                     msgid SESSION-ID
 *                     created UNIXTIME
 *                     size OCTETS
 *                     sender ADDRESS        (empty for <>)
 *                     warned 0|1            (delay warning sent)
 *                     rcpt<TAB>STATE<TAB>ATTEMPTS<TAB>NEXT-TRY<TAB>STATUS<TAB>REMOTE<TAB>ADDR<TAB>DIAG
 *                 one rcpt line per recipient, STATE pending|done|bounced.
 *   runner.pid    pid of the queue runner, which holds an flock on it (one runner only)
 *   flush         touched by `smtpd --queue flush`: every pending recipient is due now
 *
 * Every file is written as tmp/NAME, fsync'ed, renamed into place, and the directory
 * fsync'ed. Enqueue writes msg/ first, env/ last; the runner rewrites env/QID the same
 * way after each delivery attempt and removes env/ before msg/. So after `kill -9` at any
 * moment an entry is either absent (no 250 was sent) or complete; a message with no
 * envelope is an orphan that the runner removes after an hour. A crash between a remote
 * 250 and the envelope rewrite makes that recipient be delivered a second time.
 * Only the runner rewrites envelopes, so there are no lost updates. */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "fsutil.h"
#include "queue_file.h"
#include "util.h"

/* Pick a queue id from the session id (or a generated one) and create tmp/QID.msg. */
static int reserve_id(const char *qdir, const char *id, char *qid, size_t qlen,
                      struct dfile *f)
{
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        if (attempt == 0 && id && queue_id_valid(id) && strlen(id) < QUEUE_ID_MAX - 8) {
            str_copy(qid, id, qlen);
        } else {
            struct timeval tv;
            gettimeofday(&tv, NULL);
            snprintf(qid, qlen, "%lx%05lx.%lx.%x", (unsigned long)tv.tv_sec,
                     (unsigned long)tv.tv_usec, (unsigned long)getpid(), c);
        }
        char env[4096], msg[4096], tmp[4096];
        snprintf(env, sizeof env, "%s/env/%s", qdir, qid);
        snprintf(msg, sizeof msg, "%s/msg/%s", qdir, qid);
        int n = snprintf(tmp, sizeof tmp, "%s/tmp/%s.msg", qdir, qid);
        if (n < 0 || (size_t)n >= sizeof tmp)
            return errno = ENAMETOOLONG, -1;
        if (dfile_open(f, tmp) < 0) {
            if (errno == EEXIST)
                continue;
            return -1;
        }
        if (access(env, F_OK) == 0 || access(msg, F_OK) == 0) {
            dfile_abort(f);
            continue;
        }
        return 0;
    }
    return errno = EEXIST, -1;
}

/* Write the message into tmp/, fsync, rename into msg/, fsync msg/. */
static int store_message(const char *qdir, const char *qid, struct dfile *f, int fd,
                         off_t offset, size_t len)
{
    char dst[4096], dir[4096];
    snprintf(dst, sizeof dst, "%s/msg/%s", qdir, qid);
    snprintf(dir, sizeof dir, "%s/msg", qdir);
    if (copy_range(f->fd, fd, offset, len) < 0) {
        dfile_abort(f);
        return -1;
    }
    return dfile_commit(f, dst, dir);
}

static int build_entry(struct qentry *e, const char *qid, const char *id, const char *sender,
                       char *const *rcpts, size_t nrcpt, size_t len)
{
    memset(e, 0, sizeof *e);
    str_copy(e->id, qid, sizeof e->id);
    e->msgid = strdup(id ? id : "");
    e->sender = strdup(sender ? sender : "");
    e->created = (int64_t)time(NULL);
    e->size = len;
    if (!e->msgid || !e->sender)
        return -1;
    for (size_t i = 0; i < nrcpt; i++) {
        for (const char *p = rcpts[i]; *p; p++)
            if ((unsigned char)*p < 0x20)
                return errno = EINVAL, -1;
        if (rcpts[i][0] == '\0' || qentry_add_rcpt(e, rcpts[i]) < 0)
            return errno = EINVAL, -1;
    }
    return 0;
}

int queue_enqueue(const struct config *cfg, const char *id, const char *sender,
                  char *const *rcpts, size_t nrcpt, int fd, off_t offset, size_t len)
{
    char qdir[QUEUE_DIR_MAX], qid[QUEUE_ID_MAX];
    struct dfile f;
    if (nrcpt == 0)
        return errno = EINVAL, -1;
    if (queue_dir(cfg->data_dir, qdir, sizeof qdir) < 0 || queue_make_dirs(qdir) < 0)
        return -1;
    if (reserve_id(qdir, id, qid, sizeof qid, &f) < 0) {
        log_err("queue: cannot create an entry in %s: %s", qdir, strerror(errno));
        return -1;
    }
    if (store_message(qdir, qid, &f, fd, offset, len) < 0) {
        int e = errno;
        log_err("queue: writing message %s: %s", qid, strerror(e));
        return errno = e, -1;
    }
    struct qentry e;
    int rc = build_entry(&e, qid, id, sender, rcpts, nrcpt, len);
    if (rc == 0)
        rc = queue_update(qdir, &e);
    int err = errno;
    qentry_free(&e);
    if (rc < 0) {
        char msg[4096];
        if (snprintf(msg, sizeof msg, "%s/msg/%s", qdir, qid) < (int)sizeof msg)
            unlink(msg);
        log_err("queue: writing envelope %s: %s", qid, strerror(err));
        return errno = err, -1;
    }
    log_info("queue: %s queued from <%s> for %zu recipient(s), %zu octets", qid,
             sender ? sender : "", nrcpt, len);
    return 0;
}
