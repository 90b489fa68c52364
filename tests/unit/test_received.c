/* test_received: the Received: header format (smtpd/received.c). */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "received.h"

static void test_proto_names(void)
{
    CU_ASSERT_STRING_EQUAL(received_proto(false, false, false), "SMTP");
    CU_ASSERT_STRING_EQUAL(received_proto(true, false, false), "ESMTP");
    CU_ASSERT_STRING_EQUAL(received_proto(true, true, false), "ESMTPS");
    CU_ASSERT_STRING_EQUAL(received_proto(true, false, true), "ESMTPA");
    CU_ASSERT_STRING_EQUAL(received_proto(true, true, true), "ESMTPSA");
}

static void test_date_utc(void)
{
    char buf[64];
    setenv("TZ", "UTC", 1);
    tzset();
    CU_ASSERT(received_date(1057049557, buf, sizeof buf) > 0);   /* 2003-07-01 08:52:37 UTC */
    CU_ASSERT_STRING_EQUAL(buf, "Tue, 01 Jul 2003 08:52:37 +0000");
    CU_ASSERT_EQUAL(received_date(1057049557, buf, 10), -1);
}

static void test_date_offset(void)
{
    char buf[64];
    setenv("TZ", "EST+5:30", 1);
    tzset();
    CU_ASSERT(received_date(1057049557, buf, sizeof buf) > 0);
    CU_ASSERT_STRING_EQUAL(buf, "Tue, 01 Jul 2003 03:22:37 -0530");
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_full_header(void)
{
    char buf[1024];
    setenv("TZ", "UTC", 1);
    tzset();
    struct received_info ri = { .helo = "client.test", .ip = "127.0.0.9",
                                .hostname = "mail.example.test", .esmtp = true, .tls = true,
                                .tls_info = "TLSv1.3:TLS_AES_128_GCM_SHA256", .auth = true,
                                .id = "ABC123", .rcpt = "bob@example.test", .when = 1057049557 };
    int n = received_format(&ri, buf, sizeof buf);
    const char *want = "Received: from client.test (unknown [127.0.0.9])\n"
                       "\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)\n"
                       "\tby mail.example.test with ESMTPSA id ABC123\n"
                       "\tfor <bob@example.test>; Tue, 01 Jul 2003 08:52:37 +0000\n";
    CU_ASSERT_STRING_EQUAL(buf, want);
    CU_ASSERT_EQUAL(n, (int)strlen(want));
    /* over TLS the version and cipher in a comment line of their own (RFC 8314 4.3, in
     * Postfix's words); every line within RFC 5322's 78 characters */
    for (const char *p = buf; *p; p = strchr(p, '\n') + 1)
        CU_ASSERT(strcspn(p, "\n") <= 78);
    ri.tls_info = "TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384";   /* OpenSSL's name in TLS 1.2 */
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(buf, "])\n\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384)\n\tby "));
}

static void test_several_rcpts_no_for(void)
{
    char buf[1024];
    struct received_info ri = { .helo = "h", .rdns = "host.test", .ip = "::1",
                                .hostname = "mx", .esmtp = false, .id = "X", .when = 0 };
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "from h (host.test [::1])\n\tby mx with SMTP id X; "));
    CU_ASSERT_PTR_NULL(strstr(buf, "for <"));
}

static void test_hostile_helo(void)
{
    char buf[2048], helo[600];
    struct received_info ri = { .helo = "evil (x)\r\nBcc: a\\b\x80", .ip = "1.2.3.4",
                                .hostname = "mx", .esmtp = true, .id = "I", .when = 0 };
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "from evil??x???Bcc:?a?b? (unknown"));
    CU_ASSERT_PTR_NULL(strchr(buf, '\r'));
    memset(helo, 'a', sizeof helo - 1);
    helo[sizeof helo - 1] = '\0';
    ri.helo = helo;
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    char *p = strstr(buf, "from ");
    CU_ASSERT_EQUAL(strcspn(p + 5, " "), 255u);
    ri.helo = "";
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "from unknown (unknown [1.2.3.4])"));
}

static void test_tls_comment(void)
{
    char buf[1024];
    struct received_info ri = { .helo = "h", .ip = "::1", .hostname = "mx", .esmtp = true,
                                .tls = false, .tls_info = "TLSv1.3:X", .id = "I", .when = 0 };
    /* no TLS: no comment, whatever tls_info says */
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    CU_ASSERT_PTR_NULL(strstr(buf, "(using"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "[::1])\n\tby mx with ESMTP id I"));
    /* TLS without known parameters */
    ri.tls = true;
    const char *unknown[] = { NULL, "", "TLS", ":X", "TLSv1.3:" };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ri.tls_info = unknown[i];
        CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, "[::1])\n\t(using TLS)\n\tby mx with ESMTPS id I"));
    }
    /* what would break the comment or the header is neutralised, long parts are cut */
    ri.tls_info = "TLS(1)\r\nBcc: x:A B)\\";
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\t(using TLS?1???Bcc with cipher ?x:A?B?" "?)\n"));
    char info[600];
    memset(info, 'c', sizeof info - 1);
    info[sizeof info - 1] = '\0';
    info[300] = ':';
    ri.tls_info = info;
    CU_ASSERT(received_format(&ri, buf, sizeof buf) > 0);
    const char *p = strstr(buf, "(using ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(strcspn(p + 7, " "), 63u);
    CU_ASSERT(strcspn(p, "\n") < 220);
}

static void test_too_small(void)
{
    char buf[40];
    struct received_info ri = { .helo = "client.test", .ip = "127.0.0.9", .hostname = "mx",
                                .esmtp = true, .id = "I", .when = 0 };
    CU_ASSERT_EQUAL(received_format(&ri, buf, sizeof buf), -1);
}

static void test_count_received(void)
{
    const char *m = "Received: from a\n\tby b; date\n"
                    "RECEIVED : from c\n"
                    "received:x\n"
                    "X-Received: not a trace line\n"
                    "Receivedx: no\n"
                    "Receive: no\n"
                    " Received: a continuation line\n"
                    "Subject: Received: no\n"
                    "\n"
                    "Received: in the body\n";
    CU_ASSERT_EQUAL(received_count(m, strlen(m)), 3);
    /* no empty line: all of it is header */
    CU_ASSERT_EQUAL(received_count("Received: x\nReceived:", 22), 2);
    CU_ASSERT_EQUAL(received_count("", 0), 0);
    CU_ASSERT_EQUAL(received_count("\nReceived: x\n", 14), 0);
    /* fed in pieces of every size: the same count */
    for (size_t step = 1; step < 12; step++) {
        struct hopcount h;
        hopcount_init(&h);
        for (size_t off = 0, len = strlen(m); off < len; off += step)
            hopcount_feed(&h, m + off, len - off < step ? len - off : step);
        CU_ASSERT_EQUAL(h.count, 3);
    }
}

static CU_TestInfo tests[] = {
    { "protocol names (RFC 3848)", test_proto_names },
    { "date in UTC", test_date_utc },
    { "date with offset", test_date_offset },
    { "full header (TLS comment, line lengths)", test_full_header },
    { "several recipients: no for clause", test_several_rcpts_no_for },
    { "hostile HELO neutralised and cut", test_hostile_helo },
    { "TLS comment: none, unknown parameters, hostile text", test_tls_comment },
    { "buffer too small", test_too_small },
    { "Received: lines counted in the header section only", test_count_received },
    CU_TEST_INFO_NULL,
};

CU_MAIN("received", tests)
