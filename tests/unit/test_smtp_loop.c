/* test_smtp_loop: the RFC 5321 section 5 loop check of the outbound SMTP client
 * (smtpc_names_host), and smtpc_open against a scripted next hop that greets (or
 * answers EHLO) with our own hostname: a permanent 554 5.4.6 failure (the mail bounces).
 * And the outbound TLS policy (tls_policy.h) against the same scripted hop: a required
 * policy and a hop without STARTTLS, or a host outside the policy's mx list, give a
 * temporary failure and send nothing; testing mode goes on. */
#include <arpa/inet.h>
#include <fcntl.h>
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

/* smtpc_open against h under policy p (closed again at once); true if it connected. */
static bool open_policy(struct hop *h, const struct tls_policy *p, struct smtpc_reply *why)
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
    struct smtpc *c = smtpc_open(&nh, ME, NULL, p, why);
    bool ok = c != NULL;
    smtpc_close(c);
    pthread_join(th, NULL);
    close(h->lfd);
    return ok;
}

static bool open_against(struct hop *h, struct smtpc_reply *why)
{
    return open_policy(h, NULL, why);
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

static void sts_policy(struct tls_policy *p, enum tlsp_mode mode, const char *mx)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->via = TLSP_VIA_MTASTS;
    snprintf(p->domain, sizeof p->domain, "example.net");
    p->nmx = 1;
    snprintf(p->mx[0], sizeof p->mx[0], "%s", mx);
}

static void test_required_without_starttls(void)
{
    struct hop h = { .banner = "220 mx.other.test ESMTP\r\n",
                     .ehlo_reply = "250-mx.other.test hello\r\n250 PIPELINING\r\n" };
    struct tls_policy p;
    struct smtpc_reply why;
    sts_policy(&p, TLSP_REQUIRED, "127.0.0.1");
    CU_ASSERT_FALSE(open_policy(&h, &p, &why));
    CU_ASSERT_EQUAL(why.code, 0);                      /* temporary: deferred */
    CU_ASSERT_STRING_EQUAL(why.enh, "4.7.5");
    CU_ASSERT(strstr(why.text, "MTA-STS enforce: no STARTTLS at 127.0.0.1") == why.text);
    CU_ASSERT(strstr(h.got, "MAIL") == NULL);
    sts_policy(&p, TLSP_TESTING, "127.0.0.1");        /* testing: logged, goes on */
    struct hop h2 = { .banner = "220 mx.other.test ESMTP\r\n",
                      .ehlo_reply = "250-mx.other.test hello\r\n250 PIPELINING\r\n" };
    CU_ASSERT_TRUE(open_policy(&h2, &p, &why));
}

static void test_host_not_in_mx_list(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(lfd >= 0);
    CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 4) == 0);
    CU_ASSERT_FATAL(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
    struct nexthop nh;
    memset(&nh, 0, sizeof nh);
    nh.n = 1;
    snprintf(nh.host[0].name, sizeof nh.host[0].name, "127.0.0.1");
    nh.host[0].port = ntohs(sa.sin_port);
    struct tls_policy p;
    struct smtpc_reply why;
    sts_policy(&p, TLSP_REQUIRED, "*.example.net");
    CU_ASSERT_PTR_NULL(smtpc_open(&nh, ME, NULL, &p, &why));
    CU_ASSERT_EQUAL(why.code, 0);
    CU_ASSERT_STRING_EQUAL(why.text, "MTA-STS enforce: MX 127.0.0.1 is not in the policy's mx list");
    CU_ASSERT_FATAL(fcntl(lfd, F_SETFL, O_NONBLOCK) == 0);
    CU_ASSERT(accept(lfd, NULL, NULL) < 0);           /* never even connected */
    close(lfd);
}

static CU_TestInfo tests[] = {
    { "loop check compares the first word", test_names_host },
    { "a banner with our name is a loop", test_banner_names_us },
    { "an EHLO reply with our name is a loop", test_ehlo_names_us },
    { "another host's name is no loop", test_other_host_is_fine },
    { "a required TLS policy and no STARTTLS: deferred, nothing sent", test_required_without_starttls },
    { "a host outside the policy's mx list is not used", test_host_not_in_mx_list },
    CU_TEST_INFO_NULL,
};

CU_MAIN("smtp_loop", tests)
