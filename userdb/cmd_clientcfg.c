/* cmd_clientcfg: `userdb clientconfig thunderbird|outlook|srv`: what mail clients need
 * to find the server by themselves, made from the config and printed on stdout:
 *   thunderbird  the autoconfig file (config-v1.1.xml) for the admin's web server;
 *   outlook      the Autodiscover (POX) response (autodiscover.xml);
 *   srv          the RFC 6186 / RFC 8314 SRV records, zone-file lines (clientcfg_srv,
 *                for any other command that prints DNS records too).
 * Which listeners: for sending, the instances that make clients log in (require_auth)
 * or listen on 465/587, else the first one; for receiving, every POP3 instance.
 * Implicit TLS comes first (RFC 8314), then STARTTLS; a listener without TLS is
 * offered only when there is nothing else. The host name is [server] hostname. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "userdb.h"

enum sock { SOCK_SSL, SOCK_STARTTLS, SOCK_PLAIN };

struct endpoint {
    int port;
    enum sock sock;
};

#define EP_MAX 8

static enum sock sock_of(enum tls_mode t)
{
    return t == TLS_IMPLICIT ? SOCK_SSL : t == TLS_OFF ? SOCK_PLAIN : SOCK_STARTTLS;
}

/* Add (port, sock) unless present; keep the list ordered SSL, STARTTLS, plain. */
static void ep_add(struct endpoint *ep, size_t *n, int port, enum sock sock)
{
    for (size_t i = 0; i < *n; i++)
        if (ep[i].port == port)
            return;
    if (*n >= EP_MAX)
        return;
    size_t at = *n;
    while (at > 0 && ep[at - 1].sock > sock) {
        ep[at] = ep[at - 1];
        at--;
    }
    ep[at].port = port;
    ep[at].sock = sock;
    (*n)++;
}

/* Without TLS only when nothing better exists. */
static size_t ep_secure(const struct endpoint *ep, size_t n)
{
    size_t k = 0;
    while (k < n && ep[k].sock != SOCK_PLAIN)
        k++;
    return k > 0 ? k : n;
}

static size_t smtp_endpoints(const struct config *cfg, struct endpoint *ep)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->nsmtp; i++) {
        const struct instance_common *c = &cfg->smtp[i].common;
        for (size_t j = 0; j < c->nlisten; j++) {
            int p = c->listen[j].port;
            if (cfg->smtp[i].require_auth || p == 465 || p == 587)
                ep_add(ep, &n, p, sock_of(c->tls));
        }
    }
    if (n == 0 && cfg->nsmtp > 0 && cfg->smtp[0].common.nlisten > 0)
        ep_add(ep, &n, cfg->smtp[0].common.listen[0].port, sock_of(cfg->smtp[0].common.tls));
    return ep_secure(ep, n);
}

static size_t pop3_endpoints(const struct config *cfg, struct endpoint *ep)
{
    size_t n = 0;
    for (size_t i = 0; i < config_count(cfg, KIND_POP3); i++) {
        const struct instance_common *c = config_common(cfg, KIND_POP3, i);
        for (size_t j = 0; j < c->nlisten; j++)
            ep_add(ep, &n, c->listen[j].port, sock_of(c->tls));
    }
    return ep_secure(ep, n);
}

/* Host names and domains are checked by the config loader (letters, digits, dots,
 * hyphens, brackets for literals); escape anyway. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void tb_server(FILE *f, const char *tag, const char *type, const char *host,
                      const struct endpoint *e)
{
    static const char *const sock[] = { "SSL", "STARTTLS", "plain" };
    fprintf(f, "    <%s type=\"%s\">\n      <hostname>", tag, type);
    xml_text(f, host);
    fprintf(f, "</hostname>\n      <port>%d</port>\n      <socketType>%s</socketType>\n"
               "      <authentication>password-cleartext</authentication>\n"
               "      <username>%%EMAILADDRESS%%</username>\n    </%s>\n",
            e->port, sock[e->sock], tag);
}

static void thunderbird(FILE *f, const struct config *cfg)
{
    struct endpoint in[EP_MAX] = { 0 }, out[EP_MAX] = { 0 };
    size_t nin = pop3_endpoints(cfg, in), nout = smtp_endpoints(cfg, out);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n"
          "  <emailProvider id=\"", f);
    xml_text(f, cfg->domain);
    fputs("\">\n    <domain>", f);
    xml_text(f, cfg->domain);
    fputs("</domain>\n", f);
    for (size_t i = 0; i < cfg->domain_aliases.n; i++) {
        if (cfg->domain_aliases.v[i][0] == '[')
            continue;           /* an address literal is no domain a user types */
        fputs("    <domain>", f);
        xml_text(f, cfg->domain_aliases.v[i]);
        fputs("</domain>\n", f);
    }
    fputs("    <displayName>Mail for ", f);
    xml_text(f, cfg->domain);
    fputs("</displayName>\n    <displayShortName>", f);
    xml_text(f, cfg->domain);
    fputs("</displayShortName>\n", f);
    for (size_t i = 0; i < nin; i++)
        tb_server(f, "incomingServer", "pop3", cfg->hostname, &in[i]);
    for (size_t i = 0; i < nout; i++)
        tb_server(f, "outgoingServer", "smtp", cfg->hostname, &out[i]);
    fputs("  </emailProvider>\n</clientConfig>\n", f);
}

static void ol_protocol(FILE *f, const char *type, const char *host, const struct endpoint *e)
{
    fprintf(f, "      <Protocol>\n        <Type>%s</Type>\n        <Server>", type);
    xml_text(f, host);
    fprintf(f, "</Server>\n        <Port>%d</Port>\n        <DomainRequired>off</DomainRequired>\n"
               "        <SPA>off</SPA>\n        <SSL>%s</SSL>\n",
            e->port, e->sock == SOCK_PLAIN ? "off" : "on");
    if (e->sock != SOCK_PLAIN)
        fprintf(f, "        <Encryption>%s</Encryption>\n", e->sock == SOCK_SSL ? "SSL" : "TLS");
    fprintf(f, "        <AuthRequired>on</AuthRequired>\n%s      </Protocol>\n",
            strcmp(type, "SMTP") == 0 ? "        <UsePOPAuth>on</UsePOPAuth>\n" : "");
}

/* Outlook's POX Autodiscover response: the first (best) endpoint of each kind. */
static void outlook(FILE *f, const struct config *cfg)
{
    struct endpoint in[EP_MAX] = { 0 }, out[EP_MAX] = { 0 };
    size_t nin = pop3_endpoints(cfg, in), nout = smtp_endpoints(cfg, out);
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
          "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
          "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
          "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n", f);
    if (nin > 0)
        ol_protocol(f, "POP3", cfg->hostname, &in[0]);
    if (nout > 0)
        ol_protocol(f, "SMTP", cfg->hostname, &out[0]);
    fputs("    </Account>\n  </Response>\n</Autodiscover>\n", f);
}

static void srv_line(FILE *f, const char *service, const char *domain, int port, const char *host)
{
    bool none = strcmp(host, ".") == 0;
    fprintf(f, "_%s._tcp.%s.\t3600\tIN\tSRV\t0 %d %d %s%s\n", service, domain, none ? 0 : 1, port,
            host, none ? "" : ".");
}

void clientcfg_srv_domain(FILE *f, const struct config *cfg, const char *domain)
{
    struct endpoint in[EP_MAX] = { 0 }, out[EP_MAX] = { 0 };
    size_t nin = pop3_endpoints(cfg, in), nout = smtp_endpoints(cfg, out);
    bool sub = false, subs = false, pop = false, pops = false;
    for (size_t i = 0; i < nout; i++) {
        bool ssl = out[i].sock == SOCK_SSL;
        srv_line(f, ssl ? "submissions" : "submission", domain, out[i].port, cfg->hostname);
        *(ssl ? &subs : &sub) = true;
    }
    for (size_t i = 0; i < nin; i++) {
        bool ssl = in[i].sock == SOCK_SSL;
        srv_line(f, ssl ? "pop3s" : "pop3", domain, in[i].port, cfg->hostname);
        *(ssl ? &pops : &pop) = true;
    }
    /* "service not offered here" (target "."), so clients do not guess */
    static const char *const none[] = { "submission", "submissions", "pop3", "pop3s", "imap", "imaps" };
    const bool have[] = { sub, subs, pop, pops, false, false };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        if (!have[i])
            srv_line(f, none[i], domain, 0, ".");
}

void clientcfg_srv(FILE *f, const struct config *cfg)
{
    fprintf(f, "; RFC 6186 and RFC 8314 SRV records: mail clients find %s\n", cfg->hostname);
    clientcfg_srv_domain(f, cfg, cfg->domain);
    for (size_t i = 0; i < cfg->domain_aliases.n; i++)
        if (cfg->domain_aliases.v[i][0] != '[')     /* not an address literal */
            clientcfg_srv_domain(f, cfg, cfg->domain_aliases.v[i]);
}

int cmd_clientconfig(struct udb *u)
{
    const char *what = u->args[0];
    if (strcmp(what, "thunderbird") == 0)
        thunderbird(stdout, u->cfg);
    else if (strcmp(what, "outlook") == 0)
        outlook(stdout, u->cfg);
    else if (strcmp(what, "srv") == 0)
        clientcfg_srv(stdout, u->cfg);
    else
        return udb_usage();
    return UDB_OK;
}
