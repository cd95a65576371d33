/* trace.h — the trace table: what job wrappers on compute nodes POST (the seed's /trace body),
 * validated, keyed by (job id, host) so multi-node jobs keep every host, expiring after the
 * trace rate, bounded in entries. Knows JSON, not HTTP: the listener hands it bodies and turns
 * its verdicts into status codes. The jobs collector reads a snapshot to emit the seed's
 * slurm_proc_* and slurm_job_{cpu,mem}_alloc families for traced jobs that squeue still lists. */
#ifndef SLURMPUSH_TRACE_H
#define SLURMPUSH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "samples.h"
#include "util.h"

typedef struct trace_table trace_table;

typedef struct {
    long long job_id;
    char *hostname, *username; /* owned by the snapshot */
    double pid, cpus, threads, mem, read_bytes, write_bytes;
} trace_entry;

trace_table *trace_table_new(double rate_s, size_t max_entries);
void trace_table_free(trace_table *t);

/* What became of a post: the table's own verdicts, and the refusals its front end decides before
 * a body is read (the listener turns each into an HTTP status). */
typedef enum {
    TRACE_ACCEPTED,
    TRACE_BAD_BODY,     /* not one strict JSON object of the seed's fields, or not UTF-8 */
    TRACE_TABLE_FULL,   /* a new (job, host) while the table holds its maximum */
    TRACE_UNAUTHORIZED, /* missing or wrong token */
    TRACE_WRONG_METHOD, /* not POST */
    TRACE_WRONG_TYPE,   /* not application/json */
    TRACE_TOO_LARGE,    /* over the body limit */
    TRACE_BAD_REQUEST,  /* the request itself is malformed */
    N_TRACE_VERDICTS
} trace_verdict;

/* Validates and stores one POST body; when not accepted, a one-line reason. Counts every outcome. */
trace_verdict trace_table_post(trace_table *t, const char *body, size_t len, char *reason, size_t reason_len);
/* Counts a post refused before its body was read. */
void trace_table_count(trace_table *t, trace_verdict v);
/* How many posts got each verdict so far (counts[N_TRACE_VERDICTS]). */
void trace_table_verdicts(trace_table *t, uint64_t *counts);
/* The live entries as a JSON array (GET /trace). */
void trace_table_list(trace_table *t, buf *out);
/* Copies the live entries; free with trace_snapshot_free. */
size_t trace_table_snapshot(trace_table *t, trace_entry **out);
void trace_snapshot_free(trace_entry *entries, size_t n);
/* What squeue says of a traced job: the seed emits traces only for jobs squeue still lists. */
typedef struct {
    bool listed;
    double cpus, mem; /* mem in the seed's unit (MB x 1e6) */
} traced_job;

/* Emits the seed's trace families for the entries whose job squeue listed (job[i] is entry i's). */
/* The families trace_emit fills, declared by the jobs collector in this order. */
enum { TRACE_JOB_MEM, TRACE_JOB_CPUS, TRACE_PID, TRACE_CPU, TRACE_MEM, TRACE_THREADS, TRACE_WRITE, TRACE_READ, N_TRACE_FAMILIES };
void trace_emit(family *const *fams, const trace_entry *entries, size_t n, const traced_job *const *job);

/* The table's own gauge: its live entries. */
void trace_table_metrics(trace_table *t, sample_set *ss);

#endif
