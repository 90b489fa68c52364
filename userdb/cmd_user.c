/* cmd_user: the user commands of userdb: add, passwd, del, set, show, list.
 * Secrets are derived here (salted hash, CRAM-MD5 precalc, SCRAM-SHA-256 keys) and
 * the plaintext is wiped right after; nothing here prints a secret. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "password.h"
#include "userdb.h"
#include "util.h"

/* Does any instance offer CRAM-MD5? Its stored secret is password-equivalent for
 * CRAM-MD5, so it is kept only when some instance can use it (or when the file
 * defines no instance at all, and we cannot tell). */
static bool cram_offered(const struct config *cfg)
{
    size_t seen = 0;
    for (enum inst_kind k = 0; k < KIND_COUNT; k++) {
        for (size_t i = 0; i < config_count(cfg, k); i++, seen++)
            if (config_common(cfg, k, i)->auth_mechs & MECH_CRAM_MD5)
                return true;
    }
    return seen == 0;
}

/* Derive every stored secret of PW into r; wipes nothing (the caller does). */
static int set_secrets(const struct udb *u, struct user_rec *r, const char *pw)
{
    r->has_cram_md5 = cram_offered(u->cfg);
    explicit_bzero(r->cram_md5, sizeof r->cram_md5);
    if (password_hash(pw, r->pwhash, sizeof r->pwhash) != 0 ||
        (r->has_cram_md5 && cram_md5_precalc(pw, r->cram_md5) != 0) ||
        scram_sha256_secret(pw, SCRAM_ITERATIONS, r->scram_sha256, sizeof r->scram_sha256) != 0) {
        udb_err("cannot derive the password secrets");
        return UDB_ERR;
    }
    return UDB_OK;
}

/* Read, check and derive a new password for ADDR into r. */
static int new_password(const struct udb *u, const char *addr, struct user_rec *r)
{
    char pw[1024], why[128];
    int rc = udb_read_password(u, pw, sizeof pw);
    if (rc == UDB_OK && !u->force && password_is_weak(pw, addr, why, sizeof why)) {
        udb_err("weak password (%s); use --force to set it anyway", why);
        rc = UDB_ERR;
    }
    if (rc == UDB_OK)
        rc = set_secrets(u, r, pw);
    explicit_bzero(pw, sizeof pw);
    return rc;
}

static int store_failed(void)
{
    udb_err("the user store failed (see the messages above)");
    return UDB_ERR;
}

static int count_cb(const struct user_rec *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* The first user gets postmaster@DOMAIN unless that alias exists (a relay-only
 * account receives no mail, so it never becomes the postmaster). */
static int maybe_postmaster(const struct udb *u, const char *addr)
{
    char pm[STORE_ADDR_MAX], t[STORE_ADDR_MAX];
    struct user_rec other;
    int n = 0;
    if (store_user_list(u->st, count_cb, &n) != STORE_OK)
        return store_failed();
    snprintf(pm, sizeof pm, "postmaster@%s", u->cfg->domain);
    if (u->no_mailbox || n != 1 || store_alias_get(u->st, pm, t, sizeof t) != STORE_NOTFOUND ||
        store_user_get(u->st, pm, &other) == STORE_OK) {
        explicit_bzero(&other, sizeof other);
        return UDB_OK;
    }
    if (store_alias_put(u->st, pm, addr, false) == STORE_OK)
        printf("%s is now an alias of %s\n", pm, addr);
    return UDB_OK;
}

int cmd_add(struct udb *u)
{
    char addr[STORE_ADDR_MAX], t[STORE_ADDR_MAX];
    struct user_rec r;
    if (udb_local_address(u, u->args[0], addr, sizeof addr) != UDB_OK)
        return UDB_ERR;
    if (store_user_get(u->st, addr, &r) == STORE_OK) {
        udb_err("user exists: %s", addr);
        return UDB_ERR;
    }
    if (store_alias_get(u->st, addr, t, sizeof t) == STORE_OK) {
        udb_err("%s is an alias (of %s); delete the alias first", addr, t);
        return UDB_ERR;
    }
    memset(&r, 0, sizeof r);
    str_copy(r.address, addr, sizeof r.address);
    r.relay = u->relay;
    r.enabled = true;
    r.no_mailbox = u->no_mailbox;
    r.created = (int64_t)time(NULL);
    int rc = new_password(u, addr, &r);
    if (rc == UDB_OK) {
        int s = store_user_put(u->st, &r, false);
        if (s == STORE_EXISTS) {
            udb_err("user exists: %s", addr);
            rc = UDB_ERR;
        } else if (s != STORE_OK) {
            rc = store_failed();
        } else {
            printf("added %s relay=%s%s\n", addr, r.relay ? "yes" : "no",
                   r.no_mailbox ? " mailbox=no" : "");
            rc = maybe_postmaster(u, addr);
        }
    }
    explicit_bzero(&r, sizeof r);
    return rc;
}

static int get_user(const struct udb *u, const char *arg, char *addr, struct user_rec *r)
{
    if (udb_local_address(u, arg, addr, STORE_ADDR_MAX) != UDB_OK)
        return UDB_ERR;
    int s = store_user_get(u->st, addr, r);
    if (s == STORE_NOTFOUND) {
        udb_err("no such user: %s", addr);
        return UDB_ERR;
    }
    return s == STORE_OK ? UDB_OK : store_failed();
}

int cmd_passwd(struct udb *u)
{
    char addr[STORE_ADDR_MAX];
    struct user_rec r;
    if (get_user(u, u->args[0], addr, &r) != UDB_OK)
        return UDB_ERR;
    int rc = new_password(u, addr, &r);
    if (rc == UDB_OK && store_user_put(u->st, &r, true) != STORE_OK)
        rc = store_failed();
    if (rc == UDB_OK)
        printf("password changed for %s\n", addr);
    explicit_bzero(&r, sizeof r);
    return rc;
}

struct alias_scan {
    const char *target;
    char found[256][STORE_ADDR_MAX];
    int n;
};

static int alias_scan_cb(const char *alias, const char *target, void *ctx)
{
    struct alias_scan *a = ctx;
    if (str_ieq(target, a->target) && a->n < 256)
        str_copy(a->found[a->n++], alias, STORE_ADDR_MAX);
    return 0;
}

int cmd_del(struct udb *u)
{
    char addr[STORE_ADDR_MAX];
    struct user_rec r;
    if (get_user(u, u->args[0], addr, &r) != UDB_OK)
        return UDB_ERR;
    explicit_bzero(&r, sizeof r);
    int s = store_user_del(u->st, addr);
    if (s == STORE_NOTFOUND) {
        udb_err("no such user: %s", addr);
        return UDB_ERR;
    }
    if (s != STORE_OK)
        return store_failed();
    printf("deleted %s\n", addr);
    /* aliases that pointed to the user would now lead nowhere */
    static struct alias_scan scan;
    memset(&scan, 0, sizeof scan);
    scan.target = addr;
    if (store_alias_list(u->st, alias_scan_cb, &scan) != STORE_OK)
        return store_failed();
    for (int i = 0; i < scan.n; i++)
        if (store_alias_del(u->st, scan.found[i]) == STORE_OK)
            printf("deleted alias %s (pointed to %s)\n", scan.found[i], addr);
    return UDB_OK;
}

static int parse_yesno(const char *v, bool *out)
{
    if (strcmp(v, "yes") == 0)
        *out = true;
    else if (strcmp(v, "no") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

int cmd_set(struct udb *u)
{
    char addr[STORE_ADDR_MAX];
    struct user_rec r;
    bool relay = false, enabled = false, set_relay = false, set_enabled = false;
    for (int i = 1; i < u->nargs; i++) {
        const char *a = u->args[i];
        if (strncmp(a, "relay=", 6) == 0 && parse_yesno(a + 6, &relay) == 0)
            set_relay = true;
        else if (strncmp(a, "enabled=", 8) == 0 && parse_yesno(a + 8, &enabled) == 0)
            set_enabled = true;
        else {
            udb_err("bad setting: %s (relay=yes|no or enabled=yes|no)", a);
            return UDB_USAGE;
        }
    }
    if (get_user(u, u->args[0], addr, &r) != UDB_OK)
        return UDB_ERR;
    if (set_relay)
        r.relay = relay;
    if (set_enabled)
        r.enabled = enabled;
    int s = store_user_put(u->st, &r, true);
    explicit_bzero(r.pwhash, sizeof r.pwhash);
    if (s != STORE_OK)
        return store_failed();
    printf("%s relay=%s enabled=%s\n", addr, r.relay ? "yes" : "no", r.enabled ? "yes" : "no");
    return UDB_OK;
}

int cmd_show(struct udb *u)
{
    char addr[STORE_ADDR_MAX], tbuf[64];
    struct user_rec r;
    if (get_user(u, u->args[0], addr, &r) != UDB_OK)
        return UDB_ERR;
    static struct alias_scan scan;
    memset(&scan, 0, sizeof scan);
    scan.target = addr;
    if (store_alias_list(u->st, alias_scan_cb, &scan) != STORE_OK)
        return store_failed();
    printf("address: %s\nrelay: %s\nenabled: %s\ncreated: %s\n", r.address,
           r.relay ? "yes" : "no", r.enabled ? "yes" : "no", udb_time(r.created, tbuf, sizeof tbuf));
    printf("mailbox: %s\n", r.no_mailbox ? "no (relay-only account: receives no mail, "
                                            "no POP3 login)" : "yes");
    printf("mechanisms:%s%s%s\n", r.pwhash[0] ? " PLAIN LOGIN USER" : "",
           r.has_cram_md5 ? " CRAM-MD5" : "", r.scram_sha256[0] ? " SCRAM-SHA-256" : "");
    printf("aliases:");
    for (int i = 0; i < scan.n; i++)
        printf(" %s", scan.found[i]);
    printf("%s\n", scan.n ? "" : " none");
    explicit_bzero(&r, sizeof r);
    return UDB_OK;
}

static int list_cb(const struct user_rec *r, void *ctx)
{
    (void)ctx;
    printf("%s relay=%s enabled=%s%s\n", r->address, r->relay ? "yes" : "no",
           r->enabled ? "yes" : "no", r->no_mailbox ? " mailbox=no" : "");
    return 0;
}

int cmd_list(struct udb *u)
{
    return store_user_list(u->st, list_cb, NULL) == STORE_OK ? UDB_OK : store_failed();
}
