/* verify.c — digest sets and the comparison table `sluice migrate` prints. */
#include "verify.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void sl_digest_set_init(sl_digest_set *s) { memset(s, 0, sizeof *s); }

void sl_digest_set_free(sl_digest_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].table);
        for (int k = 0; k < s->items[i].npk; k++)
            free(s->items[i].pk[k]);
        free(s->items[i].pk);
    }
    free(s->items);
    sl_digest_set_init(s);
}

sl_digest *sl_digest_find(const sl_digest_set *s, const char *table)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].table, table) == 0)
            return &s->items[i];
    return NULL;
}

sl_digest *sl_digest_get(sl_digest_set *s, const char *table, const sl_table_schema *schema)
{
    sl_digest *d = sl_digest_find(s, table);
    if (d)
        return d;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        sl_digest *items = realloc(s->items, cap * sizeof *items);
        if (!items)
            return NULL;
        s->items = items;
        s->cap = cap;
    }
    d = &s->items[s->n];
    memset(d, 0, sizeof *d);
    d->table = strdup(table);
    if (!d->table)
        return NULL;
    if (schema && schema->npk) {
        d->pk = calloc((size_t)schema->npk, sizeof *d->pk);
        if (!d->pk) {
            free(d->table);
            return NULL;
        }
        for (int k = 0; k < schema->npk; k++)
            d->pk[k] = strdup(schema->cols[schema->pk[k]].name);
        d->npk = schema->npk;
    }
    s->n++;
    return d;
}

uint64_t sl_digest_hash(const char *p, size_t n)
{
    /* FNV-1a then a final mix, so sums of similar rows spread */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

int sl_digest_compare(FILE *out, const sl_digest_set *source, const sl_digest_set *sink)
{
    size_t w = 5;
    for (size_t i = 0; i < source->n; i++)
        if (strlen(source->items[i].table) > w)
            w = strlen(source->items[i].table);
    fprintf(out, "\n%-*s  %12s  %12s  %-16s  %-16s  %s\n", (int)w, "table", "source rows", "sink rows",
            "source checksum", "sink checksum", "result");
    int bad = 0;
    for (size_t i = 0; i < source->n; i++) {
        const sl_digest *a = &source->items[i];
        const sl_digest *b = sl_digest_find(sink, a->table);
        uint64_t rows = b ? b->rows : 0, sum = b ? b->sum : 0;
        int ok = rows == a->rows && sum == a->sum;
        bad += !ok;
        fprintf(out, "%-*s  %12" PRIu64 "  %12" PRIu64 "  %016" PRIx64 "  %016" PRIx64 "  %s\n", (int)w, a->table,
                a->rows, rows, a->sum, sum, ok ? "ok" : rows != a->rows ? "MISMATCH (rows)" : "MISMATCH (values)");
    }
    for (size_t i = 0; i < sink->n; i++) {
        const sl_digest *b = &sink->items[i];
        if (sl_digest_find(source, b->table))
            continue;
        fprintf(out, "%-*s  %12s  %12" PRIu64 "  %16s  %016" PRIx64 "  %s\n", (int)w, b->table, "-", b->rows, "-",
                b->sum, b->rows ? "MISMATCH (not in source)" : "ok");
        bad += b->rows != 0;
    }
    return bad;
}
