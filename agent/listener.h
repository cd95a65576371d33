/* listener.h — the built-in HTTP listener (libmicrohttpd): serves the last completed
 * cycle's text on the metrics path from a pre-rendered snapshot, so a scrape answers in
 * milliseconds whatever a command or a push is doing. Limits connections, per-IP
 * connections and idle time. */
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
    const char *trace_token; /* NULL: no authentication */
    size_t trace_max_body;
} listener_config;

/* NULL on error (err says why). */
listener *listener_start(const listener_config *cfg, char *err, size_t errlen);
void listener_stop(listener *l);

#endif
