/* queue_park: what the queue runner remembers of the queue on disk between its reads,
 * so that neither new mail nor room made at a next hop makes it read every envelope again:
 *  - the sorted ids of its last listing ("known": read then, loaded, parked or not due);
 *    a kick (new mail) reads only the envelopes of ids not known yet;
 *  - the parked entries: due, but left on disk because the next hop they wait for already
 *    had QRUN_DEST_BACKLOG messages waiting (or QRUN_MAX_LOADED entries were in memory,
 *    domain ""): their ids by that domain, oldest first, taken back as the hop makes room.
 * Ids only, never envelopes. Pure (no I/O): unit-tested (tests/unit/test_queue_park.c). */
#ifndef MS_QUEUE_PARK_H
#define MS_QUEUE_PARK_H
#include <stdbool.h>
#include <stddef.h>

struct qpark_group {
    char *domain;              /* lower case; "" for the in-memory limit */
    char **ids;                /* ids[head..n), oldest first */
    size_t head, n, cap;
};

struct qpark {
    struct qpark_group *g;
    size_t ng, cap;
    size_t count;              /* parked ids in all */
    char **known;              /* sorted */
    size_t nknown;
};

/* Forget the parked ids (a full read of the queue follows); the known listing stays. */
void qpark_clear(struct qpark *p);
/* Forget everything, free the memory. */
void qpark_free(struct qpark *p);
/* Park a copy of id behind the others waiting for domain. 0, or -1 (no memory). */
int qpark_add(struct qpark *p, const char *domain, const char *id);
size_t qpark_count(const struct qpark *p);
size_t qpark_groups(const struct qpark *p);
const char *qpark_domain(const struct qpark *p, size_t i);
/* The oldest id parked for group i, or NULL; qpark_drop_head forgets it. */
const char *qpark_peek(const struct qpark *p, size_t i);
void qpark_drop_head(struct qpark *p, size_t i);
/* Take over a sorted listing (ids and the array, as queue_list_ids makes them) as the
 * known ids; the previous one is freed. */
void qpark_set_known(struct qpark *p, char **ids, size_t n);
bool qpark_known(const struct qpark *p, const char *id);

#endif
