/* flink_compat.c — the options of Flink's Java runtime sluice accepts and
 * ignores (see flink_compat.h). */
#include "flink_compat.h"

#include <string.h>
#include <strings.h>

static const char *const source_opts[] = {
    /* Debezium engine and JDBC driver settings of the Java connectors */
    "debezium.", "jdbc.properties.", "connection.pool.size",
    /* the Java incremental snapshot framework's internals */
    "chunk-meta.group.size", "chunk-key.even-distribution.factor.upper-bound",
    "chunk-key.even-distribution.factor.lower-bound", "scan.incremental.close-idle-reader.enabled",
    "scan.incremental.snapshot.unbounded-chunk-first.enabled", "scan.incremental.snapshot.backfill.skip",
    "scan.lsn-commit.checkpoints-num-delay", "scan.parse.online.schema.changes.enabled", "use.legacy.json.format",
    /* sluice carries no table or column comments */
    "include-comments.enabled", NULL};

static const char *const sink_opts[] = {"sink.parallelism", NULL};

static const char *const pipeline_opts[] = {"schema.operator.uid", "schema-operator.rpc-timeout", "operator.uid.prefix",
                                            "sink.partitioning.strategy",
                                            /* Flink's own job configuration, passed through its pipeline block */
                                            "execution.checkpointing.", "use.legacy.json.format", NULL};

int sl_flink_ignored_option(const char *section, const char *key)
{
    const char *const *list = strcmp(section, "source") == 0 ? source_opts
                              : strcmp(section, "sink") == 0 ? sink_opts
                                                             : pipeline_opts;
    for (const char *const *p = list; *p; p++) {
        size_t n = strlen(*p);
        if ((*p)[n - 1] == '.' ? strncmp(key, *p, n) == 0 && key[n] : strcmp(key, *p) == 0)
            return 1;
    }
    return 0;
}

const char *sl_flink_tls_option(const char *section, const char *key, const char *value)
{
    static const char *const prefixes[] = {"debezium.database.ssl", "jdbc.properties.ssl", "jdbc.properties.useSSL",
                                           "jdbc.properties.requireSSL", "jdbc.properties.verifyServerCertificate",
                                           "jdbc.properties.trustCertificateKeyStore", NULL};
    if (strcmp(section, "source") != 0 || (value && (strcasecmp(value, "false") == 0 ||
                                                     strcasecmp(value, "disable") == 0 ||
                                                     strcasecmp(value, "disabled") == 0)))
        return NULL;
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(key, *p, strlen(*p)) == 0)
            return "ssl-mode / ssl-ca (mysql source) or sslmode / sslrootcert (postgres source)";
    return NULL;
}
