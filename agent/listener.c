/* listener.c — libmicrohttpd front end (see listener.h). */
#include "listener.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"

/* libmicrohttpd bounds idle time, not the time to a whole request, and refuses a new connection
 * when its limit is reached: a user on the same node could hold every slot with idle or trickling
 * connections. So the listener keeps its own table: a connection must deliver a whole request within
 * the request timeout of its start (or of its previous answer), and when more than SOFT_LIMIT are open
 * the oldest one that is not being answered makes room for the new one (a scrape sends its request at
 * once, so it is never the oldest idle one for long). Both are ended with shutdown(): libmicrohttpd
 * sees the end of the stream and closes the connection itself. */
enum { HARD_LIMIT = 512, SOFT_LIMIT = 64 };

typedef struct {
    int fd;          /* -1: free */
    double opened;   /* monotonic seconds */
    double deadline; /* for a whole request; 0 while one is being answered */
    bool ending;     /* shut down by us, closing */
} conn_slot;

typedef enum { CLOSED_DEADLINE, CLOSED_EVICTED, N_CLOSED } closed_reason;

struct listener {
    struct MHD_Daemon *daemon;
    listener_config cfg;
    pthread_mutex_t lock; /* guards the slots, the counts and the token */
    conn_slot slots[HARD_LIMIT];
    uint64_t closed[N_CLOSED];
    uint64_t malformed; /* requests refused for their headers */
    char *token;        /* the trace token as last read from its file, and when the file changed */
    struct timespec token_mtime;
    bool reload; /* SIGHUP: re-read the token file even if it looks unchanged */
    pthread_t watchdog;
    pthread_cond_t wake;
    bool stopping;
};

/* What a POST to the trace path has sent so far. */
typedef struct {
    buf body;
    bool refused;   /* decided from the headers (answered) or the size (too_large) */
    bool too_large; /* the body grew past the limit: read to its end, then refused */
    bool answered;  /* its response is queued already */
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

/* The connection's slot (its socket context); NULL if it has none. */
static conn_slot *slot_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A whole request came and is being answered: no deadline until the answer is done. */
static void answering(listener *l, struct MHD_Connection *c) {
    pthread_mutex_lock(&l->lock);
    conn_slot *slot = slot_of(c);
    if (slot) slot->deadline = 0;
    pthread_mutex_unlock(&l->lock);
}

static enum MHD_Result reply_allow(listener *l, struct MHD_Connection *c, unsigned int status, const char *type, const char *body,
                                   size_t len, const char *allow) {
    answering(l, c);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply(listener *l, struct MHD_Connection *c, unsigned int status, const char *type, const char *body,
                             size_t len) {
    return reply_allow(l, c, status, type, body, len, "GET, HEAD");
}

static const char TEXT[] = "text/plain; charset=utf-8";

static enum MHD_Result reply_reason(listener *l, struct MHD_Connection *c, unsigned int status, const char *reason) {
    char line[256];
    int n = snprintf(line, sizeof line, "%s\n", reason);
    if (n < 0 || (size_t)n >= sizeof line) n = (int)sizeof line - 1;
    return reply(l, c, status, TEXT, line, (size_t)n);
}

/* The HTTP status of each trace verdict: the table knows JSON, the listener HTTP. */
static unsigned int http_status(trace_verdict v) {
    static const unsigned int status[N_TRACE_VERDICTS] = {
        [TRACE_ACCEPTED] = 202,     [TRACE_BAD_BODY] = 400,   [TRACE_TABLE_FULL] = 429, [TRACE_UNAUTHORIZED] = 401,
        [TRACE_WRONG_METHOD] = 405, [TRACE_WRONG_TYPE] = 415, [TRACE_TOO_LARGE] = 413,  [TRACE_BAD_REQUEST] = 400,
    };
    return status[v];
}

/* Constant time, so the token cannot be guessed byte by byte from response times. */
static bool same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

/* Re-reads the trace token when its file changed (or on SIGHUP), so a rotated token works without a
 * restart; a file that became unreadable or empty keeps the last good token (logged). Under the lock. */
static void refresh_token(listener *l) {
    struct stat st;
    bool seen = stat(l->cfg.trace_token_file, &st) == 0;
    if (seen && !l->reload && st.st_mtim.tv_sec == l->token_mtime.tv_sec && st.st_mtim.tv_nsec == l->token_mtime.tv_nsec) return;
    bool forced = l->reload;
    l->reload = false;
    char *token = read_secret(l->cfg.trace_token_file);
    if (seen) l->token_mtime = st.st_mtim; /* one log line per change, not per request */
    if (!token) {
        log_kv(LOG_ERROR, "cannot read the trace token file (missing or empty); keeping the last token", "file",
               l->cfg.trace_token_file, NULL);
        return;
    }
    bool same = l->token && !strcmp(l->token, token);
    free(l->token);
    l->token = token;
    if (!same || forced) log_kv(LOG_INFO, "trace token file read", "file", l->cfg.trace_token_file, NULL);
}

static bool authorized(listener *l, struct MHD_Connection *c) {
    if (!l->cfg.trace_token_file) return true;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    pthread_mutex_lock(&l->lock);
    refresh_token(l);
    bool ok = auth && !strncmp(auth, "Bearer ", 7) && same_secret(auth + 7, l->token);
    pthread_mutex_unlock(&l->lock);
    return ok;
}

/* Decides from the headers alone whether a trace POST is refused; TRACE_ACCEPTED if it may go on. */
static trace_verdict refuse_from_headers(listener *l, struct MHD_Connection *c, const char **reason) {
    if (!authorized(l, c)) return *reason = "missing or wrong bearer token", TRACE_UNAUTHORIZED;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type || strncasecmp(type, "application/json", 16) || (type[16] && type[16] != ';' && type[16] != ' '))
        return *reason = "Content-Type must be application/json", TRACE_WRONG_TYPE;
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > l->cfg.trace_max_body) return *reason = "body too large", TRACE_TOO_LARGE;
    return TRACE_ACCEPTED;
}

static enum MHD_Result handle_trace(listener *l, struct MHD_Connection *c, const char *method, const char *data,
                                    size_t *data_size, void **con_cls) {
    trace_table *t = l->cfg.traces;
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
        buf list = {0};
        trace_table_list(t, &list);
        enum MHD_Result ret = reply(l, c, MHD_HTTP_OK, "application/json", list.data, list.len);
        buf_free(&list);
        return ret;
    }
    if (strcmp(method, "POST")) {
        trace_table_count(t, TRACE_WRONG_METHOD);
        static const char msg[] = "method not allowed\n";
        return reply_allow(l, c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, msg, sizeof msg - 1, "GET, HEAD, POST");
    }
    upload *u = *con_cls;
    if (!u) { /* headers only, no body read yet */
        u = xcalloc(1, sizeof *u);
        *con_cls = u;
        const char *reason = NULL;
        trace_verdict v = refuse_from_headers(l, c, &reason);
        if (v != TRACE_ACCEPTED) {
            trace_table_count(t, v);
            u->refused = true;
            u->answered = true;
            return reply_reason(l, c, http_status(v), reason);
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (!u->refused && u->body.len + *data_size > l->cfg.trace_max_body) u->refused = u->too_large = true;
        if (!u->refused) buf_append(&u->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (u->answered) return MHD_YES;
    if (u->too_large) { /* found while reading: no Content-Length, or a wrong one */
        trace_table_count(t, TRACE_TOO_LARGE);
        return reply_reason(l, c, http_status(TRACE_TOO_LARGE), "body too large");
    }
    char reason[160] = "";
    trace_verdict v = trace_table_post(t, u->body.data ? u->body.data : "", u->body.len, reason, sizeof reason);
    if (v == TRACE_ACCEPTED) return reply(l, c, http_status(v), TEXT, "", 0);
    return reply_reason(l, c, http_status(v), reason);
}

/* What libmicrohttpd 0.9.75 lets through even in its strict mode: Content-Length headers that disagree
 * (request smuggling), a NUL inside a key or value that it kept. (A NUL inside a header value it ends
 * the value at, so the rest is never seen; only a newer libmicrohttpd refuses the request.) */
typedef struct {
    const char *length;
    bool bad;
} header_check;

static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value,
                                    size_t value_size) {
    (void)kind;
    header_check *h = cls;
    if (strlen(key) != key_size || strlen(value) != value_size) h->bad = true;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (h->length && strcmp(h->length, value)) h->bad = true;
        h->length = value;
    }
    return MHD_YES;
}

static bool malformed_headers(struct MHD_Connection *c) {
    header_check h = {0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, check_header, &h);
    return h.bad;
}

/* The request context of requests other than trace posts: checked once, nothing to free. */
static char checked_marker;

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                              const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)version;
    listener *l = cls;
    bool trace = l->cfg.traces && !strcmp(url, l->cfg.trace_path);
    if (!*con_cls && malformed_headers(c)) {
        pthread_mutex_lock(&l->lock);
        l->malformed++;
        pthread_mutex_unlock(&l->lock);
        if (trace) trace_table_count(l->cfg.traces, TRACE_BAD_REQUEST);
        if (trace) *con_cls = xcalloc(1, sizeof(upload)), ((upload *)*con_cls)->answered = true;
        if (!trace) *con_cls = &checked_marker;
        return reply_reason(l, c, MHD_HTTP_BAD_REQUEST, "malformed request headers");
    }
    if (trace) return handle_trace(l, c, method, upload_data, upload_size, con_cls);
    if (!*con_cls) *con_cls = &checked_marker;
    if (*upload_size) {
        *upload_size = 0; /* a body where none is wanted: discarded */
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "method not allowed\n";
        return reply(l, c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, msg, sizeof msg - 1);
    }
    snapshot *snap = l->cfg.snap;
    if (!strcmp(url, l->cfg.metrics_path)) {
        pthread_mutex_lock(&snap->lock);
        enum MHD_Result ret = reply(l, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                    snap->text.data ? snap->text.data : "", snap->text.len);
        pthread_mutex_unlock(&snap->lock);
        return ret;
    }
    if (!strcmp(url, "/-/healthy")) return reply(l, c, MHD_HTTP_OK, TEXT, "ok\n", 3);
    if (!strcmp(url, "/-/ready")) {
        pthread_mutex_lock(&snap->lock);
        bool ready = snap->ready;
        pthread_mutex_unlock(&snap->lock);
        return ready ? reply(l, c, MHD_HTTP_OK, TEXT, "ready\n", 6)
                     : reply(l, c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, "no cycle completed yet\n", 22);
    }
    if (!strcmp(url, "/")) {
        char page[512];
        int n = snprintf(page, sizeof page,
                         "<html><head><title>slurmpush</title></head><body><h1>slurmpush</h1>"
                         "<p><a href=\"%s\">Metrics</a></p></body></html>\n",
                         l->cfg.metrics_path);
        return reply(l, c, MHD_HTTP_OK, "text/html; charset=utf-8", page, (size_t)n);
    }
    static const char nf[] = "not found\n";
    return reply(l, c, MHD_HTTP_NOT_FOUND, TEXT, nf, sizeof nf - 1);
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

/* A request is over (answered, or the connection failed): the next one on the connection gets a new deadline. */
static void request_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code) {
    (void)code;
    listener *l = cls;
    pthread_mutex_lock(&l->lock);
    conn_slot *slot = slot_of(c);
    if (slot) slot->deadline = mono_seconds() + l->cfg.request_timeout;
    pthread_mutex_unlock(&l->lock);
    upload *u = *con_cls;
    if (!u || *con_cls == &checked_marker) return;
    buf_free(&u->body);
    free(u);
    *con_cls = NULL;
}

/* Ends a connection: libmicrohttpd reads the end of the stream and closes it. Under the lock. */
static void end_connection(listener *l, conn_slot *slot, closed_reason why) {
    shutdown(slot->fd, SHUT_RDWR);
    slot->ending = true;
    l->closed[why]++;
}

/* A new connection gets a slot and a deadline; past SOFT_LIMIT the oldest one that is not being
 * answered makes room. A closed one gives its slot back (before libmicrohttpd closes the socket, so
 * a slot never names a descriptor that was reused). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code) {
    listener *l = cls;
    pthread_mutex_lock(&l->lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_slot *free_slot = NULL, *oldest = NULL;
        size_t open = 0;
        for (size_t i = 0; i < HARD_LIMIT; i++) {
            conn_slot *slot = &l->slots[i];
            if (slot->fd < 0) {
                if (!free_slot) free_slot = slot;
                continue;
            }
            open++;
            if (!slot->ending && slot->deadline > 0 && (!oldest || slot->opened < oldest->opened)) oldest = slot;
        }
        double now = mono_seconds();
        if (free_slot && ci) {
            *free_slot = (conn_slot){.fd = ci->connect_fd, .opened = now, .deadline = now + l->cfg.request_timeout};
            *socket_context = free_slot;
        }
        if (open + 1 > SOFT_LIMIT && oldest) end_connection(l, oldest, CLOSED_EVICTED);
    } else if (*socket_context) {
        ((conn_slot *)*socket_context)->fd = -1;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&l->lock);
}

/* Ends the connections that did not deliver a whole request in time, four times a second. */
static void *watch_deadlines(void *arg) {
    listener *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        struct timespec until;
        monotonic_deadline(&until, 0.25);
        pthread_cond_timedwait(&l->wake, &l->lock, &until);
        double now = mono_seconds();
        for (size_t i = 0; i < HARD_LIMIT; i++) {
            conn_slot *slot = &l->slots[i];
            if (slot->fd >= 0 && !slot->ending && slot->deadline > 0 && now > slot->deadline)
                end_connection(l, slot, CLOSED_DEADLINE);
        }
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

listener *listener_start(const listener_config *cfg, char *err, size_t errlen) {
    struct sockaddr_storage addr;
    socklen_t alen;
    bool v6;
    const char *address = cfg->address;
    if (resolve(address, &addr, &alen, &v6, err, errlen) < 0) return NULL;
    char *token = NULL;
    if (cfg->trace_token_file && !(token = read_secret(cfg->trace_token_file))) {
        snprintf(err, errlen, "cannot read --trace.token-file %s (missing or empty)", cfg->trace_token_file);
        return NULL;
    }
    listener *l = xcalloc(1, sizeof *l);
    l->cfg = *cfg;
    if (l->cfg.request_timeout <= 0) l->cfg.request_timeout = 10;
    l->token = token;
    struct stat st;
    if (token && stat(cfg->trace_token_file, &st) == 0) l->token_mtime = st.st_mtim;
    for (size_t i = 0; i < HARD_LIMIT; i++) l->slots[i].fd = -1;
    pthread_mutex_init(&l->lock, NULL);
    cond_init_monotonic(&l->wake);
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (v6 ? MHD_USE_IPv6 : 0);
    /* strict HTTP/1.1 (two Content-Length headers, a NUL or a space before the colon in a header: 400);
     * no per-address limit, since every user of a login node shares its address */
    l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HARD_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned int)(l->cfg.request_timeout + 0.999), MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, request_done, l,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_END);
    if (!l->daemon) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not permitted)", address);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->wake);
        free(l->token);
        free(l);
        return NULL;
    }
    pthread_create(&l->watchdog, NULL, watch_deadlines, l);
    return l;
}

void listener_reload(listener *l) {
    if (!l || !l->cfg.trace_token_file) return;
    pthread_mutex_lock(&l->lock);
    l->reload = true;
    refresh_token(l);
    pthread_mutex_unlock(&l->lock);
}

void listener_metrics(listener *l, sample_set *ss) {
    if (l->cfg.traces) {
        uint64_t counts[N_TRACE_VERDICTS];
        trace_table_verdicts(l->cfg.traces, counts);
        family *req = ss_family(ss, "slurmpush_trace_requests_total", "Requests to the trace endpoint by HTTP status.",
                                METRIC_COUNTER, "code", NULL);
        for (int v = 0; v < N_TRACE_VERDICTS; v++) {
            char code[8];
            snprintf(code, sizeof code, "%u", http_status((trace_verdict)v));
            FAM_ADD(req, (double)counts[v], code); /* two verdicts share 400 */
        }
    }
    family *closed = ss_family(ss, "slurmpush_listener_connections_closed_total",
                               "Connections the listener ended: no whole request within --web.request-timeout (deadline), "
                               "or the oldest idle one making room for a new one (evicted).",
                               METRIC_COUNTER, "reason", NULL);
    family *malformed = ss_family(ss, "slurmpush_listener_malformed_requests_total",
                                  "Requests refused (400) for malformed headers: Content-Length headers that disagree "
                                  "(libmicrohttpd's strict mode refuses the rest itself, uncounted).",
                                  METRIC_COUNTER, NULL);
    pthread_mutex_lock(&l->lock);
    fam_set(malformed, (double)l->malformed, NULL);
    FAM_SET(closed, (double)l->closed[CLOSED_DEADLINE], "deadline");
    FAM_SET(closed, (double)l->closed[CLOSED_EVICTED], "evicted");
    pthread_mutex_unlock(&l->lock);
}

void listener_stop(listener *l) {
    if (!l) return;
    MHD_stop_daemon(l->daemon);
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->watchdog, NULL);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    free(l->token);
    free(l);
}
