/* greylist: the pure greylisting rule (SPEC "Anti-spam on an instance", greylist).
 * A triplet is (client network, envelope sender, recipient): the client's IPv4 /24
 * or IPv6 /64 (a sender's pool of outgoing servers usually retries from a
 * neighbouring address), the sender and the recipient lower-cased, the null sender
 * as "". An unknown triplet is recorded and refused for now; a retry at least DELAY
 * and at most WINDOW after the first attempt passes and marks it passed; a passed
 * triplet passes for KEEP after its last use. No I/O: the store keeps the records
 * (store.h store_greylist_*), smtpd's RCPT row (check_greylist.c) asks, the store's
 * periodic maintenance purges with greylist_expired.
 *
 * Result codes: greylist_triplet 0 or -1; greylist_decide a GREYLIST_* outcome. */
#ifndef MS_GREYLIST_H
#define MS_GREYLIST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipmatch.h"
#include "store.h"

struct greylist_params {
    unsigned delay, window, keep;      /* seconds */
};

enum greylist_outcome {
    GREYLIST_NEW = 1,      /* unknown (or expired): recorded now, refuse (451) */
    GREYLIST_EARLY,        /* retried before DELAY: refuse (451) */
    GREYLIST_PASSED_NOW,   /* the first retry in time: passes, marked passed */
    GREYLIST_KNOWN,        /* a passed triplet used again within KEEP: passes */
};

/* The network part of the triplet: "192.0.2.0/24", "2001:db8:1:2::/64". */
const char *greylist_net(const struct ipaddr *ip, char *buf, size_t len);
/* Fill R's net, sender and rcpt (normalised; SENDER "" or NULL for <>), times zero.
 * -1 when an address does not fit. */
int greylist_triplet(const struct ipaddr *ip, const char *sender, const char *rcpt,
                     struct greylist_rec *r);
/* Has R run out at NOW (unpassed: WINDOW after its first attempt; passed: KEEP after
 * its last use)? The maintenance deletes such records. */
bool greylist_expired(const struct greylist_rec *r, int64_t now, const struct greylist_params *p);
/* The rule: R is the stored record when FOUND (else only its triplet is set); R is
 * updated to what must be stored. Passes for GREYLIST_PASSED_NOW and GREYLIST_KNOWN. */
enum greylist_outcome greylist_decide(struct greylist_rec *r, bool found, int64_t now,
                                      const struct greylist_params *p);
bool greylist_passes(enum greylist_outcome o);
const char *greylist_outcome_name(enum greylist_outcome o);

/* The store key of a triplet (net NUL sender NUL rcpt) and back; 0 / -1 on overflow
 * or a malformed key. */
size_t greylist_key_enc(const struct greylist_rec *r, uint8_t *buf, size_t len);
int greylist_key_dec(const uint8_t *buf, size_t len, struct greylist_rec *r);

#endif
