/* test_sender.c — the delivery policy against a scripted loopback receiver: 204, 500s then
 * 204 (backoff spacing), 429 with Retry-After (the pause), 400 (dropped, never resent,
 * newer data goes on), no answer (timeout, retried); exact remote-write headers. */
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "agent/sender.h"
#include "agent/util.h"

/* ---- the scripted receiver ---- */
enum { MAX_REQ = 32 };
typedef struct {
    int script[MAX_REQ]; /* status per request; 0 = hang until the client gives up; past the end: 204 */
    const char *retry_after;
    pthread_mutex_t lock;
    int n;
    double at[MAX_REQ];
    char body[MAX_REQ][16];
    char auth[MAX_REQ][96], tenant[MAX_REQ][32], type[MAX_REQ][80], host[MAX_REQ][80];
    bool answer_written; /* send X-Prometheus-Remote-Write-Samples-Written, as a 2.0 receiver does */
    char content_encoding[64], content_type[64], version[64], user_agent[64];
    int header_count_ce; /* how many Content-Encoding headers the first request had */
    struct MHD_Daemon *d;
    unsigned short port;
} receiver;

static enum MHD_Result count_ce(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    (void)value;
    if (!strcasecmp(key, "Content-Encoding")) ++*(int *)cls;
    return MHD_YES;
}

typedef struct {
    buf body;
} conn_state;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
    (void)url;
    (void)method;
    (void)version;
    receiver *r = cls;
    if (!*con_cls) {
        *con_cls = calloc(1, sizeof(conn_state));
        return MHD_YES;
    }
    conn_state *cs = *con_cls;
    if (*upload_size) {
        buf_append(&cs->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->lock);
    int i = r->n++;
    int status = i < MAX_REQ && r->script[i] ? r->script[i] : 204;
    if (i < MAX_REQ) {
        r->at[i] = mono_seconds();
        snprintf(r->body[i], sizeof r->body[i], "%s", cs->body.data ? cs->body.data : "");
        const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID");
        snprintf(r->auth[i], sizeof r->auth[i], "%s", a ? a : "");
        snprintf(r->tenant[i], sizeof r->tenant[i], "%s", t ? t : "");
        const char *hh = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
        snprintf(r->host[i], sizeof r->host[i], "%s", hh ? hh : "");
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        snprintf(r->type[i], sizeof r->type[i], "%s", ct ? ct : "");
    }
    if (i == 0) {
        const char *v;
        if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding"))) snprintf(r->content_encoding, 64, "%s", v);
        if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"))) snprintf(r->content_type, 64, "%s", v);
        if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Prometheus-Remote-Write-Version")))
            snprintf(r->version, 64, "%s", v);
        if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"))) snprintf(r->user_agent, 64, "%s", v);
        MHD_get_connection_values(c, MHD_HEADER_KIND, count_ce, &r->header_count_ce);
    }
    if (i < MAX_REQ && r->script[i] == -1) status = 0;
    pthread_mutex_unlock(&r->lock);
    buf_free(&cs->body);
    free(cs);
    *con_cls = NULL;
    if (status == 0) {
        usleep(600 * 1000); /* longer than the client's timeout */
        status = 204;
    }
    const char *msg = status == 400 ? "bad sample" : "";
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (status == 429 && r->retry_after) MHD_add_response_header(resp, "Retry-After", r->retry_after);
    if (r->answer_written) MHD_add_response_header(resp, "X-Prometheus-Remote-Write-Samples-Written", "1");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void receiver_start(receiver *r) {
    pthread_mutex_init(&r->lock, NULL);
    for (unsigned short port = 39100; port < 39200 && !r->d; port++) {
        r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, port, NULL, NULL, on_request, r,
                                MHD_OPTION_END);
        r->port = port;
    }
    assert_non_null(r->d);
}

static void receiver_stop(receiver *r) {
    MHD_stop_daemon(r->d);
    pthread_mutex_destroy(&r->lock);
}

static int requests(receiver *r) {
    pthread_mutex_lock(&r->lock);
    int n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static const char *const rw_headers[] = {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                                         "X-Prometheus-Remote-Write-Version: 0.1.0", "User-Agent: slurmpush/test", NULL};

static sender *start_sender(receiver *r, double timeout) {
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r->port);
    sender_config cfg = {.url = url, .method = "POST", .headers = rw_headers, .mode = SENDER_FIFO, .timeout_s = timeout};
    return sender_start(&cfg);
}

static void send_text(sender *s, const char *text) {
    size_t n = strlen(text);
    uint8_t *body = malloc(n);
    memcpy(body, text, n);
    sender_enqueue(s, body, n, 1);
}

/* ---- cases ---- */
static void test_ok_and_exact_headers(void **st) {
    (void)st;
    receiver r = {0};
    receiver_start(&r);
    sender *s = start_sender(&r, 5);
    send_text(s, "one");
    assert_true(sender_wait_idle(s, 5));
    sender_stats stats;
    sender_get_stats(s, &stats);
    assert_int_equal(requests(&r), 1);
    assert_int_equal(stats.samples_sent, 1);
    assert_string_equal(r.content_encoding, "snappy");
    assert_string_equal(r.content_type, "application/x-protobuf");
    assert_string_equal(r.version, "0.1.0");
    assert_string_equal(r.user_agent, "slurmpush/test");
    assert_int_equal(r.header_count_ce, 1);
    sender_stop(s);
    receiver_stop(&r);
}

static void test_5xx_retried_with_backoff(void **st) {
    (void)st;
    receiver r = {.script = {500, 503, 502, 204}};
    receiver_start(&r);
    sender *s = start_sender(&r, 5);
    send_text(s, "a");
    assert_true(sender_wait_idle(s, 10));
    assert_int_equal(requests(&r), 4);
    /* backoff 30, 60, 120 ms, each within ±25 % jitter (plus scheduling slack upward) */
    double want[] = {0.030, 0.060, 0.120};
    for (int i = 0; i < 3; i++) {
        double gap = r.at[i + 1] - r.at[i];
        if (gap < want[i] * 0.75 - 0.002 || gap > want[i] * 1.25 + 0.2)
            fail_msg("gap %d = %.3fs, want %.3fs ±25%%", i, gap, want[i]);
    }
    for (int i = 0; i < 4; i++) assert_string_equal(r.body[i], "a"); /* the same batch */
    sender_stats stats;
    sender_get_stats(s, &stats);
    assert_int_equal(stats.retries, 3);
    assert_int_equal(stats.samples_sent, 1);
    sender_stop(s);
    receiver_stop(&r);
}

static void test_429_waits_for_retry_after(void **st) {
    (void)st;
    receiver r = {.script = {429, 204, 204}, .retry_after = "1"};
    receiver_start(&r);
    sender *s = start_sender(&r, 5);
    send_text(s, "a");
    send_text(s, "b");
    assert_true(sender_wait_idle(s, 10));
    assert_int_equal(requests(&r), 3);
    double gap = r.at[1] - r.at[0];
    if (gap < 0.99) fail_msg("429 pause %.3fs, want 1s", gap);
    assert_string_equal(r.body[0], "a");
    assert_string_equal(r.body[1], "a"); /* nothing newer overtakes the paused batch */
    assert_string_equal(r.body[2], "b");
    sender_stop(s);
    receiver_stop(&r);
}

static void test_429_with_an_http_date(void **st) {
    (void)st;
    char when[64];
    time_t at = time(NULL) + 3;
    strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&at)); /* RFC 9110's IMF-fixdate */
    receiver r = {.script = {429, 204}, .retry_after = when};
    receiver_start(&r);
    sender *s = start_sender(&r, 5);
    send_text(s, "a");
    assert_true(sender_wait_idle(s, 10));
    assert_int_equal(requests(&r), 2);
    double gap = r.at[1] - r.at[0];
    if (gap < 1.9) fail_msg("429 pause %.3fs, want the 2 to 3 s up to the date", gap);
    sender_stop(s);
    receiver_stop(&r);
}

static void test_400_dropped_not_retried(void **st) {
    (void)st;
    receiver r = {.script = {400, 204}};
    receiver_start(&r);
    sender *s = start_sender(&r, 5);
    send_text(s, "bad");
    send_text(s, "good");
    assert_true(sender_wait_idle(s, 5));
    usleep(200 * 1000);
    assert_int_equal(requests(&r), 2);
    assert_string_equal(r.body[0], "bad");
    assert_string_equal(r.body[1], "good");
    sender_stats stats;
    sender_get_stats(s, &stats);
    assert_int_equal(stats.requests_dropped, 1);
    assert_int_equal(stats.samples_dropped, 1);
    assert_int_equal(stats.samples_sent, 1);
    sender_stop(s);
    receiver_stop(&r);
}

static void test_no_answer_is_retried(void **st) {
    (void)st;
    receiver r = {.script = {-1, 204}};
    receiver_start(&r);
    sender *s = start_sender(&r, 0.3);
    send_text(s, "a");
    assert_true(sender_wait_idle(s, 10));
    assert_int_equal(requests(&r), 2);
    assert_string_equal(r.body[1], "a");
    sender_stop(s);
    receiver_stop(&r);
}

static void test_connection_refused_is_retried(void **st) {
    (void)st;
    sender_config cfg = {.url = "http://127.0.0.1:1/api/v1/write", .method = "POST", .headers = rw_headers, .timeout_s = 1};
    sender *s = sender_start(&cfg);
    send_text(s, "a");
    assert_false(sender_wait_idle(s, 0.5));
    sender_stats stats;
    sender_get_stats(s, &stats);
    assert_true(stats.retries >= 2);
    assert_int_equal(stats.samples_dropped, 0);        /* nothing accepted is lost */
    assert_int_equal(stats.queue_requests + 1, 1 + 0); /* the batch is in flight, not dropped */
    sender_stop(s);
}

static void test_queue_full_drops_oldest(void **st) {
    (void)st;
    receiver r = {.script = {503}};
    receiver_start(&r);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
    sender_config cfg = {
        .url = url, .method = "POST", .headers = rw_headers, .timeout_s = 5, .queue_max_bytes = 10, .min_backoff_s = 0.5};
    sender *s = sender_start(&cfg);
    send_text(s, "first");
    for (int i = 0; i < 200 && requests(&r) < 1; i++) usleep(10 * 1000); /* "first" is in flight: refused, backing off */
    assert_int_equal(requests(&r), 1);
    send_text(s, "aaaa");
    send_text(s, "bbbb");
    send_text(s, "cccc"); /* 12 bytes waiting > 10: the oldest waiting one goes */
    sender_stats stats;
    sender_get_stats(s, &stats);
    assert_int_equal(stats.requests_evicted, 1);
    assert_int_equal(stats.samples_evicted, 1);
    assert_int_equal(stats.queue_requests, 2);
    assert_true(sender_wait_idle(s, 10));
    assert_int_equal(requests(&r), 4);
    assert_string_equal(r.body[1], "first"); /* retried, then the two newest in order */
    assert_string_equal(r.body[2], "bbbb");
    assert_string_equal(r.body[3], "cccc");
    sender_stop(s);
    receiver_stop(&r);
}

static void test_spool_survives_a_restart_in_order(void **st) {
    (void)st;
    char dir[] = "/tmp/slurmpush-sender-spool-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[256];
    /* outage: nothing answers; three requests are accepted and spooled, then the agent stops */
    sender_config down = {.url = "http://127.0.0.1:1/api/v1/write",
                          .method = "POST",
                          .headers = rw_headers,
                          .timeout_s = 1,
                          .durable = spool_open(dir, 1 << 20, err, sizeof err)};
    assert_non_null(down.durable);
    sender *s = sender_start(&down);
    send_text(s, "a");
    send_text(s, "b");
    send_text(s, "c");
    usleep(200 * 1000);
    sender_stats stats;
    sender_get_stats(s, &stats);
    assert_int_equal(stats.queue_requests, 3);
    sender_stop(s);
    /* restart against a receiver that is back: everything goes, oldest first */
    receiver r = {0};
    receiver_start(&r);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
    sender_config up = {.url = url,
                        .method = "POST",
                        .headers = rw_headers,
                        .timeout_s = 5,
                        .durable = spool_open(dir, 1 << 20, err, sizeof err)};
    s = sender_start(&up);
    send_text(s, "d");
    assert_true(sender_wait_idle(s, 5));
    assert_int_equal(requests(&r), 4);
    assert_string_equal(r.body[0], "a");
    assert_string_equal(r.body[1], "b");
    assert_string_equal(r.body[2], "c");
    assert_string_equal(r.body[3], "d");
    sender_stop(s);
    receiver_stop(&r);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* During a long backoff, what is handed over goes to disk at once (a crash then loses nothing),
 * not when the backoff ends. */
static void test_spooled_at_once_during_a_backoff(void **st) {
    (void)st;
    char dir[] = "/tmp/slurmpush-sender-backoff-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[256];
    sender_config cfg = {.url = "http://127.0.0.1:1/api/v1/write",
                         .method = "POST",
                         .headers = rw_headers,
                         .timeout_s = 1,
                         .min_backoff_s = 600,
                         .max_backoff_s = 600,
                         .durable = spool_open(dir, 1 << 20, err, sizeof err)};
    assert_non_null(cfg.durable);
    sender *s = sender_start(&cfg);
    send_text(s, "a");
    sender_stats stats = {0};
    for (int i = 0; i < 500 && stats.retries < 1; i++) usleep(10 * 1000), sender_get_stats(s, &stats);
    assert_int_equal(stats.retries, 1); /* refused: backing off for ten minutes */
    uint64_t before = stats.spool_bytes;
    send_text(s, "b");
    for (int i = 0; i < 500 && stats.spool_bytes == before; i++) usleep(10 * 1000), sender_get_stats(s, &stats);
    assert_true(stats.spool_bytes > before);
    assert_int_equal(stats.queue_requests, 2);
    sender_stop(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The same while a receiver hangs: it takes the connection and never answers (a listening socket no one
 * accepts on); what is handed over during the transfer is on disk before the transfer ends. */
static void test_spooled_at_once_during_a_hung_transfer(void **st) {
    (void)st;
    int hung = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    assert_int_equal(bind(hung, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(hung, 8), 0);
    assert_int_equal(getsockname(hung, (struct sockaddr *)&addr, &alen), 0);
    char url[64], dir[] = "/tmp/slurmpush-sender-hung-XXXXXX", err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", ntohs(addr.sin_port));
    assert_non_null(mkdtemp(dir));
    sender_config cfg = {.url = url,
                         .method = "POST",
                         .headers = rw_headers,
                         .timeout_s = 600,
                         .durable = spool_open(dir, 1 << 20, err, sizeof err)};
    sender *s = sender_start(&cfg);
    send_text(s, "a");
    sender_stats stats = {0};
    for (int i = 0; i < 500 && stats.queue_requests != 1; i++) usleep(10 * 1000), sender_get_stats(s, &stats);
    uint64_t before = stats.spool_bytes;
    usleep(200 * 1000); /* "a" is in flight, and stays so: nothing answers */
    send_text(s, "b");
    for (int i = 0; i < 500 && stats.spool_bytes == before; i++) usleep(10 * 1000), sender_get_stats(s, &stats);
    assert_true(stats.spool_bytes > before);
    assert_int_equal(stats.requests_ok + stats.retries, 0); /* still the first attempt */
    sender_stop(s);
    close(hung);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_auth_and_tenant_headers(void **st) {
    (void)st;
    receiver r = {0};
    receiver_start(&r);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
    const char *tenant[] = {"X-Scope-OrgID: team-a"};
    sender_config basic = {.url = url,
                           .method = "POST",
                           .headers = rw_headers,
                           .timeout_s = 5,
                           .extra_headers = tenant,
                           .n_extra_headers = 1,
                           .username = "user",
                           .password = "pass"};
    sender *s = sender_start(&basic);
    send_text(s, "a");
    assert_true(sender_wait_idle(s, 5));
    sender_stop(s);
    assert_string_equal(r.auth[0], "Basic dXNlcjpwYXNz"); /* user:pass */
    assert_string_equal(r.tenant[0], "team-a");
    /* a bearer token from a file, re-read when the file changes */
    char path[] = "/tmp/slurmpush-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, "first\n", 6) == 6);
    close(fd);
    sender_config bearer = {.url = url, .method = "POST", .headers = rw_headers, .timeout_s = 5, .bearer_token_file = path};
    s = sender_start(&bearer);
    send_text(s, "b");
    assert_true(sender_wait_idle(s, 5));
    usleep(20 * 1000); /* a later modification time */
    FILE *f = fopen(path, "w");
    fputs("second\n", f);
    fclose(f);
    send_text(s, "c");
    assert_true(sender_wait_idle(s, 5));
    sender_stop(s);
    unlink(path);
    assert_string_equal(r.auth[1], "Bearer first");
    assert_string_equal(r.auth[2], "Bearer second");
    receiver_stop(&r);
}

static const char *const rw2_headers[] = {"Content-Encoding: snappy",
                                          "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request",
                                          "X-Prometheus-Remote-Write-Version: 2.0.0", "User-Agent: slurmpush/test", NULL};

static void send_both(sender *s, const char *v1, const char *v2) {
    uint8_t *b1 = (uint8_t *)strdup(v1), *b2 = (uint8_t *)strdup(v2);
    sender_enqueue2(s, b1, strlen(v1), b2, strlen(v2), 1);
}

/* status script for the first request, whether the receiver answers with the Written headers,
 * and what must happen: the bodies received, in order */
static void run_v2_case(int first_status, bool written, const char *want0, const char *want1, bool want_fallback) {
    receiver r = {.script = {first_status}, .answer_written = written};
    receiver_start(&r);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
    sender_config cfg = {.url = url, .method = "POST", .headers = rw_headers, .headers_v2 = rw2_headers, .timeout_s = 5};
    sender *s = sender_start(&cfg);
    send_both(s, "v1-a", "v2-a");
    assert_true(sender_wait_idle(s, 5));
    send_both(s, "v1-b", "v2-b");
    assert_true(sender_wait_idle(s, 5));
    sender_stats stats;
    sender_get_stats(s, &stats);
    sender_stop(s);
    assert_string_equal(r.body[0], "v2-a");
    assert_true(strstr(r.type[0], "proto=io.prometheus.write.v2.Request") != NULL);
    assert_string_equal(r.body[1], want0);
    assert_string_equal(r.body[2], want1);
    assert_int_equal(stats.protocol_v1_fallback, want_fallback);
    if (want_fallback) assert_string_equal(r.type[1], "application/x-protobuf");
    receiver_stop(&r);
}

static void test_remote_write_v2_and_fallback(void **st) {
    (void)st;
    run_v2_case(204, true, "v2-b", "", false);     /* a 2.0 receiver: stays 2.0 */
    run_v2_case(204, false, "v1-a", "v1-b", true); /* 2xx that wrote nothing: the same samples again as 1.0, then 1.0 */
    run_v2_case(415, false, "v1-a", "v1-b", true); /* unsupported media type */
    run_v2_case(400, false, "v1-a", "v1-b", true); /* a 1.x receiver's answer to a body it cannot decode */
}

/* the TLS server name goes in the URL (SNI, verification, Host) while the connection goes to the URL's address */
static void test_server_name(void **st) {
    (void)st;
    receiver r = {0};
    receiver_start(&r);
    char url[64], want[80];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
    sender_config cfg = {.url = url, .method = "POST", .headers = rw_headers, .timeout_s = 5, .server_name = "receiver.example"};
    sender *s = sender_start(&cfg);
    send_text(s, "a");
    assert_true(sender_wait_idle(s, 5));
    sender_stop(s);
    snprintf(want, sizeof want, "receiver.example:%u", r.port);
    assert_string_equal(r.host[0], want);
    receiver_stop(&r);
}

/* ---- a raw server that resets the first connection, then answers 204 */
typedef struct {
    int listen_fd, accepted;
    unsigned short port;
} resetter;

static void *reset_then_ok(void *arg) {
    resetter *r = arg;
    for (int i = 0; i < 2; i++) {
        int fd = accept(r->listen_fd, NULL, NULL);
        if (fd < 0) return NULL;
        r->accepted++;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        (void)n;
        if (i == 0) { /* close with RST: linger on, zero time */
            struct linger lg = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        } else {
            usleep(50 * 1000); /* let the whole request arrive */
            const char *ok = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            ssize_t w = write(fd, ok, strlen(ok));
            (void)w;
        }
        close(fd);
    }
    return NULL;
}

static void test_connection_reset_is_retried(void **st) {
    (void)st;
    resetter r = {.listen_fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(r.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t alen = sizeof addr;
    getsockname(r.listen_fd, (struct sockaddr *)&addr, &alen);
    listen(r.listen_fd, 4);
    pthread_t t;
    pthread_create(&t, NULL, reset_then_ok, &r);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", ntohs(addr.sin_port));
    sender_config cfg = {.url = url, .method = "POST", .headers = rw_headers, .timeout_s = 5};
    sender *s = sender_start(&cfg);
    send_text(s, "a");
    assert_true(sender_wait_idle(s, 5));
    sender_stats stats;
    sender_get_stats(s, &stats);
    sender_stop(s);
    pthread_join(t, NULL);
    close(r.listen_fd);
    assert_int_equal(r.accepted, 2);
    assert_int_equal(stats.retries, 1);
    assert_int_equal(stats.samples_sent, 1);
}

static void test_policy_functions(void **st) {
    (void)st;
    assert_int_equal(classify_response(204, true), SEND_DONE);
    assert_int_equal(classify_response(200, true), SEND_DONE);
    assert_int_equal(classify_response(500, true), SEND_RETRY);
    assert_int_equal(classify_response(503, true), SEND_RETRY);
    assert_int_equal(classify_response(429, true), SEND_RETRY_AFTER);
    assert_int_equal(classify_response(400, true), SEND_DROP);
    assert_int_equal(classify_response(401, true), SEND_DROP);
    assert_int_equal(classify_response(409, true), SEND_DROP);
    assert_int_equal(classify_response(0, false), SEND_RETRY);
    double b = 0;
    double want[] = {0.03, 0.06, 0.12, 0.24, 0.48, 0.96, 1.92, 3.84, 5, 5};
    for (int i = 0; i < 10; i++) {
        b = next_backoff(b, 0.03, 5);
        assert_true(fabs(b - want[i]) < 1e-9);
    }
    assert_true(jittered(1, 0) == 0.75);
    assert_true(jittered(1, 0.999999) < 1.25);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_functions),
        cmocka_unit_test(test_ok_and_exact_headers),
        cmocka_unit_test(test_5xx_retried_with_backoff),
        cmocka_unit_test(test_429_waits_for_retry_after),
        cmocka_unit_test(test_429_with_an_http_date),
        cmocka_unit_test(test_400_dropped_not_retried),
        cmocka_unit_test(test_no_answer_is_retried),
        cmocka_unit_test(test_connection_refused_is_retried),
        cmocka_unit_test(test_queue_full_drops_oldest),
        cmocka_unit_test(test_spool_survives_a_restart_in_order),
        cmocka_unit_test(test_spooled_at_once_during_a_backoff),
        cmocka_unit_test(test_spooled_at_once_during_a_hung_transfer),
        cmocka_unit_test(test_auth_and_tenant_headers),
        cmocka_unit_test(test_remote_write_v2_and_fallback),
        cmocka_unit_test(test_server_name),
        cmocka_unit_test(test_connection_reset_is_retried),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
