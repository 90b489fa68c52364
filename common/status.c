/* status: gathering what `userdb status` and the metrics textfile report (status.h):
 * the daemons' stats files, the queue, the store, the certificate. */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lockout.h"
#include "queue_file.h"
#include "util.h"

static const char *const dnames[ST_NDAEMONS] = { "smtpd", "pop3d", "queue" };

void status_read_cert(struct status *s, const char *path)
{
    s->cert_done = true;
    s->cert_not_after = 0;
    s->cert_err[0] = '\0';
    str_copy(s->cert_path, path ? path : "", sizeof s->cert_path);
    if (!s->cert_path[0])
        return;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(s->cert_err, sizeof s->cert_err, "cannot read: %s", strerror(errno));
        return;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    (void)fclose(f);
    struct tm tm;
    const ASN1_TIME *na = x ? X509_get0_notAfter(x) : NULL;
    if (!na || ASN1_TIME_to_tm(na, &tm) != 1)
        str_copy(s->cert_err, "no certificate in the file", sizeof s->cert_err);
    else
        s->cert_not_after = (int64_t)timegm(&tm);
    X509_free(x);
}

/* At most this many bytes of a stats file are read. */
#define STATS_FILE_MAX 16384

static void read_daemon(struct status_daemon *d, const char *data_dir, int64_t now)
{
    char path[4096], *text = NULL;
    if (stats_path(data_dir, d->name, path, sizeof path) != 0)
        return;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    text = malloc(STATS_FILE_MAX + 1);
    size_t got = 0;
    while (text && got < STATS_FILE_MAX) {
        ssize_t n = read(fd, text + got, STATS_FILE_MAX - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    (void)close(fd);
    if (text) {
        text[got] = '\0';
        d->present = stats_parse(text, &d->f) == 0;
    }
    free(text);
    if (!d->present || d->f.stopped != 0 || d->f.pid <= 0)
        return;
    d->alive = kill((pid_t)d->f.pid, 0) == 0 || errno == EPERM;
    unsigned iv = d->f.interval ? d->f.interval : STATS_INTERVAL;
    d->stale = d->alive && now - d->f.written > (int64_t)iv * STATUS_STALE_INTERVALS;
}

static void read_queue(struct status *s, const char *data_dir)
{
    char qdir[QUEUE_DIR_MAX];
    char **ids = NULL;
    size_t n = 0;
    s->queue_messages = -1;
    if (queue_dir(data_dir, qdir, sizeof qdir) < 0)
        return;
    if (queue_list_ids(qdir, &ids, &n) < 0) {
        if (errno == ENOENT)          /* no queue yet: nothing was ever relayed */
            s->queue_messages = 0;
        return;
    }
    s->queue_messages = (long)n;
    for (size_t i = 0; i < n; i++) {
        struct qentry e;
        memset(&e, 0, sizeof e);
        if (queue_read(qdir, ids[i], &e) < 0)
            continue;                 /* removed meanwhile */
        bool deferred = false;
        for (size_t r = 0; r < e.nrcpt; r++)
            deferred |= e.rcpt[r].state == QR_PENDING && e.rcpt[r].attempts > 0;
        if (deferred) {
            s->queue_deferred++;
            if (s->oldest_deferred == 0 || e.created < s->oldest_deferred)
                s->oldest_deferred = e.created;
        }
        qentry_free(&e);
    }
    queue_free_ids(ids, n);
}

struct lock_count {
    int64_t now;
    long n;
};

static int count_locked(const struct authfail_rec *r, void *ctx)
{
    struct lock_count *lc = ctx;
    if (lockout_is_locked(r, lc->now))
        lc->n++;
    return 0;
}

static void read_store(struct status *s, struct store *st)
{
    s->lockouts = -1;
    if (!st) {
        s->store_ok = -1;
        str_copy(s->store_msg, "cannot open the store", sizeof s->store_msg);
        return;
    }
    s->store_ok = store_health(st, s->store_msg, sizeof s->store_msg) == STORE_OK;
    struct lock_count lc = { .now = s->now, .n = 0 };
    if (store_authfail_list(st, count_locked, &lc) == STORE_OK)
        s->lockouts = lc.n;
}

void status_gather(struct status *s, const struct config *cfg, struct store *st, int64_t now)
{
    bool cert_done = s->cert_done;
    struct status keep = { 0 };
    if (cert_done) {
        str_copy(keep.cert_path, s->cert_path, sizeof keep.cert_path);
        str_copy(keep.cert_err, s->cert_err, sizeof keep.cert_err);
        keep.cert_not_after = s->cert_not_after;
    }
    memset(s, 0, sizeof *s);
    s->now = now;
    for (size_t i = 0; i < ST_NDAEMONS; i++) {
        struct status_daemon *d = &s->d[i];
        d->name = dnames[i];
        d->expected = config_count(cfg, i == ST_POP3D ? KIND_POP3 : KIND_SMTP) > 0;
        read_daemon(d, cfg->data_dir, now);
    }
    read_queue(s, cfg->data_dir);
    read_store(s, st);
    if (cert_done) {
        s->cert_done = true;
        str_copy(s->cert_path, keep.cert_path, sizeof s->cert_path);
        str_copy(s->cert_err, keep.cert_err, sizeof s->cert_err);
        s->cert_not_after = keep.cert_not_after;
    } else {
        status_read_cert(s, cfg->tls_cert);
    }
}

int status_write_textfile(const char *path, const struct config *cfg, struct store *st)
{
    static struct status s;          /* one caller: the queue runner's loop */
    char *buf = NULL;
    size_t len = 0;
    s.cert_done = false;
    status_gather(&s, cfg, st, (int64_t)time(NULL));
    status_judge(&s);
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    status_print_prom(f, &s);
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    int rc = stats_write_atomic(path, buf, len, 0644);
    free(buf);
    return rc;
}
