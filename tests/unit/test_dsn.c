/* test_dsn: RFC 3464 bounces and delay warnings: MIME structure, per-recipient
 * delivery-status fields, the original headers only (never the body); and the queue
 * runner's retry schedule. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "dsn.h"
#include "msgtext.h"
#include "queue_run.h"

static const char ORIG[] = "Received: from client.test\nFrom: u@example.test\n"
                           "Subject: hello\n\nsecret body line\n";

static char *build(bool delayed, size_t *len)
{
    static const struct dsn_rcpt r[2] = {
        { "bob@example.net", "5.1.1", "mx.example.net[127.0.0.1]:25",
          "550 5.1.1 <bob@example.net>: no such user" },
        { "carol@example.org", "", "", "connect to x: Connection refused" },
    };
    struct dsn_info d = {
        .hostname = "mail.example.test", .queue_id = "Q1", .sender = "u@example.test",
        .arrival = 1700000000, .now = 1700000100, .delayed = delayed,
        .retry_until = 1700432000, .rcpt = r, .nrcpt = 2, .headers = ORIG,
        .hlen = msgtext_header_len(ORIG, strlen(ORIG), 65536),
    };
    return dsn_build(&d, len);
}

static void test_header_len(void)
{
    size_t h = msgtext_header_len(ORIG, strlen(ORIG), 65536);
    CU_ASSERT_EQUAL(h, strlen("Received: from client.test\nFrom: u@example.test\nSubject: hello\n"));
    CU_ASSERT_EQUAL(msgtext_header_len("A: b\nC: d\n", 10, 65536), 10);   /* no body at all */
    CU_ASSERT_EQUAL(msgtext_header_len(ORIG, strlen(ORIG), 30), strlen("Received: from client.test\n"));
}

static void test_bounce(void)
{
    size_t len;
    char *m = build(false, &len);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_EQUAL(strlen(m), len);
    static const char from[] = "From: Mail Delivery System <MAILER-DAEMON@mail.example.test>\n";
    CU_ASSERT(strncmp(m, from, strlen(from)) == 0);
    CU_ASSERT(strstr(m, "\nTo: <u@example.test>\n") != NULL);
    CU_ASSERT(strstr(m, "\nSubject: Not delivered: message returned\n") != NULL);
    CU_ASSERT(strstr(m, "\nAuto-Submitted: auto-replied\n") != NULL);
    CU_ASSERT(strstr(m, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"") != NULL);
    CU_ASSERT(strstr(m, "Content-Type: text/plain") != NULL);
    CU_ASSERT(strstr(m, "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.test\n") != NULL);
    CU_ASSERT(strstr(m, "Final-Recipient: rfc822; bob@example.net\nAction: failed\nStatus: 5.1.1\n"
                        "Remote-MTA: dns; mx.example.net[127.0.0.1]:25\n"
                        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: no such user\n") != NULL);
    CU_ASSERT(strstr(m, "Final-Recipient: rfc822; carol@example.org\nAction: failed\nStatus: 5.0.0\n"
                        "Diagnostic-Code: x-local; connect to x") != NULL);
    CU_ASSERT(strstr(m, "Content-Type: text/rfc822-headers\n\nReceived: from client.test\n"
                        "From: u@example.test\nSubject: hello\n") != NULL);
    CU_ASSERT(strstr(m, "secret body line") == NULL);
    /* the readable part, in our own words: the recipient, the remote answer or our own
     * reason, what the sender can do; none of another MTA's stock sentences */
    CU_ASSERT(strstr(m, "  Recipient: bob@example.net\n"
                        "  Answer from mx.example.net[127.0.0.1]:25:\n"
                        "    550 5.1.1 <bob@example.net>: no such user\n") != NULL);
    CU_ASSERT(strstr(m, "  Recipient: carol@example.org\n"
                        "  Problem: connect to x: Connection refused\n") != NULL);
    CU_ASSERT(strstr(m, "could NOT be delivered") != NULL);
    CU_ASSERT(strstr(m, "What you can do: check each address for typing mistakes.") != NULL);
    static const char *const stock[] = {
        "I'm sorry to have to inform you", "This is the mail system at host",
        "For further assistance, please send mail to postmaster",
        "Undelivered Mail Returned to Sender", "It's attached below",
        "This is a MIME-encapsulated message", "Undelivered Message Headers",
    };
    for (size_t i = 0; i < sizeof stock / sizeof stock[0]; i++)
        CU_ASSERT(strstr(m, stock[i]) == NULL);
    /* boundaries: 3 part openers and one closer, all with the declared boundary */
    const char *b = strstr(m, "boundary=\"") + 10;
    size_t blen = (size_t)(strchr(b, '"') - b);
    char open[200], close[200];
    snprintf(open, sizeof open, "\n--%.*s\n", (int)blen, b);
    snprintf(close, sizeof close, "\n--%.*s--\n", (int)blen, b);
    int count = 0;
    for (const char *p = m; (p = strstr(p, open)) != NULL; p++)
        count++;
    CU_ASSERT_EQUAL(count, 3);
    CU_ASSERT(strstr(m, close) != NULL);
    CU_ASSERT(strcmp(m + len - strlen(close), close) == 0);
    free(m);
}

static void test_delay(void)
{
    size_t len;
    char *m = build(true, &len);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT(strstr(m, "\nSubject: Not delivered yet (still trying)\n") != NULL);
    CU_ASSERT(strstr(m, "It has NOT reached the recipients below yet. You need not do anything:")
              != NULL);
    CU_ASSERT(strstr(m, "THIS IS A WARNING ONLY") == NULL);
    CU_ASSERT(strstr(m, "Delayed Mail") == NULL);
    CU_ASSERT(strstr(m, "What you can do") == NULL);
    CU_ASSERT(strstr(m, "Action: delayed\nStatus: 4.0.0\n") != NULL);
    CU_ASSERT(strstr(m, "Will-Retry-Until: ") != NULL);
    CU_ASSERT(strstr(m, "Action: failed") == NULL);
    free(m);
}

static void test_backoff(void)
{
    CU_ASSERT_EQUAL(qrun_backoff(300, 1), 300);
    CU_ASSERT_EQUAL(qrun_backoff(300, 2), 600);
    CU_ASSERT_EQUAL(qrun_backoff(300, 3), 1200);
    CU_ASSERT_EQUAL(qrun_backoff(300, 50), QRUN_MAX_BACKOFF);
    CU_ASSERT_EQUAL(qrun_backoff(1, 3), 4);
    CU_ASSERT_EQUAL(qrun_backoff(86400, 5), 86400);   /* never below queue_retry */
    struct qentry e = { .created = 1000 };
    CU_ASSERT(!qrun_expired(&e, 3, 1002));
    CU_ASSERT(qrun_expired(&e, 3, 1003));
}

static CU_TestInfo tests[] = {
    { "header section length", test_header_len },
    { "bounce: RFC 3464 structure", test_bounce },
    { "delay warning", test_delay },
    { "retry backoff and lifetime", test_backoff },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dsn", tests)
