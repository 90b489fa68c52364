/* sasl_glue: Cyrus SASL server glue (sasl_glue.h). Options come only from our GETOPT
 * callbacks (no /etc/sasl2), secrets from our auxprop plugin over the store
 * (cmusaslsecretCRAM-MD5, authPassword), PLAIN/LOGIN from the USERDB_CHECKPASS
 * callback (auth_check_password), login names from the CANON_USER callback
 * (auth_canon_user). Base64 framing both ways is done here. */
#include "sasl_glue.h"

#include <pthread.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "authsrc.h"
#include "log.h"
#include "password.h"
#include "scram_fake.h"
#include "util.h"

#define SASLG_APPNAME "mailserver-ms"
#define SASLG_AUXPROP "mailserver-store"
#define CRAM_PROP "cmusaslsecretCRAM-MD5"
#define SCRAM_PROP "authPassword"

/* Callbacks are stored as a generic function pointer (void (*)(void) matches any type). */
#define CB(f) ((sasl_callback_ft)(void (*)(void))(f))

enum sg_state { SG_NEW, SG_STEP, SG_FINAL, SG_DONE, SG_FAILED };
/* Lockout bookkeeping refused on an event-loop thread, left for saslg_flush. */
enum sg_deferred { DEF_NONE, DEF_RELEASE, DEF_RECORD };

struct saslg {
    sasl_conn_t *conn;
    sasl_callback_t cbs[4];
    char mech_list[64];
    unsigned mechs;
    enum sg_state state;
    const struct config *cfg;        /* the session's own config (it holds a reference) */
    bool tempfail;                   /* a store error happened during this exchange */
    struct ipaddr ip;                /* the client, for the lockout */
    bool has_ip;
    char service[8];                 /* "smtp" or "pop3", for the failure log */
    unsigned nmsg;                   /* client messages so far */
    unsigned verify_at;              /* the message that carries the credentials */
    char tried[STORE_ADDR_MAX];      /* login name as given (for the failure log) */
    char user[STORE_ADDR_MAX];       /* canonical address after SASLG_OK */
    const struct authsrc *src;       /* who may log in and how (NULL: the store) */
    bool src_relay;                  /* system source: the login's relay right */
    char read_user[STORE_ADDR_MAX];  /* the user record read in this call (auxprop) */
    bool read_enabled;               /* ... and whether it may log in */
    enum sg_deferred deferred;       /* saslg_flush's job */
    bool def_failed;                 /* DEF_RELEASE: the verification failed */
    char lib_service[8];             /* sasl_server_new's arguments, for a new conn */
    char lport[80], rport[80];
    bool has_lport, has_rport, tls;
};

static struct store *g_store;
static const struct config *g_cfg;
static bool g_inited;
static char g_all_mechs[64];          /* every row of mechs.h, for the library */
static unsigned char g_fake_key[SCRAM_FAKE_KEYLEN];   /* scram_fake.h */
static __thread struct saslg *g_cur;   /* the exchange running on this thread */

static const struct config *cur_cfg(void)
{
    return __atomic_load_n(&g_cfg, __ATOMIC_ACQUIRE);
}

/* In a callback: the config of the session whose exchange runs on this thread. */
static const struct config *ex_cfg(void)
{
    return g_cur && g_cur->cfg ? g_cur->cfg : cur_cfg();
}

/* ---- mutexes for the library (its defaults are no-ops) ---- */
static void *mx_alloc(void)
{
    pthread_mutex_t *m = malloc(sizeof *m);
    if (m && pthread_mutex_init(m, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}
static int mx_lock(void *m) { return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL; }
static int mx_unlock(void *m) { return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL; }
static void mx_free(void *m)
{
    if (m) {
        pthread_mutex_destroy(m);
        free(m);
    }
}

/* ---- global callbacks ---- */
static int cb_getopt(void *ctx, const char *plugin, const char *opt, const char **res, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    const char *v = NULL;
    if (strcmp(opt, "mech_list") == 0)
        v = g_all_mechs;
    else if (strcmp(opt, "auxprop_plugin") == 0)
        v = SASLG_AUXPROP;
    else if (strcmp(opt, "pwcheck_method") == 0)
        v = "auxprop";
    else if (strcmp(opt, "log_level") == 0)
        v = "2";   /* SASL_LOG_WARN */
    if (!v)
        return SASL_FAIL;
    *res = v;
    if (len)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static int cb_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (!msg)
        return SASL_OK;
    if (level <= SASL_LOG_ERR)
        log_err("sasl: %s", msg);
    else if (level == SASL_LOG_WARN)
        log_warn("sasl: %s", msg);
    else
        log_debug("sasl: %s", msg);
    return SASL_OK;
}

/* Never read <appname>.conf from anywhere: point the search at a path with no file. */
static int cb_confpath(void *ctx, char **path)
{
    (void)ctx;
    static char nowhere[] = "/dev/null";   /* the library does not free it */
    *path = nowhere;
    return SASL_OK;
}

/* ---- per-connection callbacks (context: struct saslg) ---- */
static int cb_conn_getopt(void *ctx, const char *plugin, const char *opt, const char **res, unsigned *len)
{
    struct saslg *s = ctx;
    (void)plugin;
    if (!s || strcmp(opt, "mech_list") != 0)
        return SASL_FAIL;   /* the global callback answers the rest */
    *res = s->mech_list;
    if (len)
        *len = (unsigned)strlen(s->mech_list);
    return SASL_OK;
}

/* The login name as tried, for logs: blanks, control and non-ASCII bytes become '?'
 * so that a client cannot forge log lines (fail2ban reads them). */
static void keep_tried(struct saslg *s, const char *in, unsigned inlen)
{
    size_t n = inlen < sizeof s->tried - 1 ? inlen : sizeof s->tried - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        s->tried[i] = (c <= ' ' || c >= 0x7f) ? '?' : (char)c;
    }
    s->tried[n] = '\0';
    if (n == 0)
        str_copy(s->tried, "-", sizeof s->tried);
}

/* Map the login to its canonical address. A name that is not a local login is
 * passed on as a name no user has (lower-cased, or INVALID_USER), so that the
 * exchange fails later exactly like an unknown user: same result, a dummy hash
 * verified, and no early canon_user failure (Cyrus's LOGIN plugin leaks the
 * password buffer on that path). */
#define INVALID_USER "-@invalid."
static int cb_canon(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                    const char *realm, char *out, unsigned out_max, unsigned *out_len)
{
    struct saslg *s = ctx;
    char login[STORE_ADDR_MAX], canon[STORE_ADDR_MAX];
    (void)conn;
    (void)realm;
    if (s && (flags & SASL_CU_AUTHID))
        keep_tried(s, in, inlen);
    if (inlen == 0 || inlen >= sizeof login || memchr(in, '\0', inlen)) {
        str_copy(canon, INVALID_USER, sizeof canon);
    } else {
        memcpy(login, in, inlen);
        login[inlen] = '\0';
        if (auth_canon_user(ex_cfg(), login, canon, sizeof canon) != 0) {
            str_copy(canon, login, sizeof canon);
            str_lower(canon);
        }
    }
    size_t n = strlen(canon);
    if (n >= out_max)
        return SASL_BUFOVER;
    memcpy(out, canon, n + 1);
    *out_len = (unsigned)n;
    return SASL_OK;
}

static int cb_checkpass(sasl_conn_t *conn, void *ctx, const char *user, const char *pass,
                        unsigned passlen, struct propctx *propctx)
{
    struct saslg *s = ctx;
    (void)conn;
    (void)propctx;
    if (!user || !pass || memchr(pass, '\0', passlen))
        return SASL_BADAUTH;
    char *pw = malloc((size_t)passlen + 1);
    if (!pw)
        return SASL_NOMEM;
    memcpy(pw, pass, passlen);
    pw[passlen] = '\0';
    bool relay = false;
    int rc = authsrc_check_password(s ? s->src : NULL, g_store, ex_cfg(), user, pw, NULL, 0, &relay);
    if (s)
        s->src_relay = rc == AUTH_OK && relay;
    explicit_bzero(pw, passlen);
    free(pw);
    if (rc == AUTH_OK)
        return SASL_OK;
    if (rc == AUTH_TEMPFAIL && s)
        s->tempfail = true;
    return rc == AUTH_TEMPFAIL ? SASL_UNAVAIL : SASL_BADAUTH;
}

/* ---- our auxprop plugin: authid secrets from the store ---- */
static void prop_put(const sasl_utils_t *u, struct propctx *pc, const struct propval *pv,
                     unsigned flags, const char *val, unsigned len)
{
    if (pv->values && !(flags & SASL_AUXPROP_OVERRIDE))
        return;
    if (pv->values)
        u->prop_erase(pc, pv->name);
    u->prop_set(pc, pv->name, val, (int)len);
}

/* A name with no SCRAM secret of its own (unknown, disabled, not local) gets a fake
 * one, so that it fails at the proof like a wrong password (scram_fake.h). */
static void put_scram(const sasl_utils_t *ut, struct propctx *pc, const struct propval *pv,
                      unsigned flags, const struct user_rec *u, const char *name)
{
    char fake[sizeof u->scram_sha256];
    if (u->scram_sha256[0]) {
        prop_put(ut, pc, pv, flags, u->scram_sha256,
                 (unsigned)strnlen(u->scram_sha256, sizeof u->scram_sha256));
    } else if (scram_fake_secret(g_fake_key, name, SCRAM_ITERATIONS, fake, sizeof fake) == 0) {
        prop_put(ut, pc, pv, flags, fake, (unsigned)strlen(fake));
        explicit_bzero(fake, sizeof fake);
    }
}

static int ms_auxprop_lookup(void *glob, sasl_server_params_t *sp, unsigned flags,
                             const char *user, unsigned ulen)
{
    char addr[STORE_ADDR_MAX], canon[STORE_ADDR_MAX];
    struct user_rec u;
    bool found = false, scram = false;
    (void)glob;
    if (flags & SASL_AUXPROP_AUTHZID)
        return SASL_OK;   /* no authzid properties here */
    if (!user || ulen == 0 || ulen >= sizeof addr || !g_store)
        return SASL_NOUSER;
    memcpy(addr, user, ulen);
    addr[ulen] = '\0';
    memset(&u, 0, sizeof u);
    /* a name that is not a local login (see cb_canon), or one the instance's source does
     * not allow (auth_source = fixed), is looked up nowhere: it fails like an unknown one */
    if (auth_canon_user(ex_cfg(), addr, canon, sizeof canon) == 0 && strcmp(canon, addr) == 0 &&
        authsrc_allows(g_cur ? g_cur->src : NULL, addr)) {
        int rc = store_user_get(g_store, addr, &u);
        if (rc == STORE_ERROR || rc == STORE_AGAIN) {   /* never a fake for a refused read */
            if (g_cur)
                g_cur->tempfail = true;
            return SASL_UNAVAIL;
        }
        found = rc == STORE_OK && u.enabled;
        if (!found)
            explicit_bzero(&u, sizeof u);
        if (g_cur) {
            str_copy(g_cur->read_user, addr, sizeof g_cur->read_user);
            g_cur->read_enabled = found;
        }
    }
    const struct propval *pv = sp->utils->prop_get(sp->propctx);
    for (; pv && pv->name; pv++) {
        if (pv->name[0] != '*')
            continue;
        const char *name = pv->name + 1;
        if (strcmp(name, CRAM_PROP) == 0 && u.has_cram_md5) {
            prop_put(sp->utils, sp->propctx, pv, flags, (const char *)u.cram_md5, sizeof u.cram_md5);
        } else if (strcmp(name, SCRAM_PROP) == 0) {
            put_scram(sp->utils, sp->propctx, pv, flags, &u, addr);
            scram = true;
        }
    }
    explicit_bzero(&u, sizeof u);
    return found || scram ? SASL_OK : SASL_NOUSER;
}

static char ms_auxprop_name[] = SASLG_AUXPROP;
static sasl_auxprop_plug_t ms_auxprop = {
    .features = 0,
    .auxprop_lookup = ms_auxprop_lookup,
    .name = ms_auxprop_name,
};

static int ms_auxprop_init(const sasl_utils_t *utils, int max_version, int *out_version,
                           sasl_auxprop_plug_t **plug, const char *plugname)
{
    (void)utils;
    (void)plugname;
    if (max_version < SASL_AUXPROP_PLUG_VERSION)
        return SASL_BADVERS;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &ms_auxprop;
    return SASL_OK;
}

static sasl_callback_t g_callbacks[] = {
    { SASL_CB_GETOPT, CB(cb_getopt), NULL },
    { SASL_CB_LOG, CB(cb_log), NULL },
    { SASL_CB_GETCONFPATH, CB(cb_confpath), NULL },
    { SASL_CB_SERVER_USERDB_CHECKPASS, CB(cb_checkpass), NULL },
    { SASL_CB_CANON_USER, CB(cb_canon), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

/* The per-installation key of the fake SCRAM secrets, in the store's directory.
 * Without it (no data_dir, or an unwritable one) a per-process key: still stable
 * for a name within this daemon, but not across daemons and restarts. */
static void load_fake_key(const struct config *cfg)
{
    char dir[4096];
    if (cfg && cfg->data_dir &&
        (size_t)snprintf(dir, sizeof dir, "%s/db", cfg->data_dir) < sizeof dir &&
        scram_fake_key_load(dir, g_fake_key) == 0)
        return;
    if (cfg && cfg->data_dir)
        log_warn("sasl: cannot read or create %s/db/%s (%m); fake SCRAM salts change at restart",
                 cfg->data_dir, SCRAM_FAKE_FILE);
    if (getrandom(g_fake_key, sizeof g_fake_key, 0) != (ssize_t)sizeof g_fake_key)
        log_warn("sasl: getrandom: %m");
}

int saslg_init(struct store *st, const struct config *cfg)
{
    g_store = st;
    __atomic_store_n(&g_cfg, cfg, __ATOMIC_RELEASE);
    if (g_inited)
        return 0;
    load_fake_key(cfg);
    mech_names(MECH_ALL, ' ', g_all_mechs, sizeof g_all_mechs);
    sasl_set_mutex(mx_alloc, mx_lock, mx_unlock, mx_free);
    int rc = sasl_server_init(g_callbacks, SASLG_APPNAME);
    if (rc != SASL_OK) {
        log_err("sasl: sasl_server_init: %s", sasl_errstring(rc, NULL, NULL));
        return -1;
    }
    rc = sasl_auxprop_add_plugin(SASLG_AUXPROP, ms_auxprop_init);
    if (rc != SASL_OK) {
        log_err("sasl: sasl_auxprop_add_plugin: %s", sasl_errstring(rc, NULL, NULL));
        sasl_server_done();
        return -1;
    }
    g_inited = true;
    return 0;
}

void saslg_set_config(const struct config *cfg)
{
    __atomic_store_n(&g_cfg, cfg, __ATOMIC_RELEASE);
}

void saslg_done(void)
{
    if (!g_inited)
        return;
    sasl_server_done();
    g_inited = false;
}

/* ---- one exchange ---- */
static const char *ipport(const struct ipaddr *ip, int port, char *buf, size_t len)
{
    char a[64];
    if (!ip || !ipaddr_format(ip, a, sizeof a))
        return NULL;
    int n = snprintf(buf, len, "%s;%d", a, port);
    return n > 0 && (size_t)n < len ? buf : NULL;
}

/* A new library connection for s (saslg_new; a start redone on a worker). */
static int conn_open(struct saslg *s)
{
    const struct config *cfg = s->cfg;
    int rc = sasl_server_new(s->lib_service, cfg && cfg->hostname ? cfg->hostname : NULL, NULL,
                             s->has_lport ? s->lport : NULL, s->has_rport ? s->rport : NULL,
                             s->cbs, SASL_SUCCESS_DATA, &s->conn);
    if (rc != SASL_OK) {
        log_err("sasl: sasl_server_new: %s", sasl_errstring(rc, NULL, NULL));
        s->conn = NULL;
        return -1;
    }
    sasl_security_properties_t sp = { .min_ssf = 0, .max_ssf = 0, .maxbufsize = 0,
                                      .security_flags = SASL_SEC_NOANONYMOUS };
    sasl_ssf_t ext = s->tls ? 256 : 0;
    if (sasl_setprop(s->conn, SASL_SEC_PROPS, &sp) != SASL_OK ||
        sasl_setprop(s->conn, SASL_SSF_EXTERNAL, &ext) != SASL_OK) {
        log_err("sasl: cannot set the security properties");
        sasl_dispose(&s->conn);
        s->conn = NULL;
        return -1;
    }
    return 0;
}

struct saslg *saslg_new(const char *service, const struct config *cfg,
                        const struct ipaddr *local, int lport, const struct ipaddr *remote,
                        int rport, bool tls_active, unsigned mechs)
{
    if (!cfg)
        cfg = cur_cfg();
    if (!g_inited || !service)
        return NULL;
    struct saslg *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->mechs = mechs & MECH_ALL;
    mech_names(s->mechs, ' ', s->mech_list, sizeof s->mech_list);
    s->cbs[0] = (sasl_callback_t){ SASL_CB_GETOPT, CB(cb_conn_getopt), s };
    s->cbs[1] = (sasl_callback_t){ SASL_CB_CANON_USER, CB(cb_canon), s };
    s->cbs[2] = (sasl_callback_t){ SASL_CB_SERVER_USERDB_CHECKPASS, CB(cb_checkpass), s };
    s->cbs[3] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
    str_copy(s->tried, "-", sizeof s->tried);
    str_copy(s->service, strcmp(service, "pop") == 0 ? "pop3" : service, sizeof s->service);
    str_copy(s->lib_service, service, sizeof s->lib_service);
    s->has_lport = ipport(local, lport, s->lport, sizeof s->lport) != NULL;
    s->has_rport = ipport(remote, rport, s->rport, sizeof s->rport) != NULL;
    s->tls = tls_active;
    if (remote) {
        s->ip = *remote;
        s->has_ip = true;
    }
    if (conn_open(s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Decode a client line into *buf (malloc'ed, caller frees). "=" is empty (RFC 4954 §4). */
static enum saslg_result decode_line(const char *line, char **buf, unsigned *len)
{
    size_t n = strlen(line);
    *buf = NULL;
    *len = 0;
    if (n > SASLG_LINE_MAX)
        return SASLG_BADPROT;
    *buf = malloc(n + 1);
    if (!*buf)
        return SASLG_TEMPFAIL;
    (*buf)[0] = '\0';
    if (n == 0 || strcmp(line, "=") == 0)
        return SASLG_CONTINUE;
    if (sasl_decode64(line, (unsigned)n, *buf, (unsigned)n + 1, len) != SASL_OK) {
        free(*buf);
        *buf = NULL;
        return SASLG_BADPROT;
    }
    return SASLG_CONTINUE;
}

static enum saslg_result map_result(int rc)
{
    switch (rc) {
    case SASL_CONTINUE:
        return SASLG_CONTINUE;
    case SASL_OK:
        return SASLG_OK;
    case SASL_NOMECH:
    case SASL_TOOWEAK:
        return SASLG_NOMECH;
    case SASL_BADPROT:
        return SASLG_BADPROT;
    case SASL_TRYAGAIN:
    case SASL_UNAVAIL:
    case SASL_FAIL:
    case SASL_NOMEM:
    case SASL_BUFOVER:
        return SASLG_TEMPFAIL;
    default:   /* NOUSER (also a wrong PLAIN/LOGIN password), BADAUTH, NOAUTHZ, DISABLED, ... */
        return SASLG_FAIL;
    }
}

/* SASL_OK: read the canonical user and check once more that he may log in (unless
 * this very call just read his record: CRAM-MD5's secret). */
static enum saslg_result finish_ok(struct saslg *s)
{
    const void *name = NULL;
    struct user_rec u;
    if (sasl_getprop(s->conn, SASL_USERNAME, &name) != SASL_OK || !name)
        return SASLG_TEMPFAIL;
    if (str_copy(s->user, name, sizeof s->user) >= sizeof s->user)
        return SASLG_FAIL;
    if (s->src && s->src->kind == AUTH_SOURCE_SYSTEM)
        return SASLG_OK;           /* PAM said yes (cb_checkpass): not a store user */
    if (!authsrc_allows(s->src, s->user))
        return SASLG_FAIL;
    if (s->read_user[0] && strcmp(s->read_user, s->user) == 0)
        return s->read_enabled ? SASLG_OK : SASLG_FAIL;
    int rc = store_user_get(g_store, s->user, &u);
    if (rc == STORE_ERROR || rc == STORE_AGAIN)
        return SASLG_TEMPFAIL;
    bool enabled = rc == STORE_OK && u.enabled;
    explicit_bzero(&u, sizeof u);
    return enabled ? SASLG_OK : SASLG_FAIL;
}

static enum saslg_result conclude(struct saslg *s, int rc, const char *sout, unsigned soutlen,
                                  char *out, size_t outlen)
{
    enum saslg_result r = s->tempfail && rc != SASL_OK && rc != SASL_CONTINUE ? SASLG_TEMPFAIL
                                                                              : map_result(rc);
    unsigned olen = 0;
    out[0] = '\0';
    if (r == SASLG_OK)
        r = finish_ok(s);
    if ((r == SASLG_OK || r == SASLG_CONTINUE) && sout && soutlen > 0 &&
        sasl_encode64(sout, soutlen, out, (unsigned)(outlen > 0xffffffffu ? 0xffffffffu : outlen),
                      &olen) != SASL_OK) {
        out[0] = '\0';
        r = SASLG_TEMPFAIL;
    }
    if (r == SASLG_CONTINUE)
        s->state = SG_STEP;
    else if (r == SASLG_OK)
        s->state = out[0] ? SG_FINAL : SG_DONE;
    else
        s->state = SG_FAILED;
    if (r != SASLG_OK) {
        s->user[0] = '\0';
        if (r != SASLG_CONTINUE)
            out[0] = '\0';
    }
    return r;
}

/* A start refused a store read on an event-loop thread (store.h): a new library
 * connection, as if nothing had happened; the caller replays the first message on
 * a worker. */
static enum saslg_result start_over(struct saslg *s, char *out)
{
    out[0] = '\0';
    sasl_dispose(&s->conn);
    s->nmsg = 0;
    s->tempfail = false;
    s->user[0] = '\0';
    str_copy(s->tried, "-", sizeof s->tried);
    s->state = SG_NEW;
    if (conn_open(s) == 0)
        return SASLG_AGAIN;
    s->state = SG_FAILED;
    return SASLG_TEMPFAIL;
}

/* After a call: give the reservation back (GATED), or count a failure. What a loop
 * thread could not write waits for saslg_flush. */
static void count_end(struct saslg *s, const struct config *cfg, bool gated, bool failed)
{
    int rc;
    if (gated)
        rc = auth_attempt_end(g_store, cfg, &s->ip, failed, s->service, saslg_user(s));
    else if (failed && s->has_ip)
        rc = auth_record_failure(g_store, cfg, &s->ip, s->service, saslg_user(s));
    else
        return;
    if (rc == AUTH_AGAIN) {
        s->deferred = gated ? DEF_RELEASE : DEF_RECORD;
        s->def_failed = failed;
    }
}

/* One SASL call on the client's message IN (none: HAS_IN false, a start without an
 * initial response). From the message that carries the credentials on, the call
 * runs inside the lockout gate (auth_attempt_begin/end); any failure is counted.
 * On an event-loop thread a refused store call (store_take_again) gives SASLG_AGAIN
 * when nothing changed (the gate; the start, begun anew) and SASLG_TEMPFAIL after the
 * gate (the reservation given back, no failure counted). */
static enum saslg_result run_call(struct saslg *s, const char *mech, const char *in,
                                  unsigned inlen, bool has_in, char *out, size_t outlen)
{
    const struct config *cfg = s->cfg ? s->cfg : cur_cfg();
    bool gated = has_in && s->nmsg + 1 >= s->verify_at;
    (void)store_take_again();
    if (gated && !store_loop_ready(g_store))
        return SASLG_AGAIN;          /* a loop thread: the store would refuse the verify */
    if (gated) {
        int g = auth_attempt_begin(g_store, cfg, s->has_ip ? &s->ip : NULL, s->service, s->tried);
        if (g == AUTH_AGAIN)
            return SASLG_AGAIN;
        if (g != AUTH_OK) {
            s->state = SG_FAILED;
            return g == AUTH_REFUSED ? SASLG_LOCKED : SASLG_TEMPFAIL;
        }
    }
    if (has_in)
        s->nmsg++;
    const char *sout = NULL;
    unsigned soutlen = 0;
    s->read_user[0] = '\0';
    g_cur = s;
    int rc = mech ? sasl_server_start(s->conn, mech, in, inlen, &sout, &soutlen)
                  : sasl_server_step(s->conn, in, inlen, &sout, &soutlen);
    g_cur = NULL;
    bool again = store_take_again();
    enum saslg_result r = conclude(s, rc, sout, soutlen, out, outlen);
    again = store_take_again() || again;
    if (again && mech && !gated)
        return start_over(s, out);
    if (again) {
        r = SASLG_TEMPFAIL;
        s->state = SG_FAILED;
        s->user[0] = '\0';
        out[0] = '\0';
    }
    count_end(s, cfg, gated, r == SASLG_FAIL);
    return r;
}

enum saslg_result saslg_start(struct saslg *s, const char *mech, const char *initial,
                              char *out, size_t outlen)
{
    if (!s || !mech || !out || outlen == 0)
        return SASLG_BADPROT;
    out[0] = '\0';
    if (s->state != SG_NEW)
        return SASLG_BADPROT;
    const struct mech_info *mi = mech_by_name(mech);
    if (!mi || !(mi->bit & s->mechs))
        return SASLG_NOMECH;
    s->verify_at = mi->verify_msg;   /* the lockout gate runs from there on (mechs.h) */
    char *in = NULL;
    unsigned inlen = 0;
    if (initial) {
        enum saslg_result d = decode_line(initial, &in, &inlen);
        if (d != SASLG_CONTINUE) {
            s->state = SG_FAILED;
            return d;
        }
    }
    enum saslg_result r = run_call(s, mech, in, inlen, initial != NULL, out, outlen);
    if (in) {
        explicit_bzero(in, inlen);
        free(in);
    }
    return r;
}

/* The client's answer to final server data sent after SASLG_OK: an empty line. */
static enum saslg_result final_answer(struct saslg *s, const char *line)
{
    if (strcmp(line, "*") == 0) {
        s->state = SG_FAILED;
        s->user[0] = '\0';
        return SASLG_CANCELLED;
    }
    if (line[0] != '\0' && strcmp(line, "=") != 0) {
        s->state = SG_FAILED;
        s->user[0] = '\0';
        return SASLG_BADPROT;
    }
    s->state = SG_DONE;
    return SASLG_OK;
}

enum saslg_result saslg_step(struct saslg *s, const char *line, char *out, size_t outlen)
{
    if (!s || !line || !out || outlen == 0)
        return SASLG_BADPROT;
    out[0] = '\0';
    if (s->state == SG_FINAL)
        return final_answer(s, line);
    if (s->state != SG_STEP)
        return SASLG_BADPROT;
    if (strcmp(line, "*") == 0) {
        /* after a challenge: a failure, or SCRAM's challenge would tell for free
         * whether a name exists (SPEC "SMTP") */
        s->state = SG_FAILED;
        count_end(s, s->cfg ? s->cfg : cur_cfg(), false, true);
        return SASLG_CANCELLED;
    }
    char *in = NULL;
    unsigned inlen = 0;
    enum saslg_result d = decode_line(line, &in, &inlen);
    if (d != SASLG_CONTINUE) {
        s->state = SG_FAILED;
        return d;
    }
    enum saslg_result r = run_call(s, NULL, in, inlen, true, out, outlen);
    explicit_bzero(in, inlen);
    free(in);
    return r;
}

const char *saslg_user(const struct saslg *s)
{
    if (!s)
        return "-";
    if (s->state == SG_DONE || s->state == SG_FINAL)
        return s->user;
    return s->tried[0] ? s->tried : "-";
}

void saslg_set_source(struct saslg *s, const struct authsrc *src)
{
    if (s)
        s->src = src;
}

bool saslg_source_relay(const struct saslg *s)
{
    return s && s->src_relay;
}

bool saslg_deferred(const struct saslg *s)
{
    return s && s->deferred != DEF_NONE;
}

void saslg_flush(struct saslg *s)
{
    if (!s || s->deferred == DEF_NONE)
        return;
    const struct config *cfg = s->cfg ? s->cfg : cur_cfg();
    int rc = s->deferred == DEF_RELEASE
                 ? auth_attempt_end(g_store, cfg, &s->ip, s->def_failed, s->service, saslg_user(s))
                 : auth_record_failure(g_store, cfg, &s->ip, s->service, saslg_user(s));
    if (rc != AUTH_AGAIN)
        s->deferred = DEF_NONE;
}

void saslg_free(struct saslg *s)
{
    if (!s)
        return;
    if (s->conn)
        sasl_dispose(&s->conn);
    explicit_bzero(s, sizeof *s);
    free(s);
}
