/* cmd_mail: MAIL FROM and RCPT TO (RFC 5321 4.1.1.2-3): parsing (smtp_parse.h), the
 * checks of the MAIL and RCPT stages (checks.h; each decision logged one line by
 * policy_log) and the recipient lists the delivery uses (local Maildirs / queue). The
 * command table of session.c has checked the sequence. */
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

/* The MAIL checks are over (checks.h: local_spoof, sender_login_match). */
static void mail_proceed(struct session *s)
{
    const struct policy_result *res = &s->chk.v.res;
    policy_log(&s->pc, &s->tx->from, NULL, res);
    if (!res->accept) {
        sess_reply(s, res->code, res->enh, "%s", res->text);
        sess_reset_tx(s);
        return;
    }
    s->stage = CHECK_MAIL;
    new_id(s->id, sizeof s->id);
    sess_reply(s, 250, "2.1.0", "Ok");
}

void smtp_cmd_mail(struct session *s, const struct smtp_cmd *c)
{
    struct smtp_mail m;
    struct smtp_reply r;
    if (smtp_parse_mail(c->arg, s->cfg->max_message_size, &m, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    if (sess_begin_tx(s) < 0) {
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
        return;
    }
    s->tx->from = m.addr;
    sess_check(s, CHECK_MAIL, mail_proceed);
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

/* The RCPT checks are over (checks.h: srs, local, the relay table). */
static void rcpt_proceed(struct session *s)
{
    const struct policy_result *res = &s->chk.v.res;
    const struct policy_rcpt *pr = &s->tx->pr;
    policy_log(&s->pc, &s->tx->from, &s->tx->rcpt, res);
    if (!res->accept && res->code == 550 && strcmp(res->enh, "5.1.1") == 0) {
        sess_unknown_rcpt(s, res);          /* directory harvesting limits */
        return;
    }
    if (!res->accept) {
        sess_refused_rcpt(s, res);          /* not forgiven by a delivery */
        return;
    }
    if (pr->kind == RCPT_NONE) {            /* an accepting row without a target */
        log_err("rcpt: id=%s rule=%s accepted without a target", s->id, res->rule);
        sess_reply(s, 451, "4.3.0", "Error: local error in processing");
        return;
    }
    int rcode = pr->kind == RCPT_LOCAL ? add_target(s->tx->local, &s->nlocal, pr->target)
                                       : add_target(s->tx->relay, &s->nrelay, pr->target);
    if (rcode < 0) {
        sess_reply(s, 451, "4.3.0", "Error: out of memory");
        return;
    }
    if (s->nrcpt++ == 0)
        str_copy(s->tx->first_rcpt, s->tx->rcpt.text, sizeof s->tx->first_rcpt);
    s->stage = CHECK_RCPT;
    sess_reply(s, 250, "2.1.5", "Ok");
}

void smtp_cmd_rcpt(struct session *s, const struct smtp_cmd *c)
{
    struct smtp_rcpt rc;
    struct smtp_reply r;
    if (smtp_parse_rcpt(c->arg, &rc, &r) < 0) {
        sess_reply_r(s, &r);
        return;
    }
    if (s->nrcpt >= s->inst->max_recipients) {
        sess_reply(s, 452, "4.5.3", "Error: too many recipients");
        return;
    }
    s->tx->rcpt = rc.addr;
    memset(&s->tx->pr, 0, sizeof s->tx->pr);
    sess_check(s, CHECK_RCPT, rcpt_proceed);
}
