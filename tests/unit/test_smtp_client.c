/* test_smtp_client: the pure parts of the outbound SMTP client: reply lines, EHLO
 * keywords, enhanced status codes, and a scripted session (the text conversion itself
 * is tested in test_msgtext). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cu.h"
#include "smtp_client.h"

static void test_reply_lines(void)
{
    int code;
    const char *text;
    CU_ASSERT_EQUAL(smtpc_parse_line("250-mx.example.net Hello", &code, &text), 0);
    CU_ASSERT_EQUAL(code, 250);
    CU_ASSERT_STRING_EQUAL(text, "mx.example.net Hello");
    CU_ASSERT_EQUAL(smtpc_parse_line("550 5.1.1 No such user", &code, &text), 1);
    CU_ASSERT_EQUAL(code, 550);
    CU_ASSERT_STRING_EQUAL(text, "5.1.1 No such user");
    CU_ASSERT_EQUAL(smtpc_parse_line("354", &code, &text), 1);
    CU_ASSERT_STRING_EQUAL(text, "");
    CU_ASSERT_EQUAL(smtpc_parse_line("25 short", &code, &text), -1);
    CU_ASSERT_EQUAL(smtpc_parse_line("250x", &code, &text), -1);
    CU_ASSERT_EQUAL(smtpc_parse_line("hello", &code, &text), -1);
    CU_ASSERT_EQUAL(smtpc_parse_line("650 out of range", &code, &text), -1);
}

static void test_caps(void)
{
    struct smtpc_caps c;
    memset(&c, 0, sizeof c);
    smtpc_caps_line(&c, "PIPELINING");
    smtpc_caps_line(&c, "size 10240000");
    smtpc_caps_line(&c, "STARTTLS");
    smtpc_caps_line(&c, "8BITMIME");
    smtpc_caps_line(&c, "ENHANCEDSTATUSCODES");
    smtpc_caps_line(&c, "AUTH PLAIN LOGIN");
    CU_ASSERT(c.pipelining && c.starttls && c.eightbit && c.enhanced && c.size);
    CU_ASSERT_EQUAL(c.size_max, 10240000);
    struct smtpc_caps d;
    memset(&d, 0, sizeof d);
    smtpc_caps_line(&d, "SIZE");
    smtpc_caps_line(&d, "PIPELININGX");
    CU_ASSERT(d.size);
    CU_ASSERT_EQUAL(d.size_max, 0);
    CU_ASSERT(!d.pipelining);
}

static void test_enhanced(void)
{
    char enh[16];
    CU_ASSERT_EQUAL(smtpc_enhanced("5.1.1 No such user", enh), 1);
    CU_ASSERT_STRING_EQUAL(enh, "5.1.1");
    CU_ASSERT_EQUAL(smtpc_enhanced("4.7.0", enh), 1);
    CU_ASSERT_STRING_EQUAL(enh, "4.7.0");
    CU_ASSERT_EQUAL(smtpc_enhanced("2.0.0 Ok: queued", enh), 1);
    CU_ASSERT_EQUAL(smtpc_enhanced("5.123.456 x", enh), 1);
    CU_ASSERT_EQUAL(smtpc_enhanced("5.1234.1 x", enh), 0);
    CU_ASSERT_EQUAL(smtpc_enhanced("3.1.1 x", enh), 0);
    CU_ASSERT_EQUAL(smtpc_enhanced("Ok 5.1.1", enh), 0);
    CU_ASSERT_EQUAL(smtpc_enhanced("5.1.1x", enh), 0);
}


/* ---- a scripted SMTP server on loopback: wait for a marker, send a reply ---- */
struct step {
    const char *wait;     /* substring of what the client sent since the last step */
    const char *reply;
};

struct script {
    int lfd;
    const struct step *steps;
    char got[16384];      /* everything the client sent */
    size_t len;
};

static void *serve(void *arg)
{
    struct script *sc = arg;
    int fd = accept(sc->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t mark = 0;
    for (const struct step *st = sc->steps; st->reply; st++) {
        while (st->wait) {
            sc->got[sc->len] = '\0';
            char *hit = strstr(sc->got + mark, st->wait);
            if (hit) {
                mark = (size_t)(hit - sc->got) + strlen(st->wait);
                break;
            }
            ssize_t n = read(fd, sc->got + sc->len, sizeof sc->got - 1 - sc->len);
            if (n <= 0)
                goto out;
            sc->len += (size_t)n;
        }
        if (write(fd, st->reply, strlen(st->reply)) < 0)
            break;
    }
    for (;;) {          /* keep reading until the client closes */
        ssize_t n = read(fd, sc->got + sc->len, sizeof sc->got - 1 - sc->len);
        if (n <= 0)
            break;
        sc->len += (size_t)n;
    }
out:
    sc->got[sc->len] = '\0';
    close(fd);
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

static int msg_file(const char *text)
{
    char path[] = "/tmp/test_smtpc.XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    unlink(path);
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

static void test_pipelined_session(void)
{
    static const struct step steps[] = {
        { NULL, "220 sink ESMTP\r\n" },
        { "EHLO mail.example.test\r\n",
          "250-sink\r\n250-PIPELINING\r\n250-SIZE 200\r\n250 ENHANCEDSTATUSCODES\r\n" },
        { "DATA\r\n", "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n"
                       "451-4.3.0 busy\r\n451 4.3.0 later\r\n354 go ahead\r\n" },
        { "\r\n.\r\n", "250 2.0.0 queued\r\n" },
        { "RSET\r\n", "250 2.0.0 ok\r\n" },
        { "QUIT\r\n", "221 bye\r\n" },
        { NULL, NULL },
    };
    struct script sc = { .steps = steps };
    int port;
    sc.lfd = listen_any(&port);
    CU_ASSERT_FATAL(sc.lfd >= 0);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, serve, &sc) == 0);

    struct nexthop nh;
    memset(&nh, 0, sizeof nh);
    nh.n = 1;
    snprintf(nh.host[0].name, sizeof nh.host[0].name, "127.0.0.1");
    nh.host[0].port = port;
    struct smtpc_reply why;
    struct smtpc *c = smtpc_open(&nh, "mail.example.test", NULL, NULL, &why);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(smtpc_caps(c)->pipelining);
    CU_ASSERT_EQUAL(smtpc_caps(c)->size_max, 200);

    const char *msg = "Subject: t\n\n.dot\nend\n";
    int fd = msg_file(msg);
    char *rcpts[] = { "a@example.net", "b@example.net", "c@example.net" };
    struct smtpc_reply res[3];
    CU_ASSERT_EQUAL(smtpc_send(c, "s@example.test", rcpts, 3, fd, strlen(msg), res), 0);
    CU_ASSERT_EQUAL(res[0].code, 250);            /* the end-of-data reply */
    CU_ASSERT_STRING_EQUAL(res[0].enh, "2.0.0");
    CU_ASSERT_EQUAL(res[1].code, 550);
    CU_ASSERT_STRING_EQUAL(res[1].enh, "5.1.1");
    CU_ASSERT_EQUAL(res[2].code, 451);
    CU_ASSERT_STRING_EQUAL(res[2].text, "451 4.3.0 busy 4.3.0 later");
    close(fd);

    /* a message over the advertised SIZE is refused without a transaction */
    CU_ASSERT_EQUAL(smtpc_rset(c), 0);
    char big[400];
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    fd = msg_file(big);
    CU_ASSERT_EQUAL(smtpc_send(c, "s@example.test", rcpts, 1, fd, strlen(big), res), 0);
    CU_ASSERT_EQUAL(res[0].code, 552);
    CU_ASSERT_STRING_EQUAL(res[0].enh, "5.3.4");
    close(fd);
    smtpc_close(c);
    pthread_join(th, NULL);
    close(sc.lfd);

    /* all envelope commands in one go, SIZE given (CRLF octets, RFC 1870: the stuffed
     * dot not counted), body CRLF and dot-stuffed */
    CU_ASSERT(strstr(sc.got, "MAIL FROM:<s@example.test> SIZE=25\r\nRCPT TO:<a@example.net>\r\n"
                             "RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n") != NULL);
    CU_ASSERT(strstr(sc.got, "\r\nSubject: t\r\n\r\n..dot\r\nend\r\n.\r\nRSET\r\n") != NULL);
    CU_ASSERT(strstr(sc.got, "MAIL FROM:<s@example.test> SIZE=4") == NULL);   /* no 2nd MAIL */
}

static void test_refused_banner_and_no_listener(void)
{
    static const struct step steps[] = {
        { NULL, "554 5.7.1 go away\r\n" },
        { NULL, NULL },
    };
    struct script sc = { .steps = steps };
    int port;
    sc.lfd = listen_any(&port);
    CU_ASSERT_FATAL(sc.lfd >= 0);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, serve, &sc) == 0);
    struct nexthop nh;
    memset(&nh, 0, sizeof nh);
    nh.n = 1;
    snprintf(nh.host[0].name, sizeof nh.host[0].name, "127.0.0.1");
    nh.host[0].port = port;
    struct smtpc_reply why;
    CU_ASSERT(smtpc_open(&nh, "mail.example.test", NULL, NULL, &why) == NULL);
    CU_ASSERT_EQUAL(why.code, 554);
    pthread_join(th, NULL);
    close(sc.lfd);
    /* nobody listens any more on that port: a temporary failure with the reason */
    CU_ASSERT(smtpc_open(&nh, "mail.example.test", NULL, NULL, &why) == NULL);
    CU_ASSERT_EQUAL(why.code, 0);
    CU_ASSERT(strstr(why.text, "refused") != NULL);
}

static CU_TestInfo tests[] = {
    { "reply lines", test_reply_lines },
    { "EHLO keywords", test_caps },
    { "enhanced status codes", test_enhanced },
    { "pipelined transaction, per-recipient results, SIZE", test_pipelined_session },
    { "refused greeting, nothing listening", test_refused_banner_and_no_listener },
    CU_TEST_INFO_NULL,
};

CU_MAIN("smtp_client", tests)
