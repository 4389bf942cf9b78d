/* test_kafka_fenced.c — which error a fenced transactional producer gets:
 * a transaction open longer than transaction.timeout was aborted by the
 * broker (one source transaction too big to send in time; the fix is the
 * option), anything else means another sluice took over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../sinks/kafka/kafka_sink.h"

static kafka_sink sink(int in_txn, int64_t began_ms)
{
    kafka_sink k = {.in_txn = in_txn, .txn_begin_ms = began_ms, .commit_timeout_ms = 60000,
                    .pipeline = "orders", .txn_id = "sluice-orders"};
    return k;
}

static void transaction_older_than_the_timeout_names_the_option(void **state)
{
    (void)state;
    kafka_sink k = sink(1, 1000);
    sl_err err = {{0}};
    assert_int_equal(sl_kafka_fenced_error(&k, 64000, "produce", "old epoch", &err), SL_ERUNTIME);
    assert_string_equal(err.msg,
                        "kafka sink: the broker aborted the open transaction during produce: it was open for 63000 ms, "
                        "longer than the kafka sink's transaction.timeout (60000 ms), which happens when one source "
                        "transaction takes longer than that to send; raise transaction.timeout (up to the broker's "
                        "transaction.max.timeout.ms, 15 minutes by default) (old epoch)");
}

static void young_transaction_means_another_instance(void **state)
{
    (void)state;
    kafka_sink k = sink(1, 1000);
    sl_err err = {{0}};
    assert_int_equal(sl_kafka_fenced_error(&k, 30000, "produce", "fenced", &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "kafka sink: this process was fenced during produce: another sluice with pipeline "
                                 "'orders' (transactional.id sluice-orders) has started and took over; this one "
                                 "stops (fenced)");
}

static void no_open_transaction_means_another_instance(void **state)
{
    (void)state;
    kafka_sink k = sink(0, 0);
    sl_err err = {{0}};
    sl_kafka_fenced_error(&k, 3600000, "init_transactions", "fenced", &err);
    assert_non_null(strstr(err.msg, "another sluice with pipeline 'orders'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transaction_older_than_the_timeout_names_the_option),
        cmocka_unit_test(young_transaction_means_another_instance),
        cmocka_unit_test(no_open_transaction_means_another_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
