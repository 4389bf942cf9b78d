/* registry.c — static lists of compiled-in connectors and the options of
 * the `pipeline:` block. Adding a connector means adding one line here. */
#include "registry.h"

#include <string.h>

extern const sl_source_plugin sl_source_mysql;
extern const sl_source_plugin sl_source_postgres;
extern const sl_sink_plugin sl_sink_file;
extern const sl_sink_plugin sl_sink_blackhole;
extern const sl_sink_plugin sl_sink_kafka;
extern const sl_sink_plugin sl_sink_clickhouse;

static const sl_source_plugin *const sources[] = {&sl_source_mysql, &sl_source_postgres, NULL};
static const sl_sink_plugin *const sinks[] = {&sl_sink_file, &sl_sink_kafka, &sl_sink_clickhouse, &sl_sink_blackhole,
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
