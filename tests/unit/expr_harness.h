/* expr_harness.h — evaluates one transform expression against a fixed row
 * and renders the result as "TYPE|text", so the test files of the
 * expression engine read as tables of Flink's documented results.
 *
 * The row (table shop.t):
 *   i INT 7, big BIGINT 9000000000, s VARCHAR 'Hello', e VARCHAR '',
 *   n VARCHAR NULL, ni INT NULL, d DECIMAL(10,2) 12.34, f DOUBLE 1.5,
 *   dt DATE 2024-02-29, ts DATETIME(3) 2024-03-10 01:30:00.250,
 *   ltz TIMESTAMP(3) 2023-12-31T16:30:00Z, tm TIME 23:58:57,
 *   u BIGINT UNSIGNED 18446744073709551615, b BOOLEAN true, neg INT -5,
 *   imin INT -2147483648
 * The clock reads 2024-01-15T10:20:30.123Z. Results: "INT|8", "STRING|ab",
 * "INT|NULL"; a binding error "BIND:<message>", an evaluation error
 * "EVAL:<message>".
 */
#ifndef SL_EXPR_HARNESS_H
#define SL_EXPR_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/value.h"
#include "../../pipeline/expr/expr.h"

static const char *harness_tz = "UTC";

static sl_table_schema *harness_schema(void)
{
    static const struct {
        const char *name, *type;
        uint8_t kind;
        int prec, scale, uns;
    } cols[] = {
        {"i", "int", SL_INT, 0, 0, 0},           {"big", "bigint", SL_INT, 0, 0, 0},
        {"s", "varchar(20)", SL_STRING, 20, 0, 0}, {"e", "varchar(20)", SL_STRING, 20, 0, 0},
        {"n", "varchar(20)", SL_STRING, 20, 0, 0}, {"ni", "int", SL_INT, 0, 0, 0},
        {"d", "decimal(10,2)", SL_DECIMAL, 10, 2, 0}, {"f", "double", SL_DOUBLE, 0, 0, 0},
        {"dt", "date", SL_DATE, 0, 0, 0},        {"ts", "datetime(3)", SL_DATETIME, 0, 3, 0},
        {"ltz", "timestamp(3)", SL_TIMESTAMP, 0, 3, 0}, {"tm", "time", SL_TIME, 0, 0, 0},
        {"u", "bigint unsigned", SL_UINT, 0, 0, 1}, {"b", "tinyint(1)", SL_BOOL, 0, 0, 0},
        {"neg", "int", SL_INT, 0, 0, 0},         {"imin", "int", SL_INT, 0, 0, 0},
    };
    int n = (int)(sizeof cols / sizeof cols[0]);
    sl_table_schema *s = sl_schema_new("shop", NULL, "t", n);
    for (int i = 0; i < n; i++) {
        s->cols[i].name = strdup(cols[i].name);
        s->cols[i].type_name = strdup(cols[i].type);
        s->cols[i].kind = cols[i].kind;
        s->cols[i].precision = (uint16_t)cols[i].prec;
        s->cols[i].scale = (uint16_t)cols[i].scale;
        s->cols[i].is_unsigned = (uint8_t)cols[i].uns;
        s->cols[i].nullable = 1;
    }
    return s;
}

static void harness_row(sl_value *r)
{
    memset(r, 0, 16 * sizeof *r);
    r[0] = sl_val_int(7);
    r[1] = sl_val_int(9000000000LL);
    r[2] = sl_val_text(SL_STRING, "Hello", 5);
    r[3] = sl_val_text(SL_STRING, "", 0);
    r[4] = sl_val_null();
    r[5] = sl_val_null();
    r[6] = sl_val_text(SL_DECIMAL, "12.34", 5);
    r[7].kind = SL_DOUBLE;
    r[7].v.d = 1.5;
    r[8].kind = SL_DATE;
    r[8].v.i = sl_days_from_civil(2024, 2, 29);
    r[9].kind = SL_DATETIME;
    r[9].v.i = sl_days_from_civil(2024, 3, 10) * 86400000000LL + (90 * 60) * 1000000LL + 250000;
    r[10].kind = SL_TIMESTAMP;
    r[10].v.i = sl_days_from_civil(2023, 12, 31) * 86400000000LL + (16 * 3600 + 30 * 60) * 1000000LL;
    r[11].kind = SL_TIME;
    r[11].v.i = (23 * 3600 + 58 * 60 + 57) * 1000000LL;
    r[12] = sl_val_uint(UINT64_MAX);
    r[13].kind = SL_BOOL;
    r[13].v.i = 1;
    r[14] = sl_val_int(-5);
    r[15] = sl_val_int(INT32_MIN);
}

/* evaluates text (a filter-style expression); the result is malloc'd */
static char *ev(const char *text)
{
    char why[400], *res = malloc(1024);
    int pos;
    pnode *p;
    if (xparse_expr(text, &p, &pos, why, sizeof why)) {
        snprintf(res, 1024, "PARSE:%s", why);
        return res;
    }
    sl_table_schema *s = harness_schema();
    xrt rt = {0};
    rt.decimal_max = 19;
    if (xtz_open(harness_tz, &rt.tz, why, sizeof why)) {
        snprintf(res, 1024, "TZ:%s", why);
        pnode_free(p);
        sl_schema_free(s);
        return res;
    }
    xscope sc = {.in = s, .metadata_list = "op_ts"};
    xbinding b;
    xbinding_init(&b);
    xnode *n;
    if (xbind(p, &sc, &rt, &b, &n, &pos, why, sizeof why)) {
        snprintf(res, 1024, "BIND:%s", why);
    } else {
        sl_value row[16];
        harness_row(row);
        sl_arena arena;
        sl_arena_init(&arena);
        xctx c = {.in = row, .op = "+I", .arena = &arena, .rt = &rt};
        c.now_ms = sl_days_from_civil(2024, 1, 15) * 86400000LL + ((10 * 60 + 20) * 60 + 30) * 1000LL + 123;
        xval v;
        xeval(n, &c, &v);
        char tname[48], txt[600];
        xt_name(n->type, tname, sizeof tname);
        if (c.rc) {
            snprintf(res, 1024, "EVAL:%s", c.msg);
        } else if (v.null) {
            snprintf(res, 1024, "%s|NULL", tname);
        } else if (xt_is_string(n->type.t) || xt_is_binary(n->type.t)) {
            snprintf(res, 1024, "%s|%.*s", tname, (int)v.u.s.n, v.u.s.p);
        } else {
            x_to_text(&c, n->type, &v, txt, sizeof txt);
            snprintf(res, 1024, "%s|%s", tname, txt);
        }
        sl_arena_free(&arena);
    }
    xbinding_free(&b);
    xtz_free(rt.tz);
    pnode_free(p);
    sl_schema_free(s);
    return res;
}

typedef struct xcase {
    const char *expr, *want;
} xcase;

/* runs a table of cases; prints every mismatch, then fails once */
static int run_cases(const xcase *cs, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char *got = ev(cs[i].expr);
        if (strcmp(got, cs[i].want) != 0) {
            fprintf(stderr, "  %-50s got %s\n  %-50s want %s\n", cs[i].expr, got, "", cs[i].want);
            bad++;
        }
        free(got);
    }
    return bad;
}

#define RUN(cases) assert_int_equal(run_cases(cases, sizeof cases / sizeof cases[0]), 0)

#endif
