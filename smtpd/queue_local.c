/* queue_local: local delivery for the queue runner (see queue_local.h). */
#include "queue_local.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "deliver.h"
#include "log.h"
#include "policy.h"
#include "queue.h"
#include "received.h"
#include "srs.h"
#include "util.h"

/* Where a local address ends up: 1 (target set; *forward when outside), 0 refused, -1. */
static int resolve(const struct config *cfg, struct store *st, const char *rcpt, char *target,
                   size_t tlen, int *forward, char *err, size_t errlen)
{
    struct mailaddr a;
    *forward = 0;
    if (addr_parse_mailbox(rcpt, &a) != ADDR_OK) {
        snprintf(err, errlen, "501 5.1.3 Bad recipient address");
        return 0;
    }
    if (!st)
        return addr_canon(cfg, &a, target, tlen) == 0 ? 1 : 0;
    struct policy_lookup lk;
    policy_lookup_store(&lk, st);
    struct policy_client pc;
    memset(&pc, 0, sizeof pc);
    pc.cfg = cfg;                       /* a local RCPT looks at nothing else */
    struct mailaddr from;
    memset(&from, 0, sizeof from);
    from.null = true;
    struct policy_rcpt out;
    policy_rcpt(&pc, &lk, &from, &a, (int64_t)time(NULL), &out);
    if (!out.res.accept) {
        snprintf(err, errlen, "%d %s %s", out.res.code, out.res.enh, out.res.text);
        return out.res.code / 100 == 5 ? 0 : -1;
    }
    if (out.kind == RCPT_RELAY && strcmp(out.res.rule, RULE_SRS) == 0) {
        *forward = 1;                   /* our bounce to one of our SRS addresses */
        str_copy(target, out.target, tlen);
        return 1;
    }
    if (out.kind != RCPT_LOCAL && out.kind != RCPT_FORWARD) {
        snprintf(err, errlen, "550 5.1.1 Not a local recipient");
        return 0;
    }
    *forward = out.kind == RCPT_FORWARD;
    str_copy(target, *forward ? out.forward : out.target, tlen);
    return 1;
}

/* The envelope sender for forwarding to an outside address: SRS (srs.h) at the primary
 * domain, unless it is <> or in a local domain already (our own address), or the SRS
 * address would not fit (then it is kept as it was). -1 without a secret. */
static int forward_sender(const struct config *cfg, const char *sender, char *out, size_t len)
{
    const char *at = strrchr(sender, '@');
    str_copy(out, sender, len);
    if (!sender[0] || !at || config_is_local_domain(cfg, at + 1))
        return 0;
    const unsigned char *key = srs_secret(cfg->data_dir);
    if (!key)
        return -1;
    if (srs_forward(key, SRS_SECRET_LEN, sender, cfg->domain, (int64_t)time(NULL), out, len) !=
        SRS_OK) {
        log_warn("srs: <%s> cannot be rewritten (too long?): forwarded unchanged", sender);
        str_copy(out, sender, len);
    }
    return 0;
}

static int deliver(const struct config *cfg, struct store *st, const char *msgid,
                   const char *sender, const char *rcpt, const char *buf, size_t len,
                   char *err, size_t errlen)
{
    char target[STORE_ADDR_MAX];
    int forward;
    int r = resolve(cfg, st, rcpt, target, sizeof target, &forward, err, errlen);
    if (r <= 0)
        return r == 0 ? QLOCAL_REFUSED : QLOCAL_TEMPFAIL;
    char fsender[STORE_ADDR_MAX];
    if (forward && received_count(buf, len) > cfg->max_hops) {
        snprintf(err, errlen, "554 5.4.6 Too many hops (mail loop?) forwarding to <%s>", target);
        return QLOCAL_REFUSED;
    }
    if (forward && forward_sender(cfg, sender, fsender, sizeof fsender) < 0) {
        snprintf(err, errlen, "451 4.3.0 no SRS secret: %s", strerror(errno));
        return QLOCAL_TEMPFAIL;
    }
    struct spool *sp = spool_open(cfg, msgid, forward ? fsender : sender, forward ? NULL : target);
    if (!sp) {
        snprintf(err, errlen, "451 4.3.0 cannot open a spool file: %s", strerror(errno));
        return QLOCAL_TEMPFAIL;
    }
    if (spool_write(sp, buf, len) < 0) {
        snprintf(err, errlen, "451 4.3.0 cannot write the spool file: %s",
                 strerror(spool_error(sp)));
        spool_discard(sp);
        return QLOCAL_TEMPFAIL;
    }
    char *list[1] = { target };
    int rc = forward ? deliver_commit(sp, NULL, 0, list, 1, queue_enqueue, NULL, 0)
                     : deliver_commit(sp, list, 1, NULL, 0, queue_enqueue, NULL, 0);
    if (rc < 0) {
        snprintf(err, errlen, "451 4.3.0 local delivery failed: %s", strerror(errno));
        return QLOCAL_TEMPFAIL;
    }
    log_info("runner: %s delivered locally to <%s>%s%s%s", msgid, target,
             forward ? " (forwarded via the queue, sender <" : "", forward ? fsender : "",
             forward ? ">)" : "");
    return QLOCAL_OK;
}

int qlocal_deliver(const struct config *cfg, struct store *st, const char *msgid,
                   const char *sender, const char *rcpt, const char *buf, size_t len,
                   char *err, size_t errlen)
{
    /* The runner stops on SIGTERM wherever it is; not in the middle of a store
     * transaction or a Maildir delivery. */
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    sigprocmask(SIG_BLOCK, &term, &old);
    int rc = deliver(cfg, st, msgid, sender, rcpt, buf, len, err, errlen);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
