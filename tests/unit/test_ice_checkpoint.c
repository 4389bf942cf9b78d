/* test_ice_checkpoint.c — the checkpoint table's load (sinks/iceberg/
 * ice_checkpoint.c) over a fake catalog: a table that is missing on the
 * first run means "no checkpoint yet", but the table this process already
 * saw answering 404 later stops the pipeline instead of starting it over
 * from no checkpoint (a re-read of the whole source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../sinks/iceberg/ice_sink.h"

typedef struct fake_cat {
    int exists;
} fake_cat;

static int fake_load(void *c, const char *ns, const char *name, json_t **md, char **md_location, sl_err *err)
{
    if (!((fake_cat *)c)->exists)
        return ICE_NOTFOUND;
    *md = json_pack("{s:s, s:{s:s}}", "table-uuid", "u-1", "properties", "sluice.checkpoint", "{\"pos\": 7}");
    return 0;
}

static const ice_catalog_ops fake_ops = {.load = fake_load};

static void missing_on_the_first_run_is_no_checkpoint(void **state)
{
    fake_cat fc = {0};
    ice_sink k = {.cat = {.ops = &fake_ops, .self = &fc}, .ckpt_ns = "sluice", .pipeline = "p"};
    sl_err e;
    char *ck = (char *)"x";
    assert_int_equal(ice_ckpt_open(&k, 0, &ck, &e), 0);
    assert_null(ck);
    assert_null(k.ckpt_uuid);
}

static void a_table_seen_then_missing_stops_naming_it(void **state)
{
    fake_cat fc = {.exists = 1};
    ice_sink k = {.cat = {.ops = &fake_ops, .self = &fc}, .ckpt_ns = "sluice", .pipeline = "p"};
    sl_err e;
    char *ck = NULL;
    assert_int_equal(ice_ckpt_open(&k, 0, &ck, &e), 0);
    assert_string_equal(ck, "{\"pos\": 7}");
    assert_string_equal(k.ckpt_uuid, "u-1");
    free(ck);
    ck = NULL;
    fc.exists = 0;
    assert_int_not_equal(ice_ckpt_open(&k, 0, &ck, &e), 0);
    assert_null(ck);
    assert_non_null(strstr(e.msg, "the checkpoint table sluice.p (uuid u-1) was there when sluice connected and the "
                                  "catalog now says it does not exist; not starting over from no checkpoint"));
    free(k.ckpt_uuid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_on_the_first_run_is_no_checkpoint),
        cmocka_unit_test(a_table_seen_then_missing_stops_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
