/* listener.h — the built-in HTTP listener (libmicrohttpd): serves the last completed
 * cycle's text on the metrics path from a pre-rendered snapshot, so a scrape answers in
 * milliseconds whatever a command or a push is doing; takes trace posts and turns the trace
 * table's verdicts into HTTP statuses. Strict HTTP; bounds the time to a whole request and
 * makes room for new connections by ending the oldest idle ones, so idle or trickling
 * connections cannot lock scrapes out. */
#ifndef SLURMPUSH_LISTENER_H
#define SLURMPUSH_LISTENER_H

#include <pthread.h>
#include <stddef.h>

#include "util.h"

/* The text every reader sees; replaced whole under the lock. */
typedef struct {
    pthread_mutex_t lock;
    buf text;
    bool ready; /* a cycle has completed */
} snapshot;

void snapshot_init(snapshot *s);
void snapshot_publish(snapshot *s, buf *text); /* takes text's contents */
void snapshot_destroy(snapshot *s);

typedef struct listener listener;

#include "trace.h"

typedef struct {
    const char *address; /* "host:port", ":port" (all addresses) or "[v6]:port" */
    const char *metrics_path;
    snapshot *snap;
    trace_table *traces; /* NULL: no trace endpoint */
    const char *trace_path;
    const char *trace_token_file; /* its first line is the bearer token; NULL: no authentication */
    size_t trace_max_body;
    double request_timeout;      /* seconds to a whole request */
    const char *web_config_file; /* exporter-toolkit web config (TLS, basic auth, headers); NULL: none */
} listener_config;

/* NULL on error (err says why: also an unreadable or empty token file, a web config file that does not check). */
listener *listener_start(const listener_config *cfg, char *err, size_t errlen);
/* SIGHUP: re-read what can be re-read (the token file, the web config file), logged. Not concurrent with listener_stop. */
void listener_reload(listener *l);
/* The listener's counters: trace requests by HTTP status, connections it ended and why. */
void listener_metrics(listener *l, sample_set *ss);
void listener_stop(listener *l);

#endif
