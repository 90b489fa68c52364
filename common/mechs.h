/* mechs: the one table of the SASL mechanisms we offer (SMTP AUTH, POP3 AUTH, the
 * auth_mechanisms key, --check-config, the glue's mech_list): name, MECH_* bit,
 * whether it sends the password itself (LOGIN, PLAIN: plaintext_auth applies) and
 * which client message carries the credentials (there the lockout gate runs,
 * sasl_glue.c). A new mechanism is one row here (and its Cyrus plugin). Pure code. */
#ifndef MS_MECHS_H
#define MS_MECHS_H
#include <stdbool.h>
#include <stddef.h>

/* SASL mechanism bits (auth_mechanisms, offered sets); table order is canonical order. */
#define MECH_SCRAM_SHA256 0x01u
#define MECH_CRAM_MD5     0x02u
#define MECH_LOGIN        0x04u
#define MECH_PLAIN        0x08u
#define MECH_ALL          0x0fu

struct mech_info {
    const char *name;        /* the IANA name, upper case */
    unsigned bit;            /* MECH_* */
    bool plaintext;          /* the password itself goes over the wire */
    unsigned verify_msg;     /* 1-based client message that carries the credentials */
};

/* The row for a name (case-insensitive), or NULL. */
const struct mech_info *mech_by_name(const char *name);
/* The row for one MECH_* bit, or NULL. */
const struct mech_info *mech_by_bit(unsigned bit);
/* MECH_* bit for a name (case-insensitive), 0 if unknown. */
unsigned mech_bit(const char *name);
/* The bits of the plaintext mechanisms (LOGIN, PLAIN). */
unsigned mech_plaintext_bits(void);
/* Names of the mechanisms in MASK in canonical order, separated by SEP, into buf
 * (truncated to fit, always NUL-terminated when len > 0); returns buf. */
const char *mech_names(unsigned mask, char sep, char *buf, size_t len);

#endif
