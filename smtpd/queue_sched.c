/* queue_sched: pure scheduling rules of the queue runner (see queue_sched.h). */
#include "queue_sched.h"

#include "queue_run.h"

static unsigned limit_total(const struct qsched_limits *lim)
{
    unsigned t = lim->total ? lim->total : 1;
    return t < QSCHED_MAX_CONNS ? t : QSCHED_MAX_CONNS;
}

unsigned qsched_wanted(const struct qsched_view *v, const struct qsched_limits *lim)
{
    if (v->waiting == 0)
        return 0;
    if (!v->resolved)
        return 1;
    unsigned cap = lim->per_dest ? lim->per_dest : 1;
    if (v->lowered && v->lowered < cap)
        cap = v->lowered;
    size_t want = (v->waiting + QSCHED_MSGS_PER_CONN - 1) / QSCHED_MSGS_PER_CONN;
    if (want < v->active)
        want = v->active;
    return want < cap ? (unsigned)want : cap;
}

unsigned qsched_plan(const struct qsched_view *v, size_t n, unsigned active,
                     const struct qsched_limits *lim, size_t rr, unsigned *start)
{
    unsigned total = limit_total(lim), planned = 0;
    for (size_t i = 0; i < n; i++)
        start[i] = 0;
    if (n == 0)
        return 0;
    bool more = true;
    while (more && active + planned < total) {
        more = false;
        for (size_t k = 0; k < n && active + planned < total; k++) {
            size_t i = (rr + k) % n;
            if (v[i].active + start[i] < qsched_wanted(&v[i], lim)) {
                start[i]++;
                planned++;
                more = true;
            }
        }
    }
    return planned;
}

int64_t qsched_retry_at(unsigned retry, unsigned attempts, int64_t ended)
{
    return ended + qrun_backoff(retry, attempts ? attempts : 1);
}
