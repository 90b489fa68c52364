/* cluster_req: the messages of the store's replication channel (store_bdb_rep.c).
 * A node that is not the master hands each store write to the master as a request
 * (the operation and its arguments: user put/del, alias put/del, POP-auth record,
 * auth-failure update, greylisting check, the purges); the master applies it with
 * the same store function (cluster_apply.c) and answers with the result. A status
 * request asks a node for its role and log position (userdb cluster status).
 * Pure encoding: big-endian, length-checked, versioned; fuzzed (tests/fuzz). */
#ifndef MS_CLUSTER_REQ_H
#define MS_CLUSTER_REQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipmatch.h"

#define CREQ_VERSION 1
#define CREQ_DATA_MAX 2048        /* s1 and s2: a record, a key or an address */
#define CREQ_WIRE_MAX (64 + 2 * CREQ_DATA_MAX)

enum creq_op {
    CREQ_USER_PUT = 1,    /* s1 address, s2 the user record (store_rec), flag replace */
    CREQ_USER_DEL,        /* s1 address */
    CREQ_ALIAS_PUT,       /* s1 alias, s2 target, flag replace */
    CREQ_ALIAS_DEL,       /* s1 alias */
    CREQ_POPAUTH_PUT,     /* ip, s1 user, t now */
    CREQ_POPAUTH_FLUSH,
    CREQ_POPAUTH_PURGE,   /* t before */
    CREQ_AUTHFAIL,        /* ip, sub (enum creq_af), t now, u limit window lockout */
    CREQ_AUTHFAIL_CLEAR,  /* ip */
    CREQ_AUTHFAIL_PURGE,  /* t now, u[0] window */
    CREQ_GREYLIST_CHECK,  /* s1 triplet key, t now, u delay window keep */
    CREQ_GREYLIST_FLUSH,
    CREQ_GREYLIST_PURGE,  /* t now, u delay window keep */
    CREQ_STATUS,          /* no arguments: the answer is a creq_status */
    CREQ_OP_END
};

enum creq_af { CREQ_AF_RECORD, CREQ_AF_RESERVE, CREQ_AF_RELEASE_OK, CREQ_AF_RELEASE_FAIL };

struct creq {
    uint8_t op;                   /* enum creq_op */
    uint8_t sub;
    bool flag;
    struct ipaddr ip;             /* family 0: none */
    int64_t t;
    uint32_t u[3];
    uint8_t s1[CREQ_DATA_MAX];
    size_t s1len;
    uint8_t s2[CREQ_DATA_MAX];
    size_t s2len;
};

/* The answer: the STORE_* code, for CREQ_AUTHFAIL flag = granted and data = the new
 * record (store_rec), for CREQ_GREYLIST_CHECK outcome and data = the record. */
#define CREQ_TOKEN_LEN 20         /* Berkeley DB's DB_TXN_TOKEN_SIZE */

struct crep {
    int32_t code;
    int32_t outcome;
    bool flag;
    bool unacked;                 /* the master's commit missed its ack policy */
    bool has_token;               /* token: the master's commit token, for the replica
                                   * to wait until its own copy has the write */
    uint8_t token[CREQ_TOKEN_LEN];
    uint8_t data[CREQ_DATA_MAX];
    size_t dlen;
};

/* A node's answer to CREQ_STATUS, carried in crep.data. */
struct creq_status {
    uint8_t role;                 /* 1 master, 2 replica, 0 neither (election) */
    uint32_t lsn_file, lsn_offset;   /* the end of its log */
    int64_t last_election;        /* unix time of the last master change seen, 0 none */
    uint32_t priority;
};

/* Encode into buf: the length, or 0 if it does not fit. */
size_t creq_encode(const struct creq *r, uint8_t *buf, size_t len);
/* Decode; 0, or -1 for anything malformed (bad version, op, lengths, trailing bytes). */
int creq_decode(const uint8_t *buf, size_t len, struct creq *r);
size_t crep_encode(const struct crep *r, uint8_t *buf, size_t len);
int crep_decode(const uint8_t *buf, size_t len, struct crep *r);
size_t creq_status_encode(const struct creq_status *s, uint8_t *buf, size_t len);
int creq_status_decode(const uint8_t *buf, size_t len, struct creq_status *s);
/* A short name of the operation for logs ("user put", ...). */
const char *creq_op_name(unsigned op);

#endif
