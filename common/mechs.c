/* mechs: the SASL mechanism table (mechs.h). */
#include "mechs.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct mech_info table[] = {
    { "SCRAM-SHA-256", MECH_SCRAM_SHA256, false, 2 },   /* client-first, then the proof */
    { "CRAM-MD5", MECH_CRAM_MD5, false, 1 },            /* the answer to the challenge */
    { "LOGIN", MECH_LOGIN, true, 2 },                   /* user name, then password */
    { "PLAIN", MECH_PLAIN, true, 1 },
};
#define NMECHS (sizeof table / sizeof table[0])

const struct mech_info *mech_by_name(const char *name)
{
    for (size_t i = 0; name && i < NMECHS; i++)
        if (str_ieq(name, table[i].name))
            return &table[i];
    return NULL;
}

const struct mech_info *mech_by_bit(unsigned bit)
{
    for (size_t i = 0; i < NMECHS; i++)
        if (table[i].bit == bit)
            return &table[i];
    return NULL;
}

unsigned mech_bit(const char *name)
{
    const struct mech_info *m = mech_by_name(name);
    return m ? m->bit : 0;
}

unsigned mech_plaintext_bits(void)
{
    unsigned bits = 0;
    for (size_t i = 0; i < NMECHS; i++)
        if (table[i].plaintext)
            bits |= table[i].bit;
    return bits;
}

const char *mech_names(unsigned mask, char sep, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < NMECHS && used < len; i++) {
        if (!(mask & table[i].bit))
            continue;
        int w = snprintf(buf + used, len - used, "%.*s%s", used ? 1 : 0, &sep, table[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}
