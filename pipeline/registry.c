/* registry.c — static lists of compiled-in connectors, the check that
 * each keeps its side of the plugin contract, and the options of the
 * `pipeline:` block. Adding a connector means adding one line here. */
#include "registry.h"

#include <string.h>

extern const sl_source_plugin sl_source_mysql;
extern const sl_source_plugin sl_source_postgres;
extern const sl_sink_plugin sl_sink_file;
extern const sl_sink_plugin sl_sink_blackhole;
extern const sl_sink_plugin sl_sink_kafka;
extern const sl_sink_plugin sl_sink_clickhouse;
extern const sl_sink_plugin sl_sink_iceberg;

static const sl_source_plugin *const sources[] = {&sl_source_mysql, &sl_source_postgres, NULL};
static const sl_sink_plugin *const sinks[] = {&sl_sink_file, &sl_sink_kafka, &sl_sink_clickhouse, &sl_sink_iceberg, &sl_sink_blackhole,
                                               NULL};

const sl_option_def sl_pipeline_options[] = {
    {"name", SL_OPT_STRING, "sluice", 0, 0, 0, NULL,
     "Pipeline name: names the checkpoint, the Kafka transactional.id and the default topic prefix."},
    {"parallelism", SL_OPT_INT, "1", 0, 1, 256, NULL, "Snapshot chunk readers running at once."},
    {"checkpoint.interval", SL_OPT_DURATION, "1s", 0, 1, 86400000, NULL,
     "How often an epoch ends and the sink commits data and checkpoint together."},
    {"queue.max-bytes", SL_OPT_SIZE, "16MiB", 0, 1048576, 68719476736LL, NULL,
     "Memory bound of the queue between source and sink."},
    {"batch.size", SL_OPT_SIZE, "1MiB", 0, 4096, 268435456, NULL,
     "Target size of one batch of events handed from source to sink."},
    {"route-mode", SL_OPT_ENUM, "ALL_MATCH", 0, 0, 0, "ALL_MATCH|FIRST_MATCH",
     "A table matching several routes goes to every one (ALL_MATCH, Flink's default) or the first (FIRST_MATCH)."},
    {"schema.change.behavior", SL_OPT_ENUM, "evolve", 0, 0, 0, "ignore|lenient|try_evolve|evolve|exception",
     "What a table's schema change does downstream: exception stops, ignore keeps the first shape, lenient only "
     "grows it (Flink's default), evolve and try_evolve pass every change on."},
    {"execution.runtime-mode", SL_OPT_ENUM, "STREAMING", 0, 0, 0, "STREAMING|BATCH",
     "BATCH reads a snapshot of the tables and stops (scan.startup.mode snapshot); STREAMING runs on."},
    {"local-time-zone", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Time zone of the transform's temporal functions (Asia/Shanghai, UTC, +08:00); default the system's."},
    {"transform.decimal.precision.mode", SL_OPT_ENUM, "UP_TO_19", 0, 0, 0, "UP_TO_19|UP_TO_38",
     "Widest DECIMAL a transform expression computes (Flink's default UP_TO_19, or UP_TO_38)."},
    {"metrics.address", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "host:port of the HTTP endpoint serving /metrics (Prometheus), /healthz and /readyz during `sluice run`; "
     "unset = off. Port 0 picks a free port (logged)."},
    {"metrics.ready.intervals", SL_OPT_INT, "10", 0, 2, 1000000, NULL,
     "/readyz fails when the last commit (or the last moment with nothing to commit) is older than this many "
     "checkpoint.interval."},
    {"ha.mode", SL_OPT_ENUM, "none", 0, 0, 0, "none|kafka-group|source-lock",
     "High availability: processes running the same pipeline form a group, one is active and the others wait. "
     "kafka-group coordinates through a Kafka consumer group, source-lock through a lock on the source database."},
    {"ha.session.timeout", SL_OPT_DURATION, "10s", 0, 2000, 1800000, NULL,
     "How long a silent active member keeps leadership before a standby takes over; the active stops committing "
     "after half of it without proof. kafka-group: the consumer session.timeout.ms (the broker's "
     "group.min.session.timeout.ms, 6s by default, bounds it)."},
    {"ha.kafka.bootstrap.servers", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "kafka-group: the brokers to coordinate through; default the kafka sink's properties.bootstrap.servers."},
    {"ha.kafka.topic", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "kafka-group: the one-partition coordination topic, also the consumer group id; default sluice.<name>.ha."},
    SL_OPTION_END,
};

const sl_source_plugin *sl_find_source(const char *name)
{
    for (size_t i = 0; sources[i]; i++)
        if (strcmp(sources[i]->name, name) == 0)
            return sources[i];
    return NULL;
}

const sl_sink_plugin *sl_find_sink(const char *name)
{
    for (size_t i = 0; sinks[i]; i++)
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    return NULL;
}

const sl_source_plugin *const *sl_sources(void) { return sources; }

const char *sl_source_envelope_name(const sl_source_plugin *src)
{
    return src->envelope_name ? src->envelope_name : src->name;
}
const sl_sink_plugin *const *sl_sinks(void) { return sinks; }

/* the callback, or the field, a contract requires */
#define REQUIRE(p, kind, field)                                                                                    \
    do {                                                                                                           \
        if (!(p)->field)                                                                                           \
            return sl_errf(err, SL_ERUNTIME, "%s plugin '%s' lacks its required %s", kind,                       \
                           (p)->name ? (p)->name : "(unnamed)", #field);                                         \
    } while (0)

int sl_source_plugin_check(const sl_source_plugin *p, sl_err *err)
{
    REQUIRE(p, "source", name);
    REQUIRE(p, "source", description);
    REQUIRE(p, "source", options);
    REQUIRE(p, "source", create);
    REQUIRE(p, "source", run);
    REQUIRE(p, "source", destroy);
    return 0;
}

int sl_sink_plugin_check(const sl_sink_plugin *p, sl_err *err)
{
    REQUIRE(p, "sink", name);
    REQUIRE(p, "sink", description);
    REQUIRE(p, "sink", options);
    REQUIRE(p, "sink", guarantee);
    REQUIRE(p, "sink", create);
    REQUIRE(p, "sink", load_checkpoint);
    REQUIRE(p, "sink", write);
    REQUIRE(p, "sink", commit);
    REQUIRE(p, "sink", abort);
    REQUIRE(p, "sink", destroy);
    if (p->guarantee > SL_GUARANTEE_NONE)
        return sl_errf(err, SL_ERUNTIME, "sink plugin '%s' names an unknown guarantee %d", p->name, (int)p->guarantee);
    if (!p->commit_start != !p->commit_done)
        return sl_errf(err, SL_ERUNTIME, "sink plugin '%s' has %s without %s", p->name,
                       p->commit_start ? "commit_start" : "commit_done", p->commit_start ? "commit_done" : "commit_start");
    return 0;
}

int sl_registry_check(sl_err *err)
{
    int rc = 0;
    for (size_t i = 0; sources[i] && !rc; i++) {
        rc = sl_source_plugin_check(sources[i], err);
        for (size_t j = 0; sources[j] && j < i && !rc; j++)
            if (strcmp(sources[i]->name, sources[j]->name) == 0)
                rc = sl_errf(err, SL_ERUNTIME, "two source plugins are named '%s'", sources[i]->name);
    }
    for (size_t i = 0; sinks[i] && !rc; i++) {
        rc = sl_sink_plugin_check(sinks[i], err);
        for (size_t j = 0; sinks[j] && j < i && !rc; j++)
            if (strcmp(sinks[i]->name, sinks[j]->name) == 0)
                rc = sl_errf(err, SL_ERUNTIME, "two sink plugins are named '%s'", sinks[i]->name);
    }
    return rc;
}
