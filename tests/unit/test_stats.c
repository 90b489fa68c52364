/* test_stats: the pure parts of the status command: the per-minute ring (the last
 * hour), the stats file's format and parser, the reason classes of refusals, the
 * verdict (levels and their reasons) and the two printers (status.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "reject_class.h"
#include "stats.h"
#include "status.h"

#define T0 1765000000LL

static void tot_set(uint64_t *t, uint64_t v)
{
    for (size_t k = 0; k < STAT_N; k++)
        t[k] = v;
}

static void test_ring_hour(void)
{
    static struct stats_ring r;
    uint64_t tot[STAT_N], out[STAT_N];
    int64_t start = T0 - T0 % 60;

    stats_ring_init(&r);
    tot_set(tot, 0);
    stats_ring_note(&r, start, tot);
    tot_set(tot, 5);
    stats_ring_hour(&r, start + 30, tot, out);          /* younger than an hour: all */
    CU_ASSERT_EQUAL(out[STAT_DELIVER_LOCAL], 5);
    /* one event per minute for two hours, a snapshot each minute */
    tot_set(tot, 0);
    for (int m = 0; m <= 120; m++) {
        stats_ring_note(&r, start + m * 60 + 1, tot);
        tot_set(tot, (uint64_t)m + 1);
    }
    /* at minute 120 (+1 event): totals 121, the snapshot of minute 60 holds 60 */
    stats_ring_hour(&r, start + 120 * 60 + 10, tot, out);
    CU_ASSERT_EQUAL(out[STAT_REJ_RELAY], 61);
    /* a second note in the same minute keeps the first snapshot */
    uint64_t later[STAT_N];
    tot_set(later, 500);
    stats_ring_note(&r, start + 120 * 60 + 50, later);
    stats_ring_hour(&r, start + 120 * 60 + 55, tot, out);
    CU_ASSERT_EQUAL(out[STAT_REJ_RELAY], 61);
    /* a gap (nothing noted for hours): everything since the last snapshot */
    stats_ring_hour(&r, start + 300 * 60, tot, out);
    CU_ASSERT_EQUAL(out[STAT_REJ_RELAY], 121);
    /* counters never run backwards into huge numbers */
    tot_set(tot, 1);
    stats_ring_hour(&r, start + 120 * 60 + 55, tot, out);
    CU_ASSERT_EQUAL(out[STAT_REJ_RELAY], 0);
}

static void test_count(void)
{
    stats_reset();
    stats_count(STAT_POP3_LOGIN);
    stats_add(STAT_DELIVER_LOCAL, 3);
    stats_count(STAT_NONE);                              /* ignored */
    stats_begin("unit", T0);
    CU_ASSERT_STRING_EQUAL(stats_name(STAT_REJ_SPF_DMARC), "rejected_spf_dmarc");
    CU_ASSERT_EQUAL(stats_id("pop3_login"), STAT_POP3_LOGIN);
    CU_ASSERT_EQUAL(stats_id("nonsense"), STAT_NONE);
    CU_ASSERT_PTR_NULL(stats_name(STAT_NONE));
}

static void test_file_roundtrip(void)
{
    static struct stats_file f, g;
    char buf[8192];
    memset(&f, 0, sizeof f);
    strcpy(f.daemon, "smtpd");
    strcpy(f.version, "1.0");
    f.pid = 4242;
    f.started = T0;
    f.written = T0 + 100;
    f.interval = 5;
    f.nconn = 2;
    strcpy(f.conn[0].name, "lan");
    f.conn[0].n = 3;
    strcpy(f.conn[1].name, "submission");
    f.conn[1].n = 0;
    for (size_t k = 0; k < STAT_N; k++) {
        f.total[k] = 1000 + k;
        f.hour[k] = k;
    }
    int n = stats_format(&f, buf, sizeof buf);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL((size_t)n, strlen(buf));
    CU_ASSERT_EQUAL(stats_parse(buf, &g), 0);
    CU_ASSERT_EQUAL(memcmp(&f, &g, sizeof f), 0);
    CU_ASSERT_EQUAL(stats_format(&f, buf, 100), -1);     /* does not fit */
    /* not a stats file; unknown and broken lines skipped */
    CU_ASSERT_EQUAL(stats_parse("hello\n", &g), -1);
    CU_ASSERT_EQUAL(stats_parse("mailserver-stats 1\ndaemon pop3d\nfuture 1 2 3\n"
                                "total pop3_login 7\ntotal nonsense 9\nhour pop3_login x\n"
                                "pid -\nconn main\n", &g), 0);
    CU_ASSERT_STRING_EQUAL(g.daemon, "pop3d");
    CU_ASSERT_EQUAL(g.total[STAT_POP3_LOGIN], 7);
    CU_ASSERT_EQUAL(g.hour[STAT_POP3_LOGIN], 0);
    CU_ASSERT_EQUAL(g.pid, 0);
    CU_ASSERT_EQUAL(g.nconn, 0);
    CU_ASSERT_EQUAL(stats_parse("mailserver-stats 1\npid 5\n", &g), -1);   /* no daemon */
}

static void test_reject_class(void)
{
    CU_ASSERT_EQUAL(reject_class("denied"), STAT_REJ_RELAY);
    CU_ASSERT_EQUAL(reject_class("auth_required"), STAT_REJ_RELAY);
    CU_ASSERT_EQUAL(reject_class("relay_disabled"), STAT_REJ_RELAY);
    CU_ASSERT_EQUAL(reject_class("dnsbl"), STAT_REJ_DNSBL);
    CU_ASSERT_EQUAL(reject_class("greylist"), STAT_REJ_GREYLIST);
    CU_ASSERT_EQUAL(reject_class("spf"), STAT_REJ_SPF_DMARC);
    CU_ASSERT_EQUAL(reject_class("dmarc"), STAT_REJ_SPF_DMARC);
    CU_ASSERT_EQUAL(reject_class("content_filter"), STAT_REJ_CONTENT);
    CU_ASSERT_EQUAL(reject_class("content_filter_score"), STAT_REJ_CONTENT);
    CU_ASSERT_EQUAL(reject_class("unknown_user"), STAT_REJ_OTHER);
    CU_ASSERT_EQUAL(reject_class("local_spoof"), STAT_REJ_OTHER);
    CU_ASSERT_EQUAL(reject_class(NULL), STAT_REJ_OTHER);
}

/* A healthy status at T0: both daemons and the runner up, store ok, a certificate
 * with a year left. */
static void healthy(struct status *s)
{
    static const char *const names[ST_NDAEMONS] = { "smtpd", "pop3d", "queue" };
    memset(s, 0, sizeof *s);
    s->now = T0;
    for (size_t i = 0; i < ST_NDAEMONS; i++) {
        struct status_daemon *d = &s->d[i];
        d->name = names[i];
        d->expected = i != ST_QUEUE;
        d->present = d->alive = true;
        strcpy(d->f.daemon, names[i]);
        strcpy(d->f.version, "1.0");
        d->f.pid = 100 + (long)i;
        d->f.started = T0 - 3725;
        d->f.written = T0 - 2;
    }
    s->d[ST_SMTPD].f.nconn = 1;
    strcpy(s->d[ST_SMTPD].f.conn[0].name, "lan");
    s->d[ST_SMTPD].f.conn[0].n = 2;
    s->d[ST_SMTPD].f.hour[STAT_DELIVER_LOCAL] = 2;
    s->d[ST_SMTPD].f.total[STAT_DELIVER_LOCAL] = 9;
    s->d[ST_SMTPD].f.hour[STAT_REJ_AUTH] = 1;
    s->d[ST_POP3D].f.hour[STAT_REJ_AUTH] = 2;
    s->d[ST_POP3D].f.hour[STAT_POP3_LOGIN] = 4;
    s->queue_messages = 3;
    s->queue_deferred = 1;
    s->oldest_deferred = T0 - 750;
    s->lockouts = 2;
    s->store_ok = 1;
    strcpy(s->store_msg, "ok");
    s->cert_done = true;
    strcpy(s->cert_path, "/etc/cert.pem");
    s->cert_not_after = T0 + 365 * 86400LL;
}

static char *text_of(const struct status *s, bool prom)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CU_ASSERT_FATAL(f != NULL);
    if (prom)
        status_print_prom(f, s);
    else
        status_print_text(f, s);
    CU_ASSERT_FATAL(fclose(f) == 0);
    return buf;
}

static void test_judge(void)
{
    static struct status s;
    healthy(&s);
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_OK);
    CU_ASSERT_STRING_EQUAL(s.why, "");

    healthy(&s);
    s.cert_not_after = T0 + 13 * 86400LL + 5;            /* 13 days: a warning */
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_DEGRADED);
    CU_ASSERT_STRING_EQUAL(s.why, "tls_cert expires in 13 days");
    s.cert_not_after = T0 + 14 * 86400LL;                /* 14 days: fine */
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_OK);
    s.cert_not_after = T0 - 1;
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_DOWN);

    healthy(&s);
    s.d[ST_QUEUE].alive = false;                         /* the runner: degraded */
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_DEGRADED);
    CU_ASSERT_STRING_EQUAL(s.why, "queue is down");
    s.d[ST_POP3D].alive = false;                         /* a daemon: down */
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_DOWN);
    CU_ASSERT_STRING_EQUAL(s.why, "pop3d is down; queue is down");
    s.d[ST_POP3D].expected = false;                      /* no [pop3] in the config */
    s.d[ST_SMTPD].alive = false;                         /* the runner goes with smtpd */
    status_judge(&s);
    CU_ASSERT_STRING_EQUAL(s.why, "smtpd is down");

    healthy(&s);
    s.d[ST_SMTPD].stale = true;
    s.store_ok = 0;
    strcpy(s.store_msg, "health check failed: x");
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_DOWN);
    CU_ASSERT_STRING_EQUAL(s.why, "smtpd is not answering (pid 100); store: health check failed: x");
    healthy(&s);
    s.store_ok = -1;
    strcpy(s.store_msg, "cannot open the store");
    status_judge(&s);
    CU_ASSERT_EQUAL(s.level, STATUS_DOWN);
}

static void test_print_text(void)
{
    static struct status s;
    healthy(&s);
    status_judge(&s);
    char *t = text_of(&s, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "status: healthy\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "smtpd: up, pid 100, up 1h2m, version 1.0; connections: lan 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "queue runner: up, pid 102, up 1h2m, version 1.0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "deliveries, last hour: local 2, relayed (queued) 0,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "rejections, last hour: relay denied 0, auth failed 3,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "pop3 logins, last hour: 4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "queue: 3 message(s), 1 deferred, the oldest for 12m30s\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "lockouts: 2 locked IP(s)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "(365 days left)\n"));
    free(t);
    s.d[ST_POP3D].alive = false;
    s.d[ST_POP3D].f.stopped = T0 - 60;
    s.cert_not_after = T0 + 86400 * 3;
    status_judge(&s);
    t = text_of(&s, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "status: down (pop3d is down; tls_cert expires in 3 days)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "pop3d: down (stopped at "));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "(3 days left) WARNING\n"));
    free(t);
}

static void test_print_prom(void)
{
    static struct status s;
    healthy(&s);
    strcpy(s.d[ST_SMTPD].f.conn[0].name, "a\"b");        /* escaped in a label */
    status_judge(&s);
    char *t = text_of(&s, true);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "# HELP mailserver_health "));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "# TYPE mailserver_deliveries_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "# TYPE mailserver_deliveries_last_hour gauge\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_deliveries_total{daemon=\"smtpd\",kind=\"local\"} 9\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_deliveries_last_hour{daemon=\"smtpd\",kind=\"local\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_rejections_last_hour{daemon=\"pop3d\",reason=\"auth\"} 2\n"));
    CU_ASSERT_PTR_NULL(strstr(t, "{daemon=\"pop3d\",reason=\"relay\"}"));   /* smtpd's only */
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_connections{daemon=\"smtpd\",instance=\"a\\\"b\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_queue_oldest_deferred_age_seconds 750\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_lockouts 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "mailserver_up{daemon=\"queue\"} 1\n"));
    /* every sample line follows its family's HELP and TYPE; counters end in _total */
    char fam[128] = "";
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        char name[128], type[32];
        if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
            strcpy(fam, name);
            CU_ASSERT(strcmp(type, "gauge") == 0 ||
                      (strcmp(type, "counter") == 0 && strstr(name, "_total") != NULL));
        } else if (line[0] != '#') {
            CU_ASSERT(strncmp(line, fam, strlen(fam)) == 0 &&
                      (line[strlen(fam)] == ' ' || line[strlen(fam)] == '{'));
        }
    }
    free(t);
}

static void test_age(void)
{
    char b[32];
    status_age(45, b, sizeof b);
    CU_ASSERT_STRING_EQUAL(b, "45s");
    status_age(750, b, sizeof b);
    CU_ASSERT_STRING_EQUAL(b, "12m30s");
    status_age(7500, b, sizeof b);
    CU_ASSERT_STRING_EQUAL(b, "2h5m");
    status_age(3 * 86400 + 4 * 3600 + 5, b, sizeof b);
    CU_ASSERT_STRING_EQUAL(b, "3d4h");
    status_age(-5, b, sizeof b);
    CU_ASSERT_STRING_EQUAL(b, "0s");
}

static CU_TestInfo tests[] = {
    { "ring: the last hour from per-minute snapshots", test_ring_hour },
    { "counters and their names", test_count },
    { "stats file: format and parse", test_file_roundtrip },
    { "reason classes of refusals", test_reject_class },
    { "verdict: levels and reasons", test_judge },
    { "admin's lines", test_print_text },
    { "prometheus exposition", test_print_prom },
    { "ages", test_age },
    CU_TEST_INFO_NULL,
};

CU_MAIN("stats", tests)
