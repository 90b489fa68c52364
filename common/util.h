/* util: small string helpers shared by every module (bounded copies, case, trimming). */
#ifndef MS_UTIL_H
#define MS_UTIL_H
#include <stdbool.h>
#include <stddef.h>

/* Copy src into dst (size n), always NUL-terminated; returns strlen(src) (truncated if >= n). */
size_t str_copy(char *dst, const char *src, size_t n);
/* Lower-case ASCII in place; returns s. */
char *str_lower(char *s);
/* Trim ASCII whitespace at both ends in place; returns the start. */
char *str_trim(char *s);
/* Case-insensitive ASCII equality. */
bool str_ieq(const char *a, const char *b);
/* calloc/strdup that abort on out-of-memory (startup and config code only). */
void *xcalloc(size_t n, size_t m);
char *xstrdup(const char *s);
/* realloc to n elements of size bytes (at least one), aborting on out-of-memory or overflow. */
void *xrealloc_n(void *p, size_t n, size_t size);

#endif
