/* ipmatch: IP addresses and the IP pattern lists of mailserver.conf
 * (lan, secure_networks, always_relay_from, allow_clients, deny_clients).
 * Patterns: exact IPv4/IPv6, CIDR (10.0.0.0/8, 2001:db8::/32), IPv4 wildcards
 * (192.168.1.*, 10.*.*.*, *.*.*.* for every IPv4 address), ranges
 * (192.168.1.10-192.168.1.50, IPv6 too), and "*" alone: every address, both families.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as the IPv4 address,
 * both in patterns and in client addresses. Pure code: no I/O. */
#ifndef MS_IPMATCH_H
#define MS_IPMATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

struct ipaddr {
    int family;         /* AF_INET or AF_INET6 (never a v4-mapped v6) */
    uint8_t b[16];      /* network byte order; first 4 bytes used for AF_INET */
};

/* Parse a literal address ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1",
 * "[2001:db8::1]"). Returns 0, or -1 if it is not an address. */
int ipaddr_parse(const char *s, struct ipaddr *out);
int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out);
/* Text form ("192.0.2.1", "2001:db8::1"); buf of at least 46 bytes. */
const char *ipaddr_format(const struct ipaddr *ip, char *buf, size_t len);
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_is_loopback(const struct ipaddr *ip);   /* 127.0.0.0/8 or ::1 */
/* The address that stands for one client in per-client counts (lockout,
 * max_connections_per_ip): an IPv4 address itself, an IPv6 address's /64
 * (one subscriber usually holds a whole /64). */
void ipaddr_client_key(const struct ipaddr *ip, struct ipaddr *key);

struct iplist;

/* Parse a comma- or space-separated pattern list. An empty or blank text gives
 * an empty list (matches nothing). On a bad pattern returns NULL and writes
 * a message naming the pattern into err. */
struct iplist *iplist_parse(const char *text, char *err, size_t errlen);
bool iplist_match(const struct iplist *list, const struct ipaddr *ip);
bool iplist_empty(const struct iplist *list);   /* NULL counts as empty */
void iplist_free(struct iplist *list);
/* The list as it was written ("" for NULL), for messages. */
const char *iplist_text(const struct iplist *list);

/* Does the list match every client address of FAMILY (AF_INET or AF_INET6)? The union
 * of all its patterns counts, as iplist_match sees it: 0.0.0.0/1 with 128.0.0.0/1
 * covers IPv4, and so does ::/0 (an IPv4 client is also matched in its ::ffff: form).
 * For IPv6 the ::ffff:0:0/96 block need not be covered (those clients are IPv4). */
bool iplist_covers_all(const struct iplist *list, int family);

#endif
