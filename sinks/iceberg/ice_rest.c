/* ice_rest.c — the Iceberg REST catalog client: one libcurl handle, JSON in
 * and out (jansson), the catalog prefix from GET /v1/config, a bearer token
 * given (catalog.properties.token) or issued for an OAuth2 client credential
 * (catalog.properties.credential, client_credentials grant, asked again when
 * the catalog answers 401), TLS verified against the system's CAs or
 * catalog.properties.ssl.cabundle (verification is never turned off), and a
 * client certificate for catalogs that want mutual TLS
 * (catalog.properties.ssl.client.cert / client.key).
 * A catalog that cannot be reached is SL_ERETRY (the runtime restarts the
 * pipeline from its checkpoint); an HTTP error status goes back to the
 * caller, who knows what it means for its request. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
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

/* one HTTP exchange: url, method, body (content type ctype) */
static int request(ice_rest *r, const char *method, const char *url, const char *what, const char *text,
                   const char *ctype, json_t **out, sl_err *err)
{
    *out = NULL;
    char hdr[64], *auth = NULL, detail[CURL_ERROR_SIZE] = "";
    snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    /* the bearer goes to the catalog, not to the token endpoint; tokens
     * (JWTs) can be kilobytes long */
    if (r->token && strcmp(ctype, "application/json") == 0 && asprintf(&auth, "Authorization: Bearer %s", r->token) > 0)
        h = curl_slist_append(h, auth);
    sl_buf_reset(&r->body);
    CURL *c = r->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->cafile)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->cafile);
    if (r->certfile) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, r->certfile);
        curl_easy_setopt(c, CURLOPT_SSLKEY, r->keyfile);
    }
    if (text) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    free(auth);
    int rc = (int)status;
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
        /* a certificate the CAs do not vouch for is a configuration error:
         * retrying cannot fix it */
        rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "TLS with %s failed (%s: %s); the catalog's certificate must be "
                     "signed by %s%s%s", url, curl_easy_strerror(cc), detail,
                     r->cafile ? "the CA in catalog.properties.ssl.cabundle (" : "a CA the system trusts",
                     r->cafile ? r->cafile : "", r->cafile ? ")" : " (or name one in catalog.properties.ssl.cabundle)");
    } else if (cc == CURLE_SSL_CERTPROBLEM) {
        rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "TLS with %s failed (%s: %s); check "
                     "catalog.properties.ssl.client.cert (%s) and catalog.properties.ssl.client.key (%s): a PEM "
                     "certificate and its key", url, curl_easy_strerror(cc), detail, r->certfile, r->keyfile);
    } else if (cc != CURLE_OK && strstr(detail, "alert") && strstr(detail, "certificate")) {
        /* the catalog refused the handshake over the client certificate
         * (TLS 1.3 says so at the first read): configuration, not weather */
        rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "TLS with %s failed (%s: %s); %s%s%s", url,
                     curl_easy_strerror(cc), detail,
                     r->certfile ? "the catalog refused the client certificate in catalog.properties.ssl.client.cert ("
                                 : "the catalog wants a client certificate (mutual TLS): set "
                                   "catalog.properties.ssl.client.cert and catalog.properties.ssl.client.key",
                     r->certfile ? r->certfile : "", r->certfile ? "): it must be signed by a CA the catalog trusts" : "");
    } else if (cc != CURLE_OK) {
        /* a handshake cut short is retried like a catalog that is down;
         * curl's detail says more than its code there */
        rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "the Iceberg REST catalog at %s did not answer %s %s: %s%s%s", r->root,
                     method, what, curl_easy_strerror(cc), cc == CURLE_SSL_CONNECT_ERROR && detail[0] ? ": " : "",
                     cc == CURLE_SSL_CONNECT_ERROR ? detail : "");
    } else if (r->body.len) {
        *out = json_loadb(r->body.data, r->body.len, 0, NULL);
    }
    return rc;
}

/* OAuth2 client credentials grant (RFC 6749 4.4) at the token endpoint:
 * the access token becomes the bearer token */
static int fetch_token(ice_rest *r, sl_err *err)
{
    sl_buf form;
    sl_buf_init(&form);
    const char *colon = strchr(r->credential, ':');
    sl_buf_adds(&form, "grant_type=client_credentials&client_id=");
    if (colon) {
        char *id = strndup(r->credential, (size_t)(colon - r->credential));
        ice_url_segment(&form, id ? id : "");
        free(id);
        sl_buf_adds(&form, "&client_secret=");
        ice_url_segment(&form, colon + 1);
    } else {
        ice_url_segment(&form, r->credential);
    }
    if (r->scope) {
        sl_buf_adds(&form, "&scope=");
        ice_url_segment(&form, r->scope);
    }
    sl_buf_addc(&form, 0);
    json_t *resp;
    int st = request(r, "POST", r->token_url, r->token_url, form.data, "application/x-www-form-urlencoded", &resp, err);
    sl_buf_free(&form);
    if (st < 0)
        return st;
    const char *tok = json_string_value(json_object_get(resp, "access_token"));
    int rc = 0;
    if (st != 200 || !tok) {
        const char *e = json_string_value(json_object_get(resp, "error"));
        const char *d = json_string_value(json_object_get(resp, "error_description"));
        rc = sl_errf(err, st >= 500 ? SL_ERETRY : SL_ECONFIG,
                     SL_LOG_PREFIX "OAuth2 token request to %s refused: HTTP %d%s%s%s%s; check "
                     "catalog.properties.credential (client_id:client_secret) and catalog.properties.scope",
                     r->token_url, st, e ? " " : "", e ? e : "", d ? ": " : "", d ? d : "");
    } else {
        free(r->token);
        r->token = strdup(tok);
    }
    json_decref(resp);
    return rc;
}

int ice_rest_call(ice_rest *r, const char *method, const char *path, json_t *body, json_t **out, sl_err *err)
{
    sl_buf url;
    sl_buf_init(&url);
    sl_buf_adds(&url, path[0] == '/' ? r->root : r->base);
    sl_buf_adds(&url, path[0] == '/' ? path + 1 : path);
    sl_buf_addc(&url, 0);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc = request(r, method, url.data, path, text, "application/json", out, err);
    if (rc == 401 && r->credential) {
        /* the issued token expired: ask for another once */
        sl_info("the catalog refused the OAuth2 token (HTTP 401 on %s %s): asking %s for a new one", method, path,
                r->token_url);
        json_decref(*out);
        rc = fetch_token(r, err);
        if (rc == 0)
            rc = request(r, method, url.data, path, text, "application/json", out, err);
    }
    free(text);
    sl_buf_free(&url);
    return rc;
}

static char *dup_opt(const sl_options *o, const char *name)
{
    const char *v = sl_opt_str(o, name);
    return v && *v ? strdup(v) : NULL;
}

int ice_rest_init(ice_rest *r, const sl_options *o, sl_err *err)
{
    memset(r, 0, sizeof *r);
    sl_buf_init(&r->body);
    const char *uri = sl_opt_str(o, "catalog.properties.uri");
    const char *warehouse = sl_opt_str(o, "catalog.properties.warehouse");
    r->timeout_ms = (long)sl_opt_num(o, "catalog.properties.timeout");
    r->curl = curl_easy_init();
    size_t n = strlen(uri);
    while (n && uri[n - 1] == '/')
        n--;
    if (asprintf(&r->root, "%.*s/v1/", (int)n, uri) < 0)
        r->root = NULL;
    r->token = dup_opt(o, "catalog.properties.token");
    r->credential = dup_opt(o, "catalog.properties.credential");
    r->scope = dup_opt(o, "catalog.properties.scope");
    r->cafile = dup_opt(o, "catalog.properties.ssl.cabundle");
    r->certfile = dup_opt(o, "catalog.properties.ssl.client.cert");
    r->keyfile = dup_opt(o, "catalog.properties.ssl.client.key");
    r->token_url = dup_opt(o, "catalog.properties.oauth2-server-uri");
    if (!r->token_url && asprintf(&r->token_url, "%soauth/tokens", r->root ? r->root : "") < 0)
        r->token_url = NULL;
    if (!r->curl || !r->root || !r->token_url)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (strncmp(uri, "http://", 7) && strncmp(uri, "https://", 8))
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.uri %s is not an http:// or https:// URL",
                       uri);
    if (r->cafile && access(r->cafile, R_OK) != 0)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.ssl.cabundle %s cannot be read: %m",
                       r->cafile);
    if (!r->certfile != !r->keyfile)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.ssl.%s is set without "
                       "catalog.properties.ssl.%s; mutual TLS needs both (PEM certificate and its key)",
                       r->certfile ? "client.cert" : "client.key", r->certfile ? "client.key" : "client.cert");
    const char *pem[] = {r->certfile, r->keyfile}, *pem_opt[] = {"client.cert", "client.key"};
    for (int i = 0; i < 2; i++)
        if (pem[i] && access(pem[i], R_OK) != 0)
            return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.ssl.%s %s cannot be read: %m",
                           pem_opt[i], pem[i]);
    if (r->token && r->credential)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.token and catalog.properties.credential "
                       "both set; give one (a token, or the OAuth2 client credential sluice exchanges for one)");
    int rc;
    if (r->credential && (rc = fetch_token(r, err)))
        return rc;
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
        rc = sl_errf(err, st >= 500 ? SL_ERETRY : SL_ECONFIG,
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
    free(r->credential);
    free(r->scope);
    free(r->cafile);
    free(r->certfile);
    free(r->keyfile);
    free(r->token_url);
    sl_buf_free(&r->body);
    memset(r, 0, sizeof *r);
}
