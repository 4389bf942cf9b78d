/* ice_checkpoint.c — where the pipeline's checkpoint lives: the property
 * sluice.checkpoint of an (empty) Iceberg table checkpoint.namespace.<pipeline
 * name>, changed in the same transactions/commit as the epoch's data
 * snapshots. So the tables and the checkpoint move together: a crash leaves
 * either both or neither, and a restart resumes exactly where the tables
 * are. (A namespace property would be a second request, and a crash between
 * the two would leave tables ahead of the checkpoint; a snapshot re-read
 * from the older checkpoint cannot undo deletes it no longer sees.) */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "ice_sink.h"

int ice_ckpt_open(ice_sink *k, int create, char **checkpoint, sl_err *err)
{
    if (checkpoint)
        *checkpoint = NULL;
    json_t *md = NULL;
    const ice_catalog_ops *ops = k->cat.ops;
    int created = 0, rc = ops->load(k->cat.self, k->ckpt_ns, k->pipeline, &md, NULL, err);
    if (rc == ICE_NOTFOUND && create) {
        if ((rc = ops->create_namespace(k->cat.self, k->ckpt_ns, err)))
            return rc;
        json_t *body = json_pack(
            "{s:s, s:{s:s, s:i, s:[{s:i, s:s, s:b, s:s}]}, s:{s:s, s:s, s:s, s:s}}", "name", k->pipeline, "schema",
            "type", "struct", "schema-id", 0, "fields", "id", 1, "name", "pipeline", "required", 0, "type", "string",
            "properties", "format-version", "2", "write.metadata.delete-after-commit.enabled", "true",
            "write.metadata.previous-versions-max", "5", "comment",
            "sluice's checkpoint of the pipeline of this name (property sluice.checkpoint); holds no rows");
        rc = ops->create_table(k->cat.self, k->ckpt_ns, body, &md, err);
        json_decref(body);
        created = rc == 0;
        if (created)
            sl_info("created the checkpoint table %s.%s", k->ckpt_ns, k->pipeline);
    }
    /* the table this process already saw (or created) answering 404 is not
     * "no checkpoint yet": starting over would re-read the source from its
     * beginning; a catalog that lost the table or answers wrongly stops us */
    if (rc == ICE_NOTFOUND && k->ckpt_uuid)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the checkpoint table %s.%s (uuid %s) was there when sluice "
                       "connected and the catalog now says it does not exist; not starting over from no checkpoint "
                       "(was it dropped? restore it, or drop the pipeline's tables to start afresh)",
                       k->ckpt_ns, k->pipeline, k->ckpt_uuid);
    if (rc == ICE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (create && !created) {
        json_decref(md);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the checkpoint table %s.%s did not exist when sluice started "
                       "and now does: is another sluice running pipeline %s? Stop it (or name this pipeline "
                       "differently) and start again", k->ckpt_ns, k->pipeline, k->pipeline);
    }
    const char *uuid = json_string_value(json_object_get(md, "table-uuid"));
    const char *c = json_string_value(json_object_get(json_object_get(md, "properties"), "sluice.checkpoint"));
    free(k->ckpt_uuid);
    k->ckpt_uuid = uuid ? strdup(uuid) : NULL;
    if (checkpoint && c && !(*checkpoint = strdup(c)))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    json_decref(md);
    return rc;
}

json_t *ice_ckpt_change(ice_sink *k, const char *checkpoint)
{
    json_t *req = k->ckpt_uuid ? json_pack("[{s:s, s:s}]", "type", "assert-table-uuid", "uuid", k->ckpt_uuid)
                               : json_array();
    return json_pack("{s:{s:o, s:s}, s:o, s:[{s:s, s:{s:s}}]}", "identifier", "namespace", ice_ns_json(k->ckpt_ns), "name",
                     k->pipeline, "requirements", req, "updates", "action", "set-properties", "updates",
                     "sluice.checkpoint", checkpoint);
}
