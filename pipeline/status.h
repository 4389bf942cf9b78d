/* status.h — `sluice status`: what a pipeline has committed and how far
 * behind the source server it is, read without disturbing a running
 * pipeline (the sink is created read-only, the source only probed). */
#ifndef SL_STATUS_H
#define SL_STATUS_H

#include <stdio.h>

#include <jansson.h>

#include "config.h"

/* Prints the report (text, or one JSON object with json) to out, with ha
 * (sl_ha_status's view, or NULL) as its "ha" member in JSON; returns
 * the exit code: 0, 2 for configuration, 1 when the sink cannot be read. */
int sl_status(const sl_config *cfg, int json, const json_t *ha, FILE *out);

#endif
