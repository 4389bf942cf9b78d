/* registry.h — the connectors compiled into this binary. */
#ifndef SL_REGISTRY_H
#define SL_REGISTRY_H

#include <stddef.h>

#include "../sinks/sink.h"
#include "../sources/source.h"

const sl_source_plugin *sl_find_source(const char *name);
const sl_sink_plugin *sl_find_sink(const char *name);
/* NULL-terminated lists */
const sl_source_plugin *const *sl_sources(void);
/* the name change events give the source connector ("postgresql") */
const char *sl_source_envelope_name(const sl_source_plugin *src);
const sl_sink_plugin *const *sl_sinks(void);
/* the pipeline: block's own option table */
extern const sl_option_def sl_pipeline_options[];

/* A plugin keeps the contract of source.h / sink.h as far as a struct can
 * show it: name, description, option table and every required callback
 * present (a sink's guarantee too). SL_ERUNTIME naming what is missing. */
int sl_source_plugin_check(const sl_source_plugin *p, sl_err *err);
int sl_sink_plugin_check(const sl_sink_plugin *p, sl_err *err);
/* Every compiled-in plugin passes, and no two share a name. Run at
 * startup: a broken plugin is refused before any command runs. */
int sl_registry_check(sl_err *err);

#endif
