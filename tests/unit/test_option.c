/* test_option.c — typed option values: durations, sizes, ranges, enums,
 * defaults, required options and the did-you-mean for misspelt keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../core/option.h"

static const sl_option_def defs[] = {
    {"hostname", SL_OPT_STRING, NULL, 1, 0, 0, NULL, "Server address."},
    {"port", SL_OPT_INT, "3306", 0, 1, 65535, NULL, "Port."},
    {"interval", SL_OPT_DURATION, "1s", 0, 1, 3600000, NULL, "Interval."},
    {"buffer", SL_OPT_SIZE, "64MiB", 0, 0, 0, NULL, "Buffer."},
    {"mode", SL_OPT_ENUM, "fast", 0, 0, 0, "fast|safe", "Mode."},
    {"flag", SL_OPT_BOOL, "false", 0, 0, 0, NULL, "Flag."},
    {"properties.", SL_OPT_PREFIX, NULL, 0, 0, 0, NULL, "Passed through."},
    SL_OPTION_END,
};

static void durations_and_sizes(void **state)
{
    int64_t v;
    assert_int_equal(sl_parse_duration_ms("500ms", &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(sl_parse_duration_ms("1s", &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(sl_parse_duration_ms("5min", &v), 0);
    assert_int_equal(v, 300000);
    assert_int_equal(sl_parse_duration_ms("2h", &v), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(sl_parse_duration_ms("250", &v), 0);
    assert_int_equal(v, 250);
    assert_int_not_equal(sl_parse_duration_ms("soon", &v), 0);
    assert_int_not_equal(sl_parse_duration_ms("-1s", &v), 0);
    assert_int_equal(sl_parse_size_bytes("64MiB", &v), 0);
    assert_int_equal(v, 64 << 20);
    assert_int_equal(sl_parse_size_bytes("1GB", &v), 0);
    assert_int_equal(v, 1000000000);
    assert_int_equal(sl_parse_size_bytes("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_not_equal(sl_parse_size_bytes("12 parsecs", &v), 0);
}

static void set_validate_and_defaults(void **state)
{
    sl_options o;
    sl_err err;
    sl_srcloc at = {"p.yaml", 3, 5};
    sl_options_init(&o, "source", defs);
    assert_int_equal(sl_options_set(&o, "port", "abc", at, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: 'abc' is not an integer (option 'port')");
    assert_int_equal(sl_options_set(&o, "port", "0", at, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: '0' is out of range for 'port' (1..65535)");
    assert_int_equal(sl_options_set(&o, "mode", "slow", at, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: 'slow' is not a valid value for 'mode' (one of: fast, safe)");
    assert_int_equal(sl_options_set(&o, "hostnmae", "x", at, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: unknown source option 'hostnmae'; did you mean 'hostname'?");
    assert_int_equal(sl_options_set(&o, "zzz", "x", at, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: unknown source option 'zzz' (see `sluice describe` for the list)");
    sl_srcloc block = {"p.yaml", 2, 3};
    assert_int_equal(sl_options_finish(&o, block, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:2:3: source is missing required option 'hostname' (Server address.)");
    assert_int_equal(sl_options_set(&o, "hostname", "db", at, &err), 0);
    assert_int_equal(sl_options_set(&o, "hostname", "db2", at, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: source option 'hostname' is given twice");
    assert_int_equal(sl_options_set(&o, "interval", "250ms", at, &err), 0);
    assert_int_equal(sl_options_set(&o, "properties.linger.ms", "5", at, &err), 0);
    assert_int_equal(sl_options_finish(&o, block, &err), 0);
    assert_string_equal(sl_opt_str(&o, "hostname"), "db");
    assert_int_equal(sl_opt_num(&o, "port"), 3306);
    assert_int_equal(sl_opt_num(&o, "interval"), 250);
    assert_int_equal(sl_opt_num(&o, "buffer"), 64 << 20);
    assert_int_equal(sl_opt_num(&o, "mode"), 0);
    assert_true(sl_opt_is_set(&o, "interval"));
    assert_false(sl_opt_is_set(&o, "port"));
    char where[128];
    sl_opt_where(&o, "port", where, sizeof where);
    assert_string_equal(where, "source option 'port' (default)");
    sl_opt_where(&o, "interval", where, sizeof where);
    assert_string_equal(where, "p.yaml:3:5");
    sl_options_free(&o);
}

static void control_characters(void **state)
{
    (void)state;
    assert_int_equal(sl_text_control_char("db.example.com", 0), -1);
    assert_int_equal(sl_text_control_char("db\nevil", 0), 2);
    assert_int_equal(sl_text_control_char("x\x7f", 0), 1);
    assert_int_equal(sl_text_control_char("trailing\n", 0), 8);
    /* in a list, tabs and line breaks around items are layout */
    assert_int_equal(sl_text_control_char("a.b,\n  c.d\n", 1), -1);
    assert_int_equal(sl_text_control_char("\ta.b , c.d", 1), -1);
    assert_int_equal(sl_text_control_char("a.b,c\n.d", 1), 5);
    assert_int_equal(sl_text_control_char("a.b,c.d\r", 1), 7);
    char what[64];
    sl_text_control_describe("ab\tc", 2, what, sizeof what);
    assert_string_equal(what, "a tab at byte 3");
    sl_text_control_describe("\x01", 0, what, sizeof what);
    assert_string_equal(what, "control character 0x01 at byte 1");

    static const sl_option_def cdefs[] = {
        {"hostname", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "host"},
        {"password", SL_OPT_SECRET, NULL, 0, 0, 0, NULL, "pw"},
        {"properties.", SL_OPT_PREFIX, NULL, 0, 0, 0, NULL, "props"},
        SL_OPTION_END,
    };
    sl_options o;
    sl_options_init(&o, "source", cdefs);
    sl_srcloc loc = {"p.yaml", 3, 5};
    sl_err err;
    assert_int_equal(sl_options_set(&o, "hostname", "h\nx", loc, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:3:5: source option 'hostname' contains a line break at byte 2; host names, "
                                 "paths, names and lists must be printable text (check the value or the variable or "
                                 "file it comes from)");
    assert_int_equal(sl_options_set(&o, "password", "p\nw", loc, &err), 0);
    assert_int_equal(sl_options_set(&o, "properties.ssl.ca.pem", "-----BEGIN\nx\n", loc, &err), 0);
    sl_options_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_and_sizes),
        cmocka_unit_test(set_validate_and_defaults),
        cmocka_unit_test(control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
