/* fuzz_dane: libFuzzer harness for the TLSA records the queue reads for DANE
 * (smtpd/dane.h, dane_tlsa.c): dns_parse_answer on the raw input as a response to a
 * TLSA query, dane_tlsa_collect on what it kept (usable records within bounds and of
 * usage 2 or 3 with digests of the right length), dane_tlsa_parse on the raw input as
 * one RDATA, and the owner name from the input as a host name. */
#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dane.h"
#include "dns.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every kept record must be. */
static void fd_check(const struct dane_tlsa *t)
{
    FZ_CHECK(t->usage == DANE_TA || t->usage == DANE_EE);
    FZ_CHECK(t->selector <= 1 && t->mtype <= 2);
    FZ_CHECK(t->len > 0 && t->len <= DANE_DATA_MAX);
    FZ_CHECK(t->mtype != 1 || t->len == 32);
    FZ_CHECK(t->mtype != 2 || t->len == 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dns_answer a;
    struct dane_tlsa_set *set = malloc(sizeof *set);
    if (!set)
        abort();
    if (dns_parse_answer(data, size, ns_t_tlsa, &a) == 0 && a.status == DNS_OK) {
        dane_tlsa_collect(&a, set);
        FZ_CHECK(set->n + set->unusable == a.n);
        FZ_CHECK(set->n <= DANE_TLSA_MAX);
        FZ_CHECK(set->state == (set->n ? DANE_USABLE : DANE_TLS_ONLY));
        for (size_t i = 0; i < set->n; i++)
            fd_check(&set->r[i]);
    }
    int r = dane_tlsa_parse(data, size, &set->r[0]);
    FZ_CHECK(r >= -1 && r <= 1);
    FZ_CHECK((r == -1) == (size < 3));
    if (r == 1) {
        fd_check(&set->r[0]);
        FZ_CHECK(memcmp(set->r[0].data, data + 3, set->r[0].len) == 0);
    }
    free(set);
    char *host = fz_strndup(data, size);
    char name[DNS_NAME_MAX + 16];
    if (dane_tlsa_name(host, 25, name, sizeof name) == 0)
        FZ_CHECK(strncmp(name, "_25._tcp.", 9) == 0 && strlen(name) < sizeof name);
    free(host);
    return 0;
}
