/* mysql8_events.c — MySQL 8 binlog events MariaDB never writes, so only
 * byte vectors can cover them (tests/unit/test_mysql_server.c): GTIDs as
 * "uuid:n", and the events sluice refuses rather than skip, because
 * skipping them would lose rows without a word:
 *  - TRANSACTION_PAYLOAD_EVENT (40, binlog_transaction_compression=ON,
 *    MySQL 8.0.20+): a whole transaction zstd-compressed into one event;
 *  - PARTIAL_UPDATE_ROWS_EVENT (39, binlog_row_value_options=PARTIAL_JSON):
 *    JSON columns as diffs against the before image (refused in rows.c).
 * Layouts from MySQL's libbinlogevents (control_events.h: Gtid_event;
 * binlog_event.h: Log_event_type). */
#include <inttypes.h>
#include <stdio.h>

#include "binlog_decode.h"

int sl_mysql_gtid_text(const uint8_t *body, size_t len, char *out, size_t outlen)
{
    /* GTID_LOG_EVENT / ANONYMOUS_GTID_LOG_EVENT post-header: flags (1),
     * SID (16, the source's server_uuid), GNO (8, little-endian) */
    if (len < 25 || outlen < 64)
        return -1;
    static const char hx[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hx[body[1 + i] >> 4];
        *o++ = hx[body[1 + i] & 15];
    }
    uint64_t gno = 0;
    for (int i = 7; i >= 0; i--)
        gno = gno << 8 | body[17 + i];
    snprintf(o, outlen - (size_t)(o - out), ":%" PRIu64, gno);
    return 0;
}

const char *sl_mysql_refused_event(int type)
{
    switch (type) {
    case SL_MYSQL_TRANSACTION_PAYLOAD_EVENT:
        return "the binlog holds compressed transactions (binlog_transaction_compression=ON), which sluice does "
               "not decode yet; fix: SET GLOBAL binlog_transaction_compression = OFF; and "
               "binlog_transaction_compression=OFF in my.cnf [mysqld], then resume from a position after the "
               "compressed transactions or snapshot again";
    case SL_MYSQL_PARTIAL_UPDATE_ROWS_EVENT:
        return "the binlog holds partial JSON updates (binlog_row_value_options=PARTIAL_JSON), which carry JSON "
               "columns as diffs sluice does not apply; fix: SET GLOBAL binlog_row_value_options = ''; and "
               "binlog_row_value_options='' in my.cnf [mysqld]";
    default:
        return NULL;
    }
}
