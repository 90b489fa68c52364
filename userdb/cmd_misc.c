/* cmd_misc: userdb's alias, POP-auth cache and lockout commands.
 * Alias rules: the alias is in a local domain and is not a user; the target is
 * an existing user, an existing alias or an outside address; no loops. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lockout.h"
#include "userdb.h"
#include "util.h"

#define ALIAS_DEPTH_MAX 32

static int store_failed(void)
{
    udb_err("the user store failed (see the messages above)");
    return UDB_ERR;
}

/* Is TARGET outside the local domains? */
static bool is_outside(const struct udb *u, const char *target)
{
    const char *at = strrchr(target, '@');
    return at != NULL && at > target && at[1] != '\0' && !config_is_local_domain(u->cfg, at + 1);
}

/* Does following TARGET through the aliases lead back to ALIAS? */
static int leads_to(const struct udb *u, const char *target, const char *alias, bool *loop)
{
    char cur[STORE_ADDR_MAX], next[STORE_ADDR_MAX];
    str_copy(cur, target, sizeof cur);
    *loop = false;
    for (int depth = 0; depth < ALIAS_DEPTH_MAX; depth++) {
        if (str_ieq(cur, alias)) {
            *loop = true;
            return UDB_OK;
        }
        int s = store_alias_get(u->st, cur, next, sizeof next);
        if (s == STORE_NOTFOUND)
            return UDB_OK;
        if (s != STORE_OK)
            return store_failed();
        str_copy(cur, next, sizeof cur);
    }
    *loop = true;                  /* too deep: treat as a loop */
    return UDB_OK;
}

static int alias_add(struct udb *u, const char *alias_arg, const char *target_arg)
{
    char alias[STORE_ADDR_MAX], target[STORE_ADDR_MAX], t[STORE_ADDR_MAX];
    struct user_rec r;
    if (udb_local_address(u, alias_arg, alias, sizeof alias) != UDB_OK)
        return UDB_ERR;
    if (store_user_get(u->st, alias, &r) == STORE_OK) {
        explicit_bzero(&r, sizeof r);
        udb_err("%s is a user; an alias cannot have the same address", alias);
        return UDB_ERR;
    }
    if (is_outside(u, target_arg)) {
        if (str_copy(target, target_arg, sizeof target) >= sizeof target ||
            strpbrk(target, " \t\r\n<>") != NULL) {
            udb_err("not a valid address: %s", target_arg);
            return UDB_ERR;
        }
    } else {
        if (udb_local_address(u, target_arg, target, sizeof target) != UDB_OK)
            return UDB_ERR;
        bool is_user = store_user_get(u->st, target, &r) == STORE_OK;
        explicit_bzero(&r, sizeof r);
        if (!is_user && store_alias_get(u->st, target, t, sizeof t) != STORE_OK) {
            udb_err("no such user or alias: %s", target);
            return UDB_ERR;
        }
        bool loop;
        if (leads_to(u, target, alias, &loop) != UDB_OK)
            return UDB_ERR;
        if (loop) {
            udb_err("alias loop: %s -> %s leads back to %s", alias, target, alias);
            return UDB_ERR;
        }
    }
    int s = store_alias_put(u->st, alias, target, false);
    if (s == STORE_EXISTS) {
        udb_err("alias exists: %s (delete it first)", alias);
        return UDB_ERR;
    }
    if (s != STORE_OK)
        return store_failed();
    printf("added alias %s -> %s\n", alias, target);
    return UDB_OK;
}

static int alias_print(const char *alias, const char *target, void *ctx)
{
    (void)ctx;
    printf("%s %s\n", alias, target);
    return 0;
}

int cmd_alias(struct udb *u)
{
    const char *sub = u->args[0];
    if (strcmp(sub, "add") == 0 && u->nargs == 3)
        return alias_add(u, u->args[1], u->args[2]);
    if (strcmp(sub, "list") == 0 && u->nargs == 1)
        return store_alias_list(u->st, alias_print, NULL) == STORE_OK ? UDB_OK : store_failed();
    if (strcmp(sub, "del") == 0 && u->nargs == 2) {
        char alias[STORE_ADDR_MAX];
        if (udb_local_address(u, u->args[1], alias, sizeof alias) != UDB_OK)
            return UDB_ERR;
        int s = store_alias_del(u->st, alias);
        if (s == STORE_NOTFOUND) {
            udb_err("no such alias: %s", alias);
            return UDB_ERR;
        }
        if (s != STORE_OK)
            return store_failed();
        printf("deleted alias %s\n", alias);
        return UDB_OK;
    }
    return udb_usage();
}

static int popauth_print(const struct popauth_rec *r, void *ctx)
{
    char ip[64], t[64];
    (void)ctx;
    printf("%s %s %s\n", ipaddr_format(&r->ip, ip, sizeof ip), r->user, udb_time(r->time, t, sizeof t));
    return 0;
}

int cmd_popauth(struct udb *u)
{
    if (strcmp(u->args[0], "list") == 0)
        return store_popauth_list(u->st, popauth_print, NULL) == STORE_OK ? UDB_OK : store_failed();
    if (strcmp(u->args[0], "flush") == 0) {
        if (store_popauth_flush(u->st) != STORE_OK)
            return store_failed();
        printf("flushed the POP-auth cache\n");
        return UDB_OK;
    }
    return udb_usage();
}

/* One triplet a line: NET <SENDER> <RCPT> first=TIME last=TIME passed|pending */
static int greylist_print(const struct greylist_rec *r, void *ctx)
{
    char t1[64], t2[64];
    (void)ctx;
    printf("%s <%s> <%s> first=%s last=%s %s\n", r->net, r->sender, r->rcpt,
           udb_time(r->first_seen, t1, sizeof t1), udb_time(r->last_seen, t2, sizeof t2),
           r->passed ? "passed" : "pending");
    return 0;
}

int cmd_greylist(struct udb *u)
{
    if (strcmp(u->args[0], "list") == 0)
        return store_greylist_list(u->st, greylist_print, NULL) == STORE_OK ? UDB_OK : store_failed();
    if (strcmp(u->args[0], "flush") == 0) {
        if (store_greylist_flush(u->st) != STORE_OK)
            return store_failed();
        printf("flushed the greylisting triplets\n");
        return UDB_OK;
    }
    return udb_usage();
}

static int lockout_print(const struct authfail_rec *r, void *ctx)
{
    char ip[64], t1[64], t2[64];
    int64_t now = *(const int64_t *)ctx;
    bool locked = lockout_is_locked(r, now);
    printf("%s%s failures=%u first=%s locked=%s%s%s\n", ipaddr_format(&r->ip, ip, sizeof ip),
           r->ip.family == AF_INET6 ? "/64" : "", r->failures, udb_time(r->first_failure, t1, sizeof t1), locked ? "yes" : "no",
           locked ? " until=" : "", locked ? udb_time(r->locked_until, t2, sizeof t2) : "");
    return 0;
}

int cmd_lockout(struct udb *u)
{
    if (strcmp(u->args[0], "list") == 0 && u->nargs == 1) {
        int64_t now = (int64_t)time(NULL);
        return store_authfail_list(u->st, lockout_print, &now) == STORE_OK ? UDB_OK : store_failed();
    }
    if (strcmp(u->args[0], "clear") == 0 && u->nargs == 2) {
        struct ipaddr ip;
        char buf[64];
        if (ipaddr_parse(u->args[1], &ip) != 0) {
            udb_err("not an IP address: %s", u->args[1]);
            return UDB_ERR;
        }
        int s = store_authfail_clear(u->st, &ip);
        if (s == STORE_NOTFOUND) {
            udb_err("no failures recorded for %s", ipaddr_format(&ip, buf, sizeof buf));
            return UDB_ERR;
        }
        if (s != STORE_OK)
            return store_failed();
        printf("cleared %s\n", ipaddr_format(&ip, buf, sizeof buf));
        return UDB_OK;
    }
    return udb_usage();
}
