/* test_srs: Sender Rewriting Scheme addresses (common/srs.c). The expected addresses
 * were computed independently with Python's hmac module from the libsrs2 format:
 *   key = b"0123456789abcdef0123456789abcdef"; now = 1796000000 (day 307 -> "JT")
 *   h = lambda *f: base64.b64encode(hmac.new(key, "".join(f).lower().encode(),
 *                                             hashlib.sha1).digest())[:4]
 *   SRS0: h("JT", "Remote.test", "Bob") = "HadI"
 *   SRS1: h("a.test", "=HHHH=TT=c.test=s") = "BE/U" */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu.h"
#include "srs.h"
#include "tutil.h"

static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef";
#define KL 32
#define NOW 1796000000LL
#define DAY 86400LL

static void test_forward_vector(void)
{
    char out[300];
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, "Bob@Remote.test", "example.test", NOW, out, sizeof out),
                    SRS_OK);
    CU_ASSERT_STRING_EQUAL(out, "SRS0=HadI=JT=Remote.test=Bob@example.test");
}

static void test_round_trip(void)
{
    char fwd[300], back[300];
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, "bob+tag=x@remote.test", "example.test", NOW, fwd,
                                sizeof fwd), SRS_OK);
    *strrchr(fwd, '@') = '\0';
    CU_ASSERT_TRUE(srs_is_srs(fwd));
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, fwd, NOW + 3 * DAY, back, sizeof back), SRS_OK);
    CU_ASSERT_STRING_EQUAL(back, "bob+tag=x@remote.test");
}

static void test_reverse_vector_any_case(void)
{
    char out[300];
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS0=HadI=JT=Remote.test=Bob", NOW, out, sizeof out),
                    SRS_OK);
    CU_ASSERT_STRING_EQUAL(out, "Bob@Remote.test");
    /* a mail system that lower-cases the local part still gets its bounce home */
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "srs0=hadi=jt=remote.test=bob", NOW, out, sizeof out),
                    SRS_OK);
    CU_ASSERT_STRING_EQUAL(out, "bob@remote.test");
}

static void test_forged(void)
{
    char out[300];
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS0=HadJ=JT=Remote.test=Bob", NOW, out, sizeof out),
                    SRS_BAD);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS0=HadI=JT=Remote.test=Eve", NOW, out, sizeof out),
                    SRS_BAD);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS0=HadI=JT=other.test=Bob", NOW, out, sizeof out),
                    SRS_BAD);
    static const unsigned char other[] = "another secret of thirty-two by.";
    CU_ASSERT_EQUAL(srs_reverse(other, KL, "SRS0=HadI=JT=Remote.test=Bob", NOW, out, sizeof out),
                    SRS_BAD);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS0=HadI=JT", NOW, out, sizeof out), SRS_BAD);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS0=", NOW, out, sizeof out), SRS_BAD);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS1=BE/U=a.test", NOW, out, sizeof out), SRS_BAD);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "bob", NOW, out, sizeof out), SRS_NOT_SRS);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS2=x=y", NOW, out, sizeof out), SRS_NOT_SRS);
    CU_ASSERT_FALSE(srs_is_srs("SRS0"));
    CU_ASSERT_FALSE(srs_is_srs("srs0x"));
    CU_ASSERT_TRUE(srs_is_srs("srs0+"));
}

static void test_expiry(void)
{
    char out[300];
    const char *a = "SRS0=HadI=JT=Remote.test=Bob";
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, a, NOW + SRS_MAX_AGE_DAYS * DAY, out, sizeof out),
                    SRS_OK);
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, a, NOW + (SRS_MAX_AGE_DAYS + 1) * DAY, out, sizeof out),
                    SRS_EXPIRED);
    /* a stamp from "tomorrow" is 1023 days old, not fresh */
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, a, NOW - DAY, out, sizeof out), SRS_EXPIRED);
    /* the day counter wraps at 1024 days */
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, a, NOW + 1024 * DAY, out, sizeof out), SRS_OK);
}

static void test_srs1(void)
{
    char out[300], back[300];
    /* forwarding an SRS0 address of a.test: SRS1, keeping a.test and the SRS0 rest */
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, "SRS0=HHHH=TT=c.test=s@a.test", "b.test", NOW, out,
                                sizeof out), SRS_OK);
    CU_ASSERT_STRING_EQUAL(out, "SRS1=BE/U=a.test==HHHH=TT=c.test=s@b.test");
    /* forwarding that again: still one SRS1 level, hashed anew for the new forwarder */
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, "SRS1=XXXX=a.test==HHHH=TT=c.test=s@b.test",
                                "example.test", NOW, out, sizeof out), SRS_OK);
    CU_ASSERT_STRING_EQUAL(out, "SRS1=BE/U=a.test==HHHH=TT=c.test=s@example.test");
    /* the bounce: SRS1 -> the SRS0 address at a.test it was made from */
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "srs1=be/u=A.test==HHHH=TT=c.test=s", NOW, back,
                                sizeof back), SRS_OK);
    CU_ASSERT_STRING_EQUAL(back, "SRS0=HHHH=TT=c.test=s@A.test");
    CU_ASSERT_EQUAL(srs_reverse(KEY, KL, "SRS1=BE/V=a.test==HHHH=TT=c.test=s", NOW, back,
                                sizeof back), SRS_BAD);
}

static void test_too_long(void)
{
    char out[300], sender[200];
    snprintf(sender, sizeof sender, "%.60s@remote.test",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    /* the SRS0 local part would exceed 64 octets: not made (the sender stays as it was) */
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, sender, "example.test", NOW, out, sizeof out),
                    SRS_TOO_LONG);
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, "bob@remote.test", "example.test", NOW, out, 20),
                    SRS_TOO_LONG);
    CU_ASSERT_EQUAL(srs_forward(KEY, KL, "no-at-sign", "example.test", NOW, out, sizeof out),
                    SRS_BAD);
}

static void test_secret_file(void)
{
    char dir[256], path[300], target[300];
    CU_ASSERT_FATAL(tu_tmpdir(dir, sizeof dir, "srs") == 0);
    snprintf(path, sizeof path, "%s/srs_secret", dir);
    snprintf(target, sizeof target, "%s/victim", dir);
    /* a symlink planted in data_dir is neither followed nor replaced */
    CU_ASSERT_FATAL(symlink(target, path) == 0);
    CU_ASSERT_PTR_NULL(srs_secret(dir));
    CU_ASSERT_EQUAL(access(target, F_OK), -1);
    CU_ASSERT_EQUAL(unlink(path), 0);
    /* first use creates it: 32 bytes, mode 0600 */
    const unsigned char *k = srs_secret(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    struct stat st;
    CU_ASSERT_FATAL(lstat(path, &st) == 0);
    CU_ASSERT_TRUE(S_ISREG(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    CU_ASSERT_EQUAL(st.st_size, SRS_SECRET_LEN);
    unsigned char onfile[SRS_SECRET_LEN];
    int fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(read(fd, onfile, sizeof onfile), SRS_SECRET_LEN);
    close(fd);
    CU_ASSERT_EQUAL(memcmp(onfile, k, SRS_SECRET_LEN), 0);
    CU_ASSERT_PTR_EQUAL(srs_secret(dir), k);     /* read once per process */
    tu_rmtree(dir);
}

static CU_TestInfo tests[] = {
    { "SRS0 forward: known vector", test_forward_vector },
    { "round trip", test_round_trip },
    { "reverse: known vector, any case", test_reverse_vector_any_case },
    { "forged or malformed: refused", test_forged },
    { "expiry after 21 days", test_expiry },
    { "SRS1: forwarding a forwarded address and back", test_srs1 },
    { "too long / bad input", test_too_long },
    { "secret file: created 0600, no symlink followed", test_secret_file },
    CU_TEST_INFO_NULL,
};

CU_MAIN("srs", tests)
