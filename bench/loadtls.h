/* loadtls.h - the mail clients' TLS loads of smtpload (loadtls.c): submission over
 * STARTTLS with AUTH PLAIN, POP3 collection over STLS or implicit TLS, idle STARTTLS
 * sessions; and the globals smtpload's modes share. */
#ifndef LOADTLS_H
#define LOADTLS_H

#include "loadconn.h"

extern const char *g_user, *g_pass, *g_from, *g_rcpt;
extern char *g_body;    /* the message, ending with CRLF.CRLF */
extern size_t g_bodylen;

enum pop_tls { POP_PLAIN, POP_STLS, POP_IMPLICIT };

/* One SMTP session: [EHLO, STARTTLS,] EHLO, [AUTH PLAIN,] MAIL, RCPT, DATA, QUIT. */
typedef struct {
    int tls;
    const char *user, *pass; /* NULL: no AUTH */
    const char *from, *rcpt;
    const char *body;        /* ending with CRLF.CRLF */
    size_t bodylen;
} smtp_job_t;
int smtp_job_session(stats_t *st, conn_t *c, const smtp_job_t *j);

/* One submission session (see smtpload.c's header); 0 when the message was accepted. */
int subm_session(stats_t *st, conn_t *c);
/* One POP3 session as user/pass retrieving and deleting up to per_session messages;
 * the number retrieved (0: none were there), or -1. */
long pop3_session(stats_t *st, conn_t *c, enum pop_tls tls, const char *user, const char *pass,
                  long per_session);
/* The idle mode: n sessions after STARTTLS held by threads; exit status. */
int run_idle(long n, int threads, double hold);

/* smtpload office (loadoffice.c): the whole command line; exit status. */
int office_main(int argc, char **argv);

#endif
