/* queue.c — the queue collector: the pending jobs (`squeue -h -t PD -r -O …`: id, partitions,
 * reason, submit time, Slurm's expected start) per partition: how many wait for which reason,
 * how long they have waited, and when Slurm expects them to start. A job pending in several
 * partitions ("debug,long") counts in each. Waits are measured against the time the output was
 * complete (the set's timestamp); held jobs (JobHeldUser, JobHeldAdmin) are left out of the waits,
 * as they wait for a person, not for the scheduler. Quantiles are exact (nearest rank): the
 * collector keeps one number per pending job while it runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"

enum { F_ID, F_PARTITION, F_REASON, F_SUBMIT, F_START, N_FIELDS };
enum { Q_REASON, Q_WAIT, Q_WAIT_SUM, Q_WAIT_COUNT, Q_DELAY, Q_DELAY_SUM, Q_DELAY_COUNT, N_QUEUE };

static const family_def queue_families[] = {
    [Q_REASON] = {.name = "slurm_partition_jobs_pending_reason",
                  .type = METRIC_GAUGE,
                  .labels = LABELS("partition", "reason"),
                  .help = "Pending jobs per partition and reason (the reason up to its first , or :)"},
    [Q_WAIT] = {.name = "slurm_partition_jobs_pending_wait_seconds",
                .type = METRIC_GAUGE,
                .labels = LABELS("partition", "quantile"),
                .help = "How long the pending jobs have waited since submission, seconds; held jobs left out",
                .doc = "quantile=`0.5`\\|`0.9`\\|`1` (nearest rank); held jobs left out"},
    [Q_WAIT_SUM] = {.name = "slurm_partition_jobs_pending_wait_seconds_sum",
                    .type = METRIC_GAUGE,
                    .labels = LABELS("partition"),
                    .help = "Sum of the pending jobs' waits, seconds"},
    [Q_WAIT_COUNT] = {.name = "slurm_partition_jobs_pending_wait_seconds_count",
                      .type = METRIC_GAUGE,
                      .labels = LABELS("partition"),
                      .help = "Pending jobs in the waits"},
    [Q_DELAY] = {.name = "slurm_partition_jobs_start_delay_seconds",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("partition", "quantile"),
                 .help = "Slurm's expected start of the pending jobs minus now, seconds, where Slurm knows one",
                 .doc = "quantile=`0.5`\\|`0.9`\\|`1`; jobs without an expected start left out"},
    [Q_DELAY_SUM] = {.name = "slurm_partition_jobs_start_delay_seconds_sum",
                     .type = METRIC_GAUGE,
                     .labels = LABELS("partition"),
                     .help = "Sum of the expected start delays, seconds"},
    [Q_DELAY_COUNT] = {.name = "slurm_partition_jobs_start_delay_seconds_count",
                       .type = METRIC_GAUGE,
                       .labels = LABELS("partition"),
                       .help = "Pending jobs with an expected start"},
    [N_QUEUE] = {0},
};

typedef struct {
    double *v;
    size_t n, cap;
} numbers;

typedef struct {
    const char *name;
    numbers submit, start; /* unix seconds, turned into waits and delays at the end */
} partition_queue;

typedef struct {
    family *fam[N_QUEUE];
    arena *mem;
    htab by_name;
    partition_queue *parts;
    size_t n_parts, cap_parts;
    slurm_time_cache times;
} queue_state;

static void queue_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    queue_state *s = state;
    ss_declare(out, queue_families, s->fam);
    s->mem = &out->mem;
}

static void push(numbers *a, double v) {
    if (a->n == a->cap) a->v = xrealloc(a->v, (a->cap = a->cap ? a->cap * 2 : 16) * sizeof *a->v);
    a->v[a->n++] = v;
}

static partition_queue *partition(queue_state *s, const char *name, size_t len) {
    long k = htab_find(&s->by_name, name, len);
    if (k >= 0) return &s->parts[k];
    if (s->n_parts == s->cap_parts)
        s->parts = xrealloc(s->parts, (s->cap_parts = s->cap_parts ? s->cap_parts * 2 : 8) * sizeof *s->parts);
    partition_queue *p = &s->parts[s->n_parts];
    *p = (partition_queue){.name = arena_strndup(s->mem, name, len)};
    htab_insert(&s->by_name, p->name, len);
    s->n_parts++;
    return p;
}

static int queue_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    queue_state *s = state;
    if (!len) return 0;
    char *f[N_FIELDS];
    if (split_fields(line, f, N_FIELDS) != N_FIELDS) {
        snprintf(why, why_len, "expected %d '|'-separated fields", N_FIELDS);
        return -1;
    }
    double submit, start;
    if (!parse_slurm_time_cached(f[F_SUBMIT], &submit, &s->times)) {
        snprintf(why, why_len, "SubmitTime \"%.30s\" is not a time", f[F_SUBMIT]);
        return -1;
    }
    bool has_start = parse_slurm_time_cached(f[F_START], &start, &s->times);
    char reason[256];
    snprintf(reason, sizeof reason, "%.*s", (int)strcspn(f[F_REASON], ",:"), f[F_REASON]);
    bool held = !strcmp(reason, "JobHeldUser") || !strcmp(reason, "JobHeldAdmin");
    for (const char *p = f[F_PARTITION]; *p;) {
        size_t n = strcspn(p, ",");
        if (n) {
            partition_queue *q = partition(s, p, n);
            FAM_ADD(s->fam[Q_REASON], 1, q->name, reason);
            if (!held) push(&q->submit, submit);
            if (!held && has_start) push(&q->start, start);
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantiles (nearest rank), sum and count of v[] (sorted here) under one partition. */
static void summarize(family **f, const char *partition, double *v, size_t n) {
    static const struct {
        double q;
        const char *label;
    } quantiles[] = {{0.5, "0.5"}, {0.9, "0.9"}, {1, "1"}};
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    FAM_SET(f[1], sum, partition);
    FAM_SET(f[2], (double)n, partition);
    if (!n) return;
    qsort(v, n, sizeof *v, by_value);
    for (size_t k = 0; k < sizeof quantiles / sizeof *quantiles; k++) {
        size_t rank = (size_t)ceil(quantiles[k].q * (double)n);
        FAM_SET(f[0], v[(rank ? rank : 1) - 1], partition, quantiles[k].label);
    }
}

static int queue_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)why, (void)why_len;
    queue_state *s = state;
    double now = (double)out->timestamp_ms / 1000.0;
    for (size_t i = 0; i < s->n_parts; i++) {
        partition_queue *q = &s->parts[i];
        for (size_t k = 0; k < q->submit.n; k++) q->submit.v[k] = now - q->submit.v[k];
        for (size_t k = 0; k < q->start.n; k++) q->start.v[k] -= now;
        summarize(&s->fam[Q_WAIT], q->name, q->submit.v, q->submit.n);
        summarize(&s->fam[Q_DELAY], q->name, q->start.v, q->start.n);
    }
    return 0;
}

static void queue_release(void *state) {
    queue_state *s = state;
    for (size_t i = 0; i < s->n_parts; i++) free(s->parts[i].submit.v), free(s->parts[i].start.v);
    free(s->parts);
    htab_free(&s->by_name);
}

const collector_def queue_collector = {
    .name = "queue",
    .summary = "pending jobs per partition: reasons, waits, expected starts (squeue -t PD)",
    .enabled_by_default = false,
    .command = "squeue -h -t PD -r -O JobID:|,Partition:|,Reason:|,SubmitTime:|,StartTime:",
    .fixture = "queue",
    .families = queue_families,
    .error_metric = "slurmpush_queue_scrape_error",
    .error_help = "failed runs of the queue collector",
    .state_size = sizeof(queue_state),
    .begin = queue_begin,
    .parse_line = queue_line,
    .end = queue_end,
    .release = queue_release,
};
