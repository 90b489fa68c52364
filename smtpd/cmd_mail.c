/* cmd_mail: MAIL FROM and RCPT TO (RFC 5321 4.1.1.2-3): sequencing, parsing
 * (smtp_parse.h), the policy decisions (policy.h, logged one line each) and the
 * recipient lists the delivery uses (local Maildirs / queue). The decisions read
 * the store (users, aliases, POP-auth cache), which may back off or recover, so
 * they run on the workq (common/store.h); the reply is sent from the loop. */
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

/* The command being decided on the workq. */
struct sess_pol {
    struct smtp_mail m;
    struct smtp_rcpt rc;
    struct policy_result res;   /* MAIL */
    struct policy_rcpt pr;      /* RCPT */
};

/* Start a decision: s->pol, or NULL after a 451 reply. */
static struct sess_pol *pol_new(struct session *s)
{
    s->pol = calloc(1, sizeof *s->pol);
    if (!s->pol)
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
    return s->pol;
}

static void pol_submit(struct session *s, void (*work)(struct session *),
                       void (*done)(struct session *))
{
    if (sess_submit(s, work, done) == 0)
        return;
    free(s->pol);
    s->pol = NULL;
    sess_reply(s, 451, "4.3.0", "Error: server busy, try again");
}

static void mail_work(struct session *s)
{
    policy_mail(&s->pc, &s->lk, &s->pol->m.addr, (int64_t)time(NULL), &s->pol->res);
}

static void mail_done(struct session *s)
{
    struct sess_pol *p = s->pol;
    s->pol = NULL;
    policy_log(&s->pc, &p->m.addr, NULL, &p->res);
    if (!s->c || s->state == SS_CLOSED) {
        free(p);
        return;
    }
    if (!p->res.accept)
        sess_reply(s, p->res.code, p->res.enh, "%s", p->res.text);
    else if (sess_begin_tx(s) < 0)
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
    else {
        s->tx->from = p->m.addr;
        new_id(s->id, sizeof s->id);
        sess_reply(s, 250, "2.1.0", "Ok");
    }
    free(p);
}

void cmd_mail(struct session *s, const char *arg)
{
    struct smtp_reply r;
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
    if (!pol_new(s))
        return;
    if (smtp_parse_mail(arg, s->cfg->max_message_size, &s->pol->m, &r) < 0) {
        free(s->pol);
        s->pol = NULL;
        sess_reply_r(s, &r);
        return;
    }
    pol_submit(s, mail_work, mail_done);
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

static void rcpt_work(struct session *s)
{
    policy_rcpt(&s->pc, &s->lk, &s->tx->from, &s->pol->rc.addr, (int64_t)time(NULL),
                &s->pol->pr);
}

static void rcpt_accept(struct session *s, const struct sess_pol *p)
{
    int rcode = p->pr.kind == RCPT_LOCAL ? add_target(s->tx->local, &s->nlocal, p->pr.target)
                                         : add_target(s->tx->relay, &s->nrelay, p->pr.target);
    if (rcode < 0) {
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
        return;
    }
    if (s->nrcpt++ == 0)
        str_copy(s->tx->first_rcpt, p->rc.addr.text, sizeof s->tx->first_rcpt);
    sess_reply(s, 250, "2.1.5", "Ok");
}

static void rcpt_done(struct session *s)
{
    struct sess_pol *p = s->pol;
    const struct policy_result *res = &p->pr.res;
    s->pol = NULL;
    policy_log(&s->pc, &s->tx->from, &p->rc.addr, res);
    if (!s->c || s->state == SS_CLOSED) {
        free(p);
        return;
    }
    if (!res->accept && res->code == 550 && strcmp(res->enh, "5.1.1") == 0)
        sess_unknown_rcpt(s, res);          /* directory harvesting limits */
    else if (!res->accept)
        sess_refused_rcpt(s, res);          /* not forgiven by a delivery */
    else
        rcpt_accept(s, p);
    free(p);
}

void cmd_rcpt(struct session *s, const char *arg)
{
    struct smtp_reply r;
    if (!s->in_mail) {
        sess_reply(s, 503, "5.5.1", "Error: need MAIL command");
        return;
    }
    if (!pol_new(s))
        return;
    if (smtp_parse_rcpt(arg, &s->pol->rc, &r) < 0) {
        free(s->pol);
        s->pol = NULL;
        sess_reply_r(s, &r);
        return;
    }
    if (s->nrcpt >= s->inst->max_recipients) {
        free(s->pol);
        s->pol = NULL;
        sess_reply(s, 452, "4.5.3", "Error: too many recipients");
        return;
    }
    pol_submit(s, rcpt_work, rcpt_done);
}
