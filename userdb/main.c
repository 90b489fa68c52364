/* userdb: the admin tool for the user store (SPEC.md "Users: userdb"): users,
 * aliases, the POP-auth cache and lockouts. Parses the command line, loads the
 * config, drops root to run_as_user (creating data_dir with that owner), opens
 * the store and dispatches to cmd_user.c / cmd_misc.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cluster_conf.h"
#include "log.h"
#include "privdrop.h"
#include "userdb.h"
#include "util.h"

void udb_err(const char *fmt, ...)
{
    va_list ap;
    fputs("userdb: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int udb_usage(void)
{
    fputs("usage: userdb [-c FILE] add ADDRESS [--relay] [--no-mailbox] [--password-stdin] [--force]\n"
          "       userdb [-c FILE] passwd ADDRESS [--password-stdin] [--force]\n"
          "       userdb [-c FILE] del ADDRESS\n"
          "       userdb [-c FILE] set ADDRESS relay=yes|no enabled=yes|no ...\n"
          "       userdb [-c FILE] show ADDRESS | list\n"
          "       userdb [-c FILE] alias add ALIAS TARGET | alias del ALIAS | alias list\n"
          "       userdb [-c FILE] popauth list | popauth flush\n"
          "       userdb [-c FILE] lockout list | lockout clear IP\n"
          "       userdb [-c FILE] greylist list | greylist flush\n"
          "       userdb [-c FILE] backup DIR | restore DIR\n"
          "       userdb [-c FILE] clientconfig thunderbird|outlook|srv\n"
          "       userdb [-c FILE] dkim add DOMAIN [--selector NAME] [--algorithm rsa|ed25519]\n"
          "       userdb [-c FILE] dkim list | dkim del DOMAIN SELECTOR\n"
          "       userdb [-c FILE] dns [DOMAIN] | dns --mta-sts-policy\n"
          "       userdb [-c FILE] status [--prometheus]\n"
          "       userdb [-c FILE] cluster status\n", stderr);
    return UDB_USAGE;
}

const char *udb_time(long long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", t);
    return buf;
}

int udb_local_address(const struct udb *u, const char *addr, char *out, size_t len)
{
    const char *at = strrchr(addr, '@');
    if (at != NULL && !config_is_local_domain(u->cfg, at + 1)) {
        udb_err("not in a local domain: %s", addr);
        return UDB_ERR;
    }
    if (auth_canon_user(u->cfg, addr, out, len) != 0) {
        udb_err("not a valid local address: %s", addr);
        return UDB_ERR;
    }
    if (at != NULL && !str_ieq(at + 1, u->cfg->domain)) {
        char dom[256];
        str_copy(dom, at + 1, sizeof dom);
        size_t n = strlen(dom);
        if (n > 0 && dom[n - 1] == '.')
            dom[n - 1] = '\0';
        if (!str_ieq(dom, u->cfg->domain))
            printf("note: %s is in a domain alias; using %s\n", addr, out);
    }
    return UDB_OK;
}

enum { F_RELAY = 1, F_STDIN = 2, F_FORCE = 4, F_DKIM = 8, F_NOMAILBOX = 16, F_PROM = 32,
       F_STS = 64 };

struct command {
    const char *name;
    int (*fn)(struct udb *u);
    int (*prep)(struct udb *u);   /* as root, before the drop (or NULL) */
    int min, max;            /* positional arguments */
    unsigned flags;          /* the options it takes */
    bool no_store;           /* fn opens the store itself */
};

static const struct command commands[] = {
    { "add", cmd_add, NULL, 1, 1, F_RELAY | F_STDIN | F_FORCE | F_NOMAILBOX, false },
    { "passwd", cmd_passwd, NULL, 1, 1, F_STDIN | F_FORCE, false },
    { "del", cmd_del, NULL, 1, 1, 0, false },         { "set", cmd_set, NULL, 2, 3, 0, false },
    { "show", cmd_show, NULL, 1, 1, 0, false },       { "list", cmd_list, NULL, 0, 0, 0, false },
    { "alias", cmd_alias, NULL, 1, 3, 0, false },     { "popauth", cmd_popauth, NULL, 1, 1, 0, false },
    { "lockout", cmd_lockout, NULL, 1, 2, 0, false },
    { "greylist", cmd_greylist, NULL, 1, 1, 0, false },
    { "backup", cmd_backup, backup_prepare, 1, 1, 0, false },
    { "restore", cmd_restore, NULL, 1, 1, 0, true },
    { "clientconfig", cmd_clientconfig, NULL, 1, 1, 0, true },
    { "dkim", cmd_dkim, NULL, 1, 3, F_DKIM, true },
    { "dns", cmd_dns, NULL, 0, 1, F_STS, true },
    { "status", cmd_status, status_prepare, 0, 0, F_PROM, true },
    { "cluster", cmd_cluster, NULL, 1, 1, 0, false },
};

/* Split argv after the command into flags and positional arguments. */
static int parse_args(struct udb *u, int argc, char **argv, int first, unsigned allowed)
{
    u->args = argv + first;    /* reused in place: positional ones are packed to the front */
    u->nargs = 0;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--relay") == 0 && (allowed & F_RELAY))
            u->relay = true;
        else if (strcmp(argv[i], "--password-stdin") == 0 && (allowed & F_STDIN))
            u->password_stdin = true;
        else if (strcmp(argv[i], "--force") == 0 && (allowed & F_FORCE))
            u->force = true;
        else if (i + 1 < argc && (allowed & F_DKIM) &&
                 (strcmp(argv[i], "--selector") == 0 || strcmp(argv[i], "--algorithm") == 0)) {
            *(argv[i][2] == 's' ? &u->selector : &u->algorithm) = argv[i + 1];
            i++;
        }
        else if (strcmp(argv[i], "--no-mailbox") == 0 && (allowed & F_NOMAILBOX))
            u->no_mailbox = true;
        else if (strcmp(argv[i], "--prometheus") == 0 && (allowed & F_PROM))
            u->prometheus = true;
        else if (strcmp(argv[i], "--mta-sts-policy") == 0 && (allowed & F_STS))
            u->sts_policy = true;
        else if (strncmp(argv[i], "--", 2) == 0) {
            udb_err("unknown option for %s: %s", argv[first - 1], argv[i]);
            return -1;
        } else
            u->args[u->nargs++] = argv[i];
    }
    return 0;
}

static int setup(struct udb *u, const char *cfgpath, const struct command *cmd)
{
    char err[512];
    u->cfg = config_load(cfgpath, err, sizeof err);
    if (u->cfg == NULL) {
        udb_err("%s", err);
        return UDB_ERR;
    }
    if (cmd->prep != NULL && cmd->prep(u) != UDB_OK)
        return UDB_ERR;
    /* as root: nothing under data_dir is opened before the drop (SPEC "Admin commands
     * run as root") */
    if (privdrop_admin(u->cfg->data_dir, u->cfg->run_as_user, err, sizeof err) != 0) {
        udb_err("%s", err);
        return UDB_ERR;
    }
    struct cluster_conf cc;
    cluster_conf_apply(u->cfg, &cc);
    store_cluster_no_writer();          /* a daemon serves the node's writes */
    if (!cmd->no_store && store_open(u->cfg->data_dir, &u->st) != STORE_OK) {
        udb_err("cannot open the user store in %s/db", u->cfg->data_dir);
        return UDB_ERR;
    }
    return UDB_OK;
}

int main(int argc, char **argv)
{
    const char *cfgpath = NULL;
    int i = 1;
    log_open("userdb", 1);
    if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
        cfgpath = argv[i + 1];
        i += 2;
    }
    if (i >= argc)
        return udb_usage();
    size_t c = 0;
    while (c < sizeof commands / sizeof commands[0] && strcmp(commands[c].name, argv[i]) != 0)
        c++;
    if (c == sizeof commands / sizeof commands[0]) {
        udb_err("unknown command: %s", argv[i]);
        return udb_usage();
    }
    struct udb u;
    memset(&u, 0, sizeof u);
    if (parse_args(&u, argc, argv, i + 1, commands[c].flags) != 0 || u.nargs < commands[c].min ||
        u.nargs > commands[c].max)
        return udb_usage();
    if (cfgpath == NULL)
        cfgpath = config_default_path();
    int rc = setup(&u, cfgpath, &commands[c]);
    unsigned long unacked = store_cluster_unacked();   /* (opening the databases logs) */
    if (rc == UDB_OK)
        rc = commands[c].fn(&u);
    if (rc == UDB_OK && store_cluster_unacked() != unacked) {
        udb_err("the change is on this cluster's master but was not acknowledged under "
                "ack_policy %s in time (replicas down or cut off?): it is lost if the master "
                "fails or another node becomes master", u.cfg->cluster_ack_policy);
        rc = UDB_ERR;
    }
    store_close(u.st);
    config_free(u.cfg);
    if (fflush(stdout) != 0 && rc == UDB_OK) {
        udb_err("cannot write to stdout");
        rc = UDB_ERR;
    }
    return rc;
}
