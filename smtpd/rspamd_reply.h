/* rspamd_reply: the pure part of the content scanner hook (check_rspamd.h): rspamd's
 * /checkv2 JSON answer read into an action and a score (jansson, bounded input), and
 * the SPEC's mapping of an outcome (an action, or the scanner down or too slow) to the
 * end-of-data verdict and its X-Spam-* header. No I/O: unit-tested and fuzzed. */
#ifndef MS_RSPAMD_REPLY_H
#define MS_RSPAMD_REPLY_H
#include <stdbool.h>
#include <stddef.h>

#define RSPAMD_REPLY_MAX (1024 * 1024)   /* a longer answer is an error */
#define RULE_CONTENT_FILTER "content_filter"

enum rspamd_action {
    RSPAMD_NO_ACTION, RSPAMD_GREYLIST, RSPAMD_ADD_HEADER, RSPAMD_REWRITE_SUBJECT,
    RSPAMD_SOFT_REJECT, RSPAMD_REJECT,
    RSPAMD_FAILED                        /* no usable answer: down, slow, bad reply */
};

struct rspamd_result {
    enum rspamd_action action;
    double score, required;
};

/* Parse the body of a 200 answer (LEN octets, not NUL-terminated). 0, or -1 when it is
 * not a JSON object with a known "action" string (score and required_score optional). */
int rspamd_parse_reply(const char *body, size_t len, struct rspamd_result *out);

/* What the end-of-data row answers. */
struct rspamd_outcome {
    int code;                            /* 0: accept; 550 or 451 */
    const char *enh, *text;
    char header[128];                    /* a header line to add ("" none) */
    char header2[64];
};

/* The SPEC's mapping of R (action RSPAMD_FAILED: scanner down or too slow; then
 * TEMPFAIL picks 451 over accepting with X-Spam-Status: unchecked). */
void rspamd_map(const struct rspamd_result *r, bool tempfail, struct rspamd_outcome *o);

const char *rspamd_action_name(enum rspamd_action a);

#endif
