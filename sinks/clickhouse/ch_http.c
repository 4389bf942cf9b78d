/* ch_http.c — ClickHouse's HTTP interface over libcurl.
 *
 * One keep-alive connection; a query goes in the request body, or, when
 * the request carries data (INSERT ... FORMAT RowBinary), in the URL with
 * the data as the body. Retrying is safe for everything the sink sends:
 * inserts carry an insert_deduplication_token, DDL is idempotent (IF NOT
 * EXISTS, checked before altering), checkpoint rows are versioned. So a
 * failure the server or the network may get past (refused or reset
 * connections, timeouts, 502/503/504, and ClickHouse exceptions such as
 * TOO_MANY_PARTS or MEMORY_LIMIT_EXCEEDED) is retried with backoff, moving
 * on to the next configured URL, until the budget runs out; a refusal that
 * repeating cannot change (bad data, a missing privilege) is reported at
 * once with ClickHouse's own text.
 */
#define SL_LOG_COMPONENT "clickhouse sink"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "ch_sink.h"

/* ClickHouse error codes worth repeating the same request for */
static const int retriable_codes[] = {
    3,   /* UNEXPECTED_END_OF_FILE */
    159, /* TIMEOUT_EXCEEDED */
    164, /* READONLY (a replica in read-only mode) */
    173, /* CANNOT_ALLOCATE_MEMORY */
    202, /* TOO_MANY_SIMULTANEOUS_QUERIES */
    203, /* NO_FREE_CONNECTION */
    209, /* SOCKET_TIMEOUT */
    210, /* NETWORK_ERROR */
    236, /* ABORTED */
    241, /* MEMORY_LIMIT_EXCEEDED */
    242, /* TABLE_IS_READ_ONLY */
    252, /* TOO_MANY_PARTS */
    285, /* TOO_FEW_LIVE_REPLICAS */
    319, /* UNKNOWN_STATUS_OF_INSERT */
    425, /* SYSTEM_ERROR */
    439, /* CANNOT_SCHEDULE_TASK */
    473, /* DEADLOCK_AVOIDED */
    999, /* KEEPER_EXCEPTION */
    1000, /* POCO_EXCEPTION */
};

static int code_retriable(int code)
{
    for (size_t i = 0; i < sizeof retriable_codes / sizeof retriable_codes[0]; i++)
        if (retriable_codes[i] == code)
            return 1;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    ch_http *h = arg;
    size_t len = size * n;
    if (h->sink_fn && h->status_hint == 200) {
        if (h->sink_fn(h->sink_ctx, p, len))
            return 0; /* aborts the transfer */
        return len;
    }
    sl_buf_add(&h->resp, p, len);
    return h->resp.failed ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    ch_http *h = arg;
    size_t len = size * n;
    static const char code_hdr[] = "x-clickhouse-exception-code:";
    if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        h->status_hint = sp ? atol(sp + 1) : 0;
    } else if (len > sizeof code_hdr - 1 && strncasecmp(p, code_hdr, sizeof code_hdr - 1) == 0) {
        h->exc_code = atoi(p + sizeof code_hdr - 1);
    }
    return len;
}

static char *dup_trim(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '/'))
        n--;
    char *o = malloc(n + 1);
    if (o) {
        memcpy(o, s, n);
        o[n] = 0;
    }
    return o;
}

int ch_http_init(ch_http *h, const sl_options *o, sl_err *err)
{
    memset(h, 0, sizeof *h);
    sl_buf_init(&h->resp);
    sl_buf_init(&h->url);
    sl_buf_init(&h->zbody);
    const char *urls = sl_opt_str(o, "url");
    for (const char *p = urls; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *u = dup_trim(p, n);
        char **nu = realloc(h->urls, (size_t)(h->nurls + 1) * sizeof *nu);
        if (!u || !nu) {
            free(u);
            if (nu)
                h->urls = nu;
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        h->urls = nu;
        h->urls[h->nurls++] = u;
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
            char where[256];
            sl_opt_where(o, "url", where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: sink option url: '%s' is not an http:// or https:// URL", where, u);
        }
        p = comma ? comma + 1 : p + n;
    }
    if (!h->nurls)
        return sl_errf(err, SL_ECONFIG, "sink option url is required (e.g. http://localhost:8123)");
    const char *user = sl_opt_str(o, "username"), *pw = sl_opt_str(o, "password");
    h->user = strdup(user ? user : "default");
    h->password = strdup(pw ? pw : "");
    const char *ca = sl_opt_str(o, "tls.ca-file"), *cert = sl_opt_str(o, "tls.cert-file"),
               *key = sl_opt_str(o, "tls.key-file");
    h->ca = ca ? strdup(ca) : NULL;
    h->cert = cert ? strdup(cert) : NULL;
    h->key = key ? strdup(key) : NULL;
    h->verify = (int)sl_opt_num(o, "tls.verify");
    h->gzip = sl_opt_num(o, "compression") == 1;
    h->connect_timeout_ms = sl_opt_num(o, "connect.timeout");
    h->request_timeout_ms = sl_opt_num(o, "request.timeout");
    h->retry_timeout_ms = sl_opt_num(o, "retry.timeout");
    if (!h->user || !h->password)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "libcurl cannot initialise");
    h->curl = curl_easy_init();
    if (!h->curl)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "libcurl cannot initialise");
    h->headers = curl_slist_append(NULL, "Expect:");
    h->headers = curl_slist_append(h->headers, "Content-Type: application/octet-stream");
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, h->user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, h->password);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->verify ? 2L : 0L);
    if (h->ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca);
    if (h->cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
    if (h->key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
    return 0;
}

void ch_http_free(ch_http *h)
{
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        curl_global_cleanup();
    }
    curl_slist_free_all(h->headers);
    for (int i = 0; i < h->nurls; i++)
        free(h->urls[i]);
    free(h->urls);
    free(h->user);
    free(h->password);
    free(h->ca);
    free(h->cert);
    free(h->key);
    sl_buf_free(&h->resp);
    sl_buf_free(&h->url);
    sl_buf_free(&h->zbody);
    memset(h, 0, sizeof *h);
}

const char *ch_http_url(const ch_http *h) { return h->nurls ? h->urls[h->cur] : ""; }

static int gzip_body(ch_http *h, const void *data, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    sl_buf_reset(&h->zbody);
    size_t bound = deflateBound(&z, (uLong)len);
    if (sl_buf_reserve(&h->zbody, bound)) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)h->zbody.data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    h->zbody.len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* one attempt: 0 done, 1 worth repeating, -1 refused (message in err) */
static int attempt(ch_http *h, const char *sql, const char *params, const void *data, size_t len, sl_err *err)
{
    CURL *c = h->curl;
    char *q = NULL;
    sl_buf_reset(&h->url);
    sl_buf_adds(&h->url, h->urls[h->cur]);
    sl_buf_adds(&h->url, "/?");
    if (data) {
        q = curl_easy_escape(c, sql, 0);
        if (!q)
            return sl_errf(err, SL_ERUNTIME, "out of memory"), -1;
        sl_buf_adds(&h->url, "query=");
        sl_buf_adds(&h->url, q);
        curl_free(q);
    }
    if (params)
        sl_buf_adds(&h->url, params);
    sl_buf_addc(&h->url, 0);
    if (h->url.failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory"), -1;
    const void *body = data ? data : sql;
    size_t blen = data ? len : strlen(sql);
    struct curl_slist *hdrs = h->headers, *extra = NULL;
    if (data && h->gzip && len > 0) {
        if (gzip_body(h, data, len))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "gzip failed"), -1;
        body = h->zbody.data;
        blen = h->zbody.len;
        extra = curl_slist_append(NULL, "Content-Encoding: gzip");
        /* the base headers follow the extra one */
        if (extra)
            extra->next = h->headers;
        hdrs = extra ? extra : h->headers;
    }
    curl_easy_setopt(c, CURLOPT_URL, h->url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    sl_buf_reset(&h->resp);
    h->exc_code = 0;
    h->status_hint = 0;
    h->curl_err[0] = 0;
    if (h->sink_fn)
        h->sink_fn(h->sink_ctx, NULL, 0); /* a new attempt starts the answer over */
    CURLcode rc = curl_easy_perform(c);
    if (extra) {
        extra->next = NULL;
        curl_slist_free_all(extra);
    }
    h->status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->sink_fn && h->status == 200)) {
        const char *why = h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc);
        sl_errf(err, SL_ERETRY, "%s: %s", h->urls[h->cur], why);
        switch (rc) {
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_LOGIN_DENIED:
            return -1;
        default:
            return 1;
        }
    }
    if (rc == CURLE_WRITE_ERROR)
        return sl_errf(err, SL_ERUNTIME, "%s: the answer could not be read", h->urls[h->cur]), -1;
    if (h->status == 200)
        return 0;
    /* ClickHouse's exception text, one line */
    size_t n = h->resp.len;
    while (n && (h->resp.data[n - 1] == '\n' || h->resp.data[n - 1] == '\r'))
        n--;
    if (!n)
        sl_errf(err, SL_ERUNTIME, "%s: HTTP %ld", h->urls[h->cur], h->status);
    else
        sl_errf(err, SL_ERUNTIME, "%s: %.*s", h->urls[h->cur], (int)(n > 700 ? 700 : n),
                h->resp.data);
    if (h->exc_code)
        return code_retriable(h->exc_code) ? 1 : -1;
    return h->status == 502 || h->status == 503 || h->status == 504 || h->status == 429 ? 1 : -1;
}

int ch_http_query(ch_http *h, const char *sql, const char *url_params, const void *data, size_t len,
                  int64_t budget_ms, sl_err *err)
{
    int64_t deadline = sl_mono_ms() + budget_ms;
    int64_t delay = 100;
    int tries = 0;
    for (;;) {
        int r = attempt(h, sql, url_params, data, len, err);
        tries++;
        if (r <= 0)
            return r ? SL_ERUNTIME : 0;
        /* a connection problem: the next server may answer */
        if (!h->exc_code && h->nurls > 1)
            h->cur = (h->cur + 1) % h->nurls;
        int64_t left = deadline - sl_mono_ms();
        if (left <= 0) {
            if (tries > 1) {
                size_t l = strlen(err->msg);
                snprintf(err->msg + l, sizeof err->msg - l, " (%d attempts in %.1fs)", tries,
                         (double)budget_ms / 1000.0);
            }
            return SL_ERETRY;
        }
        sl_warn("%s; trying again in %.1fs", err->msg, (double)(delay < left ? delay : left) / 1000.0);
        struct timespec ts = {(delay < left ? delay : left) / 1000, ((delay < left ? delay : left) % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
}
