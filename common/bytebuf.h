/* bytebuf: bounded big-endian byte writing and reading for the store's records
 * (store_rec.c) and the cluster's channel messages (cluster_req.c). A writer or
 * reader that runs past its buffer (or reads a string too long for its destination)
 * turns bad and stays bad; the caller checks once at the end. Strings are a 16-bit
 * length and the bytes, without a NUL. */
#ifndef MS_BYTEBUF_H
#define MS_BYTEBUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bytes_w { uint8_t *p; size_t len, off; bool bad; };
struct bytes_r { const uint8_t *p; size_t len, off; bool bad; };

void bw_raw(struct bytes_w *w, const void *src, size_t n);
void bw_uint(struct bytes_w *w, uint64_t v, unsigned nbytes);      /* nbytes <= 8 */
void bw_str(struct bytes_w *w, const char *s, size_t max);         /* bad at >= max */
size_t bw_done(const struct bytes_w *w);                           /* 0 when bad */

void br_raw(struct bytes_r *r, void *dst, size_t n);               /* zeroes when bad */
uint64_t br_uint(struct bytes_r *r, unsigned nbytes);              /* 0 when bad */
void br_str(struct bytes_r *r, char *dst, size_t max);             /* "" when bad */
int br_end(const struct bytes_r *r);           /* 0: good and all read, else -1 */

#endif
