/* rpl_refused.c — the MySQL 8 events the client library will not hand
 * over. MariaDB Connector/C (libmariadb/mariadb_rpl.c, mariadb_rpl_fetch)
 * parses every event it fetches. A type missing from its switch and not
 * flagged LOG_EVENT_IGNORABLE_F fails the fetch with
 * CR_UNKNOWN_BINLOG_EVENT (PARTIAL_UPDATE_ROWS 39, TRANSACTION_PAYLOAD
 * 40); a type above the last MySQL type it knows (MYSQL_EVENTS_END, 40 in
 * 3.3) fails it with CR_BINLOG_ERROR "Malformed packet" (GTID_TAGGED_LOG
 * 42): both seen with Debian's libmariadb 3.3.20, tests/unit/
 * test_mysql8_client.c. Without this, a MySQL 8 binlog with compressed
 * transactions or tagged GTIDs reads as a broken connection, retried
 * until the retries run out.
 *
 * The fetch has read the whole packet before refusing it, and the stream
 * stays intact (the next fetch reads the next packet); the packet is
 * still in the connection's read buffer (NET.read_pos: the packet after
 * its 4-byte header, i.e. the OK byte, then the event) until the next
 * read. The reader takes the event from there, only when this very fetch
 * read a packet (NET.pkt_nr moved), the error is one of those two, and
 * the bytes are an event of one of those three kinds that fits inside the
 * buffer; the stream checks its CRC32 (the library never did). */
#include <errmsg.h>
#include <mysql.h>

#include "binlog_decode.h"
#include "mysql_source.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

const uint8_t *sl_mysql_refused_event_bytes(const NET *net, unsigned pkt_nr_before, unsigned errnum, size_t *len)
{
    if ((errnum != CR_UNKNOWN_BINLOG_EVENT && errnum != CR_BINLOG_ERROR) || net->pkt_nr == pkt_nr_before || !net->read_pos || !net->buff ||
        net->read_pos < net->buff || net->buff_end < net->read_pos)
        return NULL;
    size_t avail = (size_t)(net->buff_end - net->read_pos);
    const uint8_t *p = net->read_pos;
    if (avail < 1 + 19 || p[0] != 0)
        return NULL;
    int type = p[1 + 4];
    if (type != SL_MYSQL_PARTIAL_UPDATE_ROWS_EVENT && type != SL_MYSQL_TRANSACTION_PAYLOAD_EVENT &&
        type != SL_MYSQL_GTID_TAGGED_LOG_EVENT)
        return NULL;
    uint32_t n = rd32(p + 1 + 9);
    if (n < 19 || n > avail - 1)
        return NULL;
    *len = n;
    return p + 1;
}
