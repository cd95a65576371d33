/* selfmetrics.h — the agent's own metrics: standard process_* families (from /proc/self)
 * and delivery counters per endpoint. */
#ifndef SLURMPUSH_SELFMETRICS_H
#define SLURMPUSH_SELFMETRICS_H

#include "samples.h"
#include "sender.h"

typedef struct {
    const char *endpoint; /* URL without credentials */
    const char *protocol; /* "remote_write" or "pushgateway" */
    sender *s;
} endpoint_ref;

void emit_process_metrics(sample_set *ss, double start_time_s);
void emit_sender_metrics(sample_set *ss, const endpoint_ref *eps, size_t n);
void emit_build_info(sample_set *ss);

#endif
