/* userdb: the admin tool's shared pieces (SPEC.md "Users: userdb"): the command
 * context, address handling, password input and the command groups
 * (cmd_user.c: users; cmd_misc.c: aliases, POP-auth cache, lockouts;
 * cmd_backup.c: backup and restore; cmd_dkim.c: DKIM keys and the DNS records). */
#ifndef MS_USERDB_H
#define MS_USERDB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

/* exit codes */
enum { UDB_OK = 0, UDB_ERR = 1, UDB_USAGE = 2 };

struct udb {
    struct config *cfg;
    struct store *st;
    bool relay, password_stdin, force, no_mailbox;   /* flags given on the command line */
    bool prometheus;                     /* status --prometheus */
    bool sts_policy;                     /* dns --mta-sts-policy */
    const char *selector, *algorithm;    /* --selector NAME, --algorithm ALG (dkim add) */
    char **args;                         /* positional arguments after the command */
    int nargs;
};

void udb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int udb_usage(void);

/* Canonical local address for ADDR (bare local part = primary domain; a domain
 * alias becomes the primary domain, said on stdout). UDB_OK or UDB_ERR (printed). */
int udb_local_address(const struct udb *u, const char *addr, char *out, size_t len);
/* Read a new password: --password-stdin reads one line, a tty is asked twice
 * without echo. UDB_OK, UDB_ERR or UDB_USAGE. */
int udb_read_password(const struct udb *u, char *pw, size_t len);

int cmd_add(struct udb *u);
int cmd_passwd(struct udb *u);
int cmd_del(struct udb *u);
int cmd_set(struct udb *u);
int cmd_show(struct udb *u);
int cmd_list(struct udb *u);
int cmd_alias(struct udb *u);
int cmd_popauth(struct udb *u);
int cmd_greylist(struct udb *u);
int cmd_lockout(struct udb *u);
/* cmd_backup.c: backup_prepare runs as root before the drop (creates a missing DIR
 * for run_as_user); restore runs without the store open and opens it itself. */
int backup_prepare(struct udb *u);
int cmd_backup(struct udb *u);
int cmd_restore(struct udb *u);
/* cmd_clientcfg.c: client set-up files on stdout; clientcfg_srv prints the SRV
 * records (zone-file lines) for any command that prints DNS records. */
int cmd_clientconfig(struct udb *u);
void clientcfg_srv(FILE *f, const struct config *cfg);
/* ... those of one domain */
void clientcfg_srv_domain(FILE *f, const struct config *cfg, const char *domain);
/* cmd_dkim.c: dkim add|list|del (keys under data_dir/dkim, dkim_keys.h) and dns, every
 * record to publish for a local domain. */
int cmd_dkim(struct udb *u);
int cmd_dns(struct udb *u);
/* dns_tlsa.c: the TLSA record (DANE-EE, 3 1 1) of tls_cert for _25._tcp.HOSTNAME on
 * out (nothing without tls_cert); 0, or -1 when the certificate cannot be read (said). */
int dns_tlsa(FILE *out, const struct config *cfg);

/* cmd_status.c: status [--prometheus]; status_prepare reads tls_cert as root. The
 * exit code is the level: 0 healthy, 1 degraded, 2 down. */
int status_prepare(struct udb *u);
int cmd_status(struct udb *u);

/* cmd_cluster.c: cluster status (the replicated store's nodes). */
int cmd_cluster(struct udb *u);

/* Time as "YYYY-MM-DDTHH:MM:SSZ". */
const char *udb_time(long long t, char *buf, size_t len);

#endif
