/* store_rec: the portable, versioned byte format of the store's records
 * (big-endian integers, length-prefixed strings, no raw structs), and the
 * binary IP key (family byte 4 or 6, then 4 or 16 address bytes). Pure code:
 * store_bdb.c writes and reads these bytes; test_store.c checks round trips. */
#ifndef MS_STORE_REC_H
#define MS_STORE_REC_H
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define REC_VERSION 1
#define REC_MAX 2048          /* no record is larger */
#define IPKEY_MAX 17

size_t rec_enc_user(const struct user_rec *u, uint8_t *buf, size_t len);   /* 0 on overflow */
int rec_dec_user(const uint8_t *buf, size_t len, struct user_rec *u);      /* 0 or -1 */
size_t rec_enc_alias(const char *target, uint8_t *buf, size_t len);
int rec_dec_alias(const uint8_t *buf, size_t len, char *target, size_t tlen);
size_t rec_enc_popauth(const struct popauth_rec *r, uint8_t *buf, size_t len);
int rec_dec_popauth(const uint8_t *buf, size_t len, struct popauth_rec *r);  /* not r->ip */
size_t rec_enc_authfail(const struct authfail_rec *r, uint8_t *buf, size_t len);
int rec_dec_authfail(const uint8_t *buf, size_t len, struct authfail_rec *r);
/* the value of a greylisting triplet (its key is greylist_key_enc's) */
size_t rec_enc_greylist(const struct greylist_rec *r, uint8_t *buf, size_t len);
int rec_dec_greylist(const uint8_t *buf, size_t len, struct greylist_rec *r);  /* times, passed */
size_t rec_enc_ip(const struct ipaddr *ip, uint8_t *buf, size_t len);
int rec_dec_ip(const uint8_t *buf, size_t len, struct ipaddr *ip);

#endif
