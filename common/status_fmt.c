/* status_fmt: the verdict and the two printers of status.h (pure: no I/O but the
 * FILE given). */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "status.h"
#include "util.h"

/* Reason classes of rejections as the admin reads them, in the order printed. */
static const struct { enum stat_id id; const char *label, *text; } rejs[] = {
    { STAT_REJ_RELAY, "relay", "relay denied" },  { STAT_REJ_AUTH, "auth", "auth failed" },
    { STAT_REJ_DNSBL, "dnsbl", "dnsbl" },         { STAT_REJ_GREYLIST, "greylist", "greylist" },
    { STAT_REJ_SPF_DMARC, "spf_dmarc", "spf/dmarc" },
    { STAT_REJ_CONTENT, "content", "content filter" }, { STAT_REJ_OTHER, "other", "other" },
};
#define NREJS (sizeof rejs / sizeof rejs[0])

/* Deliveries: who counts them (daemon index), label, text. */
static const struct { enum stat_id id; int d; const char *label, *text; } dels[] = {
    { STAT_DELIVER_LOCAL, ST_SMTPD, "local", "local" },
    { STAT_RELAY_QUEUED, ST_SMTPD, "queued", "relayed (queued)" },
    { STAT_QUEUE_DELIVERED, ST_QUEUE, "delivered", "delivered by the queue" },
    { STAT_QUEUE_BOUNCED, ST_QUEUE, "bounced", "bounced" },
    { STAT_QUEUE_DEFERRED, ST_QUEUE, "deferred", "deferred attempts" },
};
#define NDELS (sizeof dels / sizeof dels[0])

void status_age(int64_t secs, char *buf, size_t len)
{
    if (secs < 0)
        secs = 0;
    if (secs >= 86400)
        snprintf(buf, len, "%" PRId64 "d%" PRId64 "h", secs / 86400, secs % 86400 / 3600);
    else if (secs >= 3600)
        snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", secs / 3600, secs % 3600 / 60);
    else if (secs >= 60)
        snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", secs / 60, secs % 60);
    else
        snprintf(buf, len, "%" PRId64 "s", secs);
}

/* ---- the verdict ---------------------------------------------------------------- */

static void why(struct status *s, enum status_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why(struct status *s, enum status_level lv, const char *fmt, ...)
{
    size_t n = strlen(s->why);
    if (lv > s->level)
        s->level = lv;
    if (n > 0 && n + 2 < sizeof s->why) {
        memcpy(s->why + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(s->why + n, sizeof s->why - n, fmt, ap);
    va_end(ap);
}

static int64_t cert_days(const struct status *s)
{
    int64_t left = s->cert_not_after - s->now;
    return left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
}

void status_judge(struct status *s)
{
    s->level = STATUS_OK;
    s->why[0] = '\0';
    for (size_t i = 0; i < ST_NDAEMONS; i++) {
        const struct status_daemon *d = &s->d[i];
        /* the queue runner is smtpd's child: it matters while smtpd runs */
        bool want = i == ST_QUEUE ? s->d[ST_SMTPD].alive && !s->d[ST_SMTPD].stale : d->expected;
        enum status_level lv = i == ST_QUEUE ? STATUS_DEGRADED : STATUS_DOWN;
        if (!want)
            continue;
        if (!d->alive)
            why(s, lv, "%s is down", d->name);
        else if (d->stale)
            why(s, lv, "%s is not answering (pid %ld)", d->name, d->f.pid);
    }
    if (s->store_ok < 0)
        why(s, STATUS_DOWN, "store: %s", s->store_msg);
    else if (s->store_ok == 0)
        why(s, STATUS_DEGRADED, "store: %s", s->store_msg);
    if (s->cert_path[0] && s->cert_not_after == 0)
        why(s, STATUS_DEGRADED, "tls_cert: %s", s->cert_err);
    else if (s->cert_path[0] && s->cert_not_after <= s->now)
        why(s, STATUS_DOWN, "tls_cert expired");
    else if (s->cert_path[0] && cert_days(s) < STATUS_CERT_WARN_DAYS)
        why(s, STATUS_DEGRADED, "tls_cert expires in %" PRId64 " days", cert_days(s));
    if (s->queue_messages < 0)
        why(s, STATUS_DEGRADED, "the queue cannot be read");
}

/* ---- the admin's lines ----------------------------------------------------------- */

static const char *const level_names[] = { "healthy", "degraded", "down" };

static void daemon_line(FILE *out, const struct status *s, const struct status_daemon *d)
{
    char age[32];
    const char *label = d == &s->d[ST_QUEUE] ? "queue runner" : d->name;
    if (!d->present) {
        fprintf(out, "%s: down (never ran here)\n", label);
        return;
    }
    if (!d->alive) {
        struct tm tm;
        char when[32] = "?";
        time_t t = (time_t)(d->f.stopped ? d->f.stopped : d->f.written);
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
        fprintf(out, "%s: down (%s %s)\n", label, d->f.stopped ? "stopped at" : "last seen", when);
        return;
    }
    status_age(s->now - d->f.started, age, sizeof age);
    fprintf(out, "%s: %s, pid %ld, up %s, version %s", label,
            d->stale ? "NOT ANSWERING" : "up", d->f.pid, age, d->f.version);
    for (size_t i = 0; i < d->f.nconn; i++)
        fprintf(out, "%s%s %u", i == 0 ? "; connections: " : ", ", d->f.conn[i].name,
                d->f.conn[i].n);
    fputc('\n', out);
}

/* The hour's count of ID from the daemon that counts it (0 when it never ran). */
static uint64_t hour(const struct status *s, int d, enum stat_id id)
{
    return s->d[d].present ? s->d[d].f.hour[id] : 0;
}

void status_print_text(FILE *out, const struct status *s)
{
    char age[32];
    fprintf(out, "status: %s%s%s%s\n", level_names[s->level], s->why[0] ? " (" : "", s->why,
            s->why[0] ? ")" : "");
    for (size_t i = 0; i < ST_NDAEMONS; i++)
        if (s->d[i].expected || s->d[i].present)
            daemon_line(out, s, &s->d[i]);
    fputs("deliveries, last hour:", out);
    for (size_t i = 0; i < NDELS; i++)
        fprintf(out, "%s %s %" PRIu64, i ? "," : "", dels[i].text, hour(s, dels[i].d, dels[i].id));
    fputs("\nrejections, last hour:", out);
    for (size_t i = 0; i < NREJS; i++) {
        uint64_t n = hour(s, ST_SMTPD, rejs[i].id) + hour(s, ST_POP3D, rejs[i].id);
        fprintf(out, "%s %s %" PRIu64, i ? "," : "", rejs[i].text, n);
    }
    fprintf(out, "\npop3 logins, last hour: %" PRIu64 "\n", hour(s, ST_POP3D, STAT_POP3_LOGIN));
    if (s->queue_messages < 0)
        fputs("queue: cannot be read\n", out);
    else {
        fprintf(out, "queue: %ld message(s), %ld deferred", s->queue_messages, s->queue_deferred);
        if (s->oldest_deferred) {
            status_age(s->now - s->oldest_deferred, age, sizeof age);
            fprintf(out, ", the oldest for %s", age);
        }
        fputc('\n', out);
    }
    if (s->lockouts < 0)
        fputs("lockouts: unknown\n", out);
    else
        fprintf(out, "lockouts: %ld locked IP(s)\n", s->lockouts);
    fprintf(out, "store: %s\n", s->store_msg);
    if (!s->cert_path[0])
        fputs("tls_cert: not set\n", out);
    else if (s->cert_not_after == 0)
        fprintf(out, "tls_cert: %s: %s\n", s->cert_path, s->cert_err);
    else {
        struct tm tm;
        char when[32] = "?";
        time_t t = (time_t)s->cert_not_after;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d", &tm);
        fprintf(out, "tls_cert: %s: expires %s (%" PRId64 " days left)%s\n", s->cert_path, when,
                cert_days(s), cert_days(s) < STATUS_CERT_WARN_DAYS ? " WARNING" : "");
    }
}

/* ---- Prometheus ------------------------------------------------------------------ */

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: our own names; escape what the format asks to be escaped anyway. */
static void label(FILE *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', out);
        if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
}

static void counters(FILE *out, const struct status *s, bool total)
{
    const char *sfx = total ? "_total" : "_last_hour";
    const char *type = total ? "counter" : "gauge";
    char name[64];
    snprintf(name, sizeof name, "mailserver_deliveries%s", sfx);
    family(out, name, type, total ? "Recipients by outcome since the daemon started."
                                  : "Recipients by outcome in the last hour.");
    for (size_t i = 0; i < NDELS; i++)
        if (s->d[dels[i].d].present)
            fprintf(out, "%s{daemon=\"%s\",kind=\"%s\"} %" PRIu64 "\n", name, s->d[dels[i].d].name,
                    dels[i].label,
                    total ? s->d[dels[i].d].f.total[dels[i].id] : s->d[dels[i].d].f.hour[dels[i].id]);
    snprintf(name, sizeof name, "mailserver_rejections%s", sfx);
    family(out, name, type, total ? "Rejections by reason class since the daemon started."
                                  : "Rejections by reason class in the last hour.");
    for (int d = ST_SMTPD; d <= ST_POP3D; d++) {
        if (!s->d[d].present)
            continue;
        for (size_t i = 0; i < NREJS; i++)
            if (d == ST_SMTPD || rejs[i].id == STAT_REJ_AUTH)
                fprintf(out, "%s{daemon=\"%s\",reason=\"%s\"} %" PRIu64 "\n", name, s->d[d].name,
                        rejs[i].label, total ? s->d[d].f.total[rejs[i].id] : s->d[d].f.hour[rejs[i].id]);
    }
    snprintf(name, sizeof name, "mailserver_pop3_logins%s", sfx);
    family(out, name, type, total ? "Successful POP3 logins since pop3d started."
                                  : "Successful POP3 logins in the last hour.");
    if (s->d[ST_POP3D].present)
        fprintf(out, "%s %" PRIu64 "\n", name,
                total ? s->d[ST_POP3D].f.total[STAT_POP3_LOGIN] : s->d[ST_POP3D].f.hour[STAT_POP3_LOGIN]);
}

static void prom_daemons(FILE *out, const struct status *s)
{
    family(out, "mailserver_up", "gauge", "1 when the daemon runs and answers.");
    for (size_t i = 0; i < ST_NDAEMONS; i++)
        fprintf(out, "mailserver_up{daemon=\"%s\"} %d\n", s->d[i].name,
                s->d[i].alive && !s->d[i].stale);
    family(out, "mailserver_start_time_seconds", "gauge", "Start of the daemon, unix time.");
    for (size_t i = 0; i < ST_NDAEMONS; i++)
        if (s->d[i].alive)
            fprintf(out, "mailserver_start_time_seconds{daemon=\"%s\"} %" PRId64 "\n", s->d[i].name,
                    s->d[i].f.started);
    family(out, "mailserver_build_info", "gauge", "The running daemon's version.");
    for (size_t i = 0; i < ST_NDAEMONS; i++)
        if (s->d[i].alive) {
            fprintf(out, "mailserver_build_info{daemon=\"%s\",version=\"", s->d[i].name);
            label(out, s->d[i].f.version);
            fputs("\"} 1\n", out);
        }
    family(out, "mailserver_connections", "gauge", "Open connections per instance.");
    for (size_t i = 0; i < ST_NDAEMONS; i++)
        for (size_t k = 0; s->d[i].alive && k < s->d[i].f.nconn; k++) {
            fprintf(out, "mailserver_connections{daemon=\"%s\",instance=\"", s->d[i].name);
            label(out, s->d[i].f.conn[k].name);
            fprintf(out, "\"} %u\n", s->d[i].f.conn[k].n);
        }
}

void status_print_prom(FILE *out, const struct status *s)
{
    family(out, "mailserver_health", "gauge",
           "0 healthy, 1 degraded, 2 down (the exit code of userdb status).");
    fprintf(out, "mailserver_health %d\n", (int)s->level);
    prom_daemons(out, s);
    counters(out, s, true);
    counters(out, s, false);
    family(out, "mailserver_queue_messages", "gauge", "Messages in the outbound queue.");
    if (s->queue_messages >= 0)
        fprintf(out, "mailserver_queue_messages %ld\n", s->queue_messages);
    family(out, "mailserver_queue_deferred_messages", "gauge",
           "Queued messages with a recipient deferred at least once.");
    if (s->queue_messages >= 0)
        fprintf(out, "mailserver_queue_deferred_messages %ld\n", s->queue_deferred);
    family(out, "mailserver_queue_oldest_deferred_age_seconds", "gauge",
           "Age of the oldest deferred message (0: none).");
    if (s->queue_messages >= 0)
        fprintf(out, "mailserver_queue_oldest_deferred_age_seconds %" PRId64 "\n",
                s->oldest_deferred ? s->now - s->oldest_deferred : 0);
    family(out, "mailserver_lockouts", "gauge", "Client IPs locked out of authentication.");
    if (s->lockouts >= 0)
        fprintf(out, "mailserver_lockouts %ld\n", s->lockouts);
    family(out, "mailserver_store_healthy", "gauge", "1 when the store's health check passes.");
    fprintf(out, "mailserver_store_healthy %d\n", s->store_ok == 1);
    family(out, "mailserver_tls_cert_expiry_timestamp_seconds", "gauge",
           "notAfter of tls_cert, unix time.");
    if (s->cert_not_after)
        fprintf(out, "mailserver_tls_cert_expiry_timestamp_seconds %" PRId64 "\n",
                s->cert_not_after);
}
