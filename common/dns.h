/* dns: every DNS lookup of the server, over libunbound (SPEC "Anti-spam on an
 * instance": [server] dns_servers, dns_timeout).
 *
 * On an event loop (sessions): one libunbound context per loop thread, made on first
 * use and registered on that thread's event_base (ub_fd: its answers wake the loop;
 * libunbound resolves in a thread of its own, so nothing waits on the loop). A query
 * has a timer of dns_timeout: when it fires the caller is answered DNS_TIMEOUT and the
 * query is cancelled. A libunbound context is not shared between threads (its docs:
 * one context per thread, or locking). Off the loops (the queue runner's delivery
 * threads, blocking check rows on workers) dns_sync_query blocks with the same settings,
 * dns_timeout included, on contexts of the calling thread (one validating, one not) kept
 * between lookups, so that answers are cached for their TTL and a validating lookup
 * does not start from the trust anchor each time; a timed-out query is cancelled, the
 * context kept. They are made anew after a reload and freed when the thread ends.
 *
 * dns_configure sets the servers and timeout (at start and on reload); contexts made
 * before a reload finish their queries and are freed, new queries use new ones.
 *
 * DNSSEC ([server] dns_trust_anchor, dns_set_trust_anchor): only dns_sync_query_sec and
 * dns_sync_addrs_sec validate (the delivery path: MX, the hosts' addresses, TLSA for
 * DANE); the other lookups (DNSBL, SPF) do not, so a resolver in dns_servers that strips
 * DNSSEC cannot make them fail. Unsigned zones are "insecure", fine as before; "bogus"
 * (signatures that do not verify) is an error.
 *
 * Result codes: 0 success, negative error; enum dns_status is a named outcome. */
#ifndef MS_DNS_H
#define MS_DNS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ipmatch.h"

struct event_base;
struct dns_query;

enum dns_status {
    DNS_OK = 0,          /* data in the answer */
    DNS_NXDOMAIN = 1,    /* the name does not exist */
    DNS_NODATA = 2,      /* the name exists, no record of that type */
    DNS_ERROR = 3,       /* SERVFAIL, REFUSED, malformed, resolver error */
    DNS_TIMEOUT = 4,     /* no answer within dns_timeout */
};

/* The DNSSEC state of an answer (RFC 4035 4.3). */
enum dns_sec {
    DNS_SEC_INSECURE = 0,  /* unsigned, no trust anchor above it, or no validation */
    DNS_SEC_SECURE = 1,    /* validated from the trust anchor */
    DNS_SEC_BOGUS = 2,     /* signed but does not validate: never to be used */
};

/* Debian's dns-root-data: the root zone's trust anchor (the default anchor file). */
#define DNS_ROOT_ANCHOR "/usr/share/dns/root.key"

#define DNS_ANSWERS_MAX 16
#define DNS_NAME_MAX 256               /* a name in text form, with its NUL */

struct dns_answer {
    enum dns_status status;
    int rcode;                      /* the DNS rcode (0 when none came) */
    unsigned ttl;                   /* of the answer (NXDOMAIN: the SOA's, else 0) */
    size_t n;                       /* records of the asked type, at most DNS_ANSWERS_MAX */
    const unsigned char *rdata[DNS_ANSWERS_MAX];
    size_t rdlen[DNS_ANSWERS_MAX];
    const unsigned char *packet;    /* the whole answer (wire format) or NULL */
    size_t packet_len;
    bool secure, bogus;             /* libunbound's DNSSEC verdict (both false: insecure) */
};

/* Called on the loop that started the query, once, unless it was cancelled. The answer
 * and what it points to live only during the call. */
typedef void (*dns_cb)(void *arg, const struct dns_answer *a);

/* The servers ("IP@PORT", libunbound's form, from cv_dns_servers; none: the system's
 * /etc/resolv.conf) and the per-query timeout in seconds. Any thread; 0 or -1. */
int dns_configure(const struct strlist *servers, unsigned timeout);

/* The DNSSEC trust anchor file (zone-file DS or DNSKEY records, as Debian's
 * dns-root-data or a test zone's; libunbound's ub_ctx_add_ta_file) for the validating
 * lookups; NULL or "": none (no validation). DNS_ROOT_ANCHOR may be absent (then none,
 * silently); another file that cannot be read is logged and -1 (no validation). */
int dns_set_trust_anchor(const char *file);
/* Is a trust anchor set (validating lookups can say "secure")? */
bool dns_validating(void);

/* Look NAME up (TYPE: ns_t_a, ns_t_txt...) from the loop BASE of the calling thread; CB
 * runs later on that loop. The query, or NULL (then CB is never called). */
struct dns_query *dns_query(struct event_base *base, const char *name, int type, dns_cb cb,
                            void *arg);
/* Drop a query whose answer is no longer wanted: CB is not called. */
void dns_cancel(struct dns_query *q);
/* Free the calling thread's contexts (a loop thread ends; the main thread at exit; other
 * threads' are freed when they end); queries still waiting are answered DNS_ERROR first. */
void dns_thread_end(void);

/* Blocking, for threads that may wait (queue delivery threads): the answer packet into
 * buf; returns its length, or -1 with *status set (NXDOMAIN, NODATA, ERROR). */
int dns_sync_query(const char *name, int type, unsigned char *buf, size_t size,
                   enum dns_status *status);

/* dns_sync_query with DNSSEC validation: *sec says secure / insecure / bogus (a bogus
 * answer is -1 with *status DNS_ERROR). */
int dns_sync_query_sec(const char *name, int type, unsigned char *buf, size_t size,
                       enum dns_status *status, enum dns_sec *sec);

/* Blocking: HOST's addresses (an address literal is itself; else its AAAA and A
 * records, /etc/hosts first), at most MAX into out. 0 with *n set, or -1 with *status
 * (NXDOMAIN when the name has no address at all, ERROR). */
int dns_sync_addrs(const char *host, struct ipaddr *out, size_t max, size_t *n,
                   enum dns_status *status);
/* The same, validated: *sec the weaker of the AAAA and A answers' states (a literal:
 * insecure); bogus ones are -1 with *status DNS_ERROR (RFC 7672 2.2.2). */
int dns_sync_addrs_sec(const char *host, struct ipaddr *out, size_t max, size_t *n,
                       enum dns_status *status, enum dns_sec *sec);

/* ---- pure helpers (tested) ----------------------------------------------- */

/* The DNSBL name of IP under ZONE: IPv4 reversed octets ("9.0.0.127.zone"), IPv6
 * reversed nibbles (32 labels). 0, or -1 when it does not fit. */
int dns_reverse_name(const struct ipaddr *ip, const char *zone, char *out, size_t size);
/* Fill a from a wire-format answer to a TYPE query (answer section records of that
 * type, minimum TTL; rcode mapped to the status). 0, or -1 when malformed. */
int dns_parse_answer(const unsigned char *pkt, size_t len, int type, struct dns_answer *a);
/* One TXT record's data RD (RDLEN octets) as text: its character-strings joined into
 * out (size bytes, NUL-terminated). 0, or -1 when malformed, too long, or holding a NUL. */
int dns_txt_join(const unsigned char *rd, size_t rdlen, char *out, size_t size);

#endif
