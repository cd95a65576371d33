/* job_edges.h — what the jobs collector remembers between runs: each job's last state, and the
 * counters and histograms of jobs starting and finishing, made from the changes between two
 * successful squeue runs. A job squeue no longer lists is forgotten: memory follows live jobs. */
#ifndef SLURMPUSH_JOB_EDGES_H
#define SLURMPUSH_JOB_EDGES_H

#include <json-c/json.h>
#include <stdbool.h>

#include "../samples.h"
#include "../tally.h"

enum { JOB_EDGE_MAX_BUCKETS = 32 };

/* The jobs of one run: id -> a state class (pending, started, finished). */
typedef struct {
    arena mem;
    htab index;
    unsigned char *class_of; /* by index */
    size_t n, cap;
} job_classes;

/* What happened between the last run and this one, applied when the run is accepted. */
typedef struct {
    arena mem;
    job_classes now;
    struct job_event {
        const char *partition, *account, *state; /* state: the terminal one, for finished */
        bool started, finished;
        double wait, run; /* seconds; < 0: not known (no times, or it never ran) */
    } * events;
    size_t n, cap;
} job_edges_run;

typedef struct {
    bool baseline; /* a run was seen (or restored): the next one has edges */
    job_classes last;
    tally started, finished, wait, run;
    double wait_bounds[JOB_EDGE_MAX_BUCKETS], run_bounds[JOB_EDGE_MAX_BUCKETS];
    size_t n_wait, n_run;
} job_edges;

/* At a run's begin: the configured bucket bounds (a change starts that histogram again). */
void job_edges_configure(job_edges *m, const double *wait, size_t n_wait, const double *run, size_t n_run);
/* One job of this run: its id, squeue's state word, partition, account, and its submit, start and end
 * times (unix seconds; 0: not known). */
void job_edges_see(job_edges_run *r, const job_edges *m, const char *id, const char *state, const char *partition,
                   const char *account, double submit, double start, double end);
/* The run was accepted: its events into the counters, its jobs become the last. */
void job_edges_commit(job_edges *m, job_edges_run *r);
void job_edges_emit(const job_edges *m, family *started, family *finished, family *wait, family *run);
void job_edges_run_free(job_edges_run *r);
void job_edges_free(job_edges *m);
void job_edges_save(const job_edges *m, json_object *out);
int job_edges_load(job_edges *m, json_object *in);

#endif
