/* source_identity.c — see source_identity.h. */
#include "source_identity.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sl_identity_build(const char *const *kv)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; kv[i]; i += 2)
        if (kv[i + 1] && json_object_set_new(o, kv[i], json_string(kv[i + 1]))) {
            json_decref(o);
            return NULL;
        }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* "server_id 1, gtid_domain_id 0" */
static void describe(json_t *o, char *buf, size_t len)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    buf[0] = 0;
    json_object_foreach(o, k, v)
    {
        if (n + 2 >= len)
            break;
        n += (size_t)snprintf(buf + n, len - n, "%s%s %s", n ? ", " : "", k,
                              json_is_string(v) ? json_string_value(v) : "?");
    }
}

int sl_identity_check(const char *recorded, const char *actual, const char *who, const char *host, unsigned port,
                      const char *position, sl_err *err)
{
    if (!recorded || !actual)
        return 0;
    json_error_t je;
    json_t *r = json_loads(recorded, 0, &je), *a = json_loads(actual, 0, &je);
    int differs = 0;
    const char *k;
    json_t *v;
    if (json_is_object(r) && json_is_object(a)) {
        json_object_foreach(r, k, v)
        {
            json_t *w = json_object_get(a, k);
            if (w && !json_equal(v, w))
                differs = 1;
        }
    }
    int rc = 0;
    if (differs) {
        char was[256], is[256];
        describe(r, was, sizeof was);
        describe(a, is, sizeof is);
        rc = sl_errf(err, SL_ECONFIG,
                     "%s: the checkpoint was read from server (%s) but %s:%u is server (%s); %s does not carry over "
                     "to another server: if the pipeline was pointed at this server on purpose, start it afresh with "
                     "a checkpoint of its own (a new sink path or topic, or the old checkpoint moved away)",
                     who, was, host, port, is, position);
    }
    json_decref(r);
    json_decref(a);
    return rc;
}

int sl_identity_adopt(char **known, const char *recorded, char *now, const char *who, const char *host,
                      unsigned port, const char *position, sl_err *err)
{
    const char *had = __atomic_load_n(known, __ATOMIC_ACQUIRE);
    int rc = sl_identity_check(had ? had : recorded, now, who, host, port, position, err);
    if (rc || had)
        free(now);
    else
        __atomic_store_n(known, now, __ATOMIC_RELEASE);
    return rc;
}
