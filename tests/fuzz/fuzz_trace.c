/* fuzz_trace.c — libFuzzer target for the trace endpoint's body: validation, the table, its
 * JSON listing and the trace families built from a snapshot. */
#include <stdint.h>
#include <stdlib.h>

#include "agent/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    trace_table *t = trace_table_new(60, 4);
    char reason[160];
    trace_table_post(t, (const char *)data, size, reason, sizeof reason);
    trace_table_post(t, (const char *)data, size, reason, sizeof reason); /* the same key again: an update */
    buf list = {0};
    trace_table_list(t, &list);
    buf_free(&list);
    trace_entry *entries;
    size_t n = trace_table_snapshot(t, &entries);
    traced_job job = {.listed = true, .cpus = 1, .mem = 1};
    const traced_job **jobs = calloc(n ? n : 1, sizeof *jobs);
    for (size_t i = 0; i < n; i++) jobs[i] = &job;
    sample_set *ss = ss_new(1);
    trace_emit(ss, entries, n, jobs);
    trace_table_metrics(t, ss);
    ss_finish(ss);
    ss_free(ss);
    free(jobs);
    trace_snapshot_free(entries, n);
    trace_table_free(t);
    return 0;
}
