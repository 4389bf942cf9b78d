/* test_mysql_xa.c — the pieces of XA transaction handling that need no
 * server (sources/mysql/binlog_events.c, xa_hold.c): the xid of an
 * XA_PREPARE_LOG_EVENT body (one_phase 1, formatID 4, gtrid_length 4,
 * bqual_length 4, then the bytes; MariaDB's and MySQL's
 * XA_prepare_log_event) written as the server writes it into its XA
 * statements (X'..',X'..',n), the xid of those statements, how they are
 * classified, and the store of prepared transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../sources/mysql/binlog_decode.h"
#include "../../sources/mysql/xa_hold.h"

static size_t prepare_body(uint8_t *b, int one_phase, uint32_t format, const char *gtrid, size_t gl,
                           const char *bqual, size_t bl)
{
    b[0] = (uint8_t)one_phase;
    uint32_t v[3] = {format, (uint32_t)gl, (uint32_t)bl};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++)
            b[1 + 4 * i + k] = (uint8_t)(v[i] >> (8 * k));
    memcpy(b + 13, gtrid, gl);
    memcpy(b + 13 + gl, bqual, bl);
    return 13 + gl + bl;
}

static void prepare_event_xid_is_the_statements_form(void **state)
{
    uint8_t b[200];
    char xid[SL_XID_TEXT_MAX];
    int one;
    size_t n = prepare_body(b, 0, 1, "a", 1, "", 0);
    assert_int_equal(sl_mysql_xa_prepare_xid(b, n, &one, xid, sizeof xid), 0);
    assert_string_equal(xid, "X'61',X'',1");
    assert_int_equal(one, 0);
    n = prepare_body(b, 1, 42, "\x0a\x0b", 2, "\xff", 1);
    assert_int_equal(sl_mysql_xa_prepare_xid(b, n, &one, xid, sizeof xid), 0);
    assert_string_equal(xid, "X'0a0b',X'ff',42");
    assert_int_equal(one, 1);
    /* lengths past the body, or past an XID's 64 + 64 bytes */
    assert_int_equal(sl_mysql_xa_prepare_xid(b, n - 1, &one, xid, sizeof xid), -1);
    n = prepare_body(b, 0, 1, "a", 1, "", 0);
    b[5] = 65;
    assert_int_equal(sl_mysql_xa_prepare_xid(b, 200, &one, xid, sizeof xid), -1);
    assert_int_equal(sl_mysql_xa_prepare_xid(b, 12, &one, xid, sizeof xid), -1);
}

static void statement_xid_and_kind(void **state)
{
    char xid[SL_XID_TEXT_MAX];
    static const struct {
        const char *sql;
        int kind;
        const char *xid;
    } cases[] = {
        {"XA COMMIT X'62',X'71',7", SL_QUERY_XA_COMMIT, "X'62',X'71',7"},
        {"XA COMMIT X'63',X'',1 ONE PHASE", SL_QUERY_XA_COMMIT, "X'63',X'',1"},
        {"XA ROLLBACK X'61',X'',1;", SL_QUERY_XA_ROLLBACK, "X'61',X'',1"},
        {"xa commit  X'61',X'',1  one phase ;", SL_QUERY_XA_COMMIT, "X'61',X'',1"},
        {"XA START X'61',X'',1", SL_QUERY_XA_START, "X'61',X'',1"},
        {"XA END X'61',X'',1", SL_QUERY_XA_END, "X'61',X'',1"},
        {"XA COMMIT", SL_QUERY_XA_COMMIT, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sl_mysql_query q;
        sl_mysql_query_classify(&q, cases[i].sql, strlen(cases[i].sql));
        assert_int_equal(q.kind, cases[i].kind);
        sl_mysql_xa_statement_xid(q.sql, q.len, xid, sizeof xid);
        assert_string_equal(xid, cases[i].xid);
    }
    sl_mysql_query q;
    sl_mysql_query_classify(&q, "COMMIT", 6);
    assert_int_equal(q.kind, SL_QUERY_COMMIT);
    sl_mysql_query_classify(&q, "BEGIN", 5);
    assert_int_equal(q.kind, SL_QUERY_BEGIN);
    sl_mysql_query_classify(&q, "XAVIER", 6);
    assert_int_equal(q.kind, SL_QUERY_OTHER);
}

static void prepared_transactions_wait_and_are_taken_once(void **state)
{
    sl_xa_hold h = {0};
    sl_xa_begin(&h, "binlog.000002", 2, 379);
    assert_int_equal(sl_xa_keep(&h, 19, 7, (const uint8_t *)"map", 3), 0);
    assert_int_equal(sl_xa_keep(&h, 23, 8, (const uint8_t *)"rows!", 5), 0);
    assert_int_equal(sl_xa_prepared(&h, "X'61',X'',1"), 0);
    assert_int_equal(h.holding, 0);
    sl_xa_begin(&h, "binlog.000001", 1, 900);
    assert_int_equal(sl_xa_prepared(&h, "X'62',X'',1"), 0);
    /* a third group begun and then dropped (rolled back before PREPARE) */
    sl_xa_begin(&h, "binlog.000002", 2, 1000);
    sl_xa_keep(&h, 19, 0, (const uint8_t *)"x", 1);
    sl_xa_txn gone = sl_xa_end_group(&h);
    sl_xa_txn_free(&gone);
    /* the checkpoint must go back to the one that starts first */
    const sl_xa_txn *e = sl_xa_earliest(&h);
    assert_non_null(e);
    assert_string_equal(e->file, "binlog.000001");
    assert_int_equal(e->pos, 900);
    sl_xa_txn t;
    /* the server may write the hex digits in either case */
    assert_int_equal(sl_xa_take(&h, "x'61',X'',1", &t), 1);
    size_t off = 0, len;
    int type;
    uint32_t ts;
    const uint8_t *body;
    assert_int_equal(sl_xa_next(&t, &off, &type, &ts, &body, &len), 1);
    assert_int_equal(type, 19);
    assert_int_equal(ts, 7);
    assert_memory_equal(body, "map", 3);
    assert_int_equal(sl_xa_next(&t, &off, &type, &ts, &body, &len), 1);
    assert_int_equal(type, 23);
    assert_int_equal(len, 5);
    assert_int_equal(sl_xa_next(&t, &off, &type, &ts, &body, &len), 0);
    sl_xa_txn_free(&t);
    assert_int_equal(sl_xa_take(&h, "X'61',X'',1", &t), 0);
    assert_int_equal(h.n, 1);
    sl_xa_free(&h);
    assert_null(sl_xa_earliest(&h));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prepare_event_xid_is_the_statements_form),
        cmocka_unit_test(statement_xid_and_kind),
        cmocka_unit_test(prepared_transactions_wait_and_are_taken_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
