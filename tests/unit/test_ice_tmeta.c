/* test_ice_tmeta.c — the table metadata the SQL catalog keeps itself
 * (sinks/iceberg/ice_tmeta.c): a created table's v2 metadata, the
 * requirements that detect another writer, the updates the sink sends
 * (snapshot and ref, properties, a new schema made current), the metadata
 * log kept to write.metadata.previous-versions-max, and file names that
 * continue Java's and pyiceberg's numbering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sinks/iceberg/ice_sink.h"

static json_t *create_req(void)
{
    return json_pack("{s:s, s:{s:s, s:i, s:[{s:i, s:s, s:b, s:s}, {s:i, s:s, s:b, s:{s:s, s:i, s:s, s:b}}], "
                     "s:[i]}, s:{s:s, s:s}}",
                     "name", "t", "schema", "type", "struct", "schema-id", 7, "fields", "id", 1, "name", "id",
                     "required", 1, "type", "long", "id", 2, "name", "tags", "required", 0, "type", "type", "list",
                     "element-id", 3, "element", "string", "element-required", 0, "identifier-field-ids", 1,
                     "properties", "format-version", "2", "write.metadata.previous-versions-max", "2");
}

static void created_table_keeps_field_ids(void **state)
{
    sl_err e;
    json_t *req = create_req();
    json_t *md = ice_md_create(req, "file:///w/ns/t", &e);
    assert_non_null(md);
    assert_int_equal(json_integer_value(json_object_get(md, "format-version")), 2);
    assert_string_equal(json_string_value(json_object_get(md, "location")), "file:///w/ns/t");
    /* the list's element id counts: the next column gets 4 */
    assert_int_equal(json_integer_value(json_object_get(md, "last-column-id")), 3);
    assert_int_equal(json_integer_value(json_object_get(md, "current-schema-id")), 0);
    json_t *s = json_array_get(json_object_get(md, "schemas"), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "schema-id")), 0);
    /* format-version is the metadata's field, not a table property */
    json_t *props = json_object_get(md, "properties");
    assert_null(json_object_get(props, "format-version"));
    assert_string_equal(json_string_value(json_object_get(props, "write.metadata.previous-versions-max")), "2");
    const char *uuid = json_string_value(json_object_get(md, "table-uuid"));
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4'); /* random (version 4) */
    json_decref(md);
    json_object_set_new(json_object_get(req, "properties"), "format-version", json_string("1"));
    assert_null(ice_md_create(req, "file:///w/ns/t", &e));
    assert_string_equal(e.msg, "iceberg sink: format-version 1: the SQL catalog creates format v2 tables");
    json_decref(req);
}

static json_t *snapshot_change(int64_t parent, int64_t id, int64_t seq)
{
    json_t *req = json_pack("[{s:s, s:s, s:I}]", "type", "assert-ref-snapshot-id", "ref", "main", "snapshot-id",
                            (json_int_t)parent);
    if (parent < 0)
        json_object_set_new(json_array_get(req, 0), "snapshot-id", json_null());
    json_t *upd = json_pack("[{s:s, s:{s:I, s:I, s:I, s:s}}, {s:s, s:s, s:s, s:I}, {s:s, s:{s:s}}]", "action",
                            "add-snapshot", "snapshot", "snapshot-id", (json_int_t)id, "sequence-number",
                            (json_int_t)seq, "timestamp-ms", (json_int_t)(1000 + seq), "manifest-list", "file:/l",
                            "action", "set-snapshot-ref", "ref-name", "main", "type", "branch", "snapshot-id",
                            (json_int_t)id, "action", "set-properties", "updates", "sluice.checkpoint", "c");
    return json_pack("{s:o, s:o}", "requirements", req, "updates", upd);
}

static void snapshots_refs_and_the_other_writer(void **state)
{
    sl_err e;
    json_t *req = create_req(), *md = ice_md_create(req, "file:///w/ns/t", &e), *dropped = json_array();
    json_decref(req);
    const char *locs[] = {"file:///w/ns/t/metadata/00000-a.metadata.json", "file:///w/ns/t/metadata/00001-b.metadata.json",
                          "file:///w/ns/t/metadata/00002-c.metadata.json"};
    for (int i = 0; i < 3; i++) {
        json_t *c = snapshot_change(i ? 100 + i - 1 : -1, 100 + i, i + 1);
        assert_int_equal(ice_md_check(md, json_object_get(c, "requirements"), &e), 0);
        assert_int_equal(ice_md_apply(md, json_object_get(c, "updates"), locs[i], dropped, &e), 0);
        json_decref(c);
    }
    assert_int_equal(json_integer_value(json_object_get(md, "current-snapshot-id")), 102);
    assert_int_equal(json_integer_value(json_object_get(md, "last-sequence-number")), 3);
    assert_int_equal(json_array_size(json_object_get(md, "snapshots")), 3);
    assert_int_equal(json_array_size(json_object_get(md, "snapshot-log")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(md, "refs"), "main"),
                                                        "snapshot-id")), 102);
    /* previous-versions-max 2: the oldest metadata file left the log */
    json_t *log = json_object_get(md, "metadata-log");
    assert_int_equal(json_array_size(log), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(log, 0), "metadata-file")), locs[1]);
    assert_int_equal(json_array_size(dropped), 1);
    assert_string_equal(json_string_value(json_array_get(dropped, 0)), locs[0]);
    /* a writer who still thinks main is 101 (another commit came in between) */
    json_t *c = snapshot_change(101, 200, 4);
    assert_int_equal(ice_md_check(md, json_object_get(c, "requirements"), &e), ICE_CONFLICT);
    assert_string_equal(e.msg, "branch main is snapshot 102, expected snapshot 101");
    json_decref(c);
    c = snapshot_change(-1, 200, 4);
    assert_int_equal(ice_md_check(md, json_object_get(c, "requirements"), &e), ICE_CONFLICT);
    assert_string_equal(e.msg, "branch main is snapshot 102, expected absent");
    json_decref(c);
    json_t *uuid = json_pack("[{s:s, s:s}]", "type", "assert-table-uuid", "uuid", "x");
    assert_int_equal(ice_md_check(md, uuid, &e), ICE_CONFLICT);
    json_decref(uuid);
    json_t *odd = json_pack("[{s:s}]", "type", "assert-default-spec-id");
    assert_int_equal(ice_md_check(md, odd, &e), SL_ERUNTIME);
    assert_string_equal(e.msg, "iceberg sink: the SQL catalog cannot check requirement assert-default-spec-id");
    json_decref(odd);
    json_decref(dropped);
    json_decref(md);
}

static void a_new_schema_becomes_current(void **state)
{
    sl_err e;
    json_t *req = create_req(), *md = ice_md_create(req, "file:///w/ns/t", &e);
    json_t *s1 = json_deep_copy(json_object_get(req, "schema"));
    json_decref(req);
    json_array_append_new(json_object_get(s1, "fields"),
                          json_pack("{s:i, s:s, s:b, s:s}", "id", 4, "name", "x", "required", 0, "type", "int"));
    json_t *upd = json_pack("[{s:s, s:o, s:i}, {s:s, s:i}, {s:s, s:[s]}]", "action", "add-schema", "schema", s1,
                            "last-column-id", 4, "action", "set-current-schema", "schema-id", -1, "action",
                            "remove-properties", "removals", "write.metadata.previous-versions-max");
    json_t *need = json_pack("[{s:s, s:i}]", "type", "assert-current-schema-id", "current-schema-id", 0);
    assert_int_equal(ice_md_check(md, need, &e), 0);
    assert_int_equal(ice_md_apply(md, upd, NULL, NULL, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(md, "current-schema-id")), 1);
    assert_int_equal(json_integer_value(json_object_get(md, "last-column-id")), 4);
    assert_int_equal(json_array_size(json_object_get(md, "schemas")), 2);
    assert_null(json_object_get(json_object_get(md, "properties"), "write.metadata.previous-versions-max"));
    /* the same requirement now fails: the schema moved on */
    assert_int_equal(ice_md_check(md, need, &e), ICE_CONFLICT);
    assert_string_equal(e.msg, "current schema is 1, expected 0");
    json_t *bad = json_pack("[{s:s}]", "action", "upgrade-format-version");
    assert_int_equal(ice_md_apply(md, bad, NULL, NULL, &e), SL_ERUNTIME);
    assert_string_equal(e.msg, "iceberg sink: the SQL catalog cannot apply update upgrade-format-version");
    json_decref(bad);
    json_decref(need);
    json_decref(upd);
    json_decref(md);
}

static void expired_snapshots_leave_snapshots_and_log(void **state)
{
    sl_err e;
    json_t *req = create_req(), *md = ice_md_create(req, "file:///w/ns/t", &e);
    json_decref(req);
    for (int i = 0; i < 3; i++) {
        json_t *c = snapshot_change(i ? 100 + i - 1 : -1, 100 + i, i + 1);
        assert_int_equal(ice_md_apply(md, json_object_get(c, "updates"), NULL, NULL, &e), 0);
        json_decref(c);
    }
    json_t *rm = json_pack("[{s:s, s:[I, I]}]", "action", "remove-snapshots", "snapshot-ids", (json_int_t)100,
                           (json_int_t)101);
    assert_int_equal(ice_md_apply(md, rm, NULL, NULL, &e), 0);
    json_t *snaps = json_object_get(md, "snapshots"), *log = json_object_get(md, "snapshot-log");
    assert_int_equal(json_array_size(snaps), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(snaps, 0), "snapshot-id")), 102);
    assert_int_equal(json_array_size(log), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(log, 0), "snapshot-id")), 102);
    assert_int_equal(json_integer_value(json_object_get(md, "current-snapshot-id")), 102);
    json_decref(rm);
    /* main's own snapshot cannot go */
    rm = json_pack("[{s:s, s:[I]}]", "action", "remove-snapshots", "snapshot-ids", (json_int_t)102);
    assert_int_equal(ice_md_apply(md, rm, NULL, NULL, &e), SL_ERUNTIME);
    assert_string_equal(e.msg, "iceberg sink: remove-snapshots: ref main names snapshot 102");
    assert_int_equal(json_array_size(json_object_get(md, "snapshots")), 1);
    json_decref(rm);
    json_decref(md);
}

static void metadata_file_names_continue_the_numbering(void **state)
{
    char *a = ice_md_next_location("file:///w/t", NULL);
    assert_memory_equal(a, "file:///w/t/metadata/00000-", 27);
    assert_string_equal(a + strlen(a) - 14, ".metadata.json");
    assert_int_equal(strlen(a), 27 + 36 + 14);
    char *b = ice_md_next_location("file:///w/t", a);
    assert_memory_equal(b, "file:///w/t/metadata/00001-", 27);
    char *c = ice_md_next_location("file:///w/t", "file:///w/t/metadata/00041-x.gz.metadata.json");
    assert_memory_equal(c, "file:///w/t/metadata/00042-", 27);
    char *d = ice_md_next_location("file:///w/t", "file:///w/t/metadata/v3.metadata.json");
    assert_memory_equal(d, "file:///w/t/metadata/00000-", 27);
    free(a);
    free(b);
    free(c);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(created_table_keeps_field_ids),
        cmocka_unit_test(snapshots_refs_and_the_other_writer),
        cmocka_unit_test(a_new_schema_becomes_current),
        cmocka_unit_test(expired_snapshots_leave_snapshots_and_log),
        cmocka_unit_test(metadata_file_names_continue_the_numbering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
