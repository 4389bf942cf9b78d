/* test_flink_options.c — options of Flink CDC pipeline files: ISO-8601
 * durations, options of Flink's Java runtime accepted and ignored,
 * metadata.list, PostgreSQL's db.schema.table, the per-table chunk key,
 * BATCH mode and the refusals that must name their place. */
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
#include "../../snapshot/split_setup.h"
#include "../../sources/postgres/pg_names.h"

static char path[64];

/* loads text as a pipeline file; returns the rc, cfg loaded on success */
static int load(const char *text, sl_config *cfg, sl_err *err)
{
    snprintf(path, sizeof path, "/tmp/sluice-flinkopt-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    int rc = sl_config_load(path, cfg, err);
    unlink(path);
    return rc;
}

static void expect_error(const char *text, const char *msg)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(text, &cfg, &err), SL_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", path, msg);
    assert_string_equal(err.msg, want);
    sl_config_free(&cfg);
}

#define MYSQL "source:\n  type: mysql\n  hostname: h\n  username: u\n  tables: shop.orders\n"
#define PG "source:\n  type: postgres\n  hostname: h\n  username: u\n"
#define BLACKHOLE "sink:\n  type: blackhole\n"

static void iso_durations(void **state)
{
    int64_t ms;
    assert_int_equal(sl_parse_duration_ms("PT30S", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(sl_parse_duration_ms("PT1M30S", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(sl_parse_duration_ms("PT0.5S", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(sl_parse_duration_ms("P1DT2H", &ms), 0);
    assert_int_equal(ms, 93600000);
    assert_int_equal(sl_parse_duration_ms("pt2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_not_equal(sl_parse_duration_ms("PT", &ms), 0);
    assert_int_not_equal(sl_parse_duration_ms("P1H", &ms), 0);
    assert_int_not_equal(sl_parse_duration_ms("PT5X", &ms), 0);
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(MYSQL "  heartbeat.interval: PT5S\n" BLACKHOLE, &cfg, &err), 0);
    assert_int_equal(sl_opt_num(&cfg.source, "heartbeat.interval"), 5000);
    sl_config_free(&cfg);
}

static void java_runtime_options_are_accepted(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(MYSQL "  debezium.snapshot.mode: never\n  connection.pool.size: 20\n"
                                "  jdbc.properties.useSSL: 'false'\n  include-comments.enabled: true\n"
                                "  schema-change.enabled: true\n  scan.newly-added-table.enabled: true\n"
                                "  scan.binlog.newly-added-table.enabled: true\n"
                                "  treat-tinyint1-as-boolean.enabled: false\n" BLACKHOLE
                                "pipeline:\n  operator.uid.prefix: p\n  schema.operator.uid: s\n",
                     &cfg, &err),
                     0);
    /* ignored options are not stored: nothing downstream can mistake them for settings */
    assert_null(sl_opt_get(&cfg.source, "debezium.snapshot.mode"));
    sl_config_free(&cfg);
    expect_error(MYSQL "  debezium: x\n" BLACKHOLE,
                 "6:3: unknown source option 'debezium' (see `sluice describe` for the list)");
    /* a Java TLS setting asking for protection is refused, never ignored */
    expect_error(MYSQL "  debezium.database.ssl.mode: verify_identity\n" BLACKHOLE,
                 "6:3: 'debezium.database.ssl.mode' is a TLS setting of the Java connector, which sluice does not "
                 "read; use ssl-mode / ssl-ca (mysql source) or sslmode / sslrootcert (postgres source)");
    expect_error(MYSQL "  jdbc.properties.useSSL: true\n" BLACKHOLE,
                 "6:3: 'jdbc.properties.useSSL' is a TLS setting of the Java connector, which sluice does not "
                 "read; use ssl-mode / ssl-ca (mysql source) or sslmode / sslrootcert (postgres source)");
}

static void metadata_list_names_what_the_source_has(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(MYSQL "  metadata.list: op_ts\n" BLACKHOLE, &cfg, &err), 0);
    sl_config_free(&cfg);
    expect_error(MYSQL "  metadata.list: op_ts, table_name\n" BLACKHOLE,
                 "6:3: the mysql source has no metadata column 'table_name' (it has: op_ts)");
    assert_int_equal(load(PG "  tables: db.public.t\n  metadata.list: op_ts,table_name, schema_name\n" BLACKHOLE,
                          &cfg, &err),
                     0);
    sl_config_free(&cfg);
}

static void postgres_tables_may_carry_the_database(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(PG "  tables: adb.public.orders, adb.\\.*.items_\\.*, other.x\n"
                             "  tables.exclude: adb.public.items_tmp\n" BLACKHOLE,
                          &cfg, &err),
                     0);
    sl_pg_names n;
    assert_int_equal(sl_pg_names_resolve(&cfg.source, &n, &err), 0);
    assert_string_equal(n.dbname, "adb");
    assert_string_equal(n.tables, "public.orders,\\.*.items_\\.*,other.x");
    assert_string_equal(n.tables_exclude, "public.items_tmp");
    sl_pg_names_free(&n);
    sl_config_free(&cfg);
    expect_error(PG "  tables: adb.public.orders, bdb.public.items\n" BLACKHOLE,
                 "5:3: 'bdb.public.items' names database 'bdb' but the pipeline reads 'adb' (a replication slot "
                 "reads one database)");
    expect_error(PG "  database-name: adb\n  tables: bdb.public.items\n" BLACKHOLE,
                 "6:3: 'bdb.public.items' names database 'bdb' but the pipeline reads 'adb' (a replication slot "
                 "reads one database)");
    expect_error(PG "  tables: db_\\.*.public.orders\n" BLACKHOLE,
                 "5:3: the database part 'db_\\.*' of 'db_\\.*.public.orders' must name one database, not a pattern "
                 "(a replication slot reads one database)");
    expect_error(PG "  tables: public.orders\n" BLACKHOLE,
                 "5:3: set database-name, or write tables as db.schema.table as Flink's postgres connector does");
    expect_error(PG "  tables: a.public.orders\n  table-id.include-database: true\n" BLACKHOLE,
                 "6:3: sluice names PostgreSQL tables schema.table (Flink's default); table-id.include-database: "
                 "true is not supported");
}

static void chunk_key_column_per_table(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(MYSQL "  scan.incremental.snapshot.chunk.key-column: shop.orders:oid;shop.\\.*:code\n"
                                BLACKHOLE,
                          &cfg, &err),
                     0);
    char col[64];
    assert_int_equal(sl_chunk_key_for(&cfg.source, "shop", "orders", col, sizeof col, &err), 1);
    assert_string_equal(col, "oid");
    assert_int_equal(sl_chunk_key_for(&cfg.source, "shop", "items", col, sizeof col, &err), 1);
    assert_string_equal(col, "code");
    assert_int_equal(sl_chunk_key_for(&cfg.source, "crm", "leads", col, sizeof col, &err), 0);
    sl_config_free(&cfg);
    assert_int_equal(load(MYSQL "  scan.incremental.snapshot.chunk.key-column: code\n" BLACKHOLE, &cfg, &err), 0);
    assert_int_equal(sl_chunk_key_for(&cfg.source, "crm", "leads", col, sizeof col, &err), 1);
    assert_string_equal(col, "code");
    sl_config_free(&cfg);
    expect_error(MYSQL "  scan.incremental.snapshot.chunk.key-column: shop.orders:id;:x\n" BLACKHOLE,
                 "6:3: ':x' is not table:column (write db.table:column;db.other:column)");
}

static void batch_mode_is_a_snapshot(void **state)
{
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(MYSQL BLACKHOLE "pipeline:\n  execution.runtime-mode: BATCH\n", &cfg, &err), 0);
    assert_string_equal(sl_opt_str(&cfg.source, "scan.startup.mode"), "snapshot");
    sl_config_free(&cfg);
    expect_error(MYSQL "  scan.startup.mode: latest-offset\n" BLACKHOLE "pipeline:\n  execution.runtime-mode: BATCH\n",
                 "6:3: execution.runtime-mode BATCH reads a snapshot, which scan.startup.mode latest-offset does not "
                 "take (use initial or snapshot, or STREAMING)");
}

static void include_schema_changes_in_both_forms(void **state)
{
    sl_config cfg;
    sl_err err;
    /* Flink's list of event types, for any sink */
    assert_int_equal(load(MYSQL "sink:\n  type: kafka\n  properties.bootstrap.servers: k:9092\n"
                                "  include.schema.changes: [create.table, column]\n"
                                "  exclude.schema.changes: [drop.column]\n",
                          &cfg, &err),
                     0);
    assert_string_equal(cfg.schema_include, "create.table,column");
    assert_string_equal(cfg.schema_exclude, "drop.column");
    assert_int_equal(sl_opt_num(&cfg.sink, "include.schema.changes"), 1);
    sl_config_free(&cfg);
    /* the kafka sink's own switch */
    assert_int_equal(load(MYSQL "sink:\n  type: kafka\n  properties.bootstrap.servers: k:9092\n"
                                "  include.schema.changes: false\n",
                          &cfg, &err),
                     0);
    assert_null(cfg.schema_include);
    assert_int_equal(sl_opt_num(&cfg.sink, "include.schema.changes"), 0);
    sl_config_free(&cfg);
    /* a sink without the switch: false keeps every change from it */
    assert_int_equal(load(MYSQL BLACKHOLE "  include.schema.changes: false\n", &cfg, &err), 0);
    assert_string_equal(cfg.schema_exclude, "create,add,alter,drop,rename,truncate");
    sl_config_free(&cfg);
    assert_int_equal(load(MYSQL BLACKHOLE "  include.schema.changes: column.add\n", &cfg, &err), SL_ECONFIG);
    char want[600];
    snprintf(want, sizeof want,
             "%s: sink include.schema.changes: 'column.add' is not a schema change type (add.column, "
             "alter.column.type, create.table, drop.column, drop.table, rename.column, truncate.table, or a part "
             "such as drop)",
             path);
    assert_string_equal(err.msg, want);
    sl_config_free(&cfg);
}

static void refusals_name_their_place(void **state)
{
    expect_error(MYSQL "sink:\n  type: file\n  path: /tmp/x.jsonl\n"
                       "transform:\n  - source-table: shop.orders\n    partition-keys: id\n",
                 "10:5: transform partition-keys: the file sink creates no tables, so it has nothing to apply "
                 "it to (sinks that create tables, such as ClickHouse and Iceberg, use it); remove it");
    /* blackhole stands in for any sink and takes them */
    sl_config cfg;
    sl_err err;
    assert_int_equal(load(MYSQL BLACKHOLE "transform:\n  - source-table: shop.orders\n    partition-keys: id\n"
                                          "    table-options: a=1;b=2\n    table-options.delimiter: ';'\n",
                          &cfg, &err),
                     0);
    sl_config_free(&cfg);
    expect_error(MYSQL BLACKHOLE "pipeline:\n  model:\n    - model-name: CHAT\n",
                 "9:3: AI model functions are not supported by sluice");
    expect_error(MYSQL BLACKHOLE "pipeline:\n  local-time-zone: Mars/Base\n",
                 "9:3: local-time-zone: unknown time zone 'Mars/Base' (write a tz database name such as "
                 "Asia/Shanghai, or an offset such as +08:00)");
    expect_error(MYSQL BLACKHOLE "pipeline:\n  schema.change.behavior: strict\n",
                 "9:3: 'strict' is not a valid value for 'schema.change.behavior' (one of: ignore, lenient, "
                 "try_evolve, evolve, exception)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso_durations),
        cmocka_unit_test(java_runtime_options_are_accepted),
        cmocka_unit_test(metadata_list_names_what_the_source_has),
        cmocka_unit_test(postgres_tables_may_carry_the_database),
        cmocka_unit_test(chunk_key_column_per_table),
        cmocka_unit_test(batch_mode_is_a_snapshot),
        cmocka_unit_test(include_schema_changes_in_both_forms),
        cmocka_unit_test(refusals_name_their_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
