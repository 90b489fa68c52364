/* test_smtp_loop: the RFC 5321 section 5 loop check of the outbound SMTP client
 * (smtpc_names_host), and smtpc_open against a scripted next hop that greets (or
 * answers EHLO) with our own hostname: a permanent 554 5.4.6 failure (the mail bounces). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cu.h"
#include "smtp_client.h"

#define ME "mail.example.test"

static void test_names_host(void)
{
    CU_ASSERT_TRUE(smtpc_names_host("220 mail.example.test ESMTP ready", ME));
    CU_ASSERT_TRUE(smtpc_names_host("250 MAIL.Example.TEST Hello there", ME));
    CU_ASSERT_TRUE(smtpc_names_host("250-mail.example.test", ME));
    CU_ASSERT_TRUE(smtpc_names_host("220 mail.example.test.", ME));     /* rooted */
    CU_ASSERT_TRUE(smtpc_names_host("mail.example.test ESMTP", ME));     /* no code */
    CU_ASSERT_TRUE(smtpc_names_host("250 mail.example.test", ME "."));
    CU_ASSERT_FALSE(smtpc_names_host("220 mx.example.test ESMTP", ME));
    CU_ASSERT_FALSE(smtpc_names_host("220 mail.example.test.org ESMTP", ME));
    CU_ASSERT_FALSE(smtpc_names_host("220 ail.example.test ESMTP", ME));
    CU_ASSERT_FALSE(smtpc_names_host("220 mail.example.tes", ME));
    CU_ASSERT_FALSE(smtpc_names_host("220 sink ESMTP mail.example.test", ME)); /* 1st word */
    CU_ASSERT_FALSE(smtpc_names_host("220 ", ME));
    CU_ASSERT_FALSE(smtpc_names_host("220", ME));
    CU_ASSERT_FALSE(smtpc_names_host("", ME));
    CU_ASSERT_FALSE(smtpc_names_host("220 mail.example.test", ""));
    CU_ASSERT_FALSE(smtpc_names_host(NULL, ME));
    CU_ASSERT_FALSE(smtpc_names_host("220 x", NULL));
}

/* A next hop that sends BANNER, then (on EHLO) EHLO_REPLY, then 221 on QUIT. */
struct hop {
    int lfd;
    const char *banner, *ehlo_reply;
    char got[4096];
    size_t len;
};

static void *serve(void *arg)
{
    struct hop *h = arg;
    int fd = accept(h->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (write(fd, h->banner, strlen(h->banner)) < 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, h->got + h->len, sizeof h->got - 1 - h->len);
        if (n <= 0)
            break;
        h->len += (size_t)n;
        h->got[h->len] = '\0';
        const char *r = NULL;
        if (strstr(h->got, "QUIT\r\n"))
            r = "221 bye\r\n";
        else if (strstr(h->got, "EHLO ") && strstr(h->got, "\r\n") && h->ehlo_reply)
            r = h->ehlo_reply;
        if (r && write(fd, r, strlen(r)) < 0)
            break;
        if (r && strcmp(r, "221 bye\r\n") == 0)
            break;
        if (r == h->ehlo_reply)
            h->ehlo_reply = NULL;           /* answer EHLO once */
    }
out:
    h->got[h->len] = '\0';
    close(fd);
    return NULL;
}

/* smtpc_open against h (closed again at once); true if it connected. */
static bool open_against(struct hop *h, struct smtpc_reply *why)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    h->lfd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(h->lfd >= 0);
    CU_ASSERT_FATAL(bind(h->lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CU_ASSERT_FATAL(listen(h->lfd, 1) == 0);
    CU_ASSERT_FATAL(getsockname(h->lfd, (struct sockaddr *)&sa, &sl) == 0);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, serve, h) == 0);
    struct nexthop nh;
    memset(&nh, 0, sizeof nh);
    nh.n = 1;
    snprintf(nh.host[0].name, sizeof nh.host[0].name, "127.0.0.1");
    nh.host[0].port = ntohs(sa.sin_port);
    struct smtpc *c = smtpc_open(&nh, ME, NULL, NULL, why);
    bool ok = c != NULL;
    smtpc_close(c);
    pthread_join(th, NULL);
    close(h->lfd);
    return ok;
}

static void test_banner_names_us(void)
{
    struct hop h = { .banner = "220 mail.example.test ESMTP\r\n",
                     .ehlo_reply = "250 mx.other.test\r\n" };
    struct smtpc_reply why;
    CU_ASSERT_FALSE(open_against(&h, &why));
    CU_ASSERT_EQUAL(why.code, 554);
    CU_ASSERT_STRING_EQUAL(why.enh, "5.4.6");
    CU_ASSERT(strstr(why.text, "loops") != NULL);
    CU_ASSERT(strstr(h.got, "EHLO") == NULL);      /* given up right at the banner */
}

static void test_ehlo_names_us(void)
{
    struct hop h = { .banner = "220 mx.other.test ESMTP\r\n",
                     .ehlo_reply = "250-Mail.Example.Test hello\r\n250 PIPELINING\r\n" };
    struct smtpc_reply why;
    CU_ASSERT_FALSE(open_against(&h, &why));
    CU_ASSERT_EQUAL(why.code, 554);
    CU_ASSERT_STRING_EQUAL(why.enh, "5.4.6");
}

static void test_other_host_is_fine(void)
{
    struct hop h = { .banner = "220 mx.other.test ESMTP\r\n",
                     .ehlo_reply = "250-mx.other.test hello mail.example.test\r\n250 SIZE\r\n" };
    struct smtpc_reply why;
    CU_ASSERT_TRUE(open_against(&h, &why));   /* connected (then closed with QUIT) */
    CU_ASSERT(strstr(h.got, "QUIT\r\n") != NULL);
}

static CU_TestInfo tests[] = {
    { "loop check compares the first word", test_names_host },
    { "a banner with our name is a loop", test_banner_names_us },
    { "an EHLO reply with our name is a loop", test_ehlo_names_us },
    { "another host's name is no loop", test_other_host_is_fine },
    CU_TEST_INFO_NULL,
};

CU_MAIN("smtp_loop", tests)
