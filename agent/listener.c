/* listener.c — libmicrohttpd front end (see listener.h). */
#include "listener.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct listener {
    struct MHD_Daemon *daemon;
    char *metrics_path;
    snapshot *snap;
};

void snapshot_init(snapshot *s) {
    *s = (snapshot){0};
    pthread_mutex_init(&s->lock, NULL);
}

void snapshot_publish(snapshot *s, buf *text) {
    pthread_mutex_lock(&s->lock);
    buf old = s->text;
    s->text = *text;
    s->ready = true;
    pthread_mutex_unlock(&s->lock);
    *text = (buf){0};
    buf_free(&old);
}

void snapshot_destroy(snapshot *s) {
    buf_free(&s->text);
    pthread_mutex_destroy(&s->lock);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type, const char *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char TEXT[] = "text/plain; charset=utf-8";

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                              const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    (void)upload;
    listener *l = cls;
    if (!*con_cls) { /* first call: headers only; refuse bodies by answering before reading them */
        *con_cls = c;
        if (*upload_size == 0 && strcmp(method, "GET") && strcmp(method, "HEAD")) return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* discard */
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "method not allowed\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, msg, sizeof msg - 1);
    }
    if (!strcmp(url, l->metrics_path)) {
        pthread_mutex_lock(&l->snap->lock);
        enum MHD_Result ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                    l->snap->text.data ? l->snap->text.data : "", l->snap->text.len);
        pthread_mutex_unlock(&l->snap->lock);
        return ret;
    }
    if (!strcmp(url, "/-/healthy")) return reply(c, MHD_HTTP_OK, TEXT, "ok\n", 3);
    if (!strcmp(url, "/-/ready")) {
        pthread_mutex_lock(&l->snap->lock);
        bool ready = l->snap->ready;
        pthread_mutex_unlock(&l->snap->lock);
        return ready ? reply(c, MHD_HTTP_OK, TEXT, "ready\n", 6)
                     : reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, "no cycle completed yet\n", 22);
    }
    if (!strcmp(url, "/")) {
        char page[512];
        int n = snprintf(page, sizeof page,
                         "<html><head><title>slurmpush</title></head><body><h1>slurmpush</h1>"
                         "<p><a href=\"%s\">Metrics</a></p></body></html>\n",
                         l->metrics_path);
        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, (size_t)n);
    }
    static const char nf[] = "not found\n";
    return reply(c, MHD_HTTP_NOT_FOUND, TEXT, nf, sizeof nf - 1);
}

/* Splits "host:port" / ":port" / "[v6]:port" into an address to bind. */
static int resolve(const char *address, struct sockaddr_storage *out, socklen_t *len, bool *v6, char *err, size_t errlen) {
    char host[256] = "";
    const char *colon = strrchr(address, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "listen address \"%s\" needs a port (host:port or :port)", address);
        return -1;
    }
    size_t hlen = (size_t)(colon - address);
    if (hlen >= sizeof host) hlen = sizeof host - 1;
    memcpy(host, address, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && hlen > 1 && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res;
    hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "listen address \"%s\": %s", address, gai_strerror(rc));
        return -1;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

listener *listener_start(const char *address, const char *metrics_path, snapshot *snap, char *err, size_t errlen) {
    struct sockaddr_storage addr;
    socklen_t alen;
    bool v6;
    if (resolve(address, &addr, &alen, &v6, err, errlen) < 0) return NULL;
    listener *l = xcalloc(1, sizeof *l);
    l->metrics_path = xstrdup(metrics_path);
    l->snap = snap;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (v6 ? MHD_USE_IPv6 : 0);
    l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)128, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                 (unsigned int)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
    if (!l->daemon) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not permitted)", address);
        free(l->metrics_path);
        free(l);
        return NULL;
    }
    return l;
}

void listener_stop(listener *l) {
    if (!l) return;
    MHD_stop_daemon(l->daemon);
    free(l->metrics_path);
    free(l);
}
