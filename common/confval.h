/* confval: parsers for the typed values of mailserver.conf (used by config.c).
 * Each returns 0, or -1 with "what is wrong (expected ...)" written into why.
 * Strings they return are malloc()ed and owned by the caller. Pure code: no I/O. */
#ifndef MS_CONFVAL_H
#define MS_CONFVAL_H
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cv_bool(const char *v, bool *out, char *why, size_t wl);            /* yes/no/true/false/on/off */
int cv_duration(const char *v, bool nonzero, unsigned *out, char *why, size_t wl);  /* 30s 5m 2h 5d */
int cv_size(const char *v, uint64_t *out, char *why, size_t wl);        /* 1000, 64K, 25M, 1G */
int cv_count(const char *v, unsigned *out, char *why, size_t wl);       /* 1 .. 100000000 */
/* off, required, implicit, or the protocol's word for STARTTLS ("starttls", POP3's "stls"). */
int cv_tls(const char *v, const char *starttls, enum tls_mode *out, char *why, size_t wl);
int cv_mechs(const char *v, unsigned *out, char *why, size_t wl);       /* MECH_* bits; "" = 0 */
int cv_auth_source(const char *v, enum auth_source *out, char *why, size_t wl);  /* store system fixed */
/* The word of an auth_source value ("store", "system", "fixed"). */
const char *cv_auth_source_name(enum auth_source s);
/* content_filter: "" (off) or rspamd:IP:PORT, rspamd:[IPv6]:PORT; *host (replaced) is the
 * address ("" when off), *port its port. An IP address only: evhttp would resolve a name
 * with a blocking call on the loop. */
int cv_content_filter(const char *v, char **host, int *port, char *why, size_t wl);
/* V one of the N WORDS (any case): 0 with *out its index, or -1 with why
 * "'V' is not allowed (expected A, B or C)". */
int cv_word(const char *v, const char *const *words, size_t n, int *out, char *why, size_t wl);
/* off, tag, or ACT (spf: "reject", dmarc: "enforce"). */
int cv_authres_mode(const char *v, const char *act, enum authres_mode *out, char *why, size_t wl);
const char *cv_authres_mode_name(enum authres_mode m, const char *act);
bool cv_hostname(const char *s);
/* Lower case, one trailing dot dropped, into out (size n); [IP] literals pass too. */
int cv_domain(const char *v, char *out, size_t n, char *why, size_t wl);
/* A list of domains (with wildcards: also "*.example.net"); replaces *out. */
int cv_domains(const char *v, bool wildcards, struct strlist *out, char *why, size_t wl);
/* host[:port], [host]:port or [host]; *port = 25 if not given. */
int cv_hostport(const char *v, char **host, int *port, char *why, size_t wl);
/* A list of ADDRESS:PORT / [V6]:PORT (at least one); replaces *out and *nout. */
int cv_listen(const char *v, struct listen_addr **out, size_t *nout, char *why, size_t wl);
/* A list of DNS servers, IP or IP:PORT ([V6]:PORT; port 53 if not given), as
 * "IP@PORT" (libunbound's form); replaces *out. */
int cv_dns_servers(const char *v, struct strlist *out, char *why, size_t wl);
void cv_listen_free(struct listen_addr *l, size_t n);
void cv_strlist_free(struct strlist *l);

#endif
