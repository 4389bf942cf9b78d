/* test_mysql_server.c — what the mysql source does per server version and
 * MariaDB's compressed events, on version strings and captured bytes:
 * MySQL before 8.0.1 and MariaDB before 10.5 are refused naming the
 * version and the reason (no binlog_row_metadata); MySQL 8.2+ is asked
 * SHOW BINARY LOG STATUS (8.4 removed SHOW MASTER STATUS), everything else
 * SHOW MASTER STATUS; a compressed rows event (log_bin_compress=ON,
 * captured from MariaDB 10.11.19) decodes to the rows its plain twin
 * would, and a damaged one is an error, not a read past the buffer; MySQL
 * 8 GTIDs as uuid:n (partial JSON updates: test_mysql8_partial_json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../sources/mysql/binlog_decode.h"
#include "../../sources/mysql/mysql_source.h"
#include <zlib.h>

static void old_servers_are_refused_by_version(void **state)
{
    sl_err err;
    assert_int_equal(sl_mysql_server_supported("5.7.44-log", &err), SL_ECONFIG);
    assert_string_equal(err.msg,
                        "mysql source: MySQL 5.7.44-log is not supported: it has no binlog_row_metadata (added in "
                        "MySQL 8.0.1), and sluice takes column names, primary keys, signedness and charsets from "
                        "the binlog's TABLE_MAP metadata instead of parsing DDL; upgrade to MySQL 8.0 or later");
    assert_int_equal(sl_mysql_server_supported("8.0.0-dmr", &err), SL_ECONFIG);
    assert_int_equal(sl_mysql_server_supported("10.4.34-MariaDB-log", &err), SL_ECONFIG);
    assert_non_null(strstr(err.msg, "MariaDB 10.4.34-MariaDB-log is not supported: it has no binlog_row_metadata "
                                    "(added in MariaDB 10.5)"));
    /* the 5.5.5- prefix MariaDB before 11 shows old clients is not MySQL 5.5 */
    assert_int_equal(sl_mysql_server_supported("5.5.5-10.4.1-MariaDB", &err), SL_ECONFIG);
    assert_non_null(strstr(err.msg, "added in MariaDB 10.5"));
    assert_int_equal(sl_mysql_server_supported("5.5.5-10.11.6-MariaDB-0+deb12u1-log", &err), 0);
    assert_int_equal(sl_mysql_server_supported("8.0.1", &err), 0);
    assert_int_equal(sl_mysql_server_supported("8.4.3", &err), 0);
    assert_int_equal(sl_mysql_server_supported("9.1.0", &err), 0);
    assert_int_equal(sl_mysql_server_supported("10.5.0-MariaDB", &err), 0);
    assert_int_equal(sl_mysql_server_supported("11.4.2-MariaDB-log", &err), 0);
    assert_int_equal(sl_mysql_server_supported("", &err), 0); /* unknown: the binlog tells */
}

static void binlog_status_statement_per_version(void **state)
{
    assert_string_equal(sl_mysql_binlog_status_sql("8.0.39"), "SHOW MASTER STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql("8.1.0"), "SHOW MASTER STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql("8.2.0"), "SHOW BINARY LOG STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql("8.4.3"), "SHOW BINARY LOG STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql("9.1.0-commercial"), "SHOW BINARY LOG STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql("10.11.19-MariaDB-0+deb12u1-log"), "SHOW MASTER STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql("11.4.2-MariaDB"), "SHOW MASTER STATUS");
    assert_string_equal(sl_mysql_binlog_status_sql(NULL), "SHOW MASTER STATUS");
}

/* CREATE TABLE cz.t (id INT PRIMARY KEY, s VARCHAR(100)) on MariaDB
 * 10.11.19 with log_bin_compress=ON, log_bin_compress_min_len=10: the
 * TABLE_MAP, then INSERT (1, 'a' x 50), (2, 'b' x 50) as
 * WRITE_ROWS_COMPRESSED_EVENT_V1 (166) and UPDATE ... SET s='x' WHERE id=1
 * as UPDATE_ROWS_COMPRESSED_EVENT_V1 (167); bodies after the 19-byte
 * header, without the checksum */
static const uint8_t tm[] = {0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x63, 0x7a, 0x00, 0x01,
                             0x74, 0x00, 0x02, 0x03, 0x0f, 0x02, 0x90, 0x01, 0x02, 0x01, 0x01, 0x00, 0x02,
                             0x01, 0x2d, 0x04, 0x05, 0x02, 0x69, 0x64, 0x01, 0x73, 0x08, 0x01, 0x00};
static const uint8_t ins[] = {0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x03, 0x81, 0x72, 0x78,
                              0x9c, 0xfb, 0xc3, 0xc8, 0xc0, 0xc0, 0x60, 0xc4, 0x90, 0x48, 0x32, 0xf8, 0xc3,
                              0x04, 0xd6, 0x98, 0x44, 0x32, 0x00, 0x00, 0xcc, 0xa4, 0x28, 0x76};
static const uint8_t upd[] = {0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x03, 0x03, 0x81, 0x41,
                              0x78, 0x9c, 0xfb, 0xc3, 0xc8, 0xc0, 0xc0, 0x60, 0xc4, 0x90, 0x48, 0x32, 0xf8,
                              0x03, 0xd2, 0xc8, 0xc8, 0x50, 0x01, 0x00, 0xcf, 0x60, 0x15, 0x98};

static void compressed_rows_events_decode(void **state)
{
    static const sl_mysql_server srv = {1, 101119};
    sl_err err;
    uint64_t id;
    sl_table_schema *s;
    assert_int_equal(sl_mysql_parse_table_map(tm, sizeof tm, &srv, &id, &s, &err), 0);
    sl_buf scratch;
    sl_buf_init(&scratch);
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, &scratch};
    sl_arena a;
    sl_arena_init(&a);
    sl_mysql_rows it;
    sl_value *before, *after;
    assert_int_equal(sl_mysql_rows_open(&it, 166, ins, sizeof ins, s, &opts, &err), 0);
    assert_int_equal(sl_mysql_rows_op(166), 'c');
    for (int64_t k = 1; k <= 2; k++) {
        assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 1);
        assert_int_equal(after[0].v.i, k);
        assert_int_equal(after[1].len, 50);
        assert_int_equal(after[1].v.s[49], k == 1 ? 'a' : 'b');
    }
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 0);

    assert_int_equal(sl_mysql_rows_open(&it, 167, upd, sizeof upd, s, &opts, &err), 0);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 1);
    assert_int_equal(before[0].v.i, 1);
    assert_int_equal(before[1].len, 50);
    assert_int_equal(after[0].v.i, 1);
    assert_int_equal(after[1].len, 1);
    assert_memory_equal(after[1].v.s, "x", 1);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 0);

    /* a damaged stream, a length it does not inflate to, no buffer */
    uint8_t bad[sizeof ins];
    memcpy(bad, ins, sizeof ins);
    bad[20] ^= 0xff;
    assert_int_not_equal(sl_mysql_rows_open(&it, 166, bad, sizeof bad, s, &opts, &err), 0);
    memcpy(bad, ins, sizeof ins);
    bad[11] = 0x73; /* 115 bytes claimed, 114 inside */
    assert_int_not_equal(sl_mysql_rows_open(&it, 166, bad, sizeof bad, s, &opts, &err), 0);
    assert_string_equal(err.msg, "compressed event inflates to 114 bytes, not the 115 its header says");
    bad[11] = 0x71; /* 113 claimed: the stream does not fit */
    assert_int_not_equal(sl_mysql_rows_open(&it, 166, bad, sizeof bad, s, &opts, &err), 0);
    assert_string_equal(err.msg, "compressed event is damaged or longer than its header says (zlib error -5)");
    assert_int_not_equal(sl_mysql_rows_open(&it, 166, ins, sizeof ins - 10, s, &opts, &err), 0);
    sl_mysql_decode_opts none = {SL_ZERO_DATE_NULL, NULL, NULL};
    assert_int_not_equal(sl_mysql_rows_open(&it, 166, ins, sizeof ins, s, &none, &err), 0);
    sl_arena_free(&a);
    sl_buf_free(&scratch);
    sl_schema_free(s);
}

static void compressed_query_text(void **state)
{
    /* the statement part of QUERY_COMPRESSED_EVENT: 0x81, length 54, zlib */
    static const char sql[] = "CREATE TABLE cz.t (id INT PRIMARY KEY, s VARCHAR(100))";
    uint8_t z[128] = {0x81, (uint8_t)(sizeof sql - 1)};
    uLongf zl = sizeof z - 2;
    assert_int_equal(compress(z + 2, &zl, (const Bytef *)sql, sizeof sql - 1), Z_OK);
    sl_buf out;
    sl_buf_init(&out);
    sl_err err;
    assert_int_equal(sl_mysql_uncompress(z, zl + 2, &out, &err), 0);
    assert_int_equal(out.len, sizeof sql - 1);
    assert_memory_equal(out.data, sql, sizeof sql - 1);
    z[0] = 0x05; /* no 0x80 flag */
    assert_int_not_equal(sl_mysql_uncompress(z, zl + 2, &out, &err), 0);
    z[0] = 0x85; /* 5 length bytes */
    assert_int_not_equal(sl_mysql_uncompress(z, zl + 2, &out, &err), 0);
    sl_buf_free(&out);
}

/* MySQL 8 events, laid out per MySQL's libbinlogevents (control_events.h
 * Gtid_event: flags 1, SID 16, GNO 8 little-endian; binlog_event.h:
 * PARTIAL_UPDATE_ROWS_EVENT = 39, TRANSACTION_PAYLOAD_EVENT = 40,
 * GTID_TAGGED_LOG_EVENT = 42) */
static void mysql8_gtid_text(void **state)
{
    const uint8_t gtid[] = {0x01,                                                       /* flags */
                            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, /* SID */
                            0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62,                         /* ... */
                            0x2a, 0, 0, 0, 0, 0, 0, 0,                                  /* GNO 42 */
                            0x02};                          /* logical timestamps follow */
    char out[64];
    assert_int_equal(sl_mysql_gtid_text(gtid, sizeof gtid, out, sizeof out), 0);
    assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:42");
    uint8_t big[sizeof gtid];
    memcpy(big, gtid, sizeof gtid);
    memset(big + 17, 0xff, 7);
    big[24] = 0x7f; /* GNO 2^63 - 1, the largest MySQL issues */
    assert_int_equal(sl_mysql_gtid_text(big, sizeof big, out, sizeof out), 0);
    assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:9223372036854775807");
    assert_int_equal(sl_mysql_gtid_text(gtid, 24, out, sizeof out), -1); /* cut short */
}

/* The events libmariadb refuses (CR_UNKNOWN_BINLOG_EVENT or
 * CR_BINLOG_ERROR for MySQL 8's types 39, 40, 42) are taken from the connection's read buffer only when
 * the failed fetch read a packet, the error says so, and the bytes are such
 * an event inside the buffer (rpl_refused.c). */
static void refused_events_from_the_read_buffer(void **state)
{
    uint8_t buf[64] = {0};
    /* the packet after its 4-byte header: OK byte, then a 30-byte event */
    uint8_t *pkt = buf + 4;
    pkt[1 + 4] = 40;
    pkt[1 + 9] = 30;
    NET net;
    memset(&net, 0, sizeof net);
    net.buff = buf;
    net.buff_end = buf + sizeof buf;
    net.read_pos = pkt;
    net.pkt_nr = 8;
    size_t len = 0;
    assert_ptr_equal(sl_mysql_refused_event_bytes(&net, 7, 5020, &len), pkt + 1);
    assert_int_equal(len, 30);
    pkt[1 + 4] = 42;
    assert_ptr_equal(sl_mysql_refused_event_bytes(&net, 7, 5020, &len), pkt + 1);
    pkt[1 + 4] = 39;
    assert_ptr_equal(sl_mysql_refused_event_bytes(&net, 7, 5020, &len), pkt + 1);
    /* no packet read by this fetch, another error, a kind libmariadb
     * parses itself, not an event packet, a length past the buffer or
     * shorter than a header */
    assert_null(sl_mysql_refused_event_bytes(&net, 8, 5020, &len));
    assert_null(sl_mysql_refused_event_bytes(&net, 7, 2013, &len));
    assert_ptr_equal(sl_mysql_refused_event_bytes(&net, 7, 5021, &len), pkt + 1); /* "malformed" */
    pkt[1 + 4] = 2;
    assert_null(sl_mysql_refused_event_bytes(&net, 7, 5020, &len));
    pkt[1 + 4] = 40;
    pkt[0] = 0xfe;
    assert_null(sl_mysql_refused_event_bytes(&net, 7, 5020, &len));
    pkt[0] = 0;
    pkt[1 + 9] = 60; /* 60 + the OK byte > the 60 bytes from read_pos */
    assert_null(sl_mysql_refused_event_bytes(&net, 7, 5020, &len));
    pkt[1 + 9] = 59;
    assert_ptr_equal(sl_mysql_refused_event_bytes(&net, 7, 5020, &len), pkt + 1);
    pkt[1 + 9] = 18;
    assert_null(sl_mysql_refused_event_bytes(&net, 7, 5020, &len));
    net.read_pos = NULL;
    assert_null(sl_mysql_refused_event_bytes(&net, 7, 5020, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_servers_are_refused_by_version),
        cmocka_unit_test(binlog_status_statement_per_version),
        cmocka_unit_test(compressed_rows_events_decode),
        cmocka_unit_test(compressed_query_text),
        cmocka_unit_test(mysql8_gtid_text),
        cmocka_unit_test(refused_events_from_the_read_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
