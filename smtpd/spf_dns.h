/* spf_dns: a libspf2 DNS layer over our resolver (dns.h's dns_sync_query), so that SPF
 * lookups use [server] dns_servers and dns_timeout like every other lookup of the
 * server instead of libspf2's own res_query layer (which reads /etc/resolv.conf only).
 * Blocking: call it on a worker thread, never on an event loop. Thread-safe: the
 * layer has no state; each lookup makes its own answer.
 * spf_dns_fill, the answer-packet-to-libspf2-record part, is pure (fuzzed). */
#ifndef MS_SPF_DNS_H
#define MS_SPF_DNS_H
#include <stddef.h>

/* libspf2's SPF_dns_server_t and SPF_dns_rr_t. Its headers are included by the .c
 * files only, after ours, MECH_ALL undefined (its spf_record.h has another). */
struct SPF_dns_server_struct;
struct SPF_dns_rr_struct;

/* The shared layer (never freed by SPF_server_free: destroy is NULL). */
struct SPF_dns_server_struct *spf_dns_layer(void);

/* Fill RR (made for DOMAIN and TYPE) from the wire-format answer PKT (LEN octets): the
 * A, AAAA, TXT (character-strings joined), MX and PTR (names) records. 0, or -1 when
 * the packet is malformed or memory is short (RR is then an error answer). */
int spf_dns_fill(struct SPF_dns_rr_struct *rr, const unsigned char *pkt, size_t len, int type);

#endif
