/* metrics_http.c — see metrics_http.h. A request is read up to its blank
 * line (at most 8 KiB, 2 s), answered and the connection closed; nothing
 * else is parsed, so a client cannot hold the thread or make it allocate. */
#define SL_LOG_COMPONENT "metrics"
#include "metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../core/log.h"

struct sl_metrics_http {
    int fd;
    int wake[2]; /* a byte here ends the thread */
    pthread_t tid;
    sl_metrics *m;
    sl_ready_fn ready;
    void *ctx;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *type, const char *body, size_t len)
{
    char head[256];
    const char *reason = status == 200 ? "OK" : status == 503 ? "Service Unavailable" : status == 404 ? "Not Found"
                                                                                                      : "Bad Request";
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     reason, type, len);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

static void serve(sl_metrics_http *h, int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[8192];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[n] = 0;
    static const char text[] = "text/plain; charset=utf-8";
    char path[256];
    if (sscanf(req, "GET %255s HTTP/", path) != 1) {
        reply(fd, 400, text, "only GET is served\n", 19);
        return;
    }
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    if (strcmp(path, "/metrics") == 0) {
        size_t len = 0;
        char *body = sl_metrics_render(h->m, &len);
        if (body)
            reply(fd, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
        else
            reply(fd, 503, text, "out of memory\n", 14);
        free(body);
    } else if (strcmp(path, "/healthz") == 0) {
        reply(fd, 200, text, "ok\n", 3);
    } else if (strcmp(path, "/readyz") == 0) {
        char why[512] = "";
        int ok = h->ready(h->ctx, why, sizeof why - 1);
        if (ok) {
            reply(fd, 200, text, "ready\n", 6);
        } else {
            strcat(why, "\n");
            reply(fd, 503, text, why, strlen(why));
        }
    } else {
        reply(fd, 404, text, "not found: /metrics, /healthz and /readyz are served\n", 53);
    }
}

static void *http_main(void *arg)
{
    sl_metrics_http *h = arg;
    for (;;) {
        struct pollfd p[2] = {{h->fd, POLLIN, 0}, {h->wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            sl_warn("poll failed: %s; the endpoint stops", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(h, c);
        close(c);
    }
    return NULL;
}

int sl_metrics_http_start(const char *address, const char *where, sl_metrics *m, sl_ready_fn ready, void *ctx,
                          sl_metrics_http **out, sl_err *err)
{
    *out = NULL;
    char host[256];
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address || !colon[1] || (size_t)(colon - address) >= sizeof host)
        return sl_errf(err, SL_ECONFIG, "metrics.address '%s' (%s) must be host:port, e.g. 127.0.0.1:9249", address,
                       where);
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9249 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    int g = getaddrinfo(host, colon + 1, &hints, &ai);
    if (g)
        return sl_errf(err, SL_ECONFIG, "metrics.address '%s' (%s): %s", address, where, gai_strerror(g));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return sl_errf(err, SL_ECONFIG, "metrics.address '%s' (%s): cannot listen: %s%s", address, where, strerror(e),
                       e == EADDRINUSE ? "; another process serves that port: choose another one" : "");
    }
    freeaddrinfo(ai);
    sl_metrics_http *h = calloc(1, sizeof *h);
    if (!h || pipe2(h->wake, O_CLOEXEC)) {
        free(h);
        close(fd);
        return sl_errf(err, SL_ERUNTIME, "cannot start the metrics endpoint: %s", strerror(errno));
    }
    h->fd = fd;
    h->m = m;
    h->ready = ready;
    h->ctx = ctx;
    if (pthread_create(&h->tid, NULL, http_main, h)) {
        close(h->wake[0]);
        close(h->wake[1]);
        close(fd);
        free(h);
        return sl_errf(err, SL_ERUNTIME, "cannot start the metrics thread");
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char ahost[128] = "?", aport[16] = "?";
    if (!getsockname(fd, (struct sockaddr *)&sa, &sl))
        getnameinfo((struct sockaddr *)&sa, sl, ahost, sizeof ahost, aport, sizeof aport,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    sl_info("serving /metrics, /healthz and /readyz on http://%s%s%s:%s/", strchr(ahost, ':') ? "[" : "", ahost,
            strchr(ahost, ':') ? "]" : "", aport);
    *out = h;
    return 0;
}

void sl_metrics_http_stop(sl_metrics_http *h)
{
    if (!h)
        return;
    if (write(h->wake[1], "x", 1) < 0) {
        /* the pipe cannot be full: the thread reads nothing from it */
    }
    pthread_join(h->tid, NULL);
    close(h->wake[0]);
    close(h->wake[1]);
    close(h->fd);
    free(h);
}
