/* addr: mail addresses (RFC 5321 4.1.2): parsing the path of MAIL FROM / RCPT TO,
 * domain comparison, "who is local" (SPEC.md) and the canonical form used as store key.
 * Pure code: no I/O, no store. The config is only read (domain, domain_aliases).
 *
 * Decisions (SPEC is silent):
 * - Angle brackets are expected; a path without them is accepted when it is one
 *   token without spaces (as Postfix does with strict_rfc821_envelopes = no).
 *   "FROM: <a@b>" (space after the colon) is accepted.
 * - Source routes "@a,@b:user@dom" are parsed and dropped: only user@dom counts.
 * - Limits: local part 64, domain 255, path 256 octets (as sent, without brackets).
 * - Case: domains compare case-insensitively, a trailing dot ignored. Local parts of
 *   LOCAL addresses are folded to lower case (users and aliases are stored lower
 *   case); remote local parts keep their case (RFC 5321 2.4).
 * - An address literal [192.0.2.1] / [IPv6:...] is a valid domain, local only when
 *   listed in domain_aliases (config_is_local_domain decides, for every caller). */
#ifndef MS_ADDR_H
#define MS_ADDR_H
#include <stdbool.h>
#include <stddef.h>

struct config;

#define ADDR_LOCAL_MAX  64
#define ADDR_DOMAIN_MAX 255
#define ADDR_PATH_MAX   256

enum addr_err {
    ADDR_OK = 0,
    ADDR_ESYNTAX = -1,       /* malformed path */
    ADDR_ELOCAL_LONG = -2,   /* local part over 64 octets */
    ADDR_EDOMAIN_LONG = -3,  /* domain over 255 octets */
    ADDR_EPATH_LONG = -4,    /* path over 256 octets */
    ADDR_ENULL = -5,         /* "<>" where it is not allowed (RCPT) */
};

struct mailaddr {
    bool null;                         /* the null path <> (all strings empty) */
    bool bare_postmaster;              /* RCPT TO:<postmaster> without a domain */
    bool quoted;                       /* the local part was a quoted string */
    bool domain_literal;               /* domain is [..] */
    char local[ADDR_LOCAL_MAX + 1];    /* local part, unquoted and unescaped */
    char domain[ADDR_DOMAIN_MAX + 1];  /* as sent, trailing dot removed ("" if bare postmaster) */
    char text[ADDR_PATH_MAX + 1];      /* the mailbox as sent (quoted local part kept,
                                          trailing dot removed): use for logs and relaying */
};

/* Flags for addr_parse_path */
#define ADDR_ALLOW_NULL        0x01u   /* accept <> (MAIL FROM) */
#define ADDR_ALLOW_POSTMASTER  0x02u   /* accept bare <postmaster> (RCPT TO) */

/* Parse a path at the start of s ("<...>" or a bare token). On success *end points
 * just after the path (at the parameters, if any; leading spaces not skipped).
 * Returns ADDR_OK or an enum addr_err. */
int addr_parse_path(const char *s, unsigned flags, struct mailaddr *out, const char **end);

/* Parse a plain mailbox "local@domain" (no brackets, no source route), as given on a
 * command line (--from/--to, userdb). Same limits. */
int addr_parse_mailbox(const char *s, struct mailaddr *out);

/* Human text for an addr_err ("Path too long", ...). */
const char *addr_strerror(int err);

/* Case-insensitive domain equality, a trailing dot ignored on either side. */
bool addr_domain_eq(const char *a, const char *b);

/* SPEC "Who is local": local domain (config_is_local_domain) AND the local part has no
 * '@', '%' or '!'.
 * A bare postmaster is local. The null path is not. */
bool addr_is_local(const struct config *cfg, const struct mailaddr *a);

/* The sender's domain is local (the null sender has no domain, so: false). Used by
 * reject_local_spoof and relay rules 6/7; the local part is not looked at. */
bool addr_sender_domain_local(const struct config *cfg, const struct mailaddr *a);

/* Canonical form: for a local address "lower(local)@primary-domain" (a bare postmaster
 * gives "postmaster@primary"); otherwise "text" with the domain in lower case.
 * "" for the null path. Returns 0, or -1 if it does not fit in len. */
int addr_canon(const struct config *cfg, const struct mailaddr *a, char *out, size_t len);

/* Canonical form of a plain address string (an alias target, a login): parse it with
 * addr_parse_mailbox and canonicalise. -1 if it does not parse or fit. */
int addr_canon_str(const struct config *cfg, const char *s, char *out, size_t len);

#endif
