/* stages.c — the transform and the schema policy as one step (see
 * stages.h). */
#include "stages.h"

#include <stdlib.h>
#include <string.h>

#include "schema_policy.h"
#include "transform.h"

struct sl_stages {
    sl_transformer *transform;
    sl_schema_policy *policy;
};

int sl_stages_new(const sl_config *cfg, sl_stages **out, sl_err *err)
{
    *out = NULL;
    sl_stages *s = calloc(1, sizeof *s);
    if (!s)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = 0;
    if (cfg->ntransforms) {
        sl_transform_env env;
        sl_transform_env_of(cfg, &env);
        rc = sl_transformer_create(cfg->transforms, cfg->ntransforms, &env, &s->transform, err);
    }
    /* a source told not to emit schema changes hides them as ignore does */
    int behavior = (int)sl_opt_num(&cfg->pipeline, "schema.change.behavior");
    if (sl_opt_get(&cfg->source, "schema-change.enabled") && !sl_opt_num(&cfg->source, "schema-change.enabled"))
        behavior = SL_SCB_IGNORE;
    if (!rc)
        rc = sl_schema_policy_new(behavior, cfg->schema_include, cfg->schema_exclude, &s->policy, err);
    if (rc) {
        sl_stages_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sl_stages_free(sl_stages *s)
{
    if (!s)
        return;
    sl_transformer_free(s->transform);
    sl_schema_policy_free(s->policy);
    free(s);
}

int sl_stages_apply(sl_stages *s, sl_batch *b, sl_err *err)
{
    if (!s)
        return 0;
    int rc = s->transform ? sl_transformer_apply(s->transform, b, err) : 0;
    if (!rc && s->policy)
        rc = sl_schema_policy_apply(s->policy, b, err);
    return rc;
}

int sl_stages_table_hints(const void *stages, const char *ns, const char *table, sl_table_hints *out)
{
    const sl_stages *s = stages;
    memset(out, 0, sizeof *out);
    return s && s->transform ? sl_transformer_hints(s->transform, ns, table, out) : 0;
}
