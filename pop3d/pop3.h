/* pop3: the POP3 session shared by the command modules (commands.c: transaction
 * commands, cmd_auth.c: login, STLS, QUIT) and the connection glue (pop3_session.c).
 * Replies go through s->emit, so the transaction commands run in unit tests with
 * no connection (s->c == NULL). A login whose credentials are verified writes the
 * POP-auth record even when the mailbox is then refused as in use (cmd_auth.c). */
#ifndef MS_POP3_H
#define MS_POP3_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "mailstore.h"
#include "msgtext.h"
#include "pop3_parse.h"
#include "pop3_policy.h"
#include "store.h"

struct conn;
struct auth_flow;

enum pop3_sasl_state {
    P3A_NONE,
    P3A_STEP,            /* challenge sent, waiting for the client's line */
    P3A_FINAL,           /* final server data sent, waiting for the empty line */
};

struct pop3_session {
    struct conn *c;                      /* NULL in unit tests */
    void (*emit)(struct pop3_session *s, const void *data, size_t len);
    void *emit_ctx;                      /* for emitters other than the connection */
    enum pop3_state state;
    struct pop3_policy pol;
    const struct config *cfg;            /* config of this session (fixed at accept) */
    char login[STORE_ADDR_MAX];          /* USER argument, as given */
    bool have_user;
    char user[STORE_ADDR_MAX];           /* canonical address once logged in */
    struct mailbox *mb;
    /* RETR/TOP in progress */
    int msgfd;
    struct msgtext_enc conv;
    /* SASL exchange */
    struct auth_flow *sasl;              /* common/auth_flow.h */
    enum pop3_sasl_state sasl_state;
    char mech[24];
    /* flow */
    bool busy;                           /* a worker job runs (connection paused) */
    bool shutdown;                       /* SIGTERM: say goodbye when idle */
    bool closed;                         /* goodbye sent / conn_close called */
    unsigned long nretr, ndele;
};

/* ---- commands.c ---- */
void pop3_session_init(struct pop3_session *s);
/* Free everything; deletes nothing. */
void pop3_session_free_state(struct pop3_session *s);
void pop3_emit(struct pop3_session *s, const void *data, size_t len);
void pop3_reply(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Run one complete command line (at most POP3_LINE_MAX octets). */
void pop3_execute(struct pop3_session *s, char *line);
/* Continue a RETR/TOP reply with up to about budget octets; true once it is complete
 * (terminator sent) or failed (then the connection should close). */
bool pop3_stream_pump(struct pop3_session *s, size_t budget, bool *failed);
bool pop3_streaming(const struct pop3_session *s);
void pop3_capa_cmd(struct pop3_session *s);

/* ---- cmd_auth.c (need the connection and the worker queue) ---- */
void pop3_cmd_user(struct pop3_session *s, struct pop3_req *r);
void pop3_cmd_pass(struct pop3_session *s, struct pop3_req *r);
void pop3_cmd_auth(struct pop3_session *s, struct pop3_req *r);
void pop3_cmd_stls(struct pop3_session *s);
void pop3_cmd_quit(struct pop3_session *s);
/* A line while a SASL exchange is waiting for the client. */
void pop3_sasl_line(struct pop3_session *s, char *line);
/* End the SASL exchange, if any (its flow freed, no reply). */
void pop3_auth_end(struct pop3_session *s);

/* ---- pop3_session.c ---- */
/* A worker job starts: stop reading input. */
void pop3_session_wait(struct pop3_session *s);
/* The job is done: read input again (or close if a shutdown is pending). */
void pop3_session_continue(struct pop3_session *s);
/* Send the goodbye/error line and close the connection. */
void pop3_session_close(struct pop3_session *s, const char *line);

#endif
