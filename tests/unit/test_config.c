/* test_config.c — loading a pipeline file (pipeline/config.c): ${env:NAME}
 * and ${file:PATH} substitution, $${ for a literal, secrets never echoed
 * in an error, unknown keys with a did-you-mean, values of the wrong
 * shape; every error names file:line:column. The files are real YAML in a
 * temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../pipeline/config.h"

static char dir[64];
static char yaml_path[128];

static int make_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/sluice-test-config-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(yaml_path, sizeof yaml_path, "%s/p.yaml", dir);
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* A valid pipeline; PASSWORD (line 5, column 13) and NAME (line 11,
 * column 9) are replaced by the test. */
static const char base[] = "source:\n"
                           "  type: mysql\n"
                           "  hostname: 127.0.0.1\n"
                           "  username: sluice\n"
                           "  password: PASSWORD\n"
                           "  tables: shop.orders\n"
                           "sink:\n"
                           "  type: file\n"
                           "  path: /tmp/sluice-test-config.jsonl\n"
                           "pipeline:\n"
                           "  name: NAME\n";

static int load_text(const char *text, sl_config *cfg, sl_err *err)
{
    write_file(yaml_path, text);
    err->msg[0] = 0;
    return sl_config_load(yaml_path, cfg, err);
}

/* base with password and name filled in (YAML text as written) */
static int load_base(const char *password, const char *name, sl_config *cfg, sl_err *err)
{
    char text[2048];
    const char *p = strstr(base, "PASSWORD"), *n = strstr(base, "NAME");
    snprintf(text, sizeof text, "%.*s%s%.*s%s%s", (int)(p - base), base, password, (int)(n - p - 8), p + 8, name,
             n + 4);
    return load_text(text, cfg, err);
}

/* err.msg is "<yaml_path>:<rest>" */
static void assert_error_at(const sl_err *err, const char *rest)
{
    char want[SL_ERRLEN];
    snprintf(want, sizeof want, "%s:%s", yaml_path, rest);
    assert_string_equal(err->msg, want);
}

static void env_values_are_substituted(void **state)
{
    sl_config cfg;
    sl_err err;
    setenv("SLUICE_UT_PW", "hunter2", 1);
    setenv("SLUICE_UT_NAME", "orders", 1);
    assert_int_equal(load_base("${env:SLUICE_UT_PW}", "cdc-${env:SLUICE_UT_NAME}-v1", &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.source, "password"), "hunter2");
    assert_string_equal(sl_opt_str(&cfg.pipeline, "name"), "cdc-orders-v1");
    sl_config_free(&cfg);

    /* a substituted value is not substituted again */
    setenv("SLUICE_UT_RAW", "a${env:SLUICE_UT_NOPE}b", 1);
    unsetenv("SLUICE_UT_NOPE");
    assert_int_equal(load_base("x", "${env:SLUICE_UT_RAW}", &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.pipeline, "name"), "a${env:SLUICE_UT_NOPE}b");
    sl_config_free(&cfg);

    /* set but empty is a value */
    setenv("SLUICE_UT_EMPTY", "", 1);
    assert_int_equal(load_base("\"${env:SLUICE_UT_EMPTY}\"", "n", &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.source, "password"), "");
    sl_config_free(&cfg);
}

static void unset_env_names_the_variable_and_the_place(void **state)
{
    sl_config cfg;
    sl_err err;
    unsetenv("SLUICE_UT_NOPE");
    assert_int_equal(load_base("${env:SLUICE_UT_NOPE}", "n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "5:13: environment variable SLUICE_UT_NOPE is not set (in ${env:SLUICE_UT_NOPE})");
    sl_config_free(&cfg);
    assert_int_equal(load_base("x", "pre-${env:SLUICE_UT_NOPE}", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "11:9: environment variable SLUICE_UT_NOPE is not set (in ${env:SLUICE_UT_NOPE})");
    sl_config_free(&cfg);
    assert_int_equal(load_base("x", "${env:}", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "11:9: unknown substitution ${env:}: write ${env:NAME} or ${file:PATH} ($${ for a literal ${)");
    sl_config_free(&cfg);
}

static void file_contents_lose_one_trailing_newline(void **state)
{
    static const struct {
        const char *contents, *value;
    } cases[] = {
        {"s3cret\n", "s3cret"}, {"s3cret", "s3cret"}, {"two\n\n", "two\n"},
        {"crlf\r\n", "crlf"},   {"", ""},             {"line1\nline2\n", "line1\nline2"},
    };
    char secret[128], ref[160];
    snprintf(secret, sizeof secret, "%s/secret", dir);
    snprintf(ref, sizeof ref, "${file:%s}", secret);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_config cfg;
        sl_err err;
        write_file(secret, cases[i].contents);
        assert_int_equal(load_base(ref, "n", &cfg, &err), 0);
        assert_string_equal(sl_opt_str(&cfg.source, "password"), cases[i].value);
        sl_config_free(&cfg);
    }
}

static void missing_file_is_an_error_naming_it(void **state)
{
    sl_config cfg;
    sl_err err;
    char ref[160], want[320];
    snprintf(ref, sizeof ref, "${file:%s/no-such-file}", dir);
    assert_int_equal(load_base(ref, "n", &cfg, &err), SL_ECONFIG);
    snprintf(want, sizeof want, "5:13: cannot read ${file:%s/no-such-file}: No such file or directory", dir);
    assert_error_at(&err, want);
    sl_config_free(&cfg);
    snprintf(ref, sizeof ref, "${file:%s}", dir);
    assert_int_equal(load_base(ref, "n", &cfg, &err), SL_ECONFIG);
    snprintf(want, sizeof want, "5:13: cannot read ${file:%s}: Is a directory", dir);
    assert_error_at(&err, want);
    sl_config_free(&cfg);
}

static void double_dollar_is_a_literal(void **state)
{
    sl_config cfg;
    sl_err err;
    unsetenv("SLUICE_UT_NOPE");
    assert_int_equal(load_base("pa$${ss", "a$${env:SLUICE_UT_NOPE}b", &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.source, "password"), "pa${ss");
    assert_string_equal(sl_opt_str(&cfg.pipeline, "name"), "a${env:SLUICE_UT_NOPE}b");
    sl_config_free(&cfg);
    /* $$ without a brace, and a lone $, stay as written */
    assert_int_equal(load_base("cost$$", "$${$${ $x", &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.source, "password"), "cost$$");
    assert_string_equal(sl_opt_str(&cfg.pipeline, "name"), "${${ $x");
    sl_config_free(&cfg);
}

static void bad_substitutions_name_the_place(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load_base("x", "${ensv:SLUICE_UT_NAME}", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "11:9: unknown substitution ${ensv:SLUICE_UT_NAME}: write ${env:NAME} or ${file:PATH} "
                          "($${ for a literal ${)");
    sl_config_free(&cfg);
    assert_int_equal(load_base("x", "${env:SLUICE_UT_NAME", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "11:9: unterminated '${' in '${env:SLUICE_UT_NAME'");
    sl_config_free(&cfg);
}

/* A password written inline that happens to contain ${ must not come back
 * in the error, not even in part. */
static void secrets_are_never_printed_back(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load_base("Tr0ub4dor${3", "n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "5:13: unterminated '${' in a secret value (not shown); write $${ for a literal ${");
    sl_config_free(&cfg);
    assert_int_equal(load_base("Tr0ub4dor${x}3", "n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "5:13: unknown substitution in a secret value (not shown): write ${env:NAME} or "
                          "${file:PATH} ($${ for a literal ${)");
    assert_null(strstr(err.msg, "Tr0ub4dor"));
    sl_config_free(&cfg);
    /* a secret given twice is named, its values are not */
    setenv("SLUICE_UT_PW", "hunter2", 1);
    assert_int_equal(load_base("${env:SLUICE_UT_PW}\n  password: hunter3", "n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "6:3: key 'password' is given twice (first on line 5)");
    sl_config_free(&cfg);
}

static void unknown_keys_get_a_did_you_mean(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load_text("sorce:\n  type: mysql\n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "1:1: unknown top-level key 'sorce'; did you mean 'source'?");
    sl_config_free(&cfg);
    assert_int_equal(load_text("source: {type: mysql}\nsink: {type: file}\nzzz: 1\n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "3:1: unknown top-level key 'zzz' (allowed: source, sink, route, transform, pipeline)");
    sl_config_free(&cfg);

    char text[2048];
    snprintf(text, sizeof text, "%s", base);
    memcpy(strstr(text, "hostname"), "hostnmae", 8);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "3:3: unknown source option 'hostnmae'; did you mean 'hostname'?");
    sl_config_free(&cfg);

    snprintf(text, sizeof text, "%s", base);
    memcpy(strstr(text, "type: file"), "type: flie", 10);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "8:9: unknown sink type 'flie'; did you mean 'file'?");
    sl_config_free(&cfg);

    snprintf(text, sizeof text, "%sroute:\n  - source-table: shop.orders\n    sink-tabel: ods.orders\n", base);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "14:5: unknown route key 'sink-tabel'; did you mean 'sink-table'?");
    sl_config_free(&cfg);

    snprintf(text, sizeof text, "%s  checkpoint.intervall: 1s\n", base);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "12:3: unknown pipeline option 'checkpoint.intervall'; did you mean 'checkpoint.interval'?");
    sl_config_free(&cfg);
}

static void wrong_types_name_the_place(void **state)
{
    sl_config cfg;
    sl_err err;
    char text[2048];
    snprintf(text, sizeof text, "%s  checkpoint.interval: soon\n", base);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "12:3: 'soon' is not a duration (option 'checkpoint.interval'); write e.g. 500ms, 1s, 5min, 2h");
    sl_config_free(&cfg);

    assert_int_equal(load_text("source:\n  type: mysql\n  hostname: h\n  username: u\n  tables: a.b\n  port: 99999\n"
                               "sink:\n  type: file\n  path: /tmp/x\n",
                               &cfg, &err),
                     SL_ECONFIG);
    assert_error_at(&err, "6:3: '99999' is out of range for 'port' (1..65535)");
    sl_config_free(&cfg);

    assert_int_equal(load_text("source:\n  type: mysql\n  hostname: {a: 1}\nsink: {type: file}\n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "3:13: option 'hostname' expects a scalar value, got a mapping");
    sl_config_free(&cfg);

    assert_int_equal(load_text("source: [mysql]\nsink: {type: file}\n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "1:9: 'source' must be a mapping of options, got a sequence");
    sl_config_free(&cfg);

    snprintf(text, sizeof text, "%sroute:\n  source-table: shop.orders\n", base);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "13:3: 'route' must be a list of mappings (each item starts with '-'), got a mapping");
    sl_config_free(&cfg);

    snprintf(text, sizeof text, "%sroute:\n  - source-table: shop.orders\n", base);
    assert_int_equal(load_text(text, &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "13:5: route item is missing 'sink-table'");
    sl_config_free(&cfg);

    assert_int_equal(load_text("source:\n  hostname: h\nsink: {type: file}\n", &cfg, &err), SL_ECONFIG);
    assert_error_at(&err, "2:3: source has no 'type' (e.g. type: mysql)");
    sl_config_free(&cfg);
}

/* a list option may be a YAML sequence; routes keep their place */
static void lists_and_routes_load(void **state)
{
    sl_config cfg;
    sl_err err;
    char text[2048];
    snprintf(text, sizeof text, "%s", base);
    char *t = strstr(text, "  tables: shop.orders\n");
    const char *rest = strstr(base, "sink:");
    snprintf(t, sizeof text - (size_t)(t - text), "  tables:\n    - shop.orders\n    - shop.users\n%s", rest);
    snprintf(text + strlen(text), sizeof text - strlen(text),
             "route:\n  - source-table: shop.\\.*\n    sink-table: ods.<>\n    replace-symbol: <>\n");
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.source, "tables"), "shop.orders,shop.users");
    assert_int_equal(cfg.nroutes, 1);
    assert_string_equal(cfg.routes[0].source_table, "shop.\\.*");
    assert_string_equal(cfg.routes[0].sink_table, "ods.<>");
    assert_string_equal(cfg.routes[0].replace_symbol, "<>");
    assert_int_equal(cfg.routes[0].loc.line, 15);
    assert_int_equal(cfg.routes[0].loc.col, 5);
    assert_int_equal(sl_opt_num(&cfg.pipeline, "checkpoint.interval"), 1000);
    sl_config_free(&cfg);
}

/* sl_config_substitute alone, as other loaders may call it */
static void substitute_directly(void **state)
{
    char *out = NULL;
    sl_err why;
    setenv("SLUICE_UT_A", "1", 1);
    setenv("SLUICE_UT_B", "22", 1);
    assert_int_equal(sl_config_substitute("${env:SLUICE_UT_A}${env:SLUICE_UT_B}-$${env:SLUICE_UT_A}", &out, &why), 0);
    assert_string_equal(out, "122-${env:SLUICE_UT_A}");
    free(out);
    /* values much longer than the text grow the buffer */
    static char big[20000];
    memset(big, 'v', sizeof big - 1);
    setenv("SLUICE_UT_BIG", big, 1);
    assert_int_equal(sl_config_substitute("<${env:SLUICE_UT_BIG}>", &out, &why), 0);
    assert_int_equal(strlen(out), sizeof big + 1);
    assert_int_equal(out[0], '<');
    assert_int_equal(out[sizeof big], '>');
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_values_are_substituted),
        cmocka_unit_test(unset_env_names_the_variable_and_the_place),
        cmocka_unit_test(file_contents_lose_one_trailing_newline),
        cmocka_unit_test(missing_file_is_an_error_naming_it),
        cmocka_unit_test(double_dollar_is_a_literal),
        cmocka_unit_test(bad_substitutions_name_the_place),
        cmocka_unit_test(secrets_are_never_printed_back),
        cmocka_unit_test(unknown_keys_get_a_did_you_mean),
        cmocka_unit_test(wrong_types_name_the_place),
        cmocka_unit_test(lists_and_routes_load),
        cmocka_unit_test(substitute_directly),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
