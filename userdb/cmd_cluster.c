/* cmd_cluster: `userdb cluster status`: every node of the replicated store ([cluster]),
 * its role, how far its log is behind the master's, and the last master change it saw.
 * and this node's writer (store_writer.h: the process the others hand their writes to).
 * Exit 0 when there is one master and every node answers, else 1. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store_writer.h"
#include "userdb.h"

#define NODES_MAX 16

/* The lag of a log end (f, o) behind the master's (mf, mo), as text. */
static const char *lag_text(const struct store_node *m, const struct store_node *n, char *buf,
                            size_t len)
{
    if (m == NULL)
        snprintf(buf, len, "?");
    else if (n->lsn_file == m->lsn_file)
        snprintf(buf, len, "%lld bytes",
                 m->lsn_offset > n->lsn_offset ? (long long)m->lsn_offset - n->lsn_offset : 0LL);
    else if (n->lsn_file < m->lsn_file)
        snprintf(buf, len, "%u log files", m->lsn_file - n->lsn_file);
    else
        snprintf(buf, len, "0 bytes");
    return buf;
}

static const char *role_name(int role)
{
    switch (role) {
    case NODE_MASTER: return "master";
    case NODE_REPLICA: return "replica";
    case NODE_ELECTING: return "electing";
    default: return "unreachable";
    }
}

static int cluster_status(struct udb *u)
{
    struct store_node nodes[NODES_MAX];
    size_t n = 0;
    if (store_cluster_status(u->st, nodes, NODES_MAX, &n) != STORE_OK) {
        udb_err("no [cluster] in %s: this store is a single node", u->cfg->path);
        return UDB_ERR;
    }
    const struct store_node *m = NULL;
    unsigned masters = 0, unreachable = 0;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].reachable && nodes[i].role == NODE_MASTER) {
            m = &nodes[i];
            masters++;
        }
        unreachable += !nodes[i].reachable;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_node *x = &nodes[i];
        char lag[64], when[32];
        if (!x->reachable) {
            printf("%-24s unreachable%s\n", x->addr, x->self ? "  (this node)" : "");
            continue;
        }
        printf("%-24s %-8s priority=%u log=%u/%u lag=%s last_master_change=%s%s\n", x->addr,
               role_name(x->role), x->priority, x->lsn_file, x->lsn_offset,
               lag_text(m, x, lag, sizeof lag),
               x->last_change ? udb_time(x->last_change, when, sizeof when) : "never",
               x->self ? "  (this node)" : "");
    }
    char path[PATH_MAX];
    struct sw_info w;
    if (sw_path(u->cfg->data_dir, path, sizeof path) && store_writer_query(path, &w) == 0)
        printf("writer: pid %ld, %llu writes applied, %u connections\n", (long)w.pid,
               (unsigned long long)w.served, w.conns);
    else
        printf("writer: none (this node's processes write themselves)\n");
    if (masters != 1)
        printf("warning: %u masters seen (an election under way, or a partition)\n", masters);
    return masters == 1 && unreachable == 0 ? UDB_OK : UDB_ERR;
}

int cmd_cluster(struct udb *u)
{
    if (u->nargs == 1 && strcmp(u->args[0], "status") == 0)
        return cluster_status(u);
    return udb_usage();
}
