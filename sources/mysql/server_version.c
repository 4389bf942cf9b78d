/* server_version.c — what the mysql source does differently per server
 * version: which servers it refuses (no binlog_row_metadata before MySQL
 * 8.0.1 and MariaDB 10.5), and which statement tells where the binlog ends
 * now (the start of latest-offset, the end of `migrate`, the watermarks of
 * the watermark snapshot): MySQL 8.2 added SHOW BINARY LOG STATUS and 8.4
 * removed SHOW MASTER STATUS; MariaDB keeps SHOW MASTER STATUS. Decided
 * from the server's version string, never by parsing an error's text. */
#define SL_LOG_COMPONENT "mysql source"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "binlog_decode.h"
#include "mysql_source.h"

int sl_mysql_server_supported(const char *server_version, sl_err *err)
{
    sl_mysql_server srv;
    sl_mysql_server_parse(server_version ? server_version : "", server_version ? strlen(server_version) : 0, &srv);
    if (!srv.version)
        return 0; /* unknown: the binlog's own metadata will tell */
    if (!srv.mariadb && srv.version < 80001)
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "MySQL %s is not supported: it has no binlog_row_metadata (added in MySQL "
                       "8.0.1), and sluice takes column names, primary keys, signedness and charsets from the "
                       "binlog's TABLE_MAP metadata instead of parsing DDL; upgrade to MySQL 8.0 or later",
                       server_version);
    if (srv.mariadb && srv.version < 100500)
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "MariaDB %s is not supported: it has no binlog_row_metadata (added in "
                       "MariaDB 10.5), and sluice takes column names, primary keys, signedness and charsets from "
                       "the binlog's TABLE_MAP metadata instead of parsing DDL; upgrade to MariaDB 10.5 or later",
                       server_version);
    return 0;
}

const char *sl_mysql_binlog_status_sql(const char *server_version)
{
    sl_mysql_server srv;
    sl_mysql_server_parse(server_version ? server_version : "", server_version ? strlen(server_version) : 0, &srv);
    if (!srv.mariadb && srv.version >= 80200)
        return "SHOW BINARY LOG STATUS";
    return "SHOW MASTER STATUS";
}

int sl_mysql_binlog_end(MYSQL *m, char *file, size_t flen, uint64_t *pos, sl_err *err)
{
    const char *sql = sl_mysql_binlog_status_sql(mysql_get_server_info(m));
    MYSQL_RES *res;
    if (mysql_query(m, sql) || !(res = mysql_store_result(m)))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0] && row[1]) {
        snprintf(file, flen, "%s", row[0]);
        *pos = strtoull(row[1], NULL, 10);
    }
    mysql_free_result(res);
    if (!row)
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "binary logging is off; set log_bin=ON (server option --log-bin) and restart "
                       "the server");
    return 0;
}
