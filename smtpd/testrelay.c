/* testrelay: `smtpd --test-relay`: a dry run of the daemon's connect, MAIL FROM and
 * RCPT TO check rows (checks.h, offline: no network I/O) for a given instance, client,
 * user, sender and recipient, against the live store; and policy_option, the entry
 * point for smtpd's on_option hook. */
#include "testrelay.h"

#include <string.h>
#include <time.h>

#include "checkconf.h"
#include "checks.h"
#include "cluster_conf.h"
#include "pamauth.h"
#include "privdrop.h"
#include "store.h"
#include "util.h"

struct tr_args {
    const char *instance, *client, *auth, *from, *to;
};

static int usage(const char *msg)
{
    fprintf(stderr, "smtpd: %s\nusage: smtpd -c FILE --test-relay INSTANCE --client IP "
            "[--auth USER] [--from ADDR] --to ADDR\n", msg);
    return 2;
}

/* 0, or -1 on a usage error (message printed). */
static int parse_args(int argc, char **argv, struct tr_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "-f") == 0)
            continue;
        if (strcmp(argv[i], "-c") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--test-relay") == 0)
            slot = &a->instance;
        else if (strcmp(argv[i], "--client") == 0)
            slot = &a->client;
        else if (strcmp(argv[i], "--auth") == 0)
            slot = &a->auth;
        else if (strcmp(argv[i], "--from") == 0)
            slot = &a->from;
        else if (strcmp(argv[i], "--to") == 0)
            slot = &a->to;
        if (!slot || i + 1 >= argc) {
            usage(slot ? "option needs a value" : "unknown option");
            return -1;
        }
        *slot = argv[++i];
    }
    if (!a->instance || !a->client || !a->to) {
        usage("--test-relay needs INSTANCE, --client and --to");
        return -1;
    }
    return 0;
}

static const struct smtp_instance *find_instance(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nsmtp; i++)
        if (strcmp(cfg->smtp[i].common.name, name) == 0)
            return &cfg->smtp[i];
    return NULL;
}

static int print_result(FILE *out, const struct policy_result *r)
{
    if (r->accept) {
        fprintf(out, "ACCEPT rule=%s\n", r->rule);
        return 0;
    }
    fprintf(out, "REJECT %d %s rule=%s %s\n", r->code, r->enh, r->rule, r->text);
    return 1;
}

/* An address given on the command line, with or without angle brackets. */
static int parse_cli_addr(const char *s, unsigned flags, struct mailaddr *a)
{
    const char *end;
    int rc = addr_parse_path(s, flags, a, &end);
    if (rc == ADDR_OK && *end != '\0')
        rc = ADDR_ESYNTAX;
    return rc;
}

/* The login name given to --auth, in canonical form (bare local part = primary domain). */
static int canon_user(const struct config *cfg, const char *login, char *out, size_t len)
{
    char buf[STORE_ADDR_MAX];
    if (!strchr(login, '@')) {
        int n = snprintf(buf, sizeof buf, "%s@%s", login, cfg->domain);
        if (n < 0 || (size_t)n >= sizeof buf)
            return -1;
        login = buf;
    }
    return addr_canon_str(cfg, login, out, len);
}

/* auth_source = system: the relay right a login of USER (name@domain) would get, from
 * the membership of system_relay_group (the daemon's rule, authsrc.h). */
static bool system_user_relays(const struct smtp_instance *inst, const char *user)
{
    char name[STORE_ADDR_MAX];
    str_copy(name, user, sizeof name);
    char *at = strchr(name, '@');
    if (at)
        *at = '\0';
    return pamauth_in_group(name, inst->system_relay_group) == 1;
}

/* Run the daemon's rows of STAGE; true when they accept. */
static bool run_stage(struct check_run *run, enum check_stage stage)
{
    size_t n = 0;
    const struct check_row *rows = checks_rows(stage, &n);
    run->done = NULL;
    if (checks_start(run, stage, rows, n) == CHECK_PENDING) {
        /* a row broke the offline rule (checks.h): say so rather than guess */
        struct policy_result r = { false, 451, "4.3.0", "Check needs the network",
                                   rows[run->next - 1].rule };
        run->pending = false;
        checks_from_policy(&r, &run->v);
    }
    return run->v.res.accept;
}

static int dry_run(const struct tr_args *a, const struct config *cfg,
                   const struct smtp_instance *inst, const struct ipaddr *ip,
                   const struct policy_lookup *lk, FILE *out)
{
    struct policy_client pc;
    struct mailaddr from, to;
    struct policy_rcpt rr;
    struct check_run run;

    memset(&run, 0, sizeof run);
    memset(&rr, 0, sizeof rr);
    policy_client_init(&pc, cfg, inst, ip);
    run.ctx = (struct check_ctx){ .pc = &pc, .lk = lk, .now = (int64_t)time(NULL),
                                  .offline = true, .helo = "", .from = &from, .rcpt = &to,
                                  .rcpt_out = &rr };
    if (!run_stage(&run, CHECK_CONNECT))
        return print_result(out, &run.v.res);
    if (a->auth) {
        char user[STORE_ADDR_MAX];
        if (canon_user(cfg, a->auth, user, sizeof user) < 0)
            return usage("bad --auth user");
        policy_client_set_user(&pc, user);
        if (inst->auth_source == AUTH_SOURCE_SYSTEM)   /* the login's relay right */
            policy_client_set_relay(&pc, system_user_relays(inst, user));
    }
    if (!a->from || a->from[0] == '\0') {
        memset(&from, 0, sizeof from);
        from.null = true;
    } else if (parse_cli_addr(a->from, ADDR_ALLOW_NULL, &from) != ADDR_OK) {
        fprintf(out, "REJECT 501 5.1.7 rule=syntax Bad sender address syntax\n");
        return 1;
    }
    if (!run_stage(&run, CHECK_MAIL))
        return print_result(out, &run.v.res);
    if (parse_cli_addr(a->to, ADDR_ALLOW_POSTMASTER, &to) != ADDR_OK) {
        fprintf(out, "REJECT 501 5.1.3 rule=syntax Bad recipient address syntax\n");
        return 1;
    }
    run_stage(&run, CHECK_RCPT);
    return print_result(out, &run.v.res);
}

int testrelay_run(int argc, char **argv, const struct config *cfg,
                  const struct policy_lookup *lk, FILE *out)
{
    struct tr_args a;
    struct ipaddr ip;
    const struct smtp_instance *inst;

    if (parse_args(argc, argv, &a) < 0)
        return 2;
    inst = find_instance(cfg, a.instance);
    if (!inst)
        return usage("no such [smtp NAME] instance");
    if (ipaddr_parse(a.client, &ip) < 0)
        return usage("--client is not an IP address");
    int rc = dry_run(&a, cfg, inst, &ip, lk, out);
    fflush(out);
    return rc;
}

int testrelay_main(int argc, char **argv, const struct config *cfg)
{
    struct store *st = NULL;
    struct policy_lookup lk;
    struct tr_args a;

    if (parse_args(argc, argv, &a) < 0)
        return 2;
    /* as root, become run_as_user first so the store keeps its owner (SPEC "Binaries") */
    char err[512];
    if (privdrop_admin(cfg->data_dir, cfg->run_as_user, err, sizeof err) < 0) {
        fprintf(stderr, "smtpd: %s\n", err);
        return 2;
    }
    struct cluster_conf cc;
    cluster_conf_apply(cfg, &cc);
    if (store_open(cfg->data_dir, &st) != STORE_OK || !st) {
        fprintf(stderr, "smtpd: cannot open the store under %s\n", cfg->data_dir);
        return 2;
    }
    policy_lookup_store(&lk, st);
    int rc = testrelay_run(argc, argv, cfg, &lk, stdout);
    store_close(st);
    return rc;
}

int policy_option(int argc, char **argv, const struct config *cfg)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0)
            return checkconf_main(cfg);
        if (strcmp(argv[i], "--test-relay") == 0)
            return testrelay_main(argc, argv, cfg);
    }
    return -1;
}
