/* check_rspamd: the content scanner hook (SPEC "Anti-spam on an instance",
 * content_filter = rspamd:IP:PORT): an end-of-data row that POSTs the stored message
 * to rspamd's /checkv2 with its envelope (IP, Helo, From, Rcpt, User, Queue-Id) over
 * libevent's evhttp client on the session's loop (no thread held: the row answers
 * later through checks_resume), with content_filter_timeout as a timer on the loop.
 * The answer is read and mapped by rspamd_reply.h; X-Spam-Flag and X-Spam-Score are
 * two headers, so a second row (check_rspamd_score) adds the score. Exempt clients
 * (antispam.h) are not scanned. */
#ifndef MS_CHECK_RSPAMD_H
#define MS_CHECK_RSPAMD_H
#include "checks.h"
#include "rspamd_reply.h"

#define RULE_CONTENT_FILTER_SCORE "content_filter_score"

struct antispam_client;

enum check_status check_rspamd(struct check_run *run, struct check_verdict *v);
enum check_status check_rspamd_score(struct check_run *run, struct check_verdict *v);
/* The session ends while a scan is in flight: cancel it (nothing is answered). */
void rspamd_abort(struct antispam_client *as);

#endif
