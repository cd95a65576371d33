/* listener.c — libmicrohttpd front end (see listener.h). */
#include "listener.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"
#include "webconfig.h"

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
typedef enum { REFUSED_PASSWORD, REFUSED_CLIENT_CERT, N_REFUSED } refused_reason;

/* bcrypt costs tens of milliseconds a check, on purpose: a password that passed is remembered (its
 * SHA-256, per user) until the web configuration is re-read, so scrapes do not pay it every time. */
typedef struct {
    unsigned char digest[32];
    bool set;
} passed_password;

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
    /* --web.config.file: TLS, basic-auth users, response headers (under the lock; replaced whole on SIGHUP) */
    web_config web;
    passed_password *passed; /* one per web.users entry */
    unsigned generation;     /* counts re-reads: a check that began before one does not fill the new cache */
    uint64_t refused[N_REFUSED];
    struct sockaddr_storage addr;
    bool v6;
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

/* The web configuration's headers (Strict-Transport-Security, …), on every response. */
static void add_configured_headers(listener *l, struct MHD_Response *r) {
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->web.n_headers; i++) MHD_add_response_header(r, l->web.headers[i].name, l->web.headers[i].value);
    pthread_mutex_unlock(&l->lock);
}

static enum MHD_Result reply_allow(listener *l, struct MHD_Connection *c, unsigned int status, const char *type, const char *body,
                                   size_t len, const char *allow) {
    answering(l, c);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    add_configured_headers(l, r);
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
static bool same_secret(const char *a, const char *b) { return strlen(a) == strlen(b) && same_bytes(a, b, strlen(a)); }

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

/* ---- access (--web.config.file): client certificates and basic auth, on every path ---- */

/* Whether the client's certificate satisfies client_auth_type; GnuTLS verifies it against
 * client_ca_file (the chain, and that it is valid now). */
static bool client_cert_ok(listener *l, struct MHD_Connection *c) {
    pthread_mutex_lock(&l->lock);
    client_auth mode = l->web.tls ? l->web.client_auth : CLIENT_AUTH_NONE;
    pthread_mutex_unlock(&l->lock);
    if (mode == CLIENT_AUTH_NONE || mode == CLIENT_AUTH_REQUEST) return true;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
    unsigned int n = 0;
    bool given = session && gnutls_certificate_get_peers(session, &n) && n > 0;
    if (mode == CLIENT_AUTH_REQUIRE_ANY) return given;
    unsigned int status = 0;
    bool valid = given && gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
    return mode == CLIENT_AUTH_VERIFY_IF_GIVEN ? !given || valid : valid;
}

/* The user's password, checked against its bcrypt hash outside the lock (it is slow) unless it passed
 * before; an unknown user costs a check too. */
static bool check_password(listener *l, const char *user, const char *password) {
    unsigned char digest[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, password, strlen(password), digest) < 0) return false;
    pthread_mutex_lock(&l->lock);
    if (!l->web.n_users) { /* re-read meanwhile: no users any more */
        pthread_mutex_unlock(&l->lock);
        return true;
    }
    long found = -1;
    for (size_t i = 0; i < l->web.n_users; i++)
        if (!strcmp(l->web.users[i].name, user)) found = (long)i;
    bool remembered = found >= 0 && l->passed[found].set && same_bytes(l->passed[found].digest, digest, sizeof digest);
    char *hash = remembered ? NULL : xstrdup(l->web.users[found >= 0 ? found : 0].hash);
    unsigned generation = l->generation;
    pthread_mutex_unlock(&l->lock);
    if (remembered) return true;
    bool ok = web_config_hash_matches(hash, password) && found >= 0;
    free(hash);
    pthread_mutex_lock(&l->lock);
    if (ok && generation == l->generation) {
        memcpy(l->passed[found].digest, digest, sizeof digest);
        l->passed[found].set = true;
    }
    pthread_mutex_unlock(&l->lock);
    return ok;
}

static bool password_ok(listener *l, struct MHD_Connection *c) {
    pthread_mutex_lock(&l->lock);
    bool wanted = l->web.n_users > 0;
    pthread_mutex_unlock(&l->lock);
    if (!wanted) return true;
    char *password = NULL, *user = MHD_basic_auth_get_username_password(c, &password);
    bool ok = user && password && check_password(l, user, password);
    if (password) MHD_free(password);
    if (user) MHD_free(user);
    return ok;
}

/* 401 with a Basic challenge, or 403 for a client certificate; counted. */
static enum MHD_Result refuse_access(listener *l, struct MHD_Connection *c, refused_reason why) {
    pthread_mutex_lock(&l->lock);
    l->refused[why]++;
    pthread_mutex_unlock(&l->lock);
    answering(l, c);
    const char *msg = why == REFUSED_PASSWORD ? "unauthorized\n" : "a valid client certificate is required\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    add_configured_headers(l, r);
    MHD_add_response_header(r, "Content-Type", TEXT);
    enum MHD_Result ret = why == REFUSED_PASSWORD ? MHD_queue_basic_auth_fail_response(c, "slurmpush", r)
                                                  : MHD_queue_response(c, MHD_HTTP_FORBIDDEN, r);
    MHD_destroy_response(r);
    return ret;
}

/* The request context of requests other than trace posts: checked once (nothing to free), or answered
 * already at their headers (the rest of the request is read and dropped). */
static char checked_marker, answered_marker;

/* Marks a request answered at its headers: a trace post's body is then read and dropped. */
static void answered_early(bool trace, void **con_cls) {
    if (trace) {
        upload *u = xcalloc(1, sizeof *u);
        u->refused = u->answered = true;
        *con_cls = u;
    } else {
        *con_cls = &answered_marker;
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                              const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)version;
    listener *l = cls;
    bool trace = l->cfg.traces && !strcmp(url, l->cfg.trace_path);
    if (*con_cls == &answered_marker) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (!*con_cls && malformed_headers(c)) {
        pthread_mutex_lock(&l->lock);
        l->malformed++;
        pthread_mutex_unlock(&l->lock);
        if (trace) trace_table_count(l->cfg.traces, TRACE_BAD_REQUEST);
        answered_early(trace, con_cls);
        return reply_reason(l, c, MHD_HTTP_BAD_REQUEST, "malformed request headers");
    }
    if (!*con_cls && !client_cert_ok(l, c)) {
        answered_early(trace, con_cls);
        return refuse_access(l, c, REFUSED_CLIENT_CERT);
    }
    if (!*con_cls && !password_ok(l, c)) {
        answered_early(trace, con_cls);
        return refuse_access(l, c, REFUSED_PASSWORD);
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
    if (!u || *con_cls == &checked_marker || *con_cls == &answered_marker) return;
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

/* A libmicrohttpd daemon on the listener's address (or on listen_fd, the socket of the one it replaces),
 * with TLS when web says so. web must outlive the daemon. */
static struct MHD_Daemon *start_daemon(listener *l, const web_config *web, int listen_fd) {
    char priorities[128];
    web_config_tls_priorities(web, priorities, sizeof priorities);
    struct MHD_OptionItem opts[16];
    size_t n = 0;
#define OPTION(option, value, ptr)                                                                                               \
    opts[n++] = (struct MHD_OptionItem) { option, (intptr_t)(value), ptr }
    if (listen_fd >= 0)
        OPTION(MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL);
    else
        OPTION(MHD_OPTION_SOCK_ADDR, 0, &l->addr);
    OPTION(MHD_OPTION_CONNECTION_LIMIT, HARD_LIMIT, NULL);
    OPTION(MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(l->cfg.request_timeout + 0.999), NULL);
    /* strict HTTP/1.1 (two Content-Length headers, a NUL or a space before the colon in a header: 400);
     * no per-address limit, since every user of a login node shares its address */
    OPTION(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
    OPTION(MHD_OPTION_CONNECTION_MEMORY_LIMIT, 65536, NULL);
    OPTION(MHD_OPTION_NOTIFY_COMPLETED, request_done, l);
    OPTION(MHD_OPTION_NOTIFY_CONNECTION, on_connection, l);
    if (web->tls) {
        OPTION(MHD_OPTION_HTTPS_MEM_CERT, 0, web->cert_pem);
        OPTION(MHD_OPTION_HTTPS_MEM_KEY, 0, web->key_pem);
        OPTION(MHD_OPTION_HTTPS_PRIORITIES, 0, priorities);
        if (web->client_ca_pem) OPTION(MHD_OPTION_HTTPS_MEM_TRUST, 0, web->client_ca_pem); /* asks for a certificate */
    }
    OPTION(MHD_OPTION_END, 0, NULL);
#undef OPTION
    /* ITC: a SIGHUP that changes TLS hands the listening socket over to a new daemon (MHD_quiesce_daemon) */
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | (l->v6 ? MHD_USE_IPv6 : 0) | (web->tls ? MHD_USE_TLS : 0);
    return MHD_start_daemon(flags, 0, NULL, NULL, handle, l, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

/* Takes a freshly read web configuration: users and headers at once, the remembered passwords forgotten. Under the lock. */
static void use_web_config(listener *l, web_config *fresh) {
    web_config_free(&l->web);
    l->web = *fresh;
    *fresh = (web_config){0};
    free(l->passed);
    l->passed = xcalloc(l->web.n_users + 1, sizeof *l->passed);
    l->generation++;
}

static bool same_text(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* Whether going from a to b needs a new daemon (libmicrohttpd takes TLS settings only at its start). */
static bool tls_differs(const web_config *a, const web_config *b) {
    return a->tls != b->tls || !same_text(a->cert_pem, b->cert_pem) || !same_text(a->key_pem, b->key_pem) ||
           !same_text(a->client_ca_pem, b->client_ca_pem) || a->client_auth != b->client_auth ||
           a->min_version != b->min_version || a->max_version != b->max_version;
}

static void log_web_config(const char *msg, const listener *l) {
    log_kv(LOG_INFO, msg, "file", l->cfg.web_config_file, "tls", l->web.tls ? "on" : "off", "basic_auth_users",
           LOG_INT(l->web.n_users), NULL);
}

listener *listener_start(const listener_config *cfg, char *err, size_t errlen) {
    listener *l = xcalloc(1, sizeof *l);
    l->cfg = *cfg;
    socklen_t alen;
    if (resolve(cfg->address, &l->addr, &alen, &l->v6, err, errlen) < 0) {
        free(l);
        return NULL;
    }
    if (cfg->trace_token_file && !(l->token = read_secret(cfg->trace_token_file))) {
        snprintf(err, errlen, "cannot read --trace.token-file %s (missing or empty)", cfg->trace_token_file);
        free(l);
        return NULL;
    }
    web_config web = {.min_version = TLS_V12, .max_version = TLS_V13};
    char why[512];
    if (cfg->web_config_file && !web_config_load(cfg->web_config_file, &web, why, sizeof why)) {
        snprintf(err, errlen, "--web.config.file %s", why);
        free(l->token);
        free(l);
        return NULL;
    }
    use_web_config(l, &web);
    if (l->cfg.request_timeout <= 0) l->cfg.request_timeout = 10;
    struct stat st;
    if (l->token && stat(cfg->trace_token_file, &st) == 0) l->token_mtime = st.st_mtim;
    for (size_t i = 0; i < HARD_LIMIT; i++) l->slots[i].fd = -1;
    pthread_mutex_init(&l->lock, NULL);
    cond_init_monotonic(&l->wake);
    l->daemon = start_daemon(l, &l->web, -1);
    if (!l->daemon) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not permitted%s)", cfg->address,
                 l->web.tls ? ", or the TLS settings were refused" : "");
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->wake);
        web_config_free(&l->web);
        free(l->passed);
        free(l->token);
        free(l);
        return NULL;
    }
    if (cfg->web_config_file) log_web_config("web config file read", l);
    pthread_create(&l->watchdog, NULL, watch_deadlines, l);
    return l;
}

/* SIGHUP: the web configuration again. A file that no longer reads or checks keeps what runs (logged);
 * changed TLS settings move the listening socket to a new daemon, whose connections are new ones. */
static void reload_web_config(listener *l) {
    web_config fresh;
    char why[512];
    if (!web_config_load(l->cfg.web_config_file, &fresh, why, sizeof why)) {
        log_kv(LOG_ERROR, "cannot re-read the web config file; keeping the running one", "error", why, NULL);
        return;
    }
    pthread_mutex_lock(&l->lock);
    bool restart = tls_differs(&l->web, &fresh);
    pthread_mutex_unlock(&l->lock);
    web_config old = {0};
    if (restart) {
        struct MHD_Daemon *before = l->daemon;
        MHD_socket fd = MHD_quiesce_daemon(before);
        if (fd == MHD_INVALID_SOCKET) {
            log_kv(LOG_ERROR, "cannot hand the listening socket to new TLS settings; keeping the running ones", NULL);
            web_config_free(&fresh);
            return;
        }
        struct MHD_Daemon *after = start_daemon(l, &fresh, fd);
        bool took = after != NULL;
        if (!took) after = start_daemon(l, &l->web, fd); /* the running settings again, on the same socket */
        MHD_stop_daemon(before);
        l->daemon = after;
        if (!took) {
            log_kv(LOG_ERROR,
                   after ? "the new TLS settings were refused; keeping the running ones"
                         : "the new TLS settings were refused, and the running ones could not restart: not listening",
                   NULL);
            web_config_free(&fresh);
            return;
        }
    }
    pthread_mutex_lock(&l->lock);                        /* one step: no request sees a configuration in between */
    if (restart) old = l->web, l->web = (web_config){0}; /* the stopped daemon's TLS material, freed below */
    use_web_config(l, &fresh);
    pthread_mutex_unlock(&l->lock);
    web_config_free(&old);
    log_web_config(restart ? "web config file re-read; TLS settings changed" : "web config file re-read", l);
}

void listener_reload(listener *l) {
    if (!l) return;
    if (l->cfg.trace_token_file) {
        pthread_mutex_lock(&l->lock);
        l->reload = true;
        refresh_token(l);
        pthread_mutex_unlock(&l->lock);
    }
    if (l->cfg.web_config_file) reload_web_config(l);
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
    family *refused = ss_family(ss, "slurmpush_listener_refused_total",
                                "Requests refused by --web.config.file: no or a wrong basic-auth password (401), "
                                "no or an invalid client certificate (403).",
                                METRIC_COUNTER, "reason", NULL);
    pthread_mutex_lock(&l->lock);
    FAM_SET(refused, (double)l->refused[REFUSED_PASSWORD], "password");
    FAM_SET(refused, (double)l->refused[REFUSED_CLIENT_CERT], "client_certificate");
    fam_set(malformed, (double)l->malformed, NULL);
    FAM_SET(closed, (double)l->closed[CLOSED_DEADLINE], "deadline");
    FAM_SET(closed, (double)l->closed[CLOSED_EVICTED], "evicted");
    pthread_mutex_unlock(&l->lock);
}

void listener_stop(listener *l) {
    if (!l) return;
    if (l->daemon) MHD_stop_daemon(l->daemon);
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->watchdog, NULL);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    web_config_free(&l->web);
    free(l->passed);
    free(l->token);
    free(l);
}
