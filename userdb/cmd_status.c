/* cmd_status: `userdb status [--prometheus]`: is the server healthy? (status.h) The
 * certificate is read before the privilege drop (status_prepare: tls_cert may be
 * readable by root only), the rest as run_as_user. Exit code: 0 healthy, 1 degraded,
 * 2 down, as a Nagios plugin's (OK, WARNING, CRITICAL). */
#include <stdio.h>
#include <time.h>

#include "status.h"
#include "userdb.h"

static struct status st_now;

int status_prepare(struct udb *u)
{
    status_read_cert(&st_now, u->cfg->tls_cert);
    return UDB_OK;
}

int cmd_status(struct udb *u)
{
    struct store *st = NULL;
    if (store_open(u->cfg->data_dir, &st) != STORE_OK)
        st = NULL;
    status_gather(&st_now, u->cfg, st, (int64_t)time(NULL));
    store_close(st);
    status_judge(&st_now);
    if (u->prometheus)
        status_print_prom(stdout, &st_now);
    else
        status_print_text(stdout, &st_now);
    return (int)st_now.level;
}
