/* queue_park: the queue runner's known ids and parked entries (see queue_park.h). */
#include "queue_park.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static void group_free(struct qpark_group *g)
{
    for (size_t i = g->head; i < g->n; i++)
        free(g->ids[i]);
    free(g->ids);
    free(g->domain);
}

void qpark_clear(struct qpark *p)
{
    for (size_t i = 0; i < p->ng; i++)
        group_free(&p->g[i]);
    free(p->g);
    p->g = NULL;
    p->ng = p->cap = p->count = 0;
}

void qpark_free(struct qpark *p)
{
    qpark_clear(p);
    qpark_set_known(p, NULL, 0);
}

static struct qpark_group *group_of(struct qpark *p, const char *domain)
{
    for (size_t i = 0; i < p->ng; i++)
        if (str_ieq(p->g[i].domain, domain))
            return &p->g[i];
    if (p->ng == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        struct qpark_group *v = realloc(p->g, nc * sizeof *v);
        if (!v)
            return NULL;
        p->g = v;
        p->cap = nc;
    }
    struct qpark_group *g = &p->g[p->ng];
    memset(g, 0, sizeof *g);
    if (!(g->domain = strdup(domain)))
        return NULL;
    str_lower(g->domain);
    p->ng++;
    return g;
}

int qpark_add(struct qpark *p, const char *domain, const char *id)
{
    struct qpark_group *g = group_of(p, domain);
    if (!g)
        return -1;
    if (g->head > 0 && g->head == g->n)      /* emptied: start over at the front */
        g->head = g->n = 0;
    if (g->n == g->cap) {
        if (g->head > 0) {                   /* room at the front: move down */
            memmove(g->ids, g->ids + g->head, (g->n - g->head) * sizeof *g->ids);
            g->n -= g->head;
            g->head = 0;
        } else {
            size_t nc = g->cap ? g->cap * 2 : 16;
            char **v = realloc(g->ids, nc * sizeof *v);
            if (!v)
                return -1;
            g->ids = v;
            g->cap = nc;
        }
    }
    if (!(g->ids[g->n] = strdup(id)))
        return -1;
    g->n++;
    p->count++;
    return 0;
}

size_t qpark_count(const struct qpark *p) { return p->count; }

size_t qpark_groups(const struct qpark *p) { return p->ng; }

const char *qpark_domain(const struct qpark *p, size_t i) { return i < p->ng ? p->g[i].domain : ""; }

const char *qpark_peek(const struct qpark *p, size_t i)
{
    return i < p->ng && p->g[i].head < p->g[i].n ? p->g[i].ids[p->g[i].head] : NULL;
}

void qpark_drop_head(struct qpark *p, size_t i)
{
    if (i >= p->ng || p->g[i].head >= p->g[i].n)
        return;
    struct qpark_group *g = &p->g[i];
    free(g->ids[g->head]);
    g->ids[g->head++] = NULL;
    p->count--;
}

void qpark_set_known(struct qpark *p, char **ids, size_t n)
{
    for (size_t i = 0; i < p->nknown; i++)
        free(p->known[i]);
    free(p->known);
    p->known = ids;
    p->nknown = ids ? n : 0;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool qpark_known(const struct qpark *p, const char *id)
{
    return p->nknown && bsearch(&id, p->known, p->nknown, sizeof *p->known, cmp_id) != NULL;
}
