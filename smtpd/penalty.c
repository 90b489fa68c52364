/* penalty: the per-session abuse counting and delay rule (see penalty.h). */
#include "penalty.h"

unsigned penalty_delay_ms(unsigned n, unsigned unit_ms)
{
    unsigned unit = unit_ms ? unit_ms : PENALTY_DELAY_UNIT_MS;
    if (n <= PENALTY_HARVEST_FREE)
        return 0;
    unsigned mult = n - PENALTY_HARVEST_FREE;
    if (mult > PENALTY_DELAY_CAP_UNITS)
        mult = PENALTY_DELAY_CAP_UNITS;
    if (unit > 0xFFFFFFFFu / mult)
        return 0xFFFFFFFFu;
    return unit * mult;
}

enum penalty_action penalty_unknown_rcpt(struct penalty *p, unsigned unit_ms,
                                         unsigned *delay_ms)
{
    *delay_ms = 0;
    if (p->unknown_rcpts < 0xFFFFu)
        p->unknown_rcpts++;
    if (p->unknown_rcpts >= PENALTY_HARVEST_LIMIT)
        return PENALTY_DISCONNECT;
    *delay_ms = penalty_delay_ms(p->unknown_rcpts, unit_ms);
    return *delay_ms ? PENALTY_DELAY : PENALTY_NONE;
}

unsigned penalty_error_count(const struct penalty *p)
{
    return p->errors + p->refused_rcpts;
}

bool penalty_error(struct penalty *p, int code)
{
    if (code < 400 || code > 599 || code == 421)
        return false;
    if (p->errors < 0xFFFFu)
        p->errors++;
    return penalty_error_count(p) >= PENALTY_ERROR_LIMIT;
}

bool penalty_refused_rcpt(struct penalty *p, int code)
{
    if (code < 500 || code > 599)
        return penalty_error(p, code);
    if (p->refused_rcpts < 0xFFFFu)
        p->refused_rcpts++;
    return penalty_error_count(p) >= PENALTY_ERROR_LIMIT;
}

void penalty_delivered(struct penalty *p)
{
    p->errors = 0;
}
