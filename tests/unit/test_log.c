/* test_log.c — JSON log lines (core/log.c): component from the file's
 * SL_LOG_COMPONENT or from a connector's message passed up, text escaped,
 * the pipeline in fields; --log-file's reopen after a rename writes to a
 * new file at the path. The log goes to a temporary file put on fd 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SL_LOG_COMPONENT "metrics"
#include "../../core/log.h"

static char dir[] = "/tmp/sluice-test-log-XXXXXX";
static char path[256];

static char *slurp(const char *p)
{
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* the line without its time, which the clock decides */
static const char *after_time(const char *line)
{
    assert_memory_equal(line, "{\"time\":\"", 9);
    const char *p = strstr(line, "\",\"level\"");
    assert_non_null(p);
    return p + 2;
}

static void json_lines(void **state)
{
    (void)state;
    sl_log_set_pipeline("shop");
    sl_info("serving on %s", "http://x/");
    sl_log(SL_LOG_WARN, "kafka sink: broker \"b1\"\ndown\t%d", 3);
    sl_log(SL_LOG_ERROR, "pipeline a: not a component");
    sl_log_set_pipeline(NULL);
    sl_debug("not at info level");
    char *text = slurp(path);
    char *l1 = text, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    l2[-1] = l3[-1] = 0;
    assert_string_equal(after_time(l1), "\"level\":\"info\",\"component\":\"metrics\",\"message\":\"serving on "
                                        "http://x/\",\"fields\":{\"pipeline\":\"shop\"}}");
    assert_string_equal(after_time(l2), "\"level\":\"warn\",\"component\":\"kafka sink\",\"message\":\"broker "
                                        "\\\"b1\\\"\\ndown\\t3\",\"fields\":{\"pipeline\":\"shop\"}}");
    assert_string_equal(after_time(l3), "\"level\":\"error\",\"component\":\"sluice\",\"message\":\"pipeline a: "
                                        "not a component\",\"fields\":{\"pipeline\":\"shop\"}}\n");
}

static void reopen_after_rename(void **state)
{
    (void)state;
    char moved[300];
    snprintf(moved, sizeof moved, "%s.1", path);
    assert_int_equal(rename(path, moved), 0);
    sl_info("to the old file");
    assert_int_equal(sl_log_reopen(), 0);
    sl_info("to the new file");
    assert_non_null(strstr(slurp(moved), "to the old file"));
    assert_null(strstr(slurp(moved), "to the new file"));
    assert_non_null(strstr(slurp(path), "to the new file"));
    assert_string_equal(sl_log_file(), path);
    unlink(moved);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/sluice.log", dir);
    sl_log_set_format(SL_LOG_JSON);
    sl_log_init(SL_LOG_INFO);
    if (sl_log_open_file(path))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_lines),
        cmocka_unit_test(reopen_after_rename),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc) /* cmocka's messages went to fd 2, the log file */
        fputs(slurp(path), stdout);
    unlink(path);
    rmdir(dir);
    return rc;
}
