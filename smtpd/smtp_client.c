/* smtp_client: outbound SMTP for the queue runner (see smtp_client.h); the pure reply
 * and EHLO parsing is in smtp_reply.c. */
#include "smtp_client.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dane.h"
#include "dns.h"
#include "log.h"
#include "msgtext.h"
#include "tls_policy.h"
#include "util.h"

#define SMTPC_ADDRS_MAX 16     /* addresses of one host tried */

/* -------------------------------------------------------------- I/O part ---- */

struct smtpc {
    int fd;
    SSL *ssl;
    char host[MX_NAME_MAX + 96];
    char helo[256];
    struct smtpc_caps caps;
    struct tls_outcome tls;     /* what STARTTLS gave ("none" without) */
    char in[8192];
    size_t inlen;
    bool broken;
};

static int timeout_cap(int t)
{
    const char *e = getenv("MS_SMTPC_TIMEOUT");
    char *end = NULL;
    long cap = 0;
    if (e && *e) {
        errno = 0;
        cap = strtol(e, &end, 10);
        if (errno != 0 || end == e || *end != '\0')
            cap = 0;                 /* not a number: no cap */
    }
    return (cap > 0 && cap < t) ? (int)cap : t;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline(int secs)
{
    return now_ms() + (int64_t)timeout_cap(secs) * 1000;
}

/* Wait for the fd; 0 ready, -1 timeout/error. */
static int wait_fd(int fd, short events, int64_t dl)
{
    for (;;) {
        int64_t left = dl - now_ms();
        if (left <= 0)
            return errno = ETIMEDOUT, -1;
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* One read of up to n bytes; >0, 0 at EOF, -1 on error or timeout. */
static ssize_t io_read(struct smtpc *c, char *buf, size_t n, int64_t dl)
{
    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, buf, (int)n);
            if (r > 0)
                return r;
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
            if (!ev || wait_fd(c->fd, ev, dl) < 0)
                return -1;
            continue;
        }
        ssize_t r = read(c->fd, buf, n);
        if (r >= 0)
            return r;
        if (errno != EAGAIN && errno != EINTR)
            return -1;
        if (wait_fd(c->fd, POLLIN, dl) < 0)
            return -1;
    }
}

static int io_write(struct smtpc *c, const char *buf, size_t n, int64_t dl)
{
    while (n > 0) {
        ssize_t w;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_write(c->ssl, buf, (int)(n > 65536 ? 65536 : n));
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                short ev = e == SSL_ERROR_WANT_READ ? POLLIN
                         : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
                if (!ev || wait_fd(c->fd, ev, dl) < 0)
                    return -1;
                continue;
            }
            w = r;
        } else {
            w = send(c->fd, buf, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno != EAGAIN && errno != EINTR)
                    return -1;
                if (wait_fd(c->fd, POLLOUT, dl) < 0)
                    return -1;
                continue;
            }
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one line (CRLF or LF stripped) into line (size len; longer lines are cut). */
static int read_line(struct smtpc *c, char *line, size_t len, int64_t dl)
{
    for (;;) {
        char *lf = memchr(c->in, '\n', c->inlen);
        if (lf) {
            size_t n = (size_t)(lf - c->in);
            size_t keep = n > 0 && c->in[n - 1] == '\r' ? n - 1 : n;
            if (keep >= len)
                keep = len - 1;
            memcpy(line, c->in, keep);
            line[keep] = '\0';
            memmove(c->in, lf + 1, c->inlen - n - 1);
            c->inlen -= n + 1;
            return 0;
        }
        if (c->inlen == sizeof c->in)
            c->inlen = 0;      /* an endless line: drop what we have of it */
        ssize_t r = io_read(c, c->in + c->inlen, sizeof c->in - c->inlen, dl);
        if (r <= 0)
            return -1;
        c->inlen += (size_t)r;
    }
}

static void net_error(struct smtpc *c, struct smtpc_reply *r, const char *what)
{
    r->code = 0;
    str_copy(r->enh, "4.4.2", sizeof r->enh);
    snprintf(r->text, sizeof r->text, "lost connection with %s while %s%s", c->host, what,
             errno == ETIMEDOUT ? " (timeout)" : "");
    c->broken = true;
}

/* Read a whole (multi-line) reply. EHLO caps are collected when caps is not NULL. */
static int read_reply(struct smtpc *c, struct smtpc_reply *r, int secs, const char *what,
                      struct smtpc_caps *caps)
{
    int64_t dl = deadline(secs);
    char line[1024] = "";          /* zero-filled: the code digits are always readable */
    size_t tl = 0;
    r->enh[0] = '\0';
    for (int first = 1;; first = 0) {
        if (read_line(c, line, sizeof line, dl) < 0) {
            net_error(c, r, what);
            return -1;
        }
        int code;
        const char *text;
        int last = smtpc_parse_line(line, &code, &text);
        if (last < 0 || (!first && code != r->code)) {
            errno = EPROTO;
            net_error(c, r, what);
            snprintf(r->text, sizeof r->text, "protocol error from %s while %s", c->host, what);
            return -1;
        }
        if (first) {
            r->code = code;
            smtpc_enhanced(text, r->enh);
            tl = (size_t)snprintf(r->text, sizeof r->text, "%d %s", code, text);
        } else {
            if (caps)
                smtpc_caps_line(caps, text);
            if (tl < sizeof r->text - 1)
                tl += (size_t)snprintf(r->text + tl, sizeof r->text - tl, " %s", text);
        }
        if (tl >= sizeof r->text)
            tl = sizeof r->text - 1;
        if (last)
            return 0;
    }
}

static int send_cmd(struct smtpc *c, const char *cmd, struct smtpc_reply *r, const char *what)
{
    if (io_write(c, cmd, strlen(cmd), deadline(SMTPC_T_OTHER)) < 0) {
        net_error(c, r, what);
        return -1;
    }
    return 0;
}

static int tcp_connect(const struct addrinfo *ai, int64_t dl)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    /* no Nagle: the end of data (".") written after the body must not wait for the
     * body's ACK, which the next hop delays (40 ms a message) */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
        goto fail;
    if (wait_fd(fd, POLLOUT, dl) < 0)
        goto fail;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        goto fail;
    if (err) {
        errno = err;
        goto fail;
    }
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* A policy p cannot be met at this host (WHAT says why): testing mode logs it and goes
 * on (0); a required policy fails the host (-1, r a temporary failure: deferred). */
static int policy_unmet(struct smtpc *c, const struct tls_policy *p, struct smtpc_reply *r,
                        const char *what)
{
    if (!p || p->mode == TLSP_OPPORTUNISTIC)
        return 0;
    if (p->mode == TLSP_TESTING) {
        log_warn("tls policy: %s for %s: %s; delivering anyway", tlsp_label(p), p->domain,
                 what);
        return 0;
    }
    r->code = 0;
    str_copy(r->enh, "4.7.5", sizeof r->enh);
    snprintf(r->text, sizeof r->text, "%s: %s", tlsp_label(p), what);
    c->broken = c->ssl != NULL;     /* no QUIT over a TLS session we do not trust */
    return -1;
}

/* STARTTLS and the handshake under policy p: 0 TLS up, 1 refused (plaintext: only when
 * the policy allows it), -1 failed (r says why). */
static int do_starttls(struct smtpc *c, SSL_CTX *tls, const struct tls_policy *p,
                       const char *name, struct smtpc_reply *r)
{
    char why[512];
    if (send_cmd(c, "STARTTLS\r\n", r, "sending STARTTLS") < 0 ||
        read_reply(c, r, SMTPC_T_OTHER, "waiting for STARTTLS reply", NULL) < 0)
        return -1;
    if (r->code != 220) {
        snprintf(why, sizeof why, "STARTTLS refused by %s", c->host);
        return policy_unmet(c, p, r, why) < 0 ? -1 : 1;   /* else: go on in plaintext */
    }
    bool checked = p && p->mode != TLSP_OPPORTUNISTIC;
    SSL_CTX *ctx = checked ? tlsp_ctx() : tls;
    if (ctx)
        c->ssl = SSL_new(ctx);
    if (checked)
        SSL_CTX_free(ctx);                  /* the SSL holds its own reference */
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || tlsp_ssl_prepare(p, c->ssl, name) < 0)
        goto fail;
    SSL_set_connect_state(c->ssl);
    int64_t dl = deadline(SMTPC_T_OTHER);
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(c->ssl);
        if (rc == 1)
            break;
        int e = SSL_get_error(c->ssl, rc);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev || wait_fd(c->fd, ev, dl) < 0)
            goto fail;
    }
    c->inlen = 0;
    if (tlsp_ssl_check(p, c->ssl, name, &c->tls, why, sizeof why) < 0)
        return policy_unmet(c, p, r, why);
    return 0;
fail:
    r->code = 0;
    str_copy(r->enh, "4.7.5", sizeof r->enh);
    snprintf(r->text, sizeof r->text, "%s%sTLS handshake with %s failed", tlsp_label(p),
             checked ? ": " : "", c->host);
    c->broken = true;
    return -1;
}

/* RFC 5321 section 5: a next hop that greets with our own name is ourselves: sending
 * there would loop. -1 with r a permanent 5.4.6 failure (the mail bounces), else 0. */
static int loop_check(struct smtpc *c, struct smtpc_reply *r)
{
    if (!smtpc_names_host(r->text, c->helo))
        return 0;
    char said[128];
    str_copy(said, r->text, sizeof said);
    log_warn("mail loop: %s greets as %s (our hostname): %s", c->host, c->helo, said);
    r->code = 554;
    str_copy(r->enh, "5.4.6", sizeof r->enh);
    snprintf(r->text, sizeof r->text, "554 5.4.6 mail for %s loops back to myself (%s)",
             c->host, c->helo);
    return -1;
}

/* EHLO (HELO on a 5xx); 0 or -1 (r says why). */
static int hello(struct smtpc *c, struct smtpc_reply *r)
{
    char cmd[300];
    memset(&c->caps, 0, sizeof c->caps);
    snprintf(cmd, sizeof cmd, "EHLO %s\r\n", c->helo);
    if (send_cmd(c, cmd, r, "sending EHLO") < 0 ||
        read_reply(c, r, SMTPC_T_OTHER, "waiting for EHLO reply", &c->caps) < 0)
        return -1;
    if (r->code == 250) {
        c->caps.esmtp = true;
        return loop_check(c, r);
    }
    memset(&c->caps, 0, sizeof c->caps);
    if (r->code / 100 != 5)
        return -1;
    snprintf(cmd, sizeof cmd, "HELO %s\r\n", c->helo);
    if (send_cmd(c, cmd, r, "sending HELO") < 0 ||
        read_reply(c, r, SMTPC_T_OTHER, "waiting for HELO reply", NULL) < 0)
        return -1;
    return r->code == 250 ? loop_check(c, r) : -1;
}

/* Banner, EHLO, STARTTLS (as policy p asks) on an open socket; 0 or -1. */
static int greet(struct smtpc *c, SSL_CTX *tls, const struct tls_policy *p, const char *name,
                 struct smtpc_reply *r)
{
    if (read_reply(c, r, SMTPC_T_BANNER, "waiting for the greeting", NULL) < 0)
        return -1;
    if (r->code != 220 || loop_check(c, r) < 0)
        return -1;
    if (hello(c, r) < 0)
        return -1;
    if ((tls || (p && p->mode != TLSP_OPPORTUNISTIC)) && c->caps.starttls) {
        int t = do_starttls(c, tls, p, name, r);
        if (t < 0)
            return -1;
        if (t == 0 && hello(c, r) < 0)
            return -1;
    } else if (p && p->mode != TLSP_OPPORTUNISTIC) {
        char why[400];
        snprintf(why, sizeof why, "no STARTTLS at %s", c->host);
        if (policy_unmet(c, p, r, why) < 0)
            return -1;
    }
    return 0;
}

/* Connect to ADDR and greet: a connected, greeted smtpc, or NULL (why set). */
static struct smtpc *open_addr(const struct mx_host *h, const struct ipaddr *addr,
                               const char *helo, SSL_CTX *tls, const struct tls_policy *p,
                               struct smtpc_reply *why)
{
    char port[16], text[64];
    snprintf(port, sizeof port, "%d", h->port);
    ipaddr_format(addr, text, sizeof text);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    if (getaddrinfo(text, port, &hints, &ai) != 0 || !ai)
        return NULL;
    struct smtpc *c = calloc(1, sizeof *c);
    if (!c) {
        freeaddrinfo(ai);
        return NULL;
    }
    snprintf(c->host, sizeof c->host, "%s[%s]:%d", h->name, text, h->port);
    str_copy(c->helo, helo, sizeof c->helo);
    str_copy(c->tls.version, "none", sizeof c->tls.version);
    c->fd = tcp_connect(ai, deadline(SMTPC_T_CONNECT));
    freeaddrinfo(ai);
    if (c->fd < 0) {
        why->code = 0;
        str_copy(why->enh, "4.4.1", sizeof why->enh);
        snprintf(why->text, sizeof why->text, "connect to %s: %s", c->host, strerror(errno));
        free(c);
        return NULL;
    }
    if (greet(c, tls, p, h->name, why) == 0)
        return c;
    smtpc_close(c);
    return NULL;
}

/* Try the addresses of one host under policy p; a connected, greeted smtpc or NULL. */
static struct smtpc *open_host_as(const struct mx_host *h, const struct ipaddr *addrs,
                                  size_t n, const char *helo, SSL_CTX *tls,
                                  const struct tls_policy *p, struct smtpc_reply *why)
{
    if (!tlsp_host_allowed(p, h->name)) {        /* RFC 8461 section 5 */
        struct smtpc none = { .fd = -1 };
        char what[MX_NAME_MAX + 64];
        snprintf(none.host, sizeof none.host, "%s:%d", h->name, h->port);
        snprintf(what, sizeof what, "MX %s is not in the policy's mx list", h->name);
        if (policy_unmet(&none, p, why, what) < 0)
            return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct smtpc *c = open_addr(h, &addrs[i], helo, tls, p, why);
        if (c)
            return c;
    }
    return NULL;
}

/* One host: its addresses (dns.h: [server] dns_servers; validated when the MX RRset was
 * secure) and its TLSA records (dane.h); then the host's own policy (DANE, which takes
 * precedence: RFC 8461 section 2) or the domain's dp. */
static struct smtpc *open_host(const struct mx_host *h, bool secure, const char *helo,
                               SSL_CTX *tls, const struct tls_policy *dp,
                               struct smtpc_reply *why)
{
    struct ipaddr addrs[SMTPC_ADDRS_MAX];
    size_t n = 0;
    enum dns_status st;
    char dwhy[300];
    struct dane_tlsa_set *dane = malloc(sizeof *dane);
    struct tls_policy *scratch = malloc(sizeof *scratch);
    struct smtpc *c = NULL;
    if (!dane || !scratch) {
        *why = (struct smtpc_reply){ .code = 0, .enh = "4.3.0" };
        str_copy(why->text, "out of memory", sizeof why->text);
    } else if (dane_host_prepare(h->name, h->port, secure, addrs, SMTPC_ADDRS_MAX, &n, &st,
                                 dane, dwhy, sizeof dwhy) == 0) {
        const struct tls_policy *p = tlsp_dane_policy(dp, dane, scratch);
        c = open_host_as(h, addrs, n, helo, tls, p, why);
    } else if (dane->state == DANE_DEFER) {
        *why = (struct smtpc_reply){ .code = 0, .enh = "4.7.5" };
        str_copy(why->text, dwhy, sizeof why->text);
    } else {
        bool gone = st == DNS_NXDOMAIN;
        why->code = gone ? 550 : 0;
        str_copy(why->enh, gone ? "5.4.4" : "4.4.3", sizeof why->enh);
        snprintf(why->text, sizeof why->text, "Host %s not found: %s", h->name,
                 gone ? "no address" : "DNS lookup failed (temporary)");
    }
    free(scratch);
    free(dane);
    return c;
}

struct smtpc *smtpc_open(const struct nexthop *nh, const char *helo, SSL_CTX *tls,
                         const struct tls_policy *p, struct smtpc_reply *why)
{
    memset(why, 0, sizeof *why);
    snprintf(why->text, sizeof why->text, "no host to deliver to");
    for (size_t i = 0; i < nh->n; i++) {
        struct smtpc *c = open_host(&nh->host[i], nh->secure, helo, tls, p, why);
        if (c)
            return c;
    }
    return NULL;
}

int smtpc_rset(struct smtpc *c)
{
    struct smtpc_reply r;
    if (c->broken || send_cmd(c, "RSET\r\n", &r, "sending RSET") < 0 ||
        read_reply(c, &r, SMTPC_T_OTHER, "waiting for RSET reply", NULL) < 0)
        return -1;
    return r.code == 250 ? 0 : -1;
}

void smtpc_close(struct smtpc *c)
{
    if (!c)
        return;
    if (!c->broken && c->fd >= 0) {
        struct smtpc_reply r;
        if (send_cmd(c, "QUIT\r\n", &r, "sending QUIT") == 0)
            (void)read_reply(c, &r, 10, "waiting for QUIT reply", NULL);
    }
    if (c->ssl) {
        if (!c->broken)
            (void)SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

const char *smtpc_host(const struct smtpc *c) { return c->host; }
const struct smtpc_caps *smtpc_caps(const struct smtpc *c) { return &c->caps; }
const struct tls_outcome *smtpc_tls(const struct smtpc *c) { return &c->tls; }

/* --------------------------------------------------------- transaction ---- */

static void set_reply(struct smtpc_reply *dst, const struct smtpc_reply *src)
{
    *dst = *src;
}

/* Every accepted recipient (acc[i]) gets reply r. */
static void fail_accepted(struct smtpc_reply *res, const bool *acc, size_t n,
                          const struct smtpc_reply *r)
{
    for (size_t i = 0; i < n; i++)
        if (acc[i])
            set_reply(&res[i], r);
}

/* The message, converted, then ".": 0, or -1 with r filled. */
static int send_body(struct smtpc *c, int fd, uint64_t size, struct smtpc_reply *r)
{
    char in[32768], out[2 * sizeof in + MSGTEXT_END_MAX];
    struct msgtext_enc enc;
    msgtext_enc_init(&enc, -1);
    for (uint64_t off = 0; off < size;) {
        size_t want = size - off < sizeof in ? (size_t)(size - off) : sizeof in;
        ssize_t n = pread(fd, in, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->broken = true;    /* we cannot finish this DATA: drop the connection */
            r->code = 0;
            str_copy(r->enh, "4.3.0", sizeof r->enh);
            snprintf(r->text, sizeof r->text, "cannot read the queued message");
            return -1;
        }
        size_t used, o = msgtext_enc_run(&enc, in, (size_t)n, &used, out, sizeof out);
        if (io_write(c, out, o, deadline(SMTPC_T_BLOCK)) < 0) {
            net_error(c, r, "sending message body");
            return -1;
        }
        off += (uint64_t)n;
    }
    size_t e = msgtext_enc_finish(&enc, out);
    if (io_write(c, out, e, deadline(SMTPC_T_BLOCK)) < 0) {
        net_error(c, r, "sending end of data");
        return -1;
    }
    return 0;
}

/* MAIL, RCPT... and (pipelined) DATA commands into one buffer. */
static char *envelope_cmds(const struct smtpc *c, const char *sender, char *const *rcpts,
                           size_t n, uint64_t wire, bool all, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    fprintf(f, "MAIL FROM:<%s>", sender);
    if (c->caps.size)
        fprintf(f, " SIZE=%llu", (unsigned long long)wire);
    if (c->caps.eightbit)
        fputs(" BODY=8BITMIME", f);
    fputs("\r\n", f);
    for (size_t i = 0; all && i < n; i++)
        fprintf(f, "RCPT TO:<%s>\r\n", rcpts[i]);
    if (all)
        fputs("DATA\r\n", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* MAIL and RCPT replies; returns the number accepted, -1 if the connection broke. */
static int mail_rcpt(struct smtpc *c, const char *sender, char *const *rcpts, size_t n,
                     uint64_t wire, struct smtpc_reply *res, bool *acc)
{
    bool pipe = c->caps.pipelining;
    struct smtpc_reply mr;
    size_t len;
    char *cmds = envelope_cmds(c, sender, rcpts, n, wire, pipe, &len);
    if (!cmds)
        return -1;
    int w = io_write(c, cmds, len, deadline(SMTPC_T_MAIL));
    free(cmds);
    if (w < 0 || read_reply(c, &mr, SMTPC_T_MAIL, "sending MAIL FROM", NULL) < 0) {
        net_error(c, &mr, "sending MAIL FROM");
        for (size_t i = 0; i < n; i++)
            set_reply(&res[i], &mr);
        return -1;
    }
    bool mail_ok = mr.code / 100 == 2;
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        struct smtpc_reply rr;
        if (!pipe && !mail_ok) {
            set_reply(&res[i], &mr);
            continue;
        }
        char cmd[600];
        snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", rcpts[i]);
        if ((!pipe && io_write(c, cmd, strlen(cmd), deadline(SMTPC_T_RCPT)) < 0) ||
            read_reply(c, &rr, SMTPC_T_RCPT, "sending RCPT TO", NULL) < 0) {
            net_error(c, &rr, "sending RCPT TO");
            for (size_t k = i; k < n; k++)
                set_reply(&res[k], &rr);
            fail_accepted(res, acc, i, &rr);
            return -1;
        }
        set_reply(&res[i], mail_ok ? &rr : &mr);
        acc[i] = mail_ok && rr.code / 100 == 2;
        accepted += acc[i];
    }
    return accepted;
}

/* DATA (unless pipelined), body, final reply. 0 or -1 (connection broken). */
static int data_phase(struct smtpc *c, int fd, uint64_t size, int accepted,
                      struct smtpc_reply *res, const bool *acc, size_t n)
{
    struct smtpc_reply r;
    if (!c->caps.pipelining && send_cmd(c, "DATA\r\n", &r, "sending DATA") < 0) {
        fail_accepted(res, acc, n, &r);
        return -1;
    }
    if (read_reply(c, &r, SMTPC_T_DATA, "sending DATA", NULL) < 0) {
        fail_accepted(res, acc, n, &r);
        return -1;
    }
    if (r.code != 354) {
        fail_accepted(res, acc, n, &r);
        return 0;
    }
    if (accepted == 0) {          /* 354 although no recipient was accepted */
        if (send_cmd(c, ".\r\n", &r, "ending empty DATA") < 0 ||
            read_reply(c, &r, SMTPC_T_DOT, "ending empty DATA", NULL) < 0)
            return -1;
        return 0;
    }
    if (send_body(c, fd, size, &r) < 0 ||
        read_reply(c, &r, SMTPC_T_DOT, "waiting for the end-of-data reply", NULL) < 0) {
        fail_accepted(res, acc, n, &r);
        return -1;
    }
    fail_accepted(res, acc, n, &r);
    return 0;
}

int smtpc_send(struct smtpc *c, const char *sender, char *const *rcpts, size_t n, int msgfd,
               uint64_t size, struct smtpc_reply *res)
{
    struct smtpc_reply r = { 0, "4.3.0", "" };
    snprintf(r.text, sizeof r.text, "not attempted at %s", c->host);
    for (size_t i = 0; i < n; i++)
        set_reply(&res[i], &r);
    if (c->broken)
        return -1;
    uint64_t wire;
    if (msgtext_fd_wire_size(msgfd, size, &wire) < 0) {   /* RFC 1870: no stuffing */
        snprintf(r.text, sizeof r.text, "cannot read the queued message");
        for (size_t i = 0; i < n; i++)
            set_reply(&res[i], &r);
        return 0;
    }
    if (c->caps.size && c->caps.size_max > 0 && wire > c->caps.size_max) {
        r.code = 552;
        str_copy(r.enh, "5.3.4", sizeof r.enh);
        snprintf(r.text, sizeof r.text, "552 5.3.4 message size %llu exceeds the limit %llu of %s",
                 (unsigned long long)wire, (unsigned long long)c->caps.size_max, c->host);
        for (size_t i = 0; i < n; i++)
            set_reply(&res[i], &r);
        return 0;
    }
    bool *acc = calloc(n ? n : 1, sizeof *acc);
    if (!acc)
        return -1;
    int accepted = mail_rcpt(c, sender, rcpts, n, wire, res, acc);
    int rc = 0;
    if (accepted < 0)
        rc = -1;
    else if (accepted > 0 || c->caps.pipelining)
        rc = data_phase(c, msgfd, size, accepted, res, acc, n);
    free(acc);
    return rc;
}
