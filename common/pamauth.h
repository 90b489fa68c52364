/* pamauth: the machine's accounts through Linux-PAM (auth_source = system): one
 * password check per call (pam_start, pam_authenticate, pam_acct_mgmt, pam_end every
 * time: nothing is kept between logins) and the relay group's membership through
 * NSS (getpwnam_r, getgrouplist, getgrnam_r). PAM modules and NSS may block for as
 * long as they like (a network directory, pam_faildelay): worker threads only,
 * never an event loop. Result codes as auth.h's: AUTH_OK, AUTH_FAIL, AUTH_TEMPFAIL. */
#ifndef MS_PAMAUTH_H
#define MS_PAMAUTH_H
#include <stdbool.h>

/* USER's PASSWORD through the PAM service SERVICE (/etc/pam.d/SERVICE): AUTH_OK;
 * AUTH_FAIL for an unknown user, a wrong password or an account PAM refuses;
 * AUTH_TEMPFAIL when PAM itself fails (no such service file counts as a failure, as
 * Linux-PAM falls back to "other"). */
int pamauth_check(const char *service, const char *user, const char *password);

/* Is USER a member of GROUP (primary or supplementary)? 1 yes, 0 no (or no such
 * group), -1 on a lookup error. */
int pamauth_in_group(const char *user, const char *group);

#endif
