/* pop3d: the POP3 daemon: every [pop3 NAME] instance of the config, on the shared
 * server framework (common/server.h); the protocol is in pop3_session.c and the commands. */
#include "pop3_session.h"

static size_t pop3_instances(const struct config *cfg, struct server_instance *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->npop3 && n < max; i++, n++) {
        const struct pop3_instance *p = &cfg->pop3[i];
        out[n] = (struct server_instance){
            .name = p->name,
            .listen = p->listen,
            .nlisten = p->nlisten,
            .tls = p->tls,
            .allow_clients = p->allow_clients,
            .deny_clients = p->deny_clients,
            .max_connections = p->max_connections,
            .max_connections_per_ip = p->max_connections_per_ip,
            .timeout = p->timeout,
            .instance = p,
        };
    }
    return n;
}

static const struct server_proto pop3_proto = {
    .ident = "pop3d",
    .instances = pop3_instances,
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
