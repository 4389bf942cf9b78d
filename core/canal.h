/* canal.h — change events as canal-json, the second value format of Flink
 * CDC's Kafka sink:
 *   {"old":[{..}] or null,"data":[{..}],"type":"INSERT|UPDATE|DELETE",
 *    "database":"shop","table":"orders","pkNames":["id"]}
 * Values are rendered as Flink's JSON format writes them (its SQL
 * timestamp format: "2024-01-02 03:04:05.5", an instant with a trailing
 * "Z"; decimals as plain numbers; bytes in base64). Schema changes have no
 * canal-json form (Flink writes nothing for them). */
#ifndef SL_CANAL_H
#define SL_CANAL_H

#include "buf.h"
#include "event.h"

void sl_canal_json(sl_buf *b, const sl_event *e);

#endif
