/* fuzz_util: helpers shared by the libFuzzer harnesses in tests/fuzz/ (a NUL-terminated
 * copy of the input, an invariant check that aborts so libFuzzer records the input).
 * Header-only so each harness can also be #included by tests/unit/test_fuzz_regress.c. */
#ifndef MS_FUZZ_UTIL_H
#define MS_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond)                                                              \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* malloc'ed copy of data with a NUL appended (embedded NULs stay); never NULL. */
static inline char *fz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Is s NUL-terminated within n bytes? */
static inline int fz_terminated(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

#endif
