/* test_dns_cache: the blocking lookups (dns_sync_query, dns_sync_query_sec: the queue's
 * delivery threads, check rows on workers) keep one libunbound context per thread, so a
 * second lookup of a name within its TTL is answered from the cache: against a real NSD
 * the test starts, stopped after the first lookup. A reload with other dns_servers
 * takes effect at the next lookup (a second NSD with another answer), and a thread's
 * contexts are freed when it ends (LeakSanitizer at exit). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "dns.h"
#include "tutil.h"

#define NSD "/usr/sbin/nsd"

struct nsd {
    pid_t pid;
    int port;
    char dir[300];
};

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

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

static bool log_says_started(const char *path)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, "nsd started") != NULL;
}

/* NSD on 127.0.0.1 serving cache.example with www A ADDR (TTL 300). 0 or -1. */
static int nsd_start(struct nsd *n, const char *name, const char *addr)
{
    char path[400], text[2048];
    if (tu_tmpdir(n->dir, sizeof n->dir, name) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/cache.example.zone", n->dir);
    snprintf(text, sizeof text, "$TTL 300\n@ IN SOA ns.cache.example. admin.cache.example. 1 3600 "
             "600 86400 300\n@ IN NS ns.cache.example.\nns IN A 127.0.0.1\nwww IN A %s\n", addr);
    if (write_file(path, text) < 0)
        return -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        n->port = free_udp_port();
        snprintf(text, sizeof text,
                 "server:\n    ip-address: 127.0.0.1\n    port: %d\n    username: \"\"\n"
                 "    chroot: \"\"\n    zonesdir: \"%s\"\n    database: \"\"\n"
                 "    pidfile: \"%s/nsd.pid\"\n    xfrdfile: \"%s/xfrd.state\"\n"
                 "    zonelistfile: \"%s/zone.list\"\n    server-count: 1\n    do-ip6: no\n"
                 "    verbosity: 1\nremote-control:\n    control-enable: no\n"
                 "zone:\n    name: cache.example\n    zonefile: cache.example.zone\n",
                 n->port, n->dir, n->dir, n->dir, n->dir);
        char conf[400], log[400];
        snprintf(conf, sizeof conf, "%s/nsd.conf", n->dir);
        snprintf(log, sizeof log, "%s/nsd.log", n->dir);
        if (n->port < 0 || write_file(conf, text) < 0)
            return -1;
        n->pid = fork();
        if (n->pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                _exit(127);
            execl(NSD, NSD, "-d", "-c", conf, (char *)NULL);
            _exit(127);
        }
        if (n->pid < 0)
            return -1;
        for (int i = 0; i < 500; i++) {          /* up to 10 s */
            if (log_says_started(log))
                return 0;
            if (waitpid(n->pid, NULL, WNOHANG) == n->pid)
                break;                           /* the port was taken: another one */
            struct timespec ts = { 0, 20 * 1000000L };
            nanosleep(&ts, NULL);
        }
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
    }
    return -1;
}

static void nsd_stop(struct nsd *n)
{
    if (n->pid > 0) {
        kill(n->pid, SIGTERM);
        waitpid(n->pid, NULL, 0);
        n->pid = 0;
    }
}

static int configure(const struct nsd *n)
{
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1@%d", n->port);
    char *v[] = { server };
    struct strlist servers = { v, 1 };
    return dns_configure(&servers, 1);
}

/* www.cache.example's address as text ("" when the lookup failed). */
static void lookup(const char *name, bool validate, char *out, size_t size)
{
    unsigned char pkt[1024];
    enum dns_status st;
    enum dns_sec sec;
    struct dns_answer a;
    int len = validate ? dns_sync_query_sec(name, ns_t_a, pkt, sizeof pkt, &st, &sec)
                       : dns_sync_query(name, ns_t_a, pkt, sizeof pkt, &st);
    out[0] = '\0';
    if (len > 0 && dns_parse_answer(pkt, (size_t)len, ns_t_a, &a) == 0 && a.n == 1 &&
        a.rdlen[0] == 4)
        (void)inet_ntop(AF_INET, a.rdata[0], out, (socklen_t)size);
}

static struct nsd first, second;

static void *lookups(void *arg)
{
    (void)arg;
    char got[64];
    for (int v = 0; v < 2; v++) {                 /* not validating, validating */
        lookup("www.cache.example", v, got, sizeof got);
        CU_ASSERT_STRING_EQUAL(got, "192.0.2.1");
    }
    nsd_stop(&first);
    for (int v = 0; v < 2; v++) {                 /* the server is gone: the cache answers */
        lookup("www.cache.example", v, got, sizeof got);
        CU_ASSERT_STRING_EQUAL(got, "192.0.2.1");
    }
    lookup("ns.cache.example", false, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "");              /* never asked: nobody answers it */
    /* a reload with other dns_servers: new contexts, the new server's answer */
    CU_ASSERT_EQUAL(configure(&second), 0);
    for (int v = 0; v < 2; v++) {
        lookup("www.cache.example", v, got, sizeof got);
        CU_ASSERT_STRING_EQUAL(got, "192.0.2.2");
    }
    return NULL;                                  /* the thread's contexts are freed now */
}

static void test_cache_and_reload(void)
{
    CU_ASSERT_EQUAL_FATAL(nsd_start(&first, "dns-cache-a", "192.0.2.1"), 0);
    if (nsd_start(&second, "dns-cache-b", "192.0.2.2") < 0) {
        nsd_stop(&first);
        CU_FAIL_FATAL("second nsd did not start");
    }
    CU_ASSERT_EQUAL(configure(&first), 0);
    pthread_t th;
    CU_ASSERT_EQUAL(pthread_create(&th, NULL, lookups, NULL), 0);
    CU_ASSERT_EQUAL(pthread_join(th, NULL), 0);
    /* another thread has a cache of its own: nothing cached yet, the second server's */
    char got[64];
    lookup("www.cache.example", false, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "192.0.2.2");
    dns_thread_end();                             /* this thread's contexts */
    nsd_stop(&first);
    nsd_stop(&second);
    struct strlist none = { NULL, 0 };
    CU_ASSERT_EQUAL(dns_configure(&none, 5), 0);
    CU_ASSERT_EQUAL(tu_rmtree(first.dir), 0);
    CU_ASSERT_EQUAL(tu_rmtree(second.dir), 0);
}

static CU_TestInfo tests[] = {
    { "blocking lookups: cached per thread, a reload's servers, freed at thread end",
      test_cache_and_reload },
    CU_TEST_INFO_NULL,
};

CU_MAIN("dns_cache", tests)
