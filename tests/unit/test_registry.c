/* test_registry.c — the registry keeps the plugin contract: every
 * compiled-in connector (and the memory test plugins) passes the check run
 * at startup, and a plugin struct with a required callback (or its
 * guarantee, its option table) missing is refused with a message naming
 * the plugin and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../pipeline/registry.h"
#include "mem_plugins.h"

static const sl_option_def no_options[] = {SL_OPTION_END};

static int src_create(const sl_options *o, const sl_source_env *env, void **self, sl_err *err) { return 0; }
static int src_run(void *self, const char *resume, sl_emitter *out, sl_err *err) { return 0; }
static void destroy(void *self) {}
static int snk_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err) { return 0; }
static int snk_load(void *self, char **out, sl_err *err) { return 0; }
static int snk_write(void *self, const sl_batch *b, sl_err *err) { return 0; }
static int snk_commit(void *self, const char *checkpoint, sl_err *err) { return 0; }
static int snk_abort(void *self, sl_err *err) { return 0; }

static void compiled_in_plugins_pass(void **state)
{
    sl_err err = {{0}};
    assert_int_equal(sl_registry_check(&err), 0);
    for (const sl_sink_plugin *const *p = sl_sinks(); *p; p++)
        assert_string_not_equal(sl_guarantee_name((*p)->guarantee), "unset");
    /* the runtime's test plugins keep the same contract */
    assert_int_equal(sl_source_plugin_check(&mem_source_plugin, &err), 0);
    assert_int_equal(sl_sink_plugin_check(&mem_sink_plugin, &err), 0);
}

static void source_without_run_is_refused(void **state)
{
    sl_source_plugin p = {.name = "broken", .description = "d", .options = no_options, .create = src_create,
                          .run = src_run, .destroy = destroy};
    sl_err err = {{0}};
    assert_int_equal(sl_source_plugin_check(&p, &err), 0);
    p.run = NULL;
    assert_int_equal(sl_source_plugin_check(&p, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "source plugin 'broken' lacks its required run");
    p.run = src_run;
    p.options = NULL;
    assert_int_equal(sl_source_plugin_check(&p, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "source plugin 'broken' lacks its required options");
}

static void sink_without_abort_or_guarantee_is_refused(void **state)
{
    sl_sink_plugin p = {.name = "half", .description = "d", .options = no_options,
                        .guarantee = SL_GUARANTEE_AT_LEAST_ONCE, .create = snk_create, .load_checkpoint = snk_load,
                        .write = snk_write, .commit = snk_commit, .abort = snk_abort, .destroy = destroy};
    sl_err err = {{0}};
    assert_int_equal(sl_sink_plugin_check(&p, &err), 0);
    p.abort = NULL;
    assert_int_equal(sl_sink_plugin_check(&p, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "sink plugin 'half' lacks its required abort");
    p.abort = snk_abort;
    p.guarantee = SL_GUARANTEE_UNSET;
    assert_int_equal(sl_sink_plugin_check(&p, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "sink plugin 'half' lacks its required guarantee");
    p.guarantee = SL_GUARANTEE_EXACTLY_ONCE;
    p.name = NULL;
    assert_int_equal(sl_sink_plugin_check(&p, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "sink plugin '(unnamed)' lacks its required name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compiled_in_plugins_pass),
        cmocka_unit_test(source_without_run_is_refused),
        cmocka_unit_test(sink_without_abort_or_guarantee_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
