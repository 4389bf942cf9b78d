/* ice_rest.c — the Iceberg REST catalog client: one libcurl handle, JSON in
 * and out (jansson), the catalog prefix from GET /v1/config, a bearer token.
 * A catalog that cannot be reached is SL_ERETRY (the runtime restarts the
 * pipeline from its checkpoint); an HTTP error status goes back to the
 * caller, who knows what it means for its request. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "ice_sink.h"

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sl_buf_add(arg, p, size * n);
    return size * n;
}

void ice_url_segment(sl_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '_' || *p == '.' || *p == '~') {
            sl_buf_addc(b, (char)*p);
        } else {
            sl_buf_addc(b, '%');
            sl_buf_addc(b, hex[*p >> 4]);
            sl_buf_addc(b, hex[*p & 15]);
        }
    }
}

const char *ice_rest_message(json_t *resp, int status, char *buf, size_t len)
{
    json_t *e = json_object_get(resp, "error");
    const char *m = json_string_value(json_object_get(e, "message"));
    const char *t = json_string_value(json_object_get(e, "type"));
    if (m)
        snprintf(buf, len, "HTTP %d %s: %s", status, t ? t : "", m);
    else
        snprintf(buf, len, "HTTP %d", status);
    return buf;
}

int ice_rest_fail(sl_err *err, int status, json_t *resp, const char *fmt, ...)
{
    char what[512], m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return sl_errf(err, status >= 500 ? SL_ERETRY : SL_ERUNTIME, SL_LOG_PREFIX "%s: %s", what,
                   ice_rest_message(resp, status, m, sizeof m));
}

int ice_rest_call(ice_rest *r, const char *method, const char *path, json_t *body, json_t **out, sl_err *err)
{
    *out = NULL;
    sl_buf url;
    sl_buf_init(&url);
    sl_buf_adds(&url, path[0] == '/' ? r->root : r->base);
    sl_buf_adds(&url, path[0] == '/' ? path + 1 : path);
    sl_buf_addc(&url, 0);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[1024];
    if (r->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", r->token);
        h = curl_slist_append(h, auth);
    }
    sl_buf_reset(&r->body);
    CURL *c = r->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (text) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    free(text);
    int rc = (int)status;
    if (cc != CURLE_OK) {
        rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "the Iceberg REST catalog at %s did not answer %s %s: %s",
                     r->root, method, path, curl_easy_strerror(cc));
    } else if (r->body.len) {
        *out = json_loadb(r->body.data, r->body.len, 0, NULL);
    }
    sl_buf_free(&url);
    return rc;
}

int ice_rest_init(ice_rest *r, const char *uri, const char *token, const char *warehouse, long timeout_ms,
                  sl_err *err)
{
    memset(r, 0, sizeof *r);
    sl_buf_init(&r->body);
    r->timeout_ms = timeout_ms;
    r->curl = curl_easy_init();
    size_t n = strlen(uri);
    while (n && uri[n - 1] == '/')
        n--;
    if (asprintf(&r->root, "%.*s/v1/", (int)n, uri) < 0)
        r->root = NULL;
    r->token = token ? strdup(token) : NULL;
    if (!r->curl || !r->root)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_buf path;
    sl_buf_init(&path);
    sl_buf_adds(&path, "/config");
    if (warehouse) {
        sl_buf_adds(&path, "?warehouse=");
        ice_url_segment(&path, warehouse);
    }
    sl_buf_addc(&path, 0);
    json_t *resp;
    int st = ice_rest_call(r, "GET", path.data, NULL, &resp, err);
    sl_buf_free(&path);
    if (st < 0)
        return st;
    if (st != 200) {
        char m[512];
        int rc = sl_errf(err, st >= 500 ? SL_ERETRY : SL_ECONFIG,
                         SL_LOG_PREFIX "GET %sconfig: %s (is catalog.properties.uri an Iceberg REST catalog?)",
                         r->root, ice_rest_message(resp, st, m, sizeof m));
        json_decref(resp);
        return rc;
    }
    const char *prefix = json_string_value(json_object_get(json_object_get(resp, "overrides"), "prefix"));
    if (!prefix)
        prefix = json_string_value(json_object_get(json_object_get(resp, "defaults"), "prefix"));
    if (prefix && *prefix) {
        sl_buf b;
        sl_buf_init(&b);
        sl_buf_adds(&b, r->root);
        ice_url_segment(&b, prefix);
        sl_buf_addc(&b, '/');
        sl_buf_addc(&b, 0);
        r->base = strdup(b.data);
        sl_buf_free(&b);
    } else {
        r->base = strdup(r->root);
    }
    json_decref(resp);
    return r->base ? 0 : sl_errf(err, SL_ERUNTIME, "out of memory");
}

void ice_rest_free(ice_rest *r)
{
    if (r->curl)
        curl_easy_cleanup(r->curl);
    free(r->base);
    free(r->root);
    free(r->token);
    sl_buf_free(&r->body);
    memset(r, 0, sizeof *r);
}
