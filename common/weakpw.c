/* weakpw: password_is_weak (password.h), the policy userdb applies when a password
 * is set: shorter than 8 characters, equal to the local part or the full address
 * in any case, or in the built-in list of common passwords (weakpw_list.h).
 * Pure code: no I/O. */
#include "password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "weakpw_list.h"

#define WEAKPW_MIN_CHARS 8

static int cmp_str(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static bool in_common_list(const char *pw)
{
    char low[64];
    if (strlen(pw) >= sizeof low)   /* no listed password is that long */
        return false;
    str_copy(low, pw, sizeof low);
    str_lower(low);
    return bsearch(low, weakpw_list, WEAKPW_COUNT, sizeof weakpw_list[0], cmp_str) != NULL;
}

static void set_why(char *why, size_t whylen, const char *text)
{
    if (why && whylen)
        str_copy(why, text, whylen);
}

bool password_is_weak(const char *pw, const char *address, char *why, size_t whylen)
{
    if (!pw) {
        set_why(why, whylen, "no password");
        return true;
    }
    if (utf8_chars(pw) < WEAKPW_MIN_CHARS) {
        set_why(why, whylen, "shorter than 8 characters");
        return true;
    }
    if (address && *address) {
        const char *at = strchr(address, '@');
        size_t locallen = at ? (size_t)(at - address) : strlen(address);
        if (strcasecmp(pw, address) == 0 ||
            (strlen(pw) == locallen && strncasecmp(pw, address, locallen) == 0)) {
            set_why(why, whylen, "same as the user name");
            return true;
        }
    }
    if (in_common_list(pw)) {
        set_why(why, whylen, "in the list of common passwords");
        return true;
    }
    set_why(why, whylen, "");
    return false;
}
