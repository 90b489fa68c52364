/* pop3_session: the server_proto callbacks of pop3d (connection glue over pop3.h). */
#ifndef MS_POP3_SESSION_H
#define MS_POP3_SESSION_H
#include "pop3.h"
#include "server.h"

void pop3_on_accept(struct conn *c);
void pop3_on_refuse(struct conn *c, enum server_refusal why);
void pop3_on_input(struct conn *c);
void pop3_on_timeout(struct conn *c);
void pop3_on_shutdown(struct conn *c);
void pop3_on_close(struct conn *c);

#endif
