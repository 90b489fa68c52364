/* auth: the login policy shared by smtpd and pop3d (auth.h): canonical login names,
 * the mechanisms a session may use, the lockout gate around every verification
 * (auth_attempt_begin/end), failure recording with the
 * one stable fail2ban log line, and the salted-hash password check. */
#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authcache.h"
#include "lockout.h"
#include "log.h"
#include "password.h"
#include "stats.h"
#include "util.h"

/* A yescrypt hash of a throw-away string: verified for unknown users so that
 * their check costs as much as a real one. No password matches it in practice. */
static const char dummy_hash[] =
    "$y$j9T$0hp5hHfqVVbOasy/baEeC1$C11yJ2zAowQk4jDg9JI6sxDUno0dFdmSTscG4ZrbJBC";

#define LOCAL_PART_MAX 64

static bool local_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > LOCAL_PART_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '@' || c == '%' || c == '!')
            return false;
    }
    return true;
}

int auth_canon_user(const struct config *cfg, const char *login, char *out, size_t len)
{
    char buf[STORE_ADDR_MAX];
    if (!cfg || !login || !out || len == 0 || !cfg->domain)
        return -1;
    if (str_copy(buf, login, sizeof buf) >= sizeof buf)
        return -1;
    str_lower(buf);
    char *at = strchr(buf, '@');
    size_t locallen = at ? (size_t)(at - buf) : strlen(buf);
    if (!local_part_ok(buf, locallen))
        return -1;
    if (at) {
        *at = '\0';
        const char *dom = at + 1;
        if (*dom == '\0' || strchr(dom, '@') || !config_is_local_domain(cfg, dom))
            return -1;
    }
    int n = snprintf(out, len, "%s@%s", buf, cfg->domain);
    if (n < 0 || (size_t)n >= len)
        return -1;
    str_lower(out);
    return 0;
}

unsigned auth_offered_mechs(unsigned configured, enum plaintext_auth pa, bool tls_or_secure)
{
    unsigned m = configured & MECH_ALL;
    if (pa == PLAINTEXT_TLS && !tls_or_secure)
        m &= ~mech_plaintext_bits();
    return m;
}

bool auth_is_locked(struct store *st, const struct config *cfg, const struct ipaddr *ip)
{
    struct authfail_rec r;
    (void)cfg;
    if (!st || !ip)
        return false;
    int rc = store_authfail_get(st, ip, &r);
    if (rc == STORE_ERROR) {
        char ipb[64];
        log_warn("auth: cannot read the lockout state of %s", ipaddr_format(ip, ipb, sizeof ipb));
        return false;
    }
    return rc == STORE_OK && lockout_is_locked(&r, (int64_t)time(NULL));
}

/* Client-supplied names go into a log line read by fail2ban-style tools:
 * keep them on one token (no blanks, no control or non-ASCII bytes). */
static void log_safe(const char *in, char *out, size_t len)
{
    size_t j = 0;
    if (!in || !*in)
        in = "-";
    for (; *in && j + 1 < len; in++) {
        unsigned char c = (unsigned char)*in;
        out[j++] = (c <= ' ' || c >= 0x7f) ? '?' : (char)c;
    }
    out[j] = '\0';
}

void auth_log_refused(const struct ipaddr *ip, const char *service, const char *user)
{
    char ipb[64], ub[STORE_ADDR_MAX], sb[16];
    if (!ip || !ipaddr_format(ip, ipb, sizeof ipb))
        str_copy(ipb, "-", sizeof ipb);
    log_safe(user, ub, sizeof ub);
    log_safe(service, sb, sizeof sb);
    log_info("auth refused: service=%s ip=%s user=%s reason=locked", sb, ipb, ub);
    stats_count(STAT_REJ_AUTH);
}

static void log_lockout(const char *ipb, int64_t locked_until)
{
    char until[32];
    time_t t = (time_t)locked_until;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(until, sizeof until, "%lld", (long long)locked_until);
    log_warn("auth lockout: ip=%s until=%s", ipb, until);
}

/* Count, then log: RESERVED gives back a reservation in the same transaction
 * (auth_attempt_end), else a plain failure (auth_record_failure). AUTH_AGAIN (an
 * event-loop thread, store.h) before anything is written or logged: redo it all. */
static int count_failure(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                         bool reserved, bool failed, const char *service, const char *user)
{
    char ipb[64], ub[STORE_ADDR_MAX], sb[16];
    struct authfail_rec before, after;
    int rc = STORE_ERROR;
    bool was_locked = false;

    if (!ip)
        return AUTH_OK;
    int64_t now = (int64_t)time(NULL);
    if (st && cfg) {
        int g = failed ? store_authfail_get(st, ip, &before) : STORE_NOTFOUND;
        was_locked = g == STORE_OK && lockout_is_locked(&before, now);
        if (g != STORE_AGAIN)
            rc = reserved ? store_authfail_release(st, ip, now, failed, cfg->auth_fail_limit,
                                                   cfg->auth_fail_window, cfg->auth_lockout,
                                                   &after)
                          : store_authfail_record(st, ip, now, cfg->auth_fail_limit,
                                                  cfg->auth_fail_window, cfg->auth_lockout,
                                                  &after);
        if (g == STORE_AGAIN || rc == STORE_AGAIN)
            return AUTH_AGAIN;
    }
    ipaddr_format(ip, ipb, sizeof ipb);
    if (failed) {
        log_safe(user, ub, sizeof ub);
        log_safe(service, sb, sizeof sb);
        log_info("auth failed: service=%s ip=%s user=%s", sb, ipb, ub);
        stats_count(STAT_REJ_AUTH);
    }
    if (!st || !cfg)
        return AUTH_OK;
    if (rc != STORE_OK) {
        log_warn("auth: cannot record the %s login from %s", failed ? "failed" : "finished", ipb);
        return AUTH_TEMPFAIL;
    }
    if (failed && !was_locked && lockout_is_locked(&after, now))
        log_lockout(ipb, after.locked_until);
    return AUTH_OK;
}

int auth_record_failure(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                        const char *service, const char *user)
{
    return count_failure(st, cfg, ip, false, true, service, user);
}

/* How long a verification waits for a slot when failures plus verifications under
 * way take the limit (parallel logins from one address, e.g. an office behind NAT):
 * verifications last milliseconds, and a lock ends the wait at once. */
#define SLOT_WAIT_MS 5000
#define SLOT_POLL_MS 10

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int auth_attempt_begin(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                       const char *service, const char *user)
{
    char ipb[64];
    struct authfail_rec r;
    if (!st || !cfg || !ip)
        return AUTH_TEMPFAIL;
    ipaddr_format(ip, ipb, sizeof ipb);
    int64_t start = now_ms();
    for (;;) {
        bool granted = false;
        int64_t now = (int64_t)time(NULL);
        int rc = store_authfail_reserve(st, ip, now, cfg->auth_fail_limit, cfg->auth_fail_window,
                                        cfg->auth_lockout, &granted);
        if (rc == STORE_AGAIN)
            return AUTH_AGAIN;
        if (rc != STORE_OK) {
            log_warn("auth: cannot read the lockout state of %s", ipb);
            return AUTH_TEMPFAIL;
        }
        if (granted)
            return AUTH_OK;
        rc = store_authfail_get(st, ip, &r);
        if (rc == STORE_AGAIN)
            return AUTH_AGAIN;
        if (rc == STORE_OK && lockout_is_locked(&r, now))
            break;
        if (store_loop_thread())
            return AUTH_AGAIN;       /* waiting for a slot is a worker's job */
        if (now_ms() - start >= SLOT_WAIT_MS) {
            log_warn("auth: no verification slot for %s within %d ms", ipb, SLOT_WAIT_MS);
            return AUTH_TEMPFAIL;
        }
        struct timespec d = { 0, SLOT_POLL_MS * 1000000L };
        (void)nanosleep(&d, NULL);   /* a worker thread: see store.h */
    }
    auth_log_refused(ip, service, user);
    return AUTH_REFUSED;
}

int auth_attempt_end(struct store *st, const struct config *cfg, const struct ipaddr *ip,
                     bool failed, const char *service, const char *user)
{
    return count_failure(st, cfg, ip, true, failed, service, user);
}

void auth_fail_cost(const char *password)
{
    (void)password_verify(password ? password : "", dummy_hash);
}

int auth_check_password(struct store *st, const struct config *cfg, const char *login,
                        const char *password, char *canon, size_t canonlen)
{
    char addr[STORE_ADDR_MAX];
    struct user_rec u;

    if (!password)
        password = "";
    if (!st || auth_canon_user(cfg, login, addr, sizeof addr) != 0) {
        (void)password_verify(password, dummy_hash);
        return AUTH_FAIL;
    }
    int rc = store_user_get(st, addr, &u);
    if (rc == STORE_ERROR || rc == STORE_AGAIN)
        return AUTH_TEMPFAIL;
    if (rc != STORE_OK) {
        (void)password_verify(password, dummy_hash);
        return AUTH_FAIL;
    }
    if (!u.enabled || !u.pwhash[0]) {
        (void)password_verify(password, dummy_hash);   /* same cost as a wrong password */
        return AUTH_FAIL;
    }
    /* The record was just read from the store, so passwd/del/disable apply at once:
     * a cached verification only counts for this very stored hash. */
    struct authcache *ac = authcache_global();
    int64_t now = authcache_now();
    if (!authcache_check(ac, addr, password, u.pwhash, now)) {
        if (!password_verify(password, u.pwhash))
            return AUTH_FAIL;                           /* failures are never cached */
        authcache_store(ac, addr, password, u.pwhash, now);
    }
    if (canon && canonlen && str_copy(canon, addr, canonlen) >= canonlen)
        return AUTH_FAIL;
    return AUTH_OK;
}
