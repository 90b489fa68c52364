/* stats: activity counters, their per-minute ring and the DAEMON.stats file (stats.h). */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static _Atomic uint64_t totals[STAT_N];

static const char *const names[STAT_N] = {
    [STAT_DELIVER_LOCAL] = "deliver_local",       [STAT_RELAY_QUEUED] = "relay_queued",
    [STAT_QUEUE_DELIVERED] = "queue_delivered",   [STAT_QUEUE_BOUNCED] = "queue_bounced",
    [STAT_QUEUE_DEFERRED] = "queue_deferred",     [STAT_POP3_LOGIN] = "pop3_login",
    [STAT_REJ_RELAY] = "rejected_relay",          [STAT_REJ_AUTH] = "rejected_auth",
    [STAT_REJ_DNSBL] = "rejected_dnsbl",          [STAT_REJ_GREYLIST] = "rejected_greylist",
    [STAT_REJ_SPF_DMARC] = "rejected_spf_dmarc",  [STAT_REJ_CONTENT] = "rejected_content",
    [STAT_REJ_OTHER] = "rejected_other",
};

void stats_count(enum stat_id id)
{
    stats_add(id, 1);
}

void stats_add(enum stat_id id, uint64_t n)
{
    if ((unsigned)id < STAT_N)
        atomic_fetch_add_explicit(&totals[id], n, memory_order_relaxed);
}

void stats_reset(void)
{
    for (size_t i = 0; i < STAT_N; i++)
        atomic_store_explicit(&totals[i], 0, memory_order_relaxed);
}

const char *stats_name(enum stat_id id)
{
    return (unsigned)id < STAT_N ? names[id] : NULL;
}

enum stat_id stats_id(const char *name)
{
    for (size_t i = 0; i < STAT_N; i++)
        if (strcmp(names[i], name) == 0)
            return (enum stat_id)i;
    return STAT_NONE;
}

/* ---- the ring ------------------------------------------------------------------ */

#define RING_SLOTS (STATS_RING_MIN + 1)

void stats_ring_init(struct stats_ring *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < RING_SLOTS; i++)
        r->minute[i] = -1;
}

void stats_ring_note(struct stats_ring *r, int64_t now, const uint64_t *tot)
{
    int64_t m = now / 60;
    size_t slot = (size_t)(m % RING_SLOTS);
    if (r->minute[slot] == m)
        return;
    r->minute[slot] = m;
    memcpy(r->snap[slot], tot, sizeof r->snap[slot]);
}

void stats_ring_hour(const struct stats_ring *r, int64_t now, const uint64_t *tot, uint64_t *out)
{
    int64_t m = now / 60, best = -1;
    size_t at = 0;
    for (size_t i = 0; i < RING_SLOTS; i++) {
        int64_t sm = r->minute[i];
        if (sm >= 0 && sm <= m && sm >= m - STATS_RING_MIN && (best < 0 || sm < best)) {
            best = sm;
            at = i;
        }
    }
    for (size_t k = 0; k < STAT_N; k++) {
        uint64_t base = best >= 0 ? r->snap[at][k] : 0;
        out[k] = tot[k] >= base ? tot[k] - base : 0;
    }
}

/* ---- the file ------------------------------------------------------------------ */

/* Append to buf at *off; false when it does not fit. */
static bool put(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
    va_list ap;
    if (*off >= len)
        return false;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, len - *off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *off)
        return false;
    *off += (size_t)n;
    return true;
}

int stats_format(const struct stats_file *f, char *buf, size_t len)
{
    size_t off = 0;
    bool ok = put(buf, len, &off, "mailserver-stats 1\ndaemon %s\npid %ld\nversion %s\n"
                  "started %" PRId64 "\nwritten %" PRId64 "\nstopped %" PRId64 "\ninterval %u\n",
                  f->daemon, f->pid, f->version, f->started, f->written, f->stopped, f->interval);
    for (size_t i = 0; ok && i < f->nconn && i < STATS_CONN_MAX; i++)
        ok = put(buf, len, &off, "conn %s %u\n", f->conn[i].name, f->conn[i].n);
    for (size_t k = 0; ok && k < STAT_N; k++)
        ok = put(buf, len, &off, "total %s %" PRIu64 "\nhour %s %" PRIu64 "\n", names[k],
                 f->total[k], names[k], f->hour[k]);
    return ok ? (int)off : -1;
}

static bool num(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || (*end != '\0' && *end != '\n'))
        return false;
    *out = v;
    return true;
}

/* One "KEY REST" line into f. */
static void parse_line(char *line, struct stats_file *f)
{
    char *sp = strchr(line, ' ');
    if (!sp)
        return;
    *sp = '\0';
    const char *key = line;
    char *rest = sp + 1;
    int64_t v = 0;
    if (strcmp(key, "daemon") == 0)
        str_copy(f->daemon, rest, sizeof f->daemon);
    else if (strcmp(key, "version") == 0)
        str_copy(f->version, rest, sizeof f->version);
    else if (strcmp(key, "pid") == 0 && num(rest, &v))
        f->pid = (long)v;
    else if (strcmp(key, "started") == 0 && num(rest, &v))
        f->started = v;
    else if (strcmp(key, "written") == 0 && num(rest, &v))
        f->written = v;
    else if (strcmp(key, "stopped") == 0 && num(rest, &v))
        f->stopped = v;
    else if (strcmp(key, "interval") == 0 && num(rest, &v) && v >= 0 && v < 86400)
        f->interval = (unsigned)v;
    else {
        char *sp2 = strrchr(rest, ' ');
        if (!sp2 || !num(sp2 + 1, &v) || v < 0)
            return;
        *sp2 = '\0';
        if (strcmp(key, "conn") == 0 && f->nconn < STATS_CONN_MAX && v <= UINT32_MAX) {
            str_copy(f->conn[f->nconn].name, rest, sizeof f->conn[0].name);
            f->conn[f->nconn++].n = (unsigned)v;
        } else if (strcmp(key, "total") == 0 || strcmp(key, "hour") == 0) {
            enum stat_id id = stats_id(rest);
            if (id != STAT_NONE)
                (key[0] == 't' ? f->total : f->hour)[id] = (uint64_t)v;
        }
    }
}

int stats_parse(const char *text, struct stats_file *out)
{
    static const char magic[] = "mailserver-stats 1\n";
    memset(out, 0, sizeof *out);
    if (strncmp(text, magic, sizeof magic - 1) != 0)
        return -1;
    const char *p = text + sizeof magic - 1;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[256];
        if (n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            parse_line(line, out);
        }
        p += n + (nl ? 1 : 0);
    }
    return out->daemon[0] ? 0 : -1;
}

/* ---- I/O ----------------------------------------------------------------------- */

int stats_path(const char *data_dir, const char *daemon, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/run/%s.stats", data_dir, daemon);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int stats_write_atomic(const char *path, const char *text, size_t len, unsigned mode)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int e = done == len ? 0 : errno ? errno : EIO;
    if (e == 0 && fchmod(fd, (mode_t)mode) < 0)
        e = errno;
    if (close(fd) < 0 && e == 0)
        e = errno;
    if (e == 0 && rename(tmp, path) < 0)
        e = errno;
    if (e != 0) {
        (void)unlink(tmp);
        return errno = e, -1;
    }
    return 0;
}

/* The process's own: what stats_begin set and the ring (one timer uses them). */
static struct {
    char daemon[16];
    int64_t started;
    struct stats_ring ring;
} me;

void stats_begin(const char *daemon, int64_t now)
{
    uint64_t tot[STAT_N];
    str_copy(me.daemon, daemon, sizeof me.daemon);
    me.started = now;
    stats_ring_init(&me.ring);
    for (size_t k = 0; k < STAT_N; k++)
        tot[k] = atomic_load_explicit(&totals[k], memory_order_relaxed);
    stats_ring_note(&me.ring, now, tot);
}

int stats_publish(const char *data_dir, const char *const *cnames, const unsigned *conn,
                  size_t nconn, bool stopped)
{
    static struct stats_file f;    /* one timer per process calls this */
    static char text[8192];
    char path[4096], dir[4096];
    int64_t now = (int64_t)time(NULL);

    if (!me.daemon[0] || stats_path(data_dir, me.daemon, path, sizeof path) != 0)
        return errno = EINVAL, -1;
    memset(&f, 0, sizeof f);
    str_copy(f.daemon, me.daemon, sizeof f.daemon);
    str_copy(f.version, MS_VERSION, sizeof f.version);
    f.pid = (long)getpid();
    f.started = me.started;
    f.written = now;
    f.stopped = stopped ? now : 0;
    f.interval = STATS_INTERVAL;
    for (size_t i = 0; i < nconn && f.nconn < STATS_CONN_MAX; i++) {
        str_copy(f.conn[f.nconn].name, cnames[i], sizeof f.conn[0].name);
        f.conn[f.nconn++].n = conn[i];
    }
    for (size_t k = 0; k < STAT_N; k++)
        f.total[k] = atomic_load_explicit(&totals[k], memory_order_relaxed);
    stats_ring_note(&me.ring, now, f.total);
    stats_ring_hour(&me.ring, now, f.total, f.hour);
    int n = stats_format(&f, text, sizeof text);
    if (n < 0)
        return errno = ENOSPC, -1;
    snprintf(dir, sizeof dir, "%s/run", data_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    return stats_write_atomic(path, text, (size_t)n, 0600);
}
