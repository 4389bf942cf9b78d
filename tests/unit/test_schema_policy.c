/* test_schema_policy.c — schema.change.behavior on a table that gains a
 * column, loses one and renames one: what shape and which values reach the
 * sink under exception, ignore, lenient and evolve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/schema_policy.h"

/* shop.t with the named INT columns, key "id" */
static sl_table_schema *shape(const char *cols, uint32_t version)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", cols);
    int n = 1;
    for (const char *p = cols; *p; p++)
        n += *p == ',';
    sl_table_schema *s = sl_schema_new("shop", NULL, "t", n);
    int i = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
        s->cols[i].name = strdup(tok);
        s->cols[i].type_name = strdup("int");
        s->cols[i].kind = SL_INT;
        s->cols[i].is_pk = strcmp(tok, "id") == 0;
    }
    sl_schema_index_pk(s);
    s->version = version;
    return s;
}

static void add(sl_batch *b, char op, const sl_table_schema *s, int64_t base)
{
    sl_event *e = sl_batch_add_event(b, op, s);
    if (op == SL_OP_SCHEMA)
        return;
    sl_value *r = sl_batch_row(b, s->ncols);
    for (int c = 0; c < s->ncols; c++)
        r[c] = sl_val_int(base + c);
    e->after = r;
    b->commit_token = "{}";
    b->commit_count = b->count;
}

/* "s(id,a) r(id=1,a=2) ..." of what the policy lets through */
static void render(const sl_batch *b, char *out, size_t len)
{
    size_t o = 0;
    out[0] = 0;
    for (const sl_event *e = b->head; e; e = e->next) {
        const sl_table_schema *s = e->schema;
        o += (size_t)snprintf(out + o, len - o, "%s%c(", o ? " " : "", e->op);
        for (int c = 0; c < s->ncols; c++) {
            if (e->op == SL_OP_SCHEMA)
                o += (size_t)snprintf(out + o, len - o, "%s%s", c ? "," : "", s->cols[c].name);
            else if (e->after[c].kind == SL_NULL)
                o += (size_t)snprintf(out + o, len - o, "%s%s=null", c ? "," : "", s->cols[c].name);
            else
                o += (size_t)snprintf(out + o, len - o, "%s%s=%lld", c ? "," : "", s->cols[c].name,
                                      (long long)e->after[c].v.i);
        }
        o += (size_t)snprintf(out + o, len - o, ")");
    }
}

/* id,a,b -> id,a,b,c (add c) -> id,b,c (drop a) -> id,b,d (rename c to d) */
static int run_with(int behavior, const char *include, const char *exclude, char *out, size_t len, sl_err *err)
{
    sl_table_schema *v[4] = {shape("id,a,b", 1), shape("id,a,b,c", 2), shape("id,b,c", 3), shape("id,b,d", 4)};
    sl_batch *b = sl_batch_new(NULL);
    for (int i = 0; i < 4; i++) {
        add(b, SL_OP_SCHEMA, v[i], 0);
        add(b, 'c', v[i], 10 * (i + 1));
    }
    sl_schema_policy *p;
    assert_int_equal(sl_schema_policy_new(behavior, include, exclude, &p, err), 0);
    int rc = sl_schema_policy_apply(p, b, err);
    if (!rc)
        render(b, out, len);
    sl_batch_free(b);
    sl_schema_policy_free(p);
    for (int i = 0; i < 4; i++)
        sl_schema_free(v[i]);
    return rc;
}

static int run(int behavior, char *out, size_t len, sl_err *err)
{
    return run_with(behavior, NULL, NULL, out, len, err);
}

static void evolve_passes_every_change(void **state)
{
    char got[512];
    sl_err err;
    assert_int_equal(run(SL_SCB_EVOLVE, got, sizeof got, &err), 0);
    assert_string_equal(got, "s(id,a,b) c(id=10,a=11,b=12) s(id,a,b,c) c(id=20,a=21,b=22,c=23) s(id,b,c) "
                             "c(id=30,b=31,c=32) s(id,b,d) c(id=40,b=41,d=42)");
}

static void ignore_keeps_the_first_shape(void **state)
{
    char got[512];
    sl_err err;
    assert_int_equal(run(SL_SCB_IGNORE, got, sizeof got, &err), 0);
    assert_string_equal(got, "s(id,a,b) c(id=10,a=11,b=12) c(id=20,a=21,b=22) c(id=30,a=null,b=31) "
                             "c(id=40,a=null,b=41)");
}

static void lenient_only_grows(void **state)
{
    char got[512];
    sl_err err;
    assert_int_equal(run(SL_SCB_LENIENT, got, sizeof got, &err), 0);
    /* dropping a makes it nullable: the sink hears of that shape too */
    assert_string_equal(got, "s(id,a,b) c(id=10,a=11,b=12) s(id,a,b,c) c(id=20,a=21,b=22,c=23) s(id,a,b,c) "
                             "c(id=30,a=null,b=31,c=32) s(id,a,b,c,d) c(id=40,a=null,b=41,c=null,d=42)");
}

static void exception_stops_at_the_first_change(void **state)
{
    char got[512];
    sl_err err;
    assert_int_equal(run(SL_SCB_EXCEPTION, got, sizeof got, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "table shop.t changed its schema, which pipeline schema.change.behavior: exception "
                                 "does not allow (use lenient, evolve or ignore to let changes through)");
}

static void per_event_type_control(void **state)
{
    char got[512];
    sl_err err;
    /* Flink's example: column changes and create.table, but no drop.column */
    assert_int_equal(run_with(SL_SCB_EVOLVE, "create.table, column", "drop.column", got, sizeof got, &err), 0);
    assert_string_equal(got, "s(id,a,b) c(id=10,a=11,b=12) s(id,a,b,c) c(id=20,a=21,b=22,c=23) "
                             "c(id=30,a=null,b=31,c=32) s(id,a,b,d) c(id=40,a=null,b=41,d=42)");
    /* only additions: the drop keeps a, the rename keeps c and d is never added */
    assert_int_equal(run_with(SL_SCB_EVOLVE, "add", NULL, got, sizeof got, &err), 0);
    assert_string_equal(got, "s(id,a,b) c(id=10,a=11,b=12) s(id,a,b,c) c(id=20,a=21,b=22,c=23) "
                             "c(id=30,a=null,b=31,c=32) c(id=40,a=null,b=41,c=null)");
    sl_schema_policy *p;
    assert_int_equal(sl_schema_policy_new(SL_SCB_EVOLVE, "add.colum", NULL, &p, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "include.schema.changes: 'add.colum' is not a schema change type (add.column, "
                                 "alter.column.type, create.table, drop.column, drop.table, rename.column, "
                                 "truncate.table, or a part such as drop)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(evolve_passes_every_change),
        cmocka_unit_test(ignore_keeps_the_first_shape),
        cmocka_unit_test(lenient_only_grows),
        cmocka_unit_test(exception_stops_at_the_first_change),
        cmocka_unit_test(per_event_type_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
