/* sender.c — one endpoint's delivery thread (see sender.h). */
#include "sender.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#ifndef SLURMPUSH_VERSION
#define SLURMPUSH_VERSION "0.0.0"
#endif

typedef struct item {
    uint8_t *body;
    size_t len, samples;
    bool from_spool;  /* acknowledge it in the spool when done */
    uint8_t *body_v2; /* the same samples as remote-write 2.0, or NULL */
    size_t len_v2;
    struct item *next;
} item;

typedef struct {
    item *head, *tail; /* oldest first */
    size_t requests, bytes;
} item_list;

struct sender {
    sender_config cfg;
    char *url, *name, *method;
    struct curl_slist *headers, *headers_v2;
    struct curl_slist *connect_to; /* --remote-write.tls.server-name: name in the URL, address of the real host */
    pthread_t thread;
    pthread_mutex_t lock; /* guards what follows up to `seed`; never held across disk or network I/O */
    pthread_cond_t changed;
    /* Without a spool, `waiting` is the queue. With one, the caller's thread only hands bodies over in
     * `incoming` and the sender's thread writes them to the spool (and syncs) without the lock, so a
     * slow disk delays nothing but this sender; `waiting` then holds what the disk refused (sent after
     * the spool, and new bodies go after it while it is not empty: order holds). */
    item_list waiting, incoming;
    size_t writing_requests, writing_bytes; /* taken from `incoming`, being written to the spool */
    item *inflight;
    bool stopping;
    _Atomic bool abort_transfer; /* set by sender_stop: ends a request in flight at once */
    sender_stats stats;          /* the memory queue's figures; sender_get_stats adds the spool's */
    spool_stats spooled;         /* the spool's figures, as the sender's thread last read them */
    double fallback_at;          /* when the endpoint last refused remote-write 2.0 */
    /* only the sender's thread from here on */
    unsigned int seed; /* jitter */
    char *token;       /* the bearer token as last read, and when its file changed */
    struct timespec token_mtime;
};

send_verdict classify_response(long status, bool transport_ok) {
    if (!transport_ok) return SEND_RETRY;
    if (status >= 200 && status < 300) return SEND_DONE;
    if (status == 429) return SEND_RETRY_AFTER;
    if (status >= 500) return SEND_RETRY;
    return SEND_DROP;
}

double next_backoff(double current, double min_s, double max_s) {
    double next = current <= 0 ? min_s : current * 2;
    return next > max_s ? max_s : next;
}

double jittered(double backoff, double draw) { return backoff * (0.75 + 0.5 * draw); }

static void list_push(item_list *l, item *it) {
    it->next = NULL;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->requests++;
    l->bytes += it->len;
}

static item *list_pop(item_list *l) {
    item *it = l->head;
    if (!it) return NULL;
    l->head = it->next;
    if (!l->head) l->tail = NULL;
    l->requests--;
    l->bytes -= it->len;
    return it;
}

static void free_item(item *it) {
    if (!it) return;
    free(it->body_v2);
    free(it->body);
    free(it);
}

static void free_list(item_list *l) {
    while (l->head) free_item(list_pop(l));
}

/* A spool record holding both encodings: "RW2C", the 1.0 length, the 1.0 body, the 2.0 body. */
static const uint8_t BOTH_MAGIC[4] = {'R', 'W', '2', 'C'};

static uint8_t *pack_both(const uint8_t *b1, size_t l1, const uint8_t *b2, size_t l2, size_t *len) {
    *len = 8 + l1 + l2;
    uint8_t *out = xmalloc(*len);
    memcpy(out, BOTH_MAGIC, 4);
    for (int i = 0; i < 4; i++) out[4 + i] = (uint8_t)(l1 >> (8 * i));
    memcpy(out + 8, b1, l1);
    memcpy(out + 8 + l1, b2, l2);
    return out;
}

/* Splits a spool record back into the 1.0 and 2.0 bodies (a plain record is 1.0 only). */
static void unpack_both(item *it) {
    if (it->len < 8 || memcmp(it->body, BOTH_MAGIC, 4)) return;
    size_t l1 = (size_t)it->body[4] | (size_t)it->body[5] << 8 | (size_t)it->body[6] << 16 | (size_t)it->body[7] << 24;
    if (l1 > it->len - 8) return;
    size_t l2 = it->len - 8 - l1;
    uint8_t *b1 = xmalloc(l1 ? l1 : 1), *b2 = xmalloc(l2 ? l2 : 1);
    memcpy(b1, it->body + 8, l1);
    memcpy(b2, it->body + 8 + l1, l2);
    free(it->body);
    it->body = b1, it->len = l1, it->body_v2 = b2, it->len_v2 = l2;
}

/* Makes room in a memory list for len more bytes by dropping its oldest (counted). Under the lock. */
static void evict_for(sender *s, item_list *l, size_t len) {
    while (l->head && l->bytes + len > s->cfg.queue_max_bytes) {
        item *old = list_pop(l);
        s->stats.requests_evicted++;
        s->stats.samples_evicted += old->samples;
        log_kv(LOG_WARN, "queue full: dropped the oldest request", "endpoint", s->name, "samples", LOG_INT(old->samples),
               "queue_max_bytes", LOG_INT(s->cfg.queue_max_bytes), NULL);
        free_item(old);
    }
}

void sender_enqueue(sender *s, uint8_t *body, size_t len, size_t samples) { sender_enqueue2(s, body, len, NULL, 0, samples); }

void sender_enqueue2(sender *s, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples) {
    item *it = xcalloc(1, sizeof *it);
    *it = (item){.body = body, .len = len, .samples = samples, .body_v2 = body_v2, .len_v2 = len_v2};
    pthread_mutex_lock(&s->lock);
    item_list *to = s->cfg.durable ? &s->incoming : &s->waiting;
    if (s->cfg.mode == SENDER_LATEST_ONLY) free_list(to); /* a newer snapshot makes the waiting one worthless */
    evict_for(s, to, len);
    list_push(to, it);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Publishes the spool's figures (the sender's thread reads them; others see them through the lock). */
static void publish_spool(sender *s) {
    spool_stats st;
    spool_get_stats(s->cfg.durable, &st);
    pthread_mutex_lock(&s->lock);
    s->spooled = st;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Writes one body to the spool (the sender's thread, no lock held); false if the disk refused it. */
static bool append_to_spool(sender *s, item *it) {
    size_t rec_len = it->len;
    uint8_t *rec = it->body_v2 ? pack_both(it->body, it->len, it->body_v2, it->len_v2, &rec_len) : it->body;
    int rc = spool_append(s->cfg.durable, rec, rec_len, it->samples);
    if (rec != it->body) free(rec);
    if (rc != 0) log_kv(LOG_ERROR, "spool write failed; queueing in memory", "endpoint", s->name, "error", strerror(errno), NULL);
    return rc == 0;
}

/* Moves handed-over bodies into the spool, oldest first; what the disk refuses (and, for order,
 * everything after it while the memory queue is not empty) waits in memory. */
static void spool_incoming(sender *s) {
    pthread_mutex_lock(&s->lock);
    item_list in = s->incoming;
    s->incoming = (item_list){0};
    s->writing_requests = in.requests, s->writing_bytes = in.bytes;
    pthread_mutex_unlock(&s->lock);
    if (!in.head) return;
    for (item *it; (it = list_pop(&in));) {
        bool written = !s->waiting.head && append_to_spool(s, it); /* only this thread changes `waiting` */
        pthread_mutex_lock(&s->lock);
        s->writing_requests--, s->writing_bytes -= it->len;
        if (!written) {
            evict_for(s, &s->waiting, it->len);
            list_push(&s->waiting, it);
        }
        pthread_mutex_unlock(&s->lock);
        if (written) free_item(it);
    }
    publish_spool(s);
}

/* While the sender's thread waits for a receiver (a backoff, a transfer), bodies handed over meanwhile go
 * to the spool at once: a crash then must not take them along. */
static void spool_while_waiting(sender *s) {
    if (!s->cfg.durable) return;
    pthread_mutex_lock(&s->lock);
    bool handed = s->incoming.head != NULL;
    pthread_mutex_unlock(&s->lock);
    if (handed) spool_incoming(s);
}

/* Sleeps up to seconds (a backoff), waking early when the sender is stopped or something is handed over. */
static void pause_for(sender *s, double seconds) {
    struct timespec until;
    monotonic_deadline(&until, seconds);
    for (bool more = true; more;) {
        spool_while_waiting(s);
        pthread_mutex_lock(&s->lock);
        bool handed = s->cfg.durable && s->incoming.head; /* came since the look above: spool it first */
        more = !s->stopping && (handed || pthread_cond_timedwait(&s->changed, &s->lock, &until) == 0) && !s->stopping;
        pthread_mutex_unlock(&s->lock);
    }
}

typedef struct {
    char text[512];
    size_t len;
} response_head;

static size_t keep_body(char *data, size_t size, size_t n, void *userdata) {
    response_head *r = userdata;
    size_t room = sizeof r->text - 1 - r->len, take = size * n < room ? size * n : room;
    memcpy(r->text + r->len, data, take);
    r->len += take;
    r->text[r->len] = '\0';
    return size * n;
}

/* Did a 2.0 receiver say what it wrote (X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written)? */
static bool receiver_wrote(CURL *curl) {
    static const char *const names[] = {"X-Prometheus-Remote-Write-Samples-Written",
                                        "X-Prometheus-Remote-Write-Histograms-Written",
                                        "X-Prometheus-Remote-Write-Exemplars-Written"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        struct curl_header *h;
        if (curl_easy_header(curl, names[i], 0, CURLH_HEADER, -1, &h) == CURLHE_OK) return true;
    }
    return false;
}

static bool use_v2(sender *s, const item *it) {
    pthread_mutex_lock(&s->lock);
    /* after a fallback, 2.0 is tried again once an hour: receivers get upgraded */
    if (s->stats.protocol_v1_fallback && mono_seconds() - s->fallback_at > 3600) s->stats.protocol_v1_fallback = false;
    bool v2 = it->body_v2 && s->headers_v2 && !s->stats.protocol_v1_fallback;
    pthread_mutex_unlock(&s->lock);
    return v2;
}

const char *const transport_error_names[N_TRANSPORT] = {"tls", "connect", "timeout", "other"};

/* detail: libcurl's message. Under TLS 1.3 a client certificate is refused after the handshake, by an
 * alert the first read meets ("OpenSSL SSL_read: … alert bad certificate"): a receive error that is TLS. */
static transport_error transport_cause(CURLcode rc, const char *detail) {
    if ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && strstr(detail, "SSL")) return TRANSPORT_TLS;
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION: /* a certificate that does not verify: CA, dates, name */
    case CURLE_SSL_CONNECT_ERROR:        /* the handshake: versions, ciphers, a client certificate refused */
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED: return TRANSPORT_TLS;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return TRANSPORT_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return TRANSPORT_TIMEOUT;
    default: return TRANSPORT_OTHER;
    }
}

/* One attempt; returns the verdict and fills the status and Retry-After (seconds, -1: none). */
static send_verdict attempt(sender *s, CURL *curl, const item *it, long *status, double *retry_after) {
    response_head body = {0};
    bool v2 = use_v2(s, it);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, v2 ? it->body_v2 : it->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(v2 ? it->len_v2 : it->len));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, v2 ? s->headers_v2 : s->headers);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    char detail[CURL_ERROR_SIZE] = ""; /* libcurl's own words: "SSL certificate problem: certificate has expired" */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
    double t0 = mono_seconds();
    CURLcode rc = curl_easy_perform(curl);
    double took = mono_seconds() - t0;
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    *status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    transport_error cause = transport_cause(rc, detail);
    pthread_mutex_lock(&s->lock);
    s->stats.last_request_seconds = took;
    if (rc != CURLE_OK && rc != CURLE_ABORTED_BY_CALLBACK) s->stats.transport_errors[cause]++;
    pthread_mutex_unlock(&s->lock);
    /* a receiver that does not take 2.0: 415, 400, or a 2xx that wrote nothing (a 1.0 receiver
     * decodes a 2.0 body as an empty 1.0 request); the same samples go again as 1.0 at once */
    if (v2 && rc == CURLE_OK && (*status == 415 || *status == 400 || (*status / 100 == 2 && !receiver_wrote(curl)))) {
        pthread_mutex_lock(&s->lock);
        s->stats.protocol_v1_fallback = true;
        s->fallback_at = mono_seconds();
        pthread_mutex_unlock(&s->lock);
        log_kv(LOG_WARN, "receiver does not take remote-write 2.0; falling back to 1.0 for this endpoint", "endpoint", s->name,
               "status", LOG_INT(*status), "response", body.text, NULL);
        return attempt(s, curl, it, status, retry_after);
    }
    /* libcurl reads Retry-After in both forms (seconds, HTTP date); 0 when there is none */
    curl_off_t after = 0;
    *retry_after =
        rc == CURLE_OK && curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0 ? (double)after : -1;
    if (*retry_after > s->cfg.max_retry_after_s) *retry_after = s->cfg.max_retry_after_s;
    send_verdict v = classify_response(*status, rc == CURLE_OK);
    if (v == SEND_DONE) return v;
    bool tls = rc != CURLE_OK && cause == TRANSPORT_TLS;
    const char *msg = v == SEND_DROP ? "receiver rejected the request; dropping it (not retried)"
                      : tls          ? "TLS failed: nothing sent; will retry (fix the certificate or the TLS options)"
                                     : "send failed; will retry";
    log_kv(v == SEND_DROP || tls ? LOG_ERROR : LOG_WARN, msg, "endpoint", s->name, "status", LOG_INT(*status), "error",
           rc == CURLE_OK ? ""
           : detail[0]    ? detail
                          : curl_easy_strerror(rc),
           "response", body.text, "samples", LOG_INT(it->samples), NULL);
    return v;
}

/* libcurl's progress callback, in the sender's thread during a transfer: a hung receiver must not keep
 * what is handed over meanwhile in memory either. */
static int during_transfer(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    sender *s = userdata;
    spool_while_waiting(s);
    return s->abort_transfer ? 1 : 0;
}

static CURL *make_handle(sender *s) {
    CURL *curl = curl_easy_init();
    if (!curl) return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, s->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, s->method);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(s->cfg.timeout_s * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->cfg.timeout_s * 1000));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, during_transfer);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, s);
    /* only the configured proxy: the environment's proxy variables are not followed silently */
    curl_easy_setopt(curl, CURLOPT_PROXY, s->cfg.proxy_url ? s->cfg.proxy_url : "");
    if (s->cfg.username) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, s->cfg.username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, s->cfg.password ? s->cfg.password : "");
    }
    if (s->connect_to) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, s->connect_to);
    if (s->cfg.ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, s->cfg.ca_file);
    if (s->cfg.cert_file) curl_easy_setopt(curl, CURLOPT_SSLCERT, s->cfg.cert_file);
    if (s->cfg.key_file) curl_easy_setopt(curl, CURLOPT_SSLKEY, s->cfg.key_file);
    if (s->cfg.insecure_skip_verify) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    return curl;
}

/* Re-reads the bearer token when its file changed (rotation works without a restart). */
static void refresh_token(sender *s, CURL *curl) {
    if (!s->cfg.bearer_token_file) return;
    struct stat st;
    if (stat(s->cfg.bearer_token_file, &st) != 0) {
        log_kv(LOG_ERROR, "cannot read the bearer token file", "endpoint", s->name, "file", s->cfg.bearer_token_file, NULL);
        return;
    }
    if (s->token && st.st_mtim.tv_sec == s->token_mtime.tv_sec && st.st_mtim.tv_nsec == s->token_mtime.tv_nsec) return;
    char *text = read_secret(s->cfg.bearer_token_file); /* missing or empty: the last good token stays */
    if (!text) return;
    free(s->token);
    s->token = text;
    s->token_mtime = st.st_mtim;
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, s->token);
}

/* Anything to send or to write? Under the lock. */
static bool has_work(const sender *s) {
    return s->incoming.head || s->waiting.head || s->inflight || s->writing_requests || s->spooled.records;
}

/* The next request: the spool's oldest first (older than anything in memory), then memory. */
static item *next_item(sender *s) {
    if (s->cfg.durable) {
        item *it = xcalloc(1, sizeof *it);
        if (spool_peek(s->cfg.durable, &it->body, &it->len, &it->samples) == 1) {
            it->from_spool = true;
            unpack_both(it);
            return it;
        }
        free(it);
        publish_spool(s);
    }
    pthread_mutex_lock(&s->lock);
    item *it = list_pop(&s->waiting);
    pthread_mutex_unlock(&s->lock);
    return it;
}

/* The request in flight went (sent, or dropped by policy): count it and let it go. */
static void finish(sender *s, item *it, send_verdict v) {
    if (it->from_spool) {
        spool_ack(s->cfg.durable); /* syncs the cursor: no lock held */
        publish_spool(s);
    }
    pthread_mutex_lock(&s->lock);
    if (v == SEND_DONE) {
        s->stats.requests_ok++;
        s->stats.samples_sent += it->samples;
        s->stats.last_success_ms = now_ms();
    } else {
        s->stats.requests_dropped++;
        s->stats.samples_dropped += it->samples;
    }
    s->inflight = NULL;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    free_item(it);
}

/* At a stop: what waits in memory goes to the spool (after what is there, so in order) if the disk takes it. */
static void spool_what_is_left(sender *s) {
    if (!s->cfg.durable) return;
    spool_incoming(s);
    size_t lost = 0;
    for (item *it; (it = list_pop(&s->waiting)); free_item(it))
        if (lost || !append_to_spool(s, it)) lost++;
    if (lost)
        log_kv(LOG_ERROR, "stopping: requests the disk did not take are lost", "endpoint", s->name, "requests", LOG_INT(lost),
               NULL);
}

static void *run(void *arg) {
    sender *s = arg;
    CURL *curl = make_handle(s);
    double backoff = 0;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && !has_work(s)) pthread_cond_wait(&s->changed, &s->lock);
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);
        if (stopping) break;
        if (s->cfg.durable) spool_incoming(s);
        item *it = s->inflight;
        if (!it) {
            it = next_item(s);
            pthread_mutex_lock(&s->lock);
            s->inflight = it;
            pthread_mutex_unlock(&s->lock);
        }
        if (!it) continue;

        long status = 0;
        double retry_after = -1;
        if (curl) refresh_token(s, curl);
        send_verdict v = curl ? attempt(s, curl, it, &status, &retry_after) : SEND_RETRY;
        pthread_mutex_lock(&s->lock);
        s->stats.last_status = (int)status;
        pthread_mutex_unlock(&s->lock);
        if (v == SEND_DONE || v == SEND_DROP) {
            finish(s, it, v);
            backoff = 0;
            continue;
        }
        pthread_mutex_lock(&s->lock);
        s->stats.retries++;
        if (s->cfg.mode == SENDER_LATEST_ONLY && s->waiting.head) {
            /* a newer snapshot is waiting: retry with that one instead */
            free_item(s->inflight);
            s->inflight = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        backoff = next_backoff(backoff, s->cfg.min_backoff_s, s->cfg.max_backoff_s);
        double wait = jittered(backoff, (double)rand_r(&s->seed) / ((double)RAND_MAX + 1));
        if (retry_after >= 0 && (v == SEND_RETRY_AFTER || v == SEND_RETRY)) wait = retry_after;
        pause_for(s, wait);
    }
    spool_what_is_left(s);
    if (curl) curl_easy_cleanup(curl);
    return NULL;
}

/* TLS with another name than the URL's host: the URL gets the name (so libcurl verifies it and
 * sends it as SNI) and CONNECT_TO sends the connection to the URL's real host and port. */
static void use_server_name(sender *s, const char *name) {
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *url = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, s->url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_HOST, name, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
        buf rule = {0};
        buf_printf(&rule, "%s:%s:%s:%s", name, port, host, port); /* an IPv6 host keeps its brackets */
        free(s->url);
        s->url = xstrdup(url);
        s->connect_to = curl_slist_append(NULL, rule.data);
        buf_free(&rule);
    }
    curl_free(host), curl_free(port), curl_free(url);
    curl_url_cleanup(u);
}

sender *sender_start(const sender_config *cfg) {
    sender *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->url = xstrdup(cfg->url);
    s->name = xstrdup(cfg->name ? cfg->name : cfg->url);
    s->method = xstrdup(cfg->method ? cfg->method : "POST");
    if (cfg->server_name) use_server_name(s, cfg->server_name);
    s->cfg.url = s->url;
    s->cfg.name = s->name;
    if (s->cfg.min_backoff_s <= 0) s->cfg.min_backoff_s = 0.030;
    if (s->cfg.max_backoff_s <= 0) s->cfg.max_backoff_s = 5;
    if (s->cfg.max_retry_after_s <= 0) s->cfg.max_retry_after_s = 300;
    if (!s->cfg.queue_max_bytes) s->cfg.queue_max_bytes = 64u << 20;
    for (const char *const *h = cfg->headers; h && *h; h++) s->headers = curl_slist_append(s->headers, *h);
    for (size_t i = 0; i < cfg->n_extra_headers; i++) s->headers = curl_slist_append(s->headers, cfg->extra_headers[i]);
    for (const char *const *h = cfg->headers_v2; h && *h; h++) s->headers_v2 = curl_slist_append(s->headers_v2, *h);
    for (size_t i = 0; cfg->headers_v2 && i < cfg->n_extra_headers; i++)
        s->headers_v2 = curl_slist_append(s->headers_v2, cfg->extra_headers[i]);
    if (s->headers_v2) s->headers_v2 = curl_slist_append(s->headers_v2, "Expect:");
    /* libcurl adds "Expect: 100-continue" for large bodies; receivers don't need the round trip */
    s->headers = curl_slist_append(s->headers, "Expect:");
    s->seed = (unsigned int)now_ms() ^ (unsigned int)(uintptr_t)s;
    pthread_mutex_init(&s->lock, NULL);
    cond_init_monotonic(&s->changed);
    if (s->cfg.durable) spool_get_stats(s->cfg.durable, &s->spooled);
    pthread_create(&s->thread, NULL, run, s);
    return s;
}

bool sender_wait_idle(sender *s, double timeout_s) {
    struct timespec until;
    monotonic_deadline(&until, timeout_s);
    pthread_mutex_lock(&s->lock);
    while (has_work(s) && pthread_cond_timedwait(&s->changed, &s->lock, &until) == 0) {
    }
    bool idle = !has_work(s);
    pthread_mutex_unlock(&s->lock);
    return idle;
}

void sender_request_stop(sender *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    s->abort_transfer = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

void sender_stop(sender *s) {
    if (!s) return;
    sender_request_stop(s);
    pthread_join(s->thread, NULL); /* it spools what waits in memory first */
    free_item(s->inflight);
    free_list(&s->waiting);
    free_list(&s->incoming);
    curl_slist_free_all(s->headers);
    curl_slist_free_all(s->headers_v2);
    curl_slist_free_all(s->connect_to);
    spool_close(s->cfg.durable);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s->url);
    free(s->name);
    free(s->method);
    free(s->token);
    free(s);
}

long sender_delete_now(sender *s, double timeout_s) {
    CURL *curl = make_handle(s);
    if (!curl) return 0;
    long ms = timeout_s > 0.001 ? (long)(timeout_s * 1000) : 1;
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
    /* no body, so none of the body's headers (a gzip Content-Encoding on nothing is a 400) */
    struct curl_slist *headers = curl_slist_append(NULL, "User-Agent: slurmpush/" SLURMPUSH_VERSION);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, NULL);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
    response_head body = {0};
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, NULL);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    return status;
}

void sender_get_stats(sender *s, sender_stats *out) {
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->queue_requests = s->waiting.requests + s->incoming.requests + s->writing_requests;
    out->queue_bytes = s->waiting.bytes + s->incoming.bytes + s->writing_bytes;
    if (s->cfg.durable) {
        out->spooled = true;
        out->queue_requests += s->spooled.records, out->queue_bytes += s->spooled.bytes;
        out->spool_bytes = s->spooled.bytes;
        out->requests_evicted += s->spooled.dropped_records, out->samples_evicted += s->spooled.dropped_samples;
        out->spool_damaged_records = s->spooled.damaged_records;
        out->spool_position_repairs = s->spooled.cursor_repairs;
    }
    pthread_mutex_unlock(&s->lock);
}
