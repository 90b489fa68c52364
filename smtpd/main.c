/* main: the smtpd daemon: every [smtp NAME] instance of the config on the shared
 * framework (server.h) and the outbound queue runner (runner.h), plus the command-line
 * actions --check-config, --test-relay and --queue list|flush.
 * It refuses to start a config with an open-relay instance. */
#include <stdio.h>
#include <string.h>

#include "checkconf.h"
#include "config.h"
#include "dns.h"
#include "log.h"
#include "mailstore.h"
#include "queue_admin.h"
#include "runner.h"
#include "server.h"
#include "session.h"
#include "testrelay.h"

static int smtpd_on_start(const struct config *cfg)
{
    char err[1024];
    if (checkconf_refuse_open_relay(cfg, err, sizeof err) != 0) {   /* and auth_source */
        log_err("%s", err);
        return -1;
    }
    mstore_clean_spool(cfg->data_dir);
    (void)dns_configure(&cfg->dns_servers, cfg->dns_timeout);   /* before the runner forks */
    (void)dns_set_trust_anchor(cfg->dns_trust_anchor);          /* logged when unreadable */
    if (runner_start(cfg) != 0)   /* later calls (reload) make the runner reload */
        log_err("the outbound queue runner did not start; queued mail waits for it");
    return 0;
}

/* --test-relay and --queue: run ACTION on the loaded config. */
static int with_config(const char *cfgpath, int argc, char **argv,
                       int (*action)(int, char **, const struct config *))
{
    char err[1024];
    struct config *cfg = config_load(cfgpath, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "smtpd: %s\n", err);
        return 2;
    }
    int rc = action(argc, argv, cfg);
    config_free(cfg);
    return rc;
}

static int smtpd_on_option(int argc, char **argv, const char *cfgpath)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0)
            return checkconf_run(cfgpath);
        if (strcmp(argv[i], "--test-relay") == 0)
            return with_config(cfgpath, argc, argv, testrelay_main);
        if (strcmp(argv[i], "--queue") == 0)
            return with_config(cfgpath, argc, argv, queue_admin_main);
    }
    return -1;
}

static const struct server_proto smtp_proto = {
    .ident = "smtpd",
    .kind = KIND_SMTP,
    .on_accept = sess_on_accept,
    .on_refuse = sess_on_refuse,
    .on_input = sess_on_input,
    .on_timeout = sess_on_timeout,
    .on_shutdown = sess_on_shutdown,
    .on_close = sess_on_close,
    .on_start = smtpd_on_start,
    .check_store = checkconf_fixed_accounts,
    .on_option = smtpd_on_option,
};

int main(int argc, char **argv)
{
    int rc = server_main(argc, argv, &smtp_proto);
    runner_stop();   /* no-op unless the daemon started it */
    return rc;
}
