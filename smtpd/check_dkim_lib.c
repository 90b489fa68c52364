/* check_dkim_lib: DKIM verification with libopendkim over a key lookup hook, and the
 * pure parts (results, key records). See check_dkim.h. */
#include "check_dkim.h"

#include <opendkim/dkim.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_feed.h"
#include "dkim_keycache.h"
#include "dkim_sign.h"
#include "dns.h"
#include "log.h"
#include "util.h"

#include <arpa/nameser.h>

#define KEYS_SEEN 16                   /* signatures whose key lookup we remember */

const char *dkimv_result_name(enum dkimv_result r)
{
    static const char *const names[] = { "none", "pass", "fail", "neutral", "temperror",
                                         "permerror" };
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "none";
}

enum dkimv_result dkimv_classify(int sigerror, bool passed, bool bh_match, bool key_tempfail)
{
    if (key_tempfail || sigerror == DKIM_SIGERROR_KEYFAIL)
        return DKIMV_TEMPERROR;
    switch (sigerror) {
    case DKIM_SIGERROR_OK:
        return passed && bh_match ? DKIMV_PASS : DKIMV_FAIL;
    case DKIM_SIGERROR_BADSIG:
        return DKIMV_FAIL;
    case DKIM_SIGERROR_NOKEY:
    case DKIM_SIGERROR_DNSSYNTAX:
    case DKIM_SIGERROR_MULTIREPLY:
    case DKIM_SIGERROR_KEYVERSION:
    case DKIM_SIGERROR_KEYUNKNOWNHASH:
    case DKIM_SIGERROR_KEYHASHMISMATCH:
    case DKIM_SIGERROR_NOTEMAILKEY:
    case DKIM_SIGERROR_KEYTYPEMISSING:
    case DKIM_SIGERROR_KEYTYPEUNKNOWN:
    case DKIM_SIGERROR_KEYREVOKED:
    case DKIM_SIGERROR_KEYDECODE:
    case DKIM_SIGERROR_KEYTOOSMALL:
        return DKIMV_PERMERROR;        /* RFC 6376 6.1.2: PERMFAIL, no usable key */
    default:
        return DKIMV_NEUTRAL;          /* a signature we cannot process (RFC 8601 2.7.1) */
    }
}

int dkimv_key_txt(const unsigned char *pkt, size_t len, char *out, size_t n)
{
    struct dns_answer a;
    if (dns_parse_answer(pkt, len, ns_t_txt, &a) < 0)
        return -1;
    if (a.status != DNS_OK || a.n == 0)
        return 1;
    /* several records: RFC 6376 leaves it open; the first */
    return dns_txt_join(a.rdata[0], a.rdlen[0], out, n);
}

/* ---- libopendkim ---------------------------------------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static DKIM_LIB *vlib;

/* A verification's key lookups: the hook, and the signatures whose lookup failed for a
 * temporary reason or gave an unusable record. libopendkim stops the whole verification
 * when its hook says "try again" or "error"; so for these the hook answers an empty
 * record instead (the library marks that signature and goes on with the others) and
 * the result is taken from here. */
struct keyctx {
    dkimv_keyfn fn;
    void *ctx;
    size_t ntemp, nbad;
    const DKIM_SIGINFO *temp[KEYS_SEEN], *bad[KEYS_SEEN];
};

static DKIM_CBSTAT key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
    struct keyctx *kc = dkim_get_user_context(d);
    const char *sel = (const char *)dkim_sig_getselector(sig);
    const char *dom = (const char *)dkim_sig_getdomain(sig);
    char name[DNS_NAME_MAX];
    if (!kc || !sel || !dom || buflen == 0)
        return DKIM_CBSTAT_ERROR;
    int w = snprintf(name, sizeof name, "%s._domainkey.%s", sel, dom);
    if (w < 0 || (size_t)w >= sizeof name)
        return DKIM_CBSTAT_NOTFOUND;   /* no such name can exist */
    enum dkimv_key r = kc->fn(kc->ctx, name, (char *)buf, buflen);
    if (r == DKIMV_KEY_OK)
        return DKIM_CBSTAT_CONTINUE;
    if (r == DKIMV_KEY_NOTFOUND)
        return DKIM_CBSTAT_NOTFOUND;
    if (r == DKIMV_KEY_TEMPFAIL && kc->ntemp < KEYS_SEEN)
        kc->temp[kc->ntemp++] = sig;
    else if (r != DKIMV_KEY_TEMPFAIL && kc->nbad < KEYS_SEEN)
        kc->bad[kc->nbad++] = sig;
    buf[0] = '\0';                    /* the library: "empty key record", next signature */
    return DKIM_CBSTAT_CONTINUE;
}

static void lib_init(void)
{
    vlib = dkim_init(NULL, NULL);
    if (!vlib)
        return;
    /* our text has LF line ends; bad signatures keep their handles so they are reported */
    unsigned int flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;
    if (dkim_options(vlib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK ||
        dkim_set_key_lookup(vlib, key_lookup) != DKIM_STAT_OK) {
        log_err("dkim: cannot set the verifying library's options");
        dkim_close(vlib);
        vlib = NULL;
    }
}

static bool listed(const DKIM_SIGINFO *const *list, size_t n, const DKIM_SIGINFO *sig)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == sig)
            return true;
    return false;
}

/* One signature's facts into out. */
static void sig_result(DKIM *d, DKIM_SIGINFO *sig, const struct keyctx *kc, struct dkimv_sig *out)
{
    memset(out, 0, sizeof *out);
    const char *dom = (const char *)dkim_sig_getdomain(sig);
    const char *sel = (const char *)dkim_sig_getselector(sig);
    str_copy(out->domain, dom ? dom : "", sizeof out->domain);
    str_lower(out->domain);
    str_copy(out->selector, sel ? sel : "", sizeof out->selector);
    char b[64];                        /* the library may fill it without a NUL */
    size_t blen = sizeof b - 1;
    if (dkim_get_sigsubstring(d, sig, b, &blen) == DKIM_STAT_OK) {
        b[blen < sizeof b - 1 ? blen : sizeof b - 1] = '\0';
        str_copy(out->b, b, sizeof out->b);
    }
    int err = dkim_sig_geterror(sig);
    unsigned flags = dkim_sig_getflags(sig);
    bool processed = (flags & DKIM_SIGFLAG_PROCESSED) != 0;
    bool passed = (flags & DKIM_SIGFLAG_PASSED) != 0;
    bool bh = dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH;
    bool temp = listed(kc->temp, kc->ntemp, sig);
    bool bad = listed(kc->bad, kc->nbad, sig);
    if (!processed && err == DKIM_SIGERROR_OK && !temp)
        err = DKIM_SIGERROR_UNKNOWN;   /* never looked at (the run stopped before it) */
    out->result = dkimv_classify(err, passed, bh, temp);
    const char *why = "";
    if (out->result == DKIMV_FAIL)
        why = passed && !bh ? "body hash mismatch" : "signature mismatch";
    else if (out->result == DKIMV_TEMPERROR)
        why = "key lookup failed";
    else if (bad)
        why = "unusable key record";
    else if (out->result != DKIMV_PASS)
        why = err == DKIM_SIGERROR_UNKNOWN ? "not verified" : dkim_sig_geterrorstr(err);
    str_copy(out->why, why ? why : "", sizeof out->why);
}

int dkimv_verify(const struct dkim_msg *msg, dkimv_keyfn keyfn, void *kctx,
                 struct dkimv_sig *out, size_t max, size_t *n)
{
    *n = 0;
    if (pthread_once(&lib_once, lib_init) != 0 || !vlib)
        return -1;
    DKIM_STAT st;
    DKIM *d = dkim_verify(vlib, (const u_char *)"verify", NULL, &st);
    if (!d)
        return -1;
    struct keyctx kc = { keyfn, kctx, 0, 0, { NULL }, { NULL } };
    int rc = -1;
    if (dkim_set_user_context(d, &kc) != DKIM_STAT_OK)
        goto out;
    dkim_keycache_begin();             /* decoded keys from earlier messages */
    st = dkim_feed_msg(d, msg);     /* field by field: dkim_feed.h */
    if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL)
        goto out;
    if (st == DKIM_STAT_OK)
        st = dkim_eom(d, NULL);
    DKIM_SIGINFO **sigs = NULL;
    int nsigs = 0;
    rc = 0;
    if (st == DKIM_STAT_NOSIG || dkim_getsiglist(d, &sigs, &nsigs) != DKIM_STAT_OK)
        goto out;                      /* unsigned (or nothing the library kept) */
    for (int i = 0; i < nsigs && *n < max; i++)
        sig_result(d, sigs[i], &kc, &out[(*n)++]);
out:
    dkim_keycache_end();
    dkim_free(d);
    return rc;
}
