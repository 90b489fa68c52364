/* fuzz_cluster_req: libFuzzer harness for the replication channel's messages
 * (common/cluster_req.h), which arrive from the network. The input is tried as a
 * request, an answer and a status; whatever decodes must encode back to the same
 * bytes (the format has one encoding) and decode again to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_req.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct creq q, q2;
    static struct crep p, p2;
    static uint8_t buf[CREQ_WIRE_MAX];
    if (size > CREQ_WIRE_MAX)
        return 0;
    if (creq_decode(data, size, &q) == 0) {
        size_t n = creq_encode(&q, buf, sizeof buf);
        FZ_CHECK(n == size && memcmp(buf, data, size) == 0);
        FZ_CHECK(creq_decode(buf, n, &q2) == 0 && q2.op == q.op && q2.t == q.t &&
                 q2.s1len == q.s1len && q2.s2len == q.s2len && q.s1len <= CREQ_DATA_MAX);
        FZ_CHECK(creq_op_name(q.op) != NULL);
    }
    if (crep_decode(data, size, &p) == 0) {
        size_t n = crep_encode(&p, buf, sizeof buf);
        FZ_CHECK(n == size && memcmp(buf, data, size) == 0);
        FZ_CHECK(crep_decode(buf, n, &p2) == 0 && p2.code == p.code && p2.dlen == p.dlen);
    }
    struct creq_status s, s2;
    if (creq_status_decode(data, size, &s) == 0) {
        size_t n = creq_status_encode(&s, buf, sizeof buf);
        FZ_CHECK(n == size && memcmp(buf, data, size) == 0);
        FZ_CHECK(creq_status_decode(buf, n, &s2) == 0 && s2.lsn_offset == s.lsn_offset);
    }
    return 0;
}
