/* schema_registry.c — the Confluent schema registry REST subset the kafka
 * sink needs (libcurl + jansson):
 *
 *   POST /subjects/{subject}/versions   {"schema": "..."} -> {"id": N}
 *   GET  /subjects/{subject}/versions/latest              -> {"schema": "...", ...}
 *
 * Registering is idempotent on the registry's side (the same schema under
 * the same subject gets its existing id), so a replayed epoch registers
 * nothing new; ids are cached per (subject, schema) so each is asked once
 * per process. A connection failure, a timeout or a 5xx moves on to the
 * next URL; after every URL failed, the round is repeated with backoff
 * until schema.registry.retry.timeout, then the error names every URL and
 * the last failure. A 4xx is the registry's answer and is not retried:
 * 409 (incompatible) and 422 (invalid schema) come back as refusals with
 * the registry's own message. A stop (SIGTERM) ends a request or a wait
 * at once with SL_ERETRY: the epoch is rolled back, a clean stop.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "kafka_avro.h"

typedef struct sr_cached {
    char *subject, *schema;
    int id;
} sr_cached;

struct sl_schema_registry {
    char **urls;
    int nurls, cur;
    char *url_list;
    CURL *curl;
    struct curl_slist *headers;
    char *auth; /* "user:password" */
    const volatile sig_atomic_t *stop;
    int64_t timeout_ms, retry_ms;
    sr_cached *cache;
    size_t ncache, cap;
    sl_buf resp;
};

const char *sl_sr_urls(const sl_schema_registry *r) { return r->url_list; }

void sl_sr_free(sl_schema_registry *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nurls; i++)
        free(r->urls[i]);
    free(r->urls);
    free(r->url_list);
    if (r->curl)
        curl_easy_cleanup(r->curl);
    curl_slist_free_all(r->headers);
    free(r->auth);
    for (size_t i = 0; i < r->ncache; i++) {
        free(r->cache[i].subject);
        free(r->cache[i].schema);
    }
    free(r->cache);
    sl_buf_free(&r->resp);
    free(r);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sl_buf *b = arg;
    sl_buf_add(b, p, size * n);
    return b->failed ? 0 : size * n;
}

static int stopping(const sl_schema_registry *r) { return r->stop && *r->stop; }

/* libcurl's progress callback: a stop ends the transfer at once */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return stopping(arg);
}

int sl_sr_new(const sl_options *o, const volatile sig_atomic_t *stop, sl_schema_registry **out, sl_err *err)
{
    *out = NULL;
    sl_schema_registry *r = calloc(1, sizeof *r);
    if (!r)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    r->stop = stop;
    sl_buf_init(&r->resp);
    const char *list = sl_opt_str(o, "schema.registry.url");
    r->url_list = strdup(list ? list : "");
    r->urls = calloc(strlen(r->url_list ? r->url_list : "") + 1, sizeof *r->urls);
    if (!r->url_list || !r->urls) {
        sl_sr_free(r);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    for (const char *p = r->url_list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n) {
            while (n > 1 && p[n - 1] == '/')
                n--; /* paths are appended with their own '/' */
            r->urls[r->nurls++] = strndup(p, n);
        }
        p += strcspn(p, ",");
    }
    if (!r->nurls) {
        sl_sr_free(r);
        return sl_errf(err, SL_ECONFIG,
                       "kafka sink: value.format or key.format avro needs schema.registry.url (e.g. "
                       "http://localhost:8081)");
    }
    r->timeout_ms = sl_opt_num(o, "schema.registry.request.timeout");
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        sl_sr_free(r);
        return sl_errf(err, SL_ERUNTIME, "kafka sink: libcurl cannot initialise");
    }
    r->retry_ms = sl_opt_num(o, "schema.registry.retry.timeout");
    r->curl = curl_easy_init();
    r->headers = curl_slist_append(NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
    r->headers = curl_slist_append(r->headers, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    const char *bearer = sl_opt_str(o, "schema.registry.bearer.token");
    if (bearer) {
        char h[4096];
        snprintf(h, sizeof h, "Authorization: Bearer %s", bearer);
        r->headers = curl_slist_append(r->headers, h);
    }
    const char *user = sl_opt_str(o, "schema.registry.basic.auth.user");
    if (user) {
        const char *pw = sl_opt_str(o, "schema.registry.basic.auth.password");
        size_t n = strlen(user) + (pw ? strlen(pw) : 0) + 2;
        if ((r->auth = malloc(n)))
            snprintf(r->auth, n, "%s:%s", user, pw ? pw : "");
    }
    if (!r->curl || !r->headers || (user && !r->auth)) {
        sl_sr_free(r);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    CURL *c = r->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->resp);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (r->auth) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, r->auth);
    }
    const char *ca = sl_opt_str(o, "schema.registry.ssl.ca.location");
    const char *cert = sl_opt_str(o, "schema.registry.ssl.certificate.location");
    const char *key = sl_opt_str(o, "schema.registry.ssl.key.location");
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
    if (key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    *out = r;
    return 0;
}

/* sleeps ms in short steps, returning early on a stop */
static void sleep_ms(const sl_schema_registry *r, int64_t ms)
{
    for (int64_t until = sl_mono_ms() + ms; sl_mono_ms() < until && !stopping(r);) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* One request, failing over between URLs and retrying with backoff while
 * no registry answers. *status = the HTTP status of the answer; the body is
 * in r->resp. */
static int request(sl_schema_registry *r, const char *path, const char *body, long *status, sl_err *err)
{
    int64_t deadline = sl_mono_ms() + r->retry_ms, backoff = 100;
    char last[CURL_ERROR_SIZE + 128] = "";
    int attempts = 0;
    for (;;) {
        for (int k = 0; k < r->nurls; k++) {
            int i = (r->cur + k) % r->nurls;
            char url[4096];
            snprintf(url, sizeof url, "%s%s", r->urls[i], path);
            char cerr[CURL_ERROR_SIZE] = "";
            sl_buf_reset(&r->resp);
            curl_easy_setopt(r->curl, CURLOPT_URL, url);
            curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, cerr);
            if (body) {
                curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
            } else {
                curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
            }
            CURLcode cc = curl_easy_perform(r->curl);
            curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, NULL);
            attempts++;
            if (stopping(r))
                return sl_errf(err, SL_ERETRY, "kafka sink: stopped while waiting for the schema registry %s",
                               r->url_list);
            long code = 0;
            if (cc == CURLE_OK)
                curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
            if (cc == CURLE_OK && code < 500) {
                if (i != r->cur)
                    sl_info("schema registry: now using %s", r->urls[i]);
                r->cur = i;
                *status = code;
                sl_buf_addc(&r->resp, 0);
                r->resp.len--;
                return r->resp.failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
            }
            if (cc != CURLE_OK)
                snprintf(last, sizeof last, "%s: %s", r->urls[i], cerr[0] ? cerr : curl_easy_strerror(cc));
            else
                snprintf(last, sizeof last, "%s: HTTP %ld %.200s", r->urls[i], code, r->resp.data ? r->resp.data : "");
            sl_warn("schema registry %s", last);
        }
        int64_t left = deadline - sl_mono_ms();
        if (left <= 0)
            return sl_errf(err, SL_ERUNTIME,
                           "kafka sink: schema registry %s did not answer (%d attempt%s over %lld ms, "
                           "schema.registry.retry.timeout); last error: %s",
                           r->url_list, attempts, attempts == 1 ? "" : "s", (long long)r->retry_ms, last);
        sleep_ms(r, backoff < left ? backoff : left);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
}

/* /subjects/<subject, URL-escaped><rest> into path; -1 out of memory */
static int subject_path(sl_schema_registry *r, const char *subject, const char *rest, char *path, size_t n)
{
    char *esc = curl_easy_escape(r->curl, subject, 0);
    if (!esc)
        return -1;
    snprintf(path, n, "/subjects/%s%s", esc, rest);
    curl_free(esc);
    return 0;
}

/* the registry's own words from an error body {"error_code":..,"message":..} */
static void registry_message(const sl_buf *resp, char *out, size_t n)
{
    json_error_t je;
    json_t *j = resp->len ? json_loadb(resp->data, resp->len, 0, &je) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    snprintf(out, n, "%s", m ? m : resp->len ? resp->data : "(no message)");
    json_decref(j);
}

int sl_sr_register(sl_schema_registry *r, const char *subject, const char *schema, int *id, int *refused,
                   sl_err *err)
{
    *refused = 0;
    for (size_t i = 0; i < r->ncache; i++)
        if (strcmp(r->cache[i].subject, subject) == 0 && strcmp(r->cache[i].schema, schema) == 0) {
            *id = r->cache[i].id;
            return 0;
        }
    json_t *req = json_pack("{s:s}", "schema", schema);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    char path[2048];
    if (!body || subject_path(r, subject, "/versions", path, sizeof path)) {
        free(body);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    long status = 0;
    int rc = request(r, path, body, &status, err);
    free(body);
    if (rc)
        return rc;
    char msg[768];
    if (status == 409 || status == 422) {
        *refused = 1;
        registry_message(&r->resp, msg, sizeof msg);
        return sl_errf(err, SL_ERUNTIME, "%s", msg);
    }
    if (status == 401 || status == 403) {
        registry_message(&r->resp, msg, sizeof msg);
        return sl_errf(err, SL_ECONFIG,
                       "kafka sink: schema registry %s refused the credentials (HTTP %ld: %s); check "
                       "schema.registry.basic.auth.user/password or schema.registry.bearer.token",
                       r->urls[r->cur], status, msg);
    }
    json_error_t je;
    json_t *j = status == 200 ? json_loadb(r->resp.data, r->resp.len, 0, &je) : NULL;
    json_t *jid = json_object_get(j, "id");
    if (!json_is_integer(jid)) {
        registry_message(&r->resp, msg, sizeof msg);
        json_decref(j);
        return sl_errf(err, SL_ERUNTIME, "kafka sink: schema registry %s: registering subject %s failed: HTTP %ld: %s",
                       r->urls[r->cur], subject, status, msg);
    }
    *id = (int)json_integer_value(jid);
    json_decref(j);
    if (r->ncache == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        sr_cached *c = realloc(r->cache, cap * sizeof *c);
        if (!c)
            return 0; /* only the cache is lost */
        r->cache = c;
        r->cap = cap;
    }
    sr_cached *c = &r->cache[r->ncache];
    c->subject = strdup(subject);
    c->schema = strdup(schema);
    c->id = *id;
    if (c->subject && c->schema) {
        r->ncache++;
    } else {
        free(c->subject);
        free(c->schema);
    }
    sl_debug("schema registry: subject %s has schema id %d", subject, *id);
    return 0;
}

int sl_sr_latest(sl_schema_registry *r, const char *subject, char **schema, sl_err *err)
{
    *schema = NULL;
    char path[2048];
    if (subject_path(r, subject, "/versions/latest", path, sizeof path))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    long status = 0;
    int rc = request(r, path, NULL, &status, err);
    if (rc || status != 200)
        return rc;
    json_error_t je;
    json_t *j = json_loadb(r->resp.data, r->resp.len, 0, &je);
    const char *s = json_string_value(json_object_get(j, "schema"));
    if (s)
        *schema = strdup(s);
    json_decref(j);
    return 0;
}

int sl_sr_probe(sl_schema_registry *r, char *level, size_t n, sl_err *err)
{
    int64_t keep = r->retry_ms;
    r->retry_ms = 0; /* every URL once: `check` answers at once */
    long status = 0;
    int rc = request(r, "/config", NULL, &status, err);
    r->retry_ms = keep;
    if (rc)
        return rc;
    char msg[512];
    if (status != 200) {
        registry_message(&r->resp, msg, sizeof msg);
        return sl_errf(err, status == 401 || status == 403 ? SL_ECONFIG : SL_ERUNTIME,
                       "schema registry %s answered HTTP %ld to GET /config: %s", r->urls[r->cur], status, msg);
    }
    json_error_t je;
    json_t *j = json_loadb(r->resp.data, r->resp.len, 0, &je);
    const char *l = json_string_value(json_object_get(j, "compatibilityLevel"));
    snprintf(level, n, "%s", l ? l : "?");
    json_decref(j);
    return 0;
}
