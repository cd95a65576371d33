/* listener.c — libmicrohttpd front end (see listener.h). */
#include "listener.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct listener {
    struct MHD_Daemon *daemon;
    listener_config cfg;
};

/* What a POST to the trace path has sent so far. */
typedef struct {
    buf body;
    int refused;   /* a status already decided from the headers (or the size), 0 = none */
    bool answered; /* its response is queued already */
} upload;

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

static enum MHD_Result reply_reason(struct MHD_Connection *c, unsigned int status, const char *reason) {
    char line[256];
    int n = snprintf(line, sizeof line, "%s\n", reason);
    if (n < 0 || (size_t)n >= sizeof line) n = (int)sizeof line - 1;
    return reply(c, status, TEXT, line, (size_t)n);
}

/* Constant time, so the token cannot be guessed byte by byte from response times. */
static bool same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

/* Decides from the headers alone whether a trace POST is refused; 0 if it may go on. */
static int refuse_from_headers(listener *l, struct MHD_Connection *c, const char **reason) {
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (l->cfg.trace_token && (!auth || strncmp(auth, "Bearer ", 7) || !same_secret(auth + 7, l->cfg.trace_token)))
        return *reason = "missing or wrong bearer token", 401;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type || strncasecmp(type, "application/json", 16) || (type[16] && type[16] != ';' && type[16] != ' '))
        return *reason = "Content-Type must be application/json", 415;
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > l->cfg.trace_max_body) return *reason = "body too large", 413;
    return 0;
}

static enum MHD_Result handle_trace(listener *l, struct MHD_Connection *c, const char *method, const char *data,
                                    size_t *data_size, void **con_cls) {
    trace_table *t = l->cfg.traces;
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
        buf list = {0};
        trace_table_list(t, &list);
        enum MHD_Result ret = reply(c, MHD_HTTP_OK, "application/json", list.data, list.len);
        buf_free(&list);
        return ret;
    }
    if (strcmp(method, "POST")) {
        trace_table_count_refusal(t, 405);
        struct MHD_Response *r = MHD_create_response_from_buffer(19, (void *)"method not allowed\n", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Allow", "GET, HEAD, POST");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return ret;
    }
    upload *u = *con_cls;
    if (!u) { /* headers only, no body read yet */
        u = xcalloc(1, sizeof *u);
        *con_cls = u;
        const char *reason = NULL;
        u->refused = refuse_from_headers(l, c, &reason);
        if (u->refused) {
            trace_table_count_refusal(t, u->refused);
            u->answered = true;
            return reply_reason(c, (unsigned)u->refused, reason);
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (!u->refused && u->body.len + *data_size > l->cfg.trace_max_body) u->refused = 413;
        if (!u->refused) buf_append(&u->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (u->answered) return MHD_YES;
    if (u->refused == 413) { /* found while reading: no Content-Length, or a wrong one */
        trace_table_count_refusal(t, 413);
        return reply_reason(c, 413, "body too large");
    }
    char reason[160] = "";
    int status = trace_table_post(t, u->body.data ? u->body.data : "", u->body.len, reason, sizeof reason);
    if (status == 202) return reply(c, 202, TEXT, "", 0);
    return reply_reason(c, (unsigned)status, reason);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                              const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)version;
    listener *l = cls;
    if (l->cfg.traces && !strcmp(url, l->cfg.trace_path)) return handle_trace(l, c, method, upload_data, upload_size, con_cls);
    if (*upload_size) {
        *upload_size = 0; /* a body where none is wanted: discarded */
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "method not allowed\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, msg, sizeof msg - 1);
    }
    snapshot *snap = l->cfg.snap;
    if (!strcmp(url, l->cfg.metrics_path)) {
        pthread_mutex_lock(&snap->lock);
        enum MHD_Result ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                    snap->text.data ? snap->text.data : "", snap->text.len);
        pthread_mutex_unlock(&snap->lock);
        return ret;
    }
    if (!strcmp(url, "/-/healthy")) return reply(c, MHD_HTTP_OK, TEXT, "ok\n", 3);
    if (!strcmp(url, "/-/ready")) {
        pthread_mutex_lock(&snap->lock);
        bool ready = snap->ready;
        pthread_mutex_unlock(&snap->lock);
        return ready ? reply(c, MHD_HTTP_OK, TEXT, "ready\n", 6)
                     : reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, "no cycle completed yet\n", 22);
    }
    if (!strcmp(url, "/")) {
        char page[512];
        int n = snprintf(page, sizeof page,
                         "<html><head><title>slurmpush</title></head><body><h1>slurmpush</h1>"
                         "<p><a href=\"%s\">Metrics</a></p></body></html>\n",
                         l->cfg.metrics_path);
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

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code) {
    (void)cls, (void)c, (void)code;
    upload *u = *con_cls;
    if (!u) return;
    buf_free(&u->body);
    free(u);
    *con_cls = NULL;
}

listener *listener_start(const listener_config *cfg, char *err, size_t errlen) {
    struct sockaddr_storage addr;
    socklen_t alen;
    bool v6;
    const char *address = cfg->address;
    if (resolve(address, &addr, &alen, &v6, err, errlen) < 0) return NULL;
    listener *l = xcalloc(1, sizeof *l);
    l->cfg = *cfg;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (v6 ? MHD_USE_IPv6 : 0);
    l->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)128, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (!l->daemon) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not permitted)", address);
        free(l);
        return NULL;
    }
    return l;
}

void listener_stop(listener *l) {
    if (!l) return;
    MHD_stop_daemon(l->daemon);
    free(l);
}
