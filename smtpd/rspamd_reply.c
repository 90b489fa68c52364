/* rspamd_reply: rspamd's JSON answer and the action mapping. See the header. */
#include "rspamd_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {
    [RSPAMD_NO_ACTION] = "no action", [RSPAMD_GREYLIST] = "greylist",
    [RSPAMD_ADD_HEADER] = "add header", [RSPAMD_REWRITE_SUBJECT] = "rewrite subject",
    [RSPAMD_SOFT_REJECT] = "soft reject", [RSPAMD_REJECT] = "reject",
    [RSPAMD_FAILED] = "failed",
};

const char *rspamd_action_name(enum rspamd_action a)
{
    return (unsigned)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "?";
}

static double number(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

int rspamd_parse_reply(const char *body, size_t len, struct rspamd_result *out)
{
    out->action = RSPAMD_FAILED;
    out->score = out->required = 0.0;
    if (!body || len == 0 || len > RSPAMD_REPLY_MAX)
        return -1;
    json_error_t err;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return -1;
    int rc = -1;
    const char *a = json_is_object(root) ? json_string_value(json_object_get(root, "action"))
                                         : NULL;
    for (size_t i = 0; a && i < RSPAMD_FAILED; i++) {
        if (strcmp(a, action_names[i]) == 0) {
            out->action = (enum rspamd_action)i;
            out->score = number(root, "score");
            out->required = number(root, "required_score");
            rc = 0;
            break;
        }
    }
    json_decref(root);
    return rc;
}

void rspamd_map(const struct rspamd_result *r, bool tempfail, struct rspamd_outcome *o)
{
    memset(o, 0, sizeof *o);
    switch (r->action) {
    case RSPAMD_REJECT:
        o->code = 550, o->enh = "5.7.1", o->text = "Message rejected as spam";
        break;
    case RSPAMD_SOFT_REJECT:
    case RSPAMD_GREYLIST:
        o->code = 451, o->enh = "4.7.1", o->text = "Message deferred by the content filter, try again later";
        break;
    case RSPAMD_ADD_HEADER:
    case RSPAMD_REWRITE_SUBJECT:     /* the subject is left alone: the header says it */
        (void)snprintf(o->header, sizeof o->header, "X-Spam-Flag: YES");
        (void)snprintf(o->header2, sizeof o->header2, "X-Spam-Score: %.2f / %.2f", r->score,
                       r->required);
        break;
    case RSPAMD_NO_ACTION:
        break;
    case RSPAMD_FAILED:
    default:
        if (tempfail)
            o->code = 451, o->enh = "4.7.1", o->text = "Content filter unavailable, try again later";
        else
            (void)snprintf(o->header, sizeof o->header, "X-Spam-Status: unchecked");
        break;
    }
}
