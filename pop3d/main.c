/* pop3d: the POP3 daemon: every [pop3 NAME] instance of the config, on the shared
 * server framework (common/server.h); the protocol is in pop3_session.c and the commands. */
#include "pop3_session.h"

static const struct server_proto pop3_proto = {
    .ident = "pop3d",
    .kind = KIND_POP3,
    .on_accept = pop3_on_accept,
    .on_refuse = pop3_on_refuse,
    .on_input = pop3_on_input,
    .on_timeout = pop3_on_timeout,
    .on_shutdown = pop3_on_shutdown,
    .on_close = pop3_on_close,
};

int main(int argc, char **argv)
{
    return server_main(argc, argv, &pop3_proto);
}
