/* test_dns_sync: dns_sync_query, the blocking lookups of workers (SPF) and delivery
 * threads (MX), against a real NSD started here on a free loopback port: an answer; the
 * same question answered again from the calling thread's cache once the server is gone
 * (each thread keeps its libunbound context: a context per query asked the dead server
 * again and failed, and cost more than the lookup); a dns_configure renews the context
 * (the cache goes with it). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confval.h"
#include "cu.h"
#include "dns.h"

static char dir[64];
static char server[64];
static pid_t nsd = -1;

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fputs(text, f) >= 0, 1);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

static int free_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof sin;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
                       getsockname(fd, (struct sockaddr *)&sin, &sl) == 0
                   ? ntohs(sin.sin_port) : -1;
    if (fd >= 0)
        close(fd);
    return port;
}

/* NSD in the foreground serving sync.example; true once its log says it started. */
static int start_nsd(void)
{
    int port = free_udp_port();
    char conf[1024], log[128];
    CU_ASSERT_FATAL(port > 0);
    write_file("sync.example.zone",
               "$TTL 3600\n@ IN SOA ns.sync.example. admin.sync.example. 1 3600 600 86400 3600\n"
               "@ IN NS ns.sync.example.\nns IN A 127.0.0.1\ntxt IN TXT \"kept per thread\"\n");
    snprintf(conf, sizeof conf,
             "server:\n    ip-address: 127.0.0.1\n    port: %d\n    username: \"\"\n"
             "    chroot: \"\"\n    zonesdir: \"%s\"\n    database: \"\"\n"
             "    pidfile: \"%s/nsd.pid\"\n    xfrdfile: \"%s/xfrd.state\"\n"
             "    zonelistfile: \"%s/zone.list\"\n    server-count: 1\n    do-ip6: no\n"
             "remote-control:\n    control-enable: no\nzone:\n    name: sync.example\n"
             "    zonefile: sync.example.zone\n", port, dir, dir, dir, dir);
    write_file("nsd.conf", conf);
    snprintf(log, sizeof log, "%s/nsd.log", dir);
    snprintf(conf, sizeof conf, "%s/nsd.conf", dir);
    nsd = fork();
    if (nsd == 0) {
        if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        execl("/usr/sbin/nsd", "nsd", "-d", "-c", conf, (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_FATAL(nsd > 0);
    snprintf(server, sizeof server, "127.0.0.1@%d", port);
    for (int i = 0; i < 200; i++) {          /* 10 s */
        char text[4096] = "";
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[n] = '\0';
        if (strstr(text, "nsd started"))
            return 1;
        if (waitpid(nsd, NULL, WNOHANG) == nsd) {
            fprintf(stderr, "nsd exited:\n%s\n", text);
            nsd = -1;
            return 0;
        }
        usleep(50000);
    }
    return 0;
}

static void stop_nsd(void)
{
    if (nsd > 0) {
        kill(nsd, SIGTERM);
        waitpid(nsd, NULL, 0);
        nsd = -1;
    }
}

static void configure(unsigned timeout)
{
    char *v[] = { server };
    struct strlist servers = { v, 1 };
    CU_ASSERT_EQUAL_FATAL(dns_configure(&servers, timeout), 0);
}

/* The TXT answer's length and status for txt.sync.example. */
static int ask(enum dns_status *st)
{
    unsigned char buf[1024];
    int len = dns_sync_query("txt.sync.example", ns_t_txt, buf, sizeof buf, st);
    if (len > 0)
        CU_ASSERT_PTR_NOT_NULL(memmem(buf, (size_t)len, "kept per thread", 15));
    return len;
}

static void test_cache_kept_per_thread(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_dns_sync.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_FATAL(start_nsd());
    configure(1);
    enum dns_status st = DNS_ERROR;
    CU_ASSERT(ask(&st) > 0);
    CU_ASSERT_EQUAL(st, DNS_OK);
    stop_nsd();
    /* the server is gone: this thread's context answers from its cache */
    st = DNS_ERROR;
    CU_ASSERT(ask(&st) > 0);
    CU_ASSERT_EQUAL(st, DNS_OK);
    /* a new configuration is a new context: nothing cached, nobody answers */
    configure(1);
    st = DNS_OK;
    CU_ASSERT_EQUAL(ask(&st), -1);
    CU_ASSERT_NOT_EQUAL(st, DNS_OK);
    struct strlist none = { NULL, 0 };
    CU_ASSERT_EQUAL(dns_configure(&none, 5), 0);
    const char *files[] = { "sync.example.zone", "nsd.conf", "nsd.log", "nsd.pid",
                            "xfrd.state", "zone.list" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        (void)unlink(path);
    }
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static CU_TestInfo tests[] = {
    { "sync queries: answered, then from the thread's cache with the server gone; "
      "dns_configure renews", test_cache_kept_per_thread },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dns_sync", tests)
