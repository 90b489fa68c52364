/* pamauth: Linux-PAM password checks and NSS group membership (pamauth.h). */
#include "pamauth.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"

/* The conversation: every prompt that hides its echo gets the password (pam_unix and
 * pam_userdb ask once); a prompt that echoes gets the user name; messages are
 * ignored. The answers are malloc()ed: PAM frees them. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    const char *const *cred = data;   /* { user, password } */
    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        const char *answer = NULL;
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
            answer = cred[1];
        else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
            answer = cred[0];
        if (answer && !(r[i].resp = strdup(answer))) {
            for (int j = 0; j < i; j++) {
                if (r[j].resp) {
                    explicit_bzero(r[j].resp, strlen(r[j].resp));
                    free(r[j].resp);
                }
            }
            free(r);
            return PAM_BUF_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

int pamauth_check(const char *service, const char *user, const char *password)
{
    const char *cred[2] = { user, password ? password : "" };
    struct pam_conv pc = { conv, cred };
    pam_handle_t *ph = NULL;
    if (!service || !user || !*user)
        return AUTH_FAIL;
    int rc = pam_start(service, user, &pc, &ph);
    if (rc != PAM_SUCCESS) {
        log_err("pam: pam_start(%s): %s", service, pam_strerror(ph, rc));
        if (ph)
            (void)pam_end(ph, rc);
        return AUTH_TEMPFAIL;
    }
    rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_SUCCESS)
        rc = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    int result = AUTH_FAIL;
    if (rc == PAM_SUCCESS)
        result = AUTH_OK;
    else if (rc == PAM_BUF_ERR || rc == PAM_SYSTEM_ERR || rc == PAM_AUTHINFO_UNAVAIL ||
             rc == PAM_CONV_ERR)
        result = AUTH_TEMPFAIL;
    if (result != AUTH_OK)
        log_debug("pam: service=%s: %s", service, pam_strerror(ph, rc));
    if (result == AUTH_TEMPFAIL)
        log_warn("pam: service=%s: %s", service, pam_strerror(ph, rc));
    (void)pam_end(ph, rc);            /* every time: no state lives on between logins */
    return result;
}

/* A buffer for the *_r lookups: sysconf's hint, doubled on ERANGE. */
#define NSS_BUF_MAX (1u << 20)

static int group_gid(const char *group, gid_t *gid, char ***members, char **buf)
{
    struct group gr, *res = NULL;
    size_t len = 4096;
    for (;;) {
        char *b = realloc(*buf, len);
        if (!b)
            return -1;
        *buf = b;
        int e = getgrnam_r(group, &gr, b, len, &res);
        if (e == ERANGE && len < NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        if (e != 0 && e != ENOENT && e != ESRCH)
            return -1;
        if (!res)
            return 0;
        *gid = gr.gr_gid;
        *members = gr.gr_mem;
        return 1;
    }
}

/* The primary group of USER: 1 found, 0 no such user, -1 error. */
static int user_gid(const char *user, gid_t *gid)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int e = getpwnam_r(user, &pw, buf, sizeof buf, &res);
    if (e != 0 && e != ENOENT && e != ESRCH)
        return -1;
    if (!res)
        return 0;
    *gid = pw.pw_gid;
    return 1;
}

int pamauth_in_group(const char *user, const char *group)
{
    gid_t want = 0, primary = 0;
    char **members = NULL, *gbuf = NULL;
    int found = group_gid(group, &want, &members, &gbuf);
    int rc = found < 0 ? -1 : 0;
    for (char **m = members; found > 0 && m && *m && rc == 0; m++)
        rc = strcmp(*m, user) == 0;
    int u = found > 0 && rc == 0 ? user_gid(user, &primary) : 0;
    if (u < 0) {
        rc = -1;
    } else if (u > 0) {
        int n = 64;
        gid_t *gl = calloc((size_t)n, sizeof *gl);
        if (gl && getgrouplist(user, primary, gl, &n) < 0 && n > 64) {
            gid_t *more = realloc(gl, (size_t)n * sizeof *gl);
            if (!more || getgrouplist(user, primary, more, &n) < 0)
                n = 0;
            gl = more ? more : gl;
        }
        if (!gl)
            rc = -1;
        for (int i = 0; gl && i < n && rc == 0; i++)
            rc = gl[i] == want;
        free(gl);
    }
    free(gbuf);
    return rc;
}
