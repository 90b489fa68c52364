/* cmd_mail: MAIL FROM and RCPT TO (RFC 5321 4.1.1.2-3): sequencing, parsing
 * (smtp_parse.h), the policy decisions (policy.h, logged one line each) and the
 * recipient lists the delivery uses (local Maildirs / queue). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "util.h"

/* A message id unique across processes and time: seconds, microseconds, pid, counter. */
static void new_id(char *id, size_t len)
{
    static atomic_ulong seq;
    struct timeval tv;
    if (gettimeofday(&tv, NULL) < 0)
        tv.tv_sec = time(NULL), tv.tv_usec = 0;
    unsigned long n = atomic_fetch_add(&seq, 1) + 1;
    snprintf(id, len, "%lX%05lX%lXN%lX", (unsigned long)tv.tv_sec, (unsigned long)tv.tv_usec,
             (unsigned long)getpid(), n);
}

void cmd_mail(struct session *s, const char *arg)
{
    struct smtp_mail m;
    struct smtp_reply r;
    struct policy_result res;
    if (sess_tls_required(s)) {
        sess_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
        return;
    }
    if (!s->greeted) {
        sess_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
        return;
    }
    if (s->in_mail) {
        sess_reply(s, 503, "5.5.1", "Error: nested MAIL command");
        return;
    }
    if (smtp_parse_mail(arg, s->cfg->max_message_size, &m, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    policy_mail(&s->pc, &s->lk, &m.addr, (int64_t)time(NULL), &res);
    policy_log(&s->pc, &m.addr, NULL, &res);
    if (!res.accept) {
        sess_reply(s, res.code, res.enh, "%s", res.text);
        return;
    }
    if (sess_begin_tx(s) < 0) {
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
        return;
    }
    s->tx->from = m.addr;
    new_id(s->id, sizeof s->id);
    sess_reply(s, 250, "2.1.0", "Ok");
}

/* Add a target unless it is there already; -1 when out of memory. */
static int add_target(char **v, size_t *n, const char *target)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], target) == 0)
            return 0;
    char *t = strdup(target);
    if (!t)
        return -1;
    v[(*n)++] = t;
    return 0;
}

void cmd_rcpt(struct session *s, const char *arg)
{
    struct smtp_rcpt rc;
    struct smtp_reply r;
    struct policy_rcpt pr;
    if (!s->in_mail) {
        sess_reply(s, 503, "5.5.1", "Error: need MAIL command");
        return;
    }
    if (smtp_parse_rcpt(arg, &rc, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    if (s->nrcpt >= s->inst->max_recipients) {
        sess_reply(s, 452, "4.5.3", "Error: too many recipients");
        return;
    }
    policy_rcpt(&s->pc, &s->lk, &s->tx->from, &rc.addr, (int64_t)time(NULL), &pr);
    policy_log(&s->pc, &s->tx->from, &rc.addr, &pr.res);
    if (!pr.res.accept && pr.res.code == 550 && strcmp(pr.res.enh, "5.1.1") == 0) {
        sess_unknown_rcpt(s, &pr.res);      /* directory harvesting limits */
        return;
    }
    if (!pr.res.accept) {
        sess_refused_rcpt(s, &pr.res);      /* not forgiven by a delivery */
        return;
    }
    int rcode = pr.kind == RCPT_LOCAL ? add_target(s->tx->local, &s->nlocal, pr.target)
                                      : add_target(s->tx->relay, &s->nrelay, pr.target);
    if (rcode < 0) {
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
        return;
    }
    if (s->nrcpt++ == 0)
        str_copy(s->tx->first_rcpt, rc.addr.text, sizeof s->tx->first_rcpt);
    sess_reply(s, 250, "2.1.5", "Ok");
}
