/* test_mysql8_partial_json.c — PARTIAL_UPDATE_ROWS_EVENT
 * (binlog_row_value_options=PARTIAL_JSON), on byte vectors built here
 * from MySQL's source (no MySQL 8 server installs from the reachable
 * registries):
 *  - the after image: value_options (net_field_length; 1 =
 *    PARTIAL_JSON), then one partial bit per JSON column of the table
 *    (sql/rpl_record.cc: pack_row, start_partial_bit_reader), then null
 *    bits and values as in UPDATE_ROWS_EVENT; a JSON column with its
 *    partial bit set holds, after its 4-byte length, the diffs
 *    (sql/json_diff.cc: Json_diff_vector::write_binary / read_binary;
 *    sql/log_event.cc: log_event_print_value for MYSQL_TYPE_JSON);
 *  - a diff: operation byte (sql/json_diff.h: REPLACE 0, INSERT 1,
 *    REMOVE 2), path length (net_field_length) and path text
 *    (sql/json_path.cc), then unless REMOVE the value length and the value
 *    in binary JSON (sql-common/json_binary.cc: small objects and arrays
 *    with 16-bit offsets, int16 and literals inlined in their entry);
 *  - what each operation means: apply_json_diffs and seek_exact_path in
 *    sql/json_diff.cc; object members ordered by key length, then bytes
 *    (sql/json_dom.h, Json_key_comparator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../core/arena.h"
#include "../../sources/mysql/binlog_decode.h"
#include "binlog_bytes.h"

/* binary JSON: a value is its type byte and its body */
typedef struct jv {
    int type;
    vec body;
} jv;

static jv j_int(int16_t x)
{
    jv v = {5, {0}};
    put_le(&v.body, (uint16_t)x, 2);
    return v;
}

static jv j_lit(int lit) /* 0 null, 1 true, 2 false */
{
    jv v = {4, {0}};
    put8(&v.body, (uint8_t)lit);
    return v;
}

static jv j_str(const char *s)
{
    jv v = {12, {0}};
    put8(&v.body, (uint8_t)strlen(s)); /* one varlen byte: shorter than 128 */
    put(&v.body, s, strlen(s));
    return v;
}

/* a small object (keys given in MySQL's order) or array */
static jv j_box(int is_obj, int n, const char **keys, jv *vals)
{
    size_t hdr = 4 + (is_obj ? (size_t)n * 4 : 0) + (size_t)n * 3, at = hdr;
    for (int i = 0; is_obj && i < n; i++)
        at += strlen(keys[i]);
    jv v = {is_obj ? 0 : 2, {0}};
    vec tail = {0};
    put_le(&v.body, (uint64_t)n, 2);
    size_t size = at;
    for (int i = 0; i < n; i++)
        if (vals[i].type != 4 && vals[i].type != 5)
            size += vals[i].body.n;
    put_le(&v.body, size, 2);
    size_t koff = hdr;
    for (int i = 0; is_obj && i < n; i++) {
        put_le(&v.body, koff, 2);
        put_le(&v.body, strlen(keys[i]), 2);
        koff += strlen(keys[i]);
    }
    for (int i = 0; i < n; i++) {
        put8(&v.body, (uint8_t)vals[i].type);
        if (vals[i].type == 4 || vals[i].type == 5) {
            put(&v.body, vals[i].body.p, vals[i].body.n);
            if (vals[i].body.n == 1)
                put8(&v.body, 0);
        } else {
            put_le(&v.body, at, 2);
            at += vals[i].body.n;
            put(&tail, vals[i].body.p, vals[i].body.n);
        }
    }
    for (int i = 0; is_obj && i < n; i++)
        put(&v.body, keys[i], strlen(keys[i]));
    if (tail.n)
        put(&v.body, tail.p, tail.n);
    free(tail.p);
    return v;
}

static void put_json(vec *v, jv *j)
{
    put8(v, (uint8_t)j->type);
    put(v, j->body.p, j->body.n);
}

/* {"k": 1, "arr": [1, 2, 3], "obj": {"x": "y"}} */
static jv before_doc(void)
{
    jv arr[3] = {j_int(1), j_int(2), j_int(3)};
    jv inner[1] = {j_str("y")};
    const char *ik[] = {"x"};
    jv vals[3] = {j_int(1), j_box(0, 3, NULL, arr), j_box(1, 1, ik, inner)};
    const char *keys[] = {"k", "arr", "obj"};
    return j_box(1, 3, keys, vals);
}

enum { REPLACE = 0, INSERT = 1, REMOVE = 2 };

static void diff(vec *v, int op, const char *path, jv *val)
{
    put8(v, (uint8_t)op);
    put8(v, (uint8_t)strlen(path));
    put(v, path, strlen(path));
    if (val) {
        put8(v, (uint8_t)(1 + val->body.n));
        put_json(v, val);
    }
}

static char why[320];

/* the before document with the diffs applied, or NULL (why says) */
static const char *apply(sl_arena *a, const vec *d)
{
    jv b = before_doc();
    vec bin = {0};
    put_json(&bin, &b);
    const char *out = NULL;
    uint32_t len;
    why[0] = 0;
    int rc = sl_mysql_json_apply_diff(bin.p, bin.n, d->p, d->n, "a", a, &out, &len, why, sizeof why);
    free(bin.p);
    return rc ? NULL : sl_arena_strndup(a, out, len); /* the value is not NUL-terminated */
}

static void the_before_document_prints_as_mysql_prints_it(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    vec none = {0};
    assert_string_equal(apply(&a, &none), "{\"k\": 1, \"arr\": [1, 2, 3], \"obj\": {\"x\": \"y\"}}");
    sl_arena_free(&a);
}

static void every_operation(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    vec d = {0};
    jv v = j_str("v");
    diff(&d, REPLACE, "$.k", &v);
    assert_string_equal(apply(&a, &d), "{\"k\": \"v\", \"arr\": [1, 2, 3], \"obj\": {\"x\": \"y\"}}");
    d.n = 0;
    /* a new member goes where MySQL orders it: "zz" (2 bytes) after "k",
     * before the 3-byte keys */
    jv t = j_lit(1);
    diff(&d, INSERT, "$.zz", &t);
    assert_string_equal(apply(&a, &d), "{\"k\": 1, \"zz\": true, \"arr\": [1, 2, 3], \"obj\": {\"x\": \"y\"}}");
    d.n = 0;
    diff(&d, REMOVE, "$.obj", NULL);
    assert_string_equal(apply(&a, &d), "{\"k\": 1, \"arr\": [1, 2, 3]}");
    d.n = 0;
    /* several diffs, each on the result of the one before */
    jv nine = j_int(9), nul = j_lit(0);
    diff(&d, INSERT, "$.arr[1]", &nine);
    diff(&d, REMOVE, "$.arr[0]", NULL);
    diff(&d, REPLACE, "$.arr[last]", &nul);
    assert_string_equal(apply(&a, &d), "{\"k\": 1, \"arr\": [9, 2, null], \"obj\": {\"x\": \"y\"}}");
    free(d.p);
    sl_arena_free(&a);
}

static void nested_and_array_index_paths(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    vec d = {0};
    /* a container as the value, then a diff inside it */
    jv deep_arr[1] = {j_int(-7)};
    jv deep[1] = {j_box(0, 1, NULL, deep_arr)};
    const char *dk[] = {"deep"};
    jv box = j_box(1, 1, dk, deep);
    diff(&d, REPLACE, "$.obj.x", &box);
    jv f = j_lit(2);
    diff(&d, INSERT, "$.obj.x.deep[5]", &f); /* past the end: appended */
    jv w = j_str("w");
    diff(&d, INSERT, "$.obj.x.deep[0]", &w);
    diff(&d, REPLACE, "$.arr[last-2]", &w);
    assert_string_equal(apply(&a, &d),
                        "{\"k\": 1, \"arr\": [\"w\", 2, 3], \"obj\": {\"x\": {\"deep\": [\"w\", -7, false]}}}");
    d.n = 0;
    /* quoted member names, spaces MySQL allows around legs */
    jv five = j_int(5);
    diff(&d, INSERT, "$.\"a b\"", &five);
    diff(&d, INSERT, "$.obj.\"q\\\"\\u00e9\"", &five);
    diff(&d, REMOVE, "$ . arr [ 1 ]", NULL);
    assert_string_equal(apply(&a, &d),
                        "{\"k\": 1, \"a b\": 5, \"arr\": [1, 3], \"obj\": {\"x\": \"y\", \"q\\\"\xc3\xa9\": 5}}");
    free(d.p);
    sl_arena_free(&a);
}

static void diffs_the_before_value_cannot_take(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    vec d = {0};
    jv one = j_int(1);
    struct {
        int op;
        const char *path;
        const char *why;
    } cases[] = {
        {REPLACE, "$.nope", "column a: JSON diff replaces a value the before image does not have at path $.nope"},
        {REPLACE, "$.arr[3]", "column a: JSON diff replaces a value the before image does not have at path $.arr[3]"},
        {INSERT, "$.k", "column a: JSON diff inserts a member the before image already has at path $.k"},
        {INSERT, "$.nope.x", "column a: JSON diff inserts below a value the before image does not have at path $.nope.x"},
        {INSERT, "$.arr.x", "column a: JSON diff inserts into a value of another kind at path $.arr.x"},
        {REMOVE, "$.arr[3]", "column a: JSON diff removes a value the before image does not have at path $.arr[3]"},
        {REMOVE, "$.k.x", "column a: JSON diff removes a value the before image does not have at path $.k.x"},
        {REPLACE, "$", "column a: JSON diff addresses the whole value at path $"},
        {REPLACE, "$.arr[*]", "column a: JSON diff has a malformed path at path $.arr[*]"},
        {REPLACE, "$**.k", "column a: JSON diff has a malformed path at path $**.k"},
        {REPLACE, "k", "column a: JSON diff has a malformed path at path k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        d.n = 0;
        diff(&d, cases[i].op, cases[i].path, cases[i].op == REMOVE ? NULL : &one);
        assert_null(apply(&a, &d));
        assert_string_equal(why, cases[i].why);
    }
    free(d.p);
    sl_arena_free(&a);
}

static void truncated_and_malformed_diffs(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    vec d = {0};
    jv v = j_str("v");
    diff(&d, REPLACE, "$.k", &v); /* 0, 3, "$.k", 3, 12 1 'v' */
    size_t whole = d.n;
    assert_int_equal(whole, 1 + 1 + 3 + 1 + 3);
    struct {
        size_t len;
        const char *why;
    } cuts[] = {
        {1, "column a: JSON diff is truncated in a path length"},
        {3, "column a: JSON diff is truncated in a path"},
        {5, "column a: JSON diff is truncated in a value length at path $.k"},
        {7, "column a: JSON diff is truncated in a value at path $.k"},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        vec cut = {d.p, cuts[i].len, cuts[i].len};
        assert_null(apply(&a, &cut));
        assert_string_equal(why, cuts[i].why);
    }
    d.p[0] = 3;
    assert_null(apply(&a, &d));
    assert_string_equal(why, "column a: JSON diff has unknown operation 3");
    d.p[0] = REPLACE;
    d.p[6] = 13; /* a type binary JSON does not have */
    assert_null(apply(&a, &d));
    assert_string_equal(why, "column a: JSON diff has a malformed binary JSON value at path $.k");
    d.p[6] = 12;
    d.p[7] = 9; /* the string claims more bytes than the value holds */
    assert_null(apply(&a, &d));
    assert_string_equal(why, "column a: JSON diff has a malformed binary JSON value at path $.k");
    free(d.p);
    sl_arena_free(&a);
}

/* TABLE_MAP of j.t (id INT PRIMARY KEY, a JSON, n INT, b JSON), table id
 * 0x21, binlog_row_metadata=FULL: signedness, names, primary key */
static vec table_map(void)
{
    vec v = {0};
    put(&v, "\x21\0\0\0\0\0", 6);
    put_le(&v, 1, 2);
    put8(&v, 1);
    put(&v, "j", 2);
    put8(&v, 1);
    put(&v, "t", 2);
    put8(&v, 4);
    put(&v, "\x03\xf5\x03\xf5", 4); /* LONG, JSON, LONG, JSON */
    put8(&v, 2);
    put(&v, "\x04\x04", 2); /* JSON: 4-byte lengths */
    put8(&v, 0x0a);         /* a, b nullable */
    put(&v, "\x01\x01\x00", 3);
    put(&v, "\x04\x09\x02id\x01" "a\x01n\x01" "b", 11);
    put(&v, "\x08\x01\x00", 3);
    return v;
}

/* one row of a PARTIAL_UPDATE_ROWS_EVENT: before (id 1, before_doc, 7,
 * [1]); after: a as the diffs d (partial bit 0 set), n 8, b whole ["z"]
 * (partial bit 1 clear); before_a_cols: the before image's columns */
static vec partial_event(const vec *d, uint8_t before_cols, int a_null, int value_options)
{
    vec v = {0};
    put(&v, "\x21\0\0\0\0\0", 6);
    put_le(&v, 1, 2);
    put_le(&v, 2, 2);
    put8(&v, 4);
    put8(&v, before_cols);
    put8(&v, 0x0f);
    jv doc = before_doc();
    jv one[1] = {j_int(1)};
    jv b = j_box(0, 1, NULL, one);
    /* before image */
    int nb = 0;
    for (int i = 0; i < 4; i++)
        nb += (before_cols >> i) & 1;
    put8(&v, a_null ? 0x02 : 0x00);
    (void)nb;
    put_le(&v, 1, 4);
    if ((before_cols & 2) && !a_null) {
        put_le(&v, 1 + doc.body.n, 4);
        put_json(&v, &doc);
    }
    if (before_cols & 4)
        put_le(&v, 7, 4);
    if (before_cols & 8) {
        put_le(&v, 1 + b.body.n, 4);
        put_json(&v, &b);
    }
    /* after image */
    put8(&v, (uint8_t)value_options);
    if (value_options)
        put8(&v, 0x01);
    put8(&v, 0x00);
    put_le(&v, 1, 4);
    if (value_options) {
        put_le(&v, d->n, 4);
        put(&v, d->p, d->n);
    } else {
        jv s = j_str("whole");
        put_le(&v, 1 + s.body.n, 4);
        put_json(&v, &s);
    }
    put_le(&v, 8, 4);
    jv z[1] = {j_str("z")};
    jv nb2 = j_box(0, 1, NULL, z);
    put_le(&v, 1 + nb2.body.n, 4);
    put_json(&v, &nb2);
    return v;
}

static int decode(const vec *ev, sl_table_schema *s, sl_arena *a, sl_value **before, sl_value **after, sl_err *err)
{
    static const sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, NULL};
    sl_mysql_rows it;
    int rc = sl_mysql_rows_open(&it, SL_MYSQL_PARTIAL_UPDATE_ROWS_EVENT, ev->p, ev->n, s, &opts, err);
    if (rc)
        return rc;
    rc = sl_mysql_rows_next(&it, a, before, after, err);
    if (rc == 1 && sl_mysql_rows_next(&it, a, before + 1, after + 1, err) != 0)
        return 99; /* the event holds one row */
    return rc;
}

static void partial_update_rows_event_gives_the_whole_after_value(void **state)
{
    static const sl_mysql_server srv = {0, 80400};
    vec tm = table_map();
    sl_err err;
    uint64_t id;
    sl_table_schema *s;
    assert_int_equal(sl_mysql_parse_table_map(tm.p, tm.n, &srv, &id, &s, &err), 0);
    assert_int_equal(sl_mysql_rows_op(SL_MYSQL_PARTIAL_UPDATE_ROWS_EVENT), 'u');
    sl_arena a;
    sl_arena_init(&a);
    vec d = {0};
    jv nine = j_int(9);
    diff(&d, INSERT, "$.arr[3]", &nine);
    diff(&d, REMOVE, "$.obj", NULL);
    vec ev = partial_event(&d, 0x0f, 0, 1);
    sl_value *before[2], *after[2];
    assert_int_equal(decode(&ev, s, &a, before, after, &err), 1);
    const char *was = "{\"k\": 1, \"arr\": [1, 2, 3], \"obj\": {\"x\": \"y\"}}";
    assert_int_equal(before[0][1].len, strlen(was));
    assert_memory_equal(before[0][1].v.s, was, strlen(was));
    assert_int_equal(after[0][0].v.i, 1);
    assert_int_equal(after[0][1].kind, SL_JSON);
    const char *want = "{\"k\": 1, \"arr\": [1, 2, 3, 9]}";
    assert_int_equal(after[0][1].len, strlen(want));
    assert_memory_equal(after[0][1].v.s, want, strlen(want));
    assert_int_equal(after[0][2].v.i, 8);
    assert_memory_equal(after[0][3].v.s, "[\"z\"]", 5); /* partial bit clear: the whole value */
    free(ev.p);

    /* value_options 0 (no column written as a diff): no partial bits */
    ev = partial_event(&d, 0x0f, 0, 0);
    assert_int_equal(decode(&ev, s, &a, before, after, &err), 1);
    assert_memory_equal(after[0][1].v.s, "\"whole\"", 7);
    assert_memory_equal(after[0][3].v.s, "[\"z\"]", 5);
    free(ev.p);
    free(d.p);
    free(tm.p);
    sl_schema_free(s);
    sl_arena_free(&a);
}

static void partial_update_rows_event_errors(void **state)
{
    static const sl_mysql_server srv = {0, 80400};
    vec tm = table_map();
    sl_err err;
    uint64_t id;
    sl_table_schema *s;
    assert_int_equal(sl_mysql_parse_table_map(tm.p, tm.n, &srv, &id, &s, &err), 0);
    sl_arena a;
    sl_arena_init(&a);
    sl_value *before[2], *after[2];
    vec d = {0};
    jv nine = j_int(9);
    diff(&d, REPLACE, "$.k", &nine);

    /* the before image without a (binlog_row_image=MINIMAL or NOBLOB) */
    vec ev = partial_event(&d, 0x0d, 0, 1);
    assert_int_equal(decode(&ev, s, &a, before, after, &err), -1);
    assert_string_equal(err.msg, "column a: a partial JSON update without the column's before value; sluice needs "
                                 "binlog_row_image=FULL");
    free(ev.p);
    ev = partial_event(&d, 0x0f, 1, 1);
    assert_int_equal(decode(&ev, s, &a, before, after, &err), -1);
    assert_string_equal(err.msg, "column a: a partial JSON update of a NULL before value");
    free(ev.p);

    /* cut short: find where the after image starts (value_options 1) */
    ev = partial_event(&d, 0x0f, 0, 1);
    size_t after_at = ev.n - (1 + 1 + 1 + 4 + 4 + d.n + 4 + 4 + 10); /* b: ["z"] in 10 bytes */
    assert_int_equal(ev.p[after_at], 1);
    struct {
        size_t keep;
        const char *msg;
    } cuts[] = {
        {after_at + 1, "partial update row truncated in its partial bits"},
        {after_at + 3 + 4 + 2, "column a: JSON diff truncated in its length"},
        {after_at + 3 + 4 + 4 + 3, "column a: JSON diff of 9 bytes with 3 left in the event"},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        vec cut = {ev.p, cuts[i].keep, cuts[i].keep};
        assert_int_equal(decode(&cut, s, &a, before, after, &err), -1);
        assert_string_equal(err.msg, cuts[i].msg);
    }
    ev.p[after_at] = 2;
    assert_int_equal(decode(&ev, s, &a, before, after, &err), -1);
    assert_string_equal(err.msg, "partial update row with unknown value options 2");
    ev.p[after_at] = 1;
    ev.p[after_at + 3 + 4 + 4] = 7; /* the diff's first operation */
    assert_int_equal(decode(&ev, s, &a, before, after, &err), -1);
    assert_string_equal(err.msg, "column a: JSON diff has unknown operation 7");
    free(ev.p);
    free(d.p);
    free(tm.p);
    sl_schema_free(s);
    sl_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_before_document_prints_as_mysql_prints_it),
        cmocka_unit_test(every_operation),
        cmocka_unit_test(nested_and_array_index_paths),
        cmocka_unit_test(diffs_the_before_value_cannot_take),
        cmocka_unit_test(truncated_and_malformed_diffs),
        cmocka_unit_test(partial_update_rows_event_gives_the_whole_after_value),
        cmocka_unit_test(partial_update_rows_event_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
