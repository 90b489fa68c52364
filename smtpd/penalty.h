/* penalty: the per-session abuse counters of smtpd (pure logic, no I/O). Directory
 * harvesting: RCPTs refused 550 5.1.1 (unknown user) are answered at once three times,
 * then after a growing delay (0.5 s more each time, at most 5 s), and the
 * PENALTY_HARVEST_LIMIT-th closes the session (421).
 * Error limit (Postfix's smtpd_hard_error_limit): other 4xx/5xx replies are counted and
 * the PENALTY_ERROR_LIMIT-th ends the session with 421. A delivery forgives the errors
 * before it, but not RCPTs refused 5xx by policy (relaying denied, authentication
 * required...): those count for the whole session, or a relay prober could send itself
 * one local message now and then and probe forever. session.c does the timing. */
#ifndef MS_PENALTY_H
#define MS_PENALTY_H
#include <stdbool.h>

#define PENALTY_HARVEST_FREE     3      /* unknown recipients answered without delay */
#define PENALTY_HARVEST_LIMIT    10     /* this many unknown recipients: 421 and close */
#define PENALTY_DELAY_UNIT_MS    500    /* first delay (4th unknown); one unit more each time */
#define PENALTY_DELAY_CAP_UNITS  10     /* ... up to 10 units (5 s) */
#define PENALTY_ERROR_LIMIT      20     /* error replies per session, then 421 and close */

enum penalty_action {
    PENALTY_NONE = 0,                   /* answer now */
    PENALTY_DELAY,                      /* answer after the delay */
    PENALTY_DISCONNECT,                 /* answer 421 and close */
};

struct penalty {
    unsigned unknown_rcpts;             /* RCPTs refused 550 5.1.1 in this session */
    unsigned errors;                    /* other error replies since the last delivery */
    unsigned refused_rcpts;             /* RCPTs refused 5xx by policy in this session */
};

/* The delay before answering the N-th unknown recipient (N counted from 1), in ms, with
 * UNIT_MS as the step (0: PENALTY_DELAY_UNIT_MS): 0 for the free ones, then (N - FREE)
 * units, capped at PENALTY_DELAY_CAP_UNITS units. With the real values: the 4th 0.5 s,
 * the 5th 1 s, ..., the 9th 3 s; a harvester loses 10.5 s per 10 guesses. */
unsigned penalty_delay_ms(unsigned n, unsigned unit_ms);

/* Count one unknown recipient; *delay_ms gets the delay for PENALTY_DELAY (else 0). */
enum penalty_action penalty_unknown_rcpt(struct penalty *p, unsigned unit_ms,
                                         unsigned *delay_ms);

/* Count one error reply (CODE 400-599 except 421, which ends the session anyway);
 * true when the limit is reached (errors plus refused RCPTs) and the session must close.
 * Other codes: false. */
bool penalty_error(struct penalty *p, int code);

/* Count a RCPT refused by policy with CODE: 5xx counts as a refused RCPT (kept for the
 * whole session), 4xx as an ordinary error (a store hiccup is forgiven by a delivery).
 * True when the limit is reached, as penalty_error. */
bool penalty_refused_rcpt(struct penalty *p, int code);

/* What counts toward PENALTY_ERROR_LIMIT now: errors since the last delivery plus the
 * refused RCPTs of the session. */
unsigned penalty_error_count(const struct penalty *p);

/* A message was accepted: the ordinary error count starts over (Postfix counts errors
 * "without delivering mail"); refused and unknown recipients stay counted for the whole
 * session. */
void penalty_delivered(struct penalty *p);

#endif
