/* twire.h: DNS answers in wire format built by hand, for the unit tests of the code that
 * reads them (dns_parse_answer, the SPF DNS layer, DKIM and DMARC records, MX): a
 * buffer, big-endian puts, names as labels, the header with its one question, and a
 * record owned by the question's name. */
#ifndef MS_TEST_TWIRE_H
#define MS_TEST_TWIRE_H
#include <arpa/nameser.h>
#include <string.h>

struct wire {
    unsigned char b[8192];
    size_t n;
};

static inline void tw_put8(struct wire *w, unsigned v) { w->b[w->n++] = (unsigned char)v; }
static inline void tw_put16(struct wire *w, unsigned v) { tw_put8(w, v >> 8); tw_put8(w, v & 0xff); }
static inline void tw_put32(struct wire *w, unsigned v) { tw_put16(w, v >> 16); tw_put16(w, v & 0xffff); }
static inline void tw_putn(struct wire *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* "mx1.example.net" as labels and the root's 0; "" is the root alone. */
static inline void tw_name(struct wire *w, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        tw_put8(w, (unsigned)len);
        tw_putn(w, name, len);
        name += len;
        if (*name == '.')
            name++;
    }
    tw_put8(w, 0);
}

/* The header of a response (QR RD RA and RCODE) with one question, QNAME TYPE IN, its
 * name at offset 12 (the pointer 0xc00c); AN answer and NS authority records follow. */
static inline void tw_start(struct wire *w, const char *qname, unsigned type, unsigned rcode,
                            unsigned an, unsigned ns)
{
    w->n = 0;
    tw_put16(w, 0x4242);
    tw_put16(w, 0x8180 | rcode);
    tw_put16(w, 1);
    tw_put16(w, an);
    tw_put16(w, ns);
    tw_put16(w, 0);
    tw_name(w, qname);
    tw_put16(w, type);
    tw_put16(w, ns_c_in);
}

/* A record of the question's name: TYPE IN, TTL, and its N octets of RDATA. */
static inline void tw_rr(struct wire *w, unsigned type, unsigned ttl, const void *data, size_t n)
{
    tw_put16(w, 0xc00c);
    tw_put16(w, type);
    tw_put16(w, ns_c_in);
    tw_put32(w, ttl);
    tw_put16(w, (unsigned)n);
    tw_putn(w, data, n);
}

#endif
