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
    /* the families as the jobs collector declares them: the per-job usage ones share their series */
    family *fams[N_TRACE_FAMILIES];
    fams[TRACE_JOB_MEM] = ss_family(ss, "slurm_job_mem_alloc", "", METRIC_GAUGE, "jobid", NULL);
    fams[TRACE_JOB_CPUS] = ss_family(ss, "slurm_job_cpu_alloc", "", METRIC_GAUGE, "jobid", NULL);
    fams[TRACE_PID] = ss_family(ss, "slurm_proc_pid", "", METRIC_GAUGE, "hostname", "jobid", NULL);
    fams[TRACE_CPU] = ss_family(ss, "slurm_proc_cpu_usage", "", METRIC_GAUGE, "jobid", "username", NULL);
    const char *usage[] = {[TRACE_MEM] = "m", [TRACE_THREADS] = "t", [TRACE_WRITE] = "w", [TRACE_READ] = "r"};
    for (int k = TRACE_MEM; k <= TRACE_READ; k++) fams[k] = ss_family_like(ss, fams[TRACE_CPU], usage[k], "", METRIC_GAUGE);
    trace_emit(fams, entries, n, jobs);
    trace_table_metrics(t, ss);
    ss_finish(ss);
    ss_free(ss);
    free(jobs);
    trace_snapshot_free(entries, n);
    trace_table_free(t);
    return 0;
}
