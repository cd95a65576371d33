/* sender.h — delivers encoded bodies to one HTTP endpoint from its own thread, following
 * Prometheus' remote-write queue: FIFO (so per-series order holds), exponential backoff
 * (30 ms doubling to 5 s, jitter ±25 %) on 5xx and network errors with unlimited retries,
 * 429 pauses all sending to the endpoint for Retry-After (seconds or HTTP date, capped),
 * any other 4xx drops the request (logged, counted) and goes on with newer ones. The queue
 * is bounded in bytes: the oldest waiting request is dropped (counted) to make room.
 * The Pushgateway mode keeps only the newest body (each PUT replaces the whole group).
 * Knows nothing of what a body means. */
#ifndef SLURMPUSH_SENDER_H
#define SLURMPUSH_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "spool.h"

typedef enum { SENDER_FIFO, SENDER_LATEST_ONLY } sender_mode;

typedef struct {
    const char *name; /* for logs and metrics: the URL without credentials */
    const char *url;
    const char *method;            /* "POST" or "PUT" */
    const char *const *headers;    /* NULL-terminated "Name: value" lines */
    const char *const *headers_v2; /* the same for remote-write 2.0 bodies (NULL: never sent) */
    sender_mode mode;
    double timeout_s;
    size_t queue_max_bytes;
    double min_backoff_s, max_backoff_s, max_retry_after_s;
    spool *durable; /* FIFO mode: every body goes through this on-disk queue (owned by the sender); NULL: memory */
    /* transport (all optional) */
    const char *const *extra_headers; /* "Name: value", after the protocol's own */
    size_t n_extra_headers;
    const char *username, *password; /* basic auth */
    const char *bearer_token_file;   /* re-read whenever it changes */
    const char *ca_file, *cert_file, *key_file;
    const char *server_name; /* the TLS name to verify (and SNI) instead of the URL's host */
    bool insecure_skip_verify;
    const char *proxy_url; /* "": none (the environment's proxy variables are ignored) */
} sender_config;

/* Why an attempt got no HTTP answer: TLS (a certificate refused either way, a handshake that failed: a
 * setting to fix, never a reason to send in the clear), a connection not made, no answer in time, else. */
typedef enum { TRANSPORT_TLS, TRANSPORT_CONNECT, TRANSPORT_TIMEOUT, TRANSPORT_OTHER, N_TRANSPORT } transport_error;
extern const char *const transport_error_names[N_TRANSPORT];

typedef struct {
    uint64_t requests_ok, samples_sent;
    uint64_t requests_dropped, samples_dropped; /* 4xx other than 429: never resent */
    uint64_t requests_evicted, samples_evicted; /* queue full: oldest dropped */
    uint64_t retries;
    uint64_t transport_errors[N_TRANSPORT]; /* attempts without an HTTP answer, by cause */
    size_t queue_requests, queue_bytes;
    int64_t last_success_ms;
    int last_status;                                        /* HTTP status of the last attempt, 0 = network error */
    bool protocol_v1_fallback;                              /* the endpoint did not take remote-write 2.0 */
    bool spooled;                                           /* queue_* count the on-disk spool too */
    uint64_t spool_bytes;                                   /* of queue_bytes, on disk */
    uint64_t spool_damaged_records, spool_position_repairs; /* damage on disk skipped, a lost position re-sent */
    double last_request_seconds;
} sender_stats;

typedef struct sender sender;

/* Copies cfg; starts the thread. */
sender *sender_start(const sender_config *cfg);
/* Takes ownership of body (malloc'd). */
void sender_enqueue(sender *s, uint8_t *body, size_t len, size_t samples);
/* The same with the samples also encoded as remote-write 2.0 (body_v2 may be NULL): the 2.0 body
 * is sent while the endpoint takes it; on 415, 400 or a 2xx without the *-Written headers the
 * endpoint falls back to 1.0 for good and the same samples go again as the 1.0 body. */
void sender_enqueue2(sender *s, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples);
/* Waits until nothing is queued or in flight, at most timeout_s; true if it all went. */
bool sender_wait_idle(sender *s, double timeout_s);
/* Asks the thread to stop (a transfer in flight ends at once) without waiting for it: at shutdown
 * every sender is asked first, so that they all wind down together. */
void sender_request_stop(sender *s);
/* Stops the thread (what waits in memory goes to the spool, if there is one) and frees everything. */
void sender_stop(sender *s);
void sender_get_stats(sender *s, sender_stats *out);
/* A DELETE of the endpoint's URL now, from the caller's thread, within timeout_s (Pushgateway group
 * removal at shutdown); returns the HTTP status, 0 on a network error or timeout. */
long sender_delete_now(sender *s, double timeout_s);

/* The policy, exposed for tests. */
typedef enum { SEND_DONE, SEND_RETRY, SEND_RETRY_AFTER, SEND_DROP } send_verdict;
send_verdict classify_response(long http_status, bool transport_ok);
/* The next backoff after `current`, and a jittered sleep for it from a random draw in [0,1). */
double next_backoff(double current, double min_s, double max_s);
double jittered(double backoff, double draw);

#endif
