/* test_expr_time.c — Flink CDC's temporal functions in the pipeline's
 * local-time-zone: the clock, Java date patterns, calendar arithmetic
 * across daylight-saving changes, EXTRACT and interval arithmetic, with
 * the results Flink documents (FROM_UNIXTIME(44) is 09:00:44 in Tokyo) and
 * its function tests (2024-02-29 is in ISO week 9, a Thursday: DOW 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "expr_harness.h"

static void clock_in_the_local_time_zone(void **state)
{
    harness_tz = "UTC";
    static const xcase utc[] = {
        {"CURRENT_TIMESTAMP", "TIMESTAMP_LTZ(3)|2024-01-15T10:20:30.123"},
        {"NOW()", "TIMESTAMP_LTZ(3)|2024-01-15T10:20:30.123"},
        {"LOCALTIMESTAMP", "TIMESTAMP(3)|2024-01-15T10:20:30.123"},
        {"CURRENT_DATE", "DATE|2024-01-15"},
        {"CURRENT_TIME", "TIME(0)|10:20:30"},
        {"LOCALTIME", "TIME(0)|10:20:30"},
        {"UNIX_TIMESTAMP()", "BIGINT|1705314030"},
        {"CURRENT_TIMESTAMP > ltz", "BOOLEAN|true"},
    };
    RUN(utc);
    harness_tz = "Asia/Tokyo";
    static const xcase tokyo[] = {
        /* an instant stays the instant; local readings move */
        {"CURRENT_TIMESTAMP", "TIMESTAMP_LTZ(3)|2024-01-15T10:20:30.123"},
        {"LOCALTIMESTAMP", "TIMESTAMP(3)|2024-01-15T19:20:30.123"},
        {"CURRENT_TIME", "TIME(0)|19:20:30"},
    };
    RUN(tokyo);
    harness_tz = "Pacific/Kiritimati";
    static const xcase kiritimati[] = {
        {"CURRENT_DATE", "DATE|2024-01-16"},
    };
    RUN(kiritimati);
    harness_tz = "+05:30";
    static const xcase offset[] = {
        {"LOCALTIMESTAMP", "TIMESTAMP(3)|2024-01-15T15:50:30.123"},
    };
    RUN(offset);
    harness_tz = "UTC";
}

static void formatting_and_parsing(void **state)
{
    harness_tz = "UTC";
    static const xcase utc[] = {
        {"FROM_UNIXTIME(44)", "STRING|1970-01-01 00:00:44"},
        {"FROM_UNIXTIME(86400 * 365, 'yyyy/MM/dd HH:mm')", "STRING|1971/01/01 00:00"},
        {"UNIX_TIMESTAMP('1970-01-01 00:00:44')", "BIGINT|44"},
        {"UNIX_TIMESTAMP('01.01.1970', 'dd.MM.yyyy')", "BIGINT|0"},
        {"UNIX_TIMESTAMP('bad')", "BIGINT|-9223372036854775808"},
        {"DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')", "STRING|2024-03-10 01:30:00"},
        {"DATE_FORMAT(ts, 'HH:mm:ss.SSS')", "STRING|01:30:00.250"},
        {"DATE_FORMAT(ts, 'EEE, d MMM yyyy')", "STRING|Sun, 10 Mar 2024"},
        {"DATE_FORMAT(ltz, 'yyyy-MM-dd HH:mm')", "STRING|2023-12-31 16:30"},
        {"DATE_FORMAT(dt, 'yyyy/MM/dd')", "STRING|2024/02/29"},
        {"DATE_FORMAT(tm, 'HH:mm')", "STRING|23:58"},
        {"DATE_FORMAT('2024-01-02 03:04:05', 'yyyyMMdd')", "STRING|20240102"},
        {"DATE_FORMAT(n, 'yyyy')", "STRING|NULL"},
        {"DATE_FORMAT_TZ(ltz, 'yyyy-MM-dd HH:mm', 'Asia/Shanghai')", "STRING|2024-01-01 00:30"},
        {"DATE_FORMAT_TZ(ltz, '+08:00')", "STRING|2024-01-01 00:30:00"},
        {"DATE_FORMAT_TZ(ltz, 'Mars/Olympus')", "BIND:unknown time zone 'Mars/Olympus' (write a tz database name such "
                                                "as Asia/Shanghai, or an offset such as +08:00)"},
        {"TO_DATE('2024-02-29')", "DATE|2024-02-29"},
        {"TO_DATE('2024-02-30')", "DATE|NULL"},
        {"TO_DATE('29/02/2024', 'dd/MM/yyyy')", "DATE|2024-02-29"},
        {"TO_DATE(ts)", "DATE|2024-03-10"},
        {"TO_TIMESTAMP('2024-01-02 03:04:05')", "TIMESTAMP(3)|2024-01-02T03:04:05"},
        {"TO_TIMESTAMP('02.01.2024 03:04', 'dd.MM.yyyy HH:mm')", "TIMESTAMP(3)|2024-01-02T03:04"},
        {"TO_TIMESTAMP(s)", "EVAL:'Hello' does not match the date pattern 'yyyy-MM-dd HH:mm:ss'"},
        {"TO_TIMESTAMP_LTZ(1700000000000)", "TIMESTAMP_LTZ(3)|2023-11-14T22:13:20"},
        {"TO_TIMESTAMP_LTZ(1700000000, 0)", "TIMESTAMP_LTZ(3)|2023-11-14T22:13:20"},
        {"TO_TIMESTAMP_LTZ(i, 2)", "EVAL:TO_TIMESTAMP_LTZ precision must be 0 or 3, not 2"},
        {"TO_TIMESTAMP_LTZ('2024-01-02 03:04:05.000')", "TIMESTAMP_LTZ(3)|2024-01-02T03:04:05"},
        {"TO_TIMESTAMP_LTZ('2024-01-02 03:04:05', 'yyyy-MM-dd HH:mm:ss', 'Asia/Shanghai')",
         "TIMESTAMP_LTZ(3)|2024-01-01T19:04:05"},
    };
    RUN(utc);
    harness_tz = "Asia/Tokyo";
    static const xcase tokyo[] = {
        {"FROM_UNIXTIME(44)", "STRING|1970-01-01 09:00:44"},
        {"UNIX_TIMESTAMP('1970-01-01 09:00:44')", "BIGINT|44"},
        {"DATE_FORMAT(ltz, 'yyyy-MM-dd HH:mm')", "STRING|2024-01-01 01:30"},
        /* a wall-clock TIMESTAMP keeps its fields in every zone */
        {"DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')", "STRING|2024-03-10 01:30"},
    };
    RUN(tokyo);
    harness_tz = "UTC";
}

static void calendar_arithmetic_across_dst(void **state)
{
    harness_tz = "UTC";
    static const xcase utc[] = {
        {"TIMESTAMPADD(DAY, 1, ts)", "TIMESTAMP(3)|2024-03-11T01:30:00.250"},
        {"TIMESTAMPADD(MONTH, 1, TIMESTAMP '2024-01-31 00:00:00')", "TIMESTAMP(6)|2024-02-29T00:00"},
        {"TIMESTAMPADD(YEAR, -1, dt)", "DATE|2023-02-28"},
        {"TIMESTAMPADD(HOUR, 1, ts)", "TIMESTAMP(3)|2024-03-10T02:30:00.250"},
        {"TIMESTAMPADD(MINUTE, 90, ltz)", "TIMESTAMP_LTZ(3)|2023-12-31T18:00"},
        {"TIMESTAMPADD(WEEK, 1, ts)", "BIND:the unit must be SECOND, MINUTE, HOUR, DAY, MONTH or YEAR, not WEEK"},
        {"TIMESTAMPDIFF(DAY, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-03 12:00:00')", "INT|2"},
        {"TIMESTAMPDIFF(SECOND, TIMESTAMP '2024-01-01 00:00:05', TIMESTAMP '2024-01-01 00:00:00')", "INT|-5"},
        {"TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-01-31 00:00:00', TIMESTAMP '2024-02-01 00:00:00')", "INT|1"},
        {"TIMESTAMPDIFF(YEAR, dt, ts)", "INT|0"},
        {"TIMESTAMP_DIFF('HOUR', TIMESTAMP '2024-03-10 00:00:00', TIMESTAMP '2024-03-10 04:00:00')", "INT|4"},
        {"TIMESTAMPDIFF(HOUR, ltz, CURRENT_TIMESTAMP)", "INT|353"},
        {"DATE_ADD(dt, 1)", "STRING|2024-03-01"},
        {"DATE_ADD('2024-12-31', 1)", "STRING|2025-01-01"},
        {"DATE_ADD('2024-12-31 10:00:00', -1)", "STRING|2024-12-30"},
        {"DATE_ADD(s, 1)", "EVAL:DATE_ADD cannot read 'Hello' as a date"},
    };
    RUN(utc);
    harness_tz = "America/New_York";
    static const xcase ny[] = {
        /* 2024-03-10 02:00 does not exist in New York: 01:30 + 1 hour is 03:30 */
        {"TIMESTAMPADD(HOUR, 1, ts)", "TIMESTAMP(3)|2024-03-10T03:30:00.250"},
        {"TIMESTAMPADD(DAY, 1, ts)", "TIMESTAMP(3)|2024-03-11T01:30:00.250"},
        {"TIMESTAMPDIFF(HOUR, TIMESTAMP '2024-03-10 00:00:00', TIMESTAMP '2024-03-10 04:00:00')", "INT|3"},
        /* a wall time in the gap moves forward by the gap; an ambiguous
         * one takes the earlier (daylight) offset, as java.time does */
        {"CAST(TIMESTAMP '2024-03-10 02:30:00' AS TIMESTAMP_LTZ)", "TIMESTAMP_LTZ(6)|2024-03-10T07:30"},
        {"CAST(TIMESTAMP '2024-11-03 01:30:00' AS TIMESTAMP_LTZ)", "TIMESTAMP_LTZ(6)|2024-11-03T05:30"},
        {"CAST(ltz AS TIMESTAMP)", "TIMESTAMP(6)|2023-12-31T11:30"},
        {"CAST(ltz AS DATE)", "DATE|2023-12-31"},
    };
    RUN(ny);
    harness_tz = "UTC";
}

static void extract_and_intervals(void **state)
{
    harness_tz = "UTC";
    static const xcase utc[] = {
        {"EXTRACT(YEAR FROM dt)", "BIGINT|2024"},
        {"EXTRACT(QUARTER FROM dt)", "BIGINT|1"},
        {"EXTRACT(MONTH FROM dt)", "BIGINT|2"},
        {"EXTRACT(WEEK FROM dt)", "BIGINT|9"},
        {"EXTRACT(DAY FROM dt)", "BIGINT|29"},
        {"EXTRACT(DOY FROM dt)", "BIGINT|60"},
        {"EXTRACT(DOW FROM dt)", "BIGINT|5"},
        {"EXTRACT(HOUR FROM dt)", "BIGINT|0"},
        {"EXTRACT(HOUR FROM tm)", "BIGINT|23"},
        {"EXTRACT(MINUTE FROM tm)", "BIGINT|58"},
        {"EXTRACT(SECOND FROM tm)", "BIGINT|57"},
        {"EXTRACT(WEEK FROM TIMESTAMP '2024-12-31 23:58:57')", "BIGINT|1"},
        {"EXTRACT(YEAR FROM tm)", "BIND:a TIME has no date part to extract"},
        {"YEAR(ltz)", "BIGINT|2023"},
        {"QUARTER(ts)", "BIGINT|1"},
        {"MONTH(ts)", "BIGINT|3"},
        {"WEEK(ts)", "BIGINT|10"},
        {"DAYOFYEAR(ts)", "BIGINT|70"},
        {"DAYOFMONTH(ts)", "BIGINT|10"},
        {"DAYOFWEEK(ts)", "BIGINT|1"},
        {"HOUR(ts)", "BIGINT|1"},
        {"MINUTE(ts)", "BIGINT|30"},
        {"SECOND(ts)", "BIGINT|0"},
        {"YEAR(CAST(NULL AS DATE))", "BIGINT|NULL"},
        {"dt + INTERVAL '1' MONTH", "DATE|2024-03-29"},
        {"DATE '2024-01-31' + INTERVAL '1' MONTH", "DATE|2024-02-29"},
        {"TIMESTAMP '2024-01-31 12:34:56' + INTERVAL '13' MONTH", "TIMESTAMP(6)|2025-02-28T12:34:56"},
        {"ltz - INTERVAL '1' MONTH", "TIMESTAMP_LTZ(3)|2023-11-30T16:30"},
        {"tm + INTERVAL '2' HOUR", "TIME(0)|01:58:57"},
        {"ts + INTERVAL '1-2' YEAR TO MONTH", "TIMESTAMP(3)|2025-05-10T01:30:00.250"},
        {"ts + INTERVAL '1 02:03:04' DAY TO SECOND", "TIMESTAMP(3)|2024-03-11T03:33:04.250"},
        {"ts - INTERVAL '90' MINUTE", "TIMESTAMP(3)|2024-03-10T00:00:00.250"},
        {"INTERVAL '1' DAY + dt", "DATE|2024-03-01"},
    };
    RUN(utc);
    harness_tz = "Asia/Shanghai";
    static const xcase shanghai[] = {
        {"YEAR(ltz)", "BIGINT|2024"},
        {"HOUR(ltz)", "BIGINT|0"},
    };
    RUN(shanghai);
    harness_tz = "UTC";
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clock_in_the_local_time_zone),
        cmocka_unit_test(formatting_and_parsing),
        cmocka_unit_test(calendar_arithmetic_across_dst),
        cmocka_unit_test(extract_and_intervals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
