/* cluster_setup: a program's [cluster] and mail_dir handed to the store and the
 * Maildir layout before the store opens (cluster_conf.h, cluster_conf_apply). Apart
 * from cluster_conf.c, which stays pure. */
#include "cluster_conf.h"

#include <string.h>

#include "config.h"
#include "maildir.h"
#include "store.h"

void cluster_conf_apply(const struct config *cfg, struct cluster_conf *out)
{
    char why[400];
    if (cluster_conf_parse(cfg->cluster_node, cfg->cluster_peers, cfg->cluster_priority,
                           cfg->cluster_ack_policy, out, why, sizeof why) != 0)
        memset(out, 0, sizeof *out);      /* config_load refuses such a file */
    store_set_cluster(out);
    maildir_set_root(cfg->mail_dir);
}
