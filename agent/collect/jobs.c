/* jobs.c — the jobs collector: one `squeue` run, aggregated per user, account, partition,
 * feature and pending reason. Every family of the seed's jobs collector, same names, labels
 * and values (see the README for the seed bugs not copied), plus correctly named `_bytes`
 * families that count a job's whole allocated memory (tres-alloc `mem=`) in bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "job_edges.h"
#include "json_doc.h"
#include "seed_lines.h"

/* The command's columns; a line of the older nine (no times: no job edges) is read too. */
enum { F_JOBID, F_USER, F_ACCOUNT, F_PARTITION, F_STATE, F_CPUS, F_MINMEM, F_TRES, F_SUBMIT, F_START, F_END, F_REASON, N_FIELDS };
enum { N_FIELDS_WITHOUT_TIMES = 9 };

enum {
    J_USER_JOBS,
    J_USER_CPUS,
    J_USER_MEM,
    J_USER_BYTES,
    J_PARTITION_JOBS,
    J_PARTITION_CPUS,
    J_PARTITION_BYTES,
    J_ACCOUNT_JOBS,
    J_ACCOUNT_CPUS,
    J_ACCOUNT_MEM,
    J_ACCOUNT_BYTES,
    J_FEATURE_JOBS,
    J_FEATURE_CPUS,
    J_FEATURE_MEM,
    J_FEATURE_BYTES,
    J_PENDING_REASON,
    J_USER_GRES,
    J_ACCOUNT_GRES,
    J_STARTED,
    J_FINISHED,
    J_WAIT,
    J_RUN,
    J_TRACE,                               /* the traced jobs' families (--trace.enabled), in trace.h's order */
    J_NATIVE = J_TRACE + N_TRACE_FAMILIES, /* Slurm's own /metrics/jobs, /partitions and /jobs-users-accts names */
};

/* Slurm's job states as its metrics endpoint names them, and the squeue State word each counts.
 * Where squeue prints a flag state (COMPLETING, CONFIGURING …) instead of the base state, the
 * job counts there, not in its base state. */
#define JOB_STATES(X, ...)                                                                                                       \
    X(__VA_ARGS__, bootfail, "BOOT_FAIL")                                                                                        \
    X(__VA_ARGS__, cancelled, "CANCELLED")                                                                                       \
    X(__VA_ARGS__, completed, "COMPLETED")                                                                                       \
    X(__VA_ARGS__, completing, "COMPLETING")                                                                                     \
    X(__VA_ARGS__, configuring, "CONFIGURING")                                                                                   \
    X(__VA_ARGS__, deadline, "DEADLINE")                                                                                         \
    X(__VA_ARGS__, failed, "FAILED")                                                                                             \
    X(__VA_ARGS__, node_failed, "NODE_FAIL")                                                                                     \
    X(__VA_ARGS__, outofmemory, "OUT_OF_MEMORY")                                                                                 \
    X(__VA_ARGS__, pending, "PENDING")                                                                                           \
    X(__VA_ARGS__, powerup_node, "POWER_UP_NODE")                                                                                \
    X(__VA_ARGS__, preempted, "PREEMPTED")                                                                                       \
    X(__VA_ARGS__, requeued, "REQUEUED")                                                                                         \
    X(__VA_ARGS__, resizing, "RESIZING")                                                                                         \
    X(__VA_ARGS__, revoked, "REVOKED")                                                                                           \
    X(__VA_ARGS__, running, "RUNNING")                                                                                           \
    X(__VA_ARGS__, signaling, "SIGNALING")                                                                                       \
    X(__VA_ARGS__, stageout, "STAGE_OUT")                                                                                        \
    X(__VA_ARGS__, suspended, "SUSPENDED")                                                                                       \
    X(__VA_ARGS__, timeout, "TIMEOUT")
#define STATE_ENUM(unused, name, word) JS_##name,
enum { JOB_STATES(STATE_ENUM, _) N_JOB_STATES };
#define STATE_WORD(unused, name, word) [JS_##name] = word,
static const char *const job_state_words[N_JOB_STATES] = {JOB_STATES(STATE_WORD, _)};
/* squeue's finished states: the job ended (Slurm's IS_JOB_FINISHED) */
static const bool job_state_finished[N_JOB_STATES] = {
    [JS_bootfail] = true,    [JS_cancelled] = true,   [JS_completed] = true, [JS_deadline] = true, [JS_failed] = true,
    [JS_node_failed] = true, [JS_outofmemory] = true, [JS_preempted] = true, [JS_timeout] = true,
};

/* One block of families per scope: the total, one per state, then these. */
enum { JN_TOTAL, JN_STATE0, JN_CPUS = JN_STATE0 + N_JOB_STATES, JN_MEMORY, JN_GPUS, JN_HOLD, JN_FINISHED, JN_BLOCK };
enum { SCOPE_CLUSTER, SCOPE_PARTITION, SCOPE_USER, SCOPE_ACCOUNT, N_SCOPES };
enum { N_JOBS_FAMILIES = J_NATIVE + N_SCOPES * JN_BLOCK };
#define AT_SCOPE(scope, k) (J_NATIVE + (scope)*JN_BLOCK + (k))

#define NATIVE_ROW(scope, prefix, st, word)                                                                                      \
    [AT_SCOPE(scope, JN_STATE0 + JS_##st)] = {                                                                                   \
        .name = prefix "_" #st, .type = METRIC_GAUGE, .help = "Jobs in state " word, .shares_previous = true},
#define NATIVE_SCOPE(scope, prefix, label, total_doc, where)                                                                     \
    [AT_SCOPE(scope, JN_TOTAL)] = {.name = prefix,                                                                               \
                                   .type = METRIC_GAUGE,                                                                         \
                                   .labels = label,                                                                              \
                                   .help = "Number of jobs" where,                                                               \
                                   .doc = total_doc " (Slurm's own name)"},                                                      \
                     JOB_STATES(NATIVE_ROW, scope,                                                                               \
                                prefix)[AT_SCOPE(scope, JN_CPUS)] = {.name = prefix "_cpus_alloc",                               \
                                                                     .type = METRIC_GAUGE,                                       \
                                                                     .help = "CPUs allocated to running jobs" where,             \
                                                                     .shares_previous = true},                                   \
                     [AT_SCOPE(scope, JN_MEMORY)] = {.name = prefix "_memory_alloc",                                             \
                                                     .type = METRIC_GAUGE,                                                       \
                                                     .help = "Memory allocated to running jobs" where                            \
                                                             ", MB (as Slurm: the name has no unit)",                            \
                                                     .shares_previous = true},                                                   \
                     [AT_SCOPE(scope, JN_GPUS)] = {.name = prefix "_gpus_alloc",                                                 \
                                                   .type = METRIC_GAUGE,                                                         \
                                                   .help = "GPUs (gres/gpu of tres-alloc) allocated to running jobs" where,      \
                                                   .shares_previous = true},                                                     \
                     [AT_SCOPE(scope, JN_HOLD)] = {.name = prefix "_hold",                                                       \
                                                   .type = METRIC_GAUGE,                                                         \
                                                   .help = "Pending jobs held (JobHeldUser, JobHeldAdmin)" where,                \
                                                   .shares_previous = true},                                                     \
                     [AT_SCOPE(scope, JN_FINISHED)] = {.name = prefix "_finished",                                               \
                                                       .type = METRIC_GAUGE,                                                     \
                                                       .help = "Finished jobs still listed by squeue" where,                     \
                                                       .shares_previous = true},

#define GAUGE(metric, text, what, positive, shares)                                                                              \
    { .name = metric, .type = METRIC_GAUGE, .help = text, .doc = what, .positive_only = positive, .shares_previous = shares }
#define TRACED "; only for jobs traced through --trace.enabled that squeue lists"
static const family_def jobs_families[] = {
    [J_USER_JOBS] = {.name = "slurm_user_state_total",
                     .type = METRIC_GAUGE,
                     .labels = LABELS("state", "username"),
                     .help = "total jobs per state per user",
                     .doc = "jobs",
                     .positive_only = true},
    [J_USER_CPUS] = GAUGE("slurm_user_cpu_alloc", "total cpu alloc per user", "Σ CPUs", true, true),
    [J_USER_MEM] =
        GAUGE("slurm_user_mem_alloc", "total mem alloc per user", "Σ `MinMemory` × 10⁶ per MB, as the seed", true, true),
    [J_USER_BYTES] =
        GAUGE("slurm_user_mem_alloc_bytes", "Memory of the jobs per user and job state in bytes (whole job, from tres-alloc)",
              "whole-job memory in bytes from `tres-alloc` `mem=` — **new**", true, true),
    [J_PARTITION_JOBS] = {.name = "slurm_partition_job_state_total",
                          .type = METRIC_GAUGE,
                          .labels = LABELS("partition", "state"),
                          .help = "total jobs per partition per state",
                          .doc = "jobs"},
    [J_PARTITION_CPUS] = GAUGE("slurm_partition_job_state_cpu_alloc", "CPUs of the jobs per partition and job state",
                               "Σ CPUs — **new**", false, true),
    [J_PARTITION_BYTES] = GAUGE("slurm_partition_job_state_mem_alloc_bytes",
                                "Memory of the jobs per partition and job state in bytes (whole job, from tres-alloc)",
                                "whole-job memory in bytes — **new**", false, true),
    [J_ACCOUNT_JOBS] = {.name = "slurm_account_job_state_total",
                        .type = METRIC_GAUGE,
                        .labels = LABELS("account", "state"),
                        .help = "total jobs per account per job state",
                        .doc = "jobs",
                        .positive_only = true},
    [J_ACCOUNT_CPUS] =
        GAUGE("slurm_account_job_state_cpu_alloc", "alloc cpu consumed per account per job state", "Σ CPUs", true, true),
    [J_ACCOUNT_MEM] = GAUGE("slurm_account_job_state_mem_alloc", "alloc mem consumed per account per job state",
                            "Σ `MinMemory` × 10⁶ per MB, as the seed", true, true),
    [J_ACCOUNT_BYTES] = GAUGE("slurm_account_job_state_mem_alloc_bytes",
                              "Memory of the jobs per account and job state in bytes (whole job, from tres-alloc)",
                              "whole-job memory in bytes — **new**", true, true),
    [J_FEATURE_JOBS] = {.name = "slurm_feature_total",
                        .type = METRIC_GAUGE,
                        .labels = LABELS("feature"),
                        .help = "number of jobs per feature",
                        .doc = "jobs; `feature=\"\"` holds every job, as the seed's text mode"},
    [J_FEATURE_CPUS] = GAUGE("slurm_feature_cpu_alloc", "alloc cpu consumed per feature", "Σ CPUs", true, true),
    [J_FEATURE_MEM] =
        GAUGE("slurm_feature_mem_alloc", "alloc mem consumed per feature", "Σ `MinMemory` × 10⁶ per MB", true, true),
    [J_FEATURE_BYTES] =
        GAUGE("slurm_feature_mem_alloc_bytes", "Memory of the jobs per feature in bytes (whole job, from tres-alloc)",
              "whole-job memory in bytes — **new**", true, true),
    [J_PENDING_REASON] = {.name = "slurm_pending_reason_total",
                          .type = METRIC_GAUGE,
                          .labels = LABELS("reason"),
                          .help = "count of the reason jobs are pending",
                          .doc = "pending jobs per reason; `ReqNodeNotAvail, UnavailableNodes:…` folded to "
                                 "`(ReqNodeNotAvail, UnavailableNodes)` as the seed"},
    [J_USER_GRES] = {.name = "slurm_user_jobs_gres_alloc",
                     .type = METRIC_GAUGE,
                     .labels = LABELS("username", "gres", "type"),
                     .help = "GRES held by the user's running jobs, by name and type (tres-alloc)",
                     .doc = "from tres-alloc `gres/NAME:TYPE=N` (typed entries where the job has them, else `type=\"\"`)"},
    [J_ACCOUNT_GRES] = {.name = "slurm_account_jobs_gres_alloc",
                        .type = METRIC_GAUGE,
                        .labels = LABELS("account", "gres", "type"),
                        .help = "GRES held by the account's running jobs, by name and type (tres-alloc)"},
    [J_STARTED] = {.name = "slurm_jobs_started_total",
                   .type = METRIC_COUNTER,
                   .labels = LABELS("partition", "account"),
                   .help = "Jobs seen entering a running state between successive squeue runs",
                   .doc = "a job pending at the last run and started now, or new and started (or already finished "
                          "after running: it ran wholly between two runs)"},
    [J_FINISHED] = {.name = "slurm_jobs_finished_total",
                    .type = METRIC_COUNTER,
                    .labels = LABELS("partition", "account", "state"),
                    .help = "Jobs seen leaving for a terminal state between successive squeue runs",
                    .doc = "state=`COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, `PREEMPTED`, "
                           "`BOOT_FAIL`, `DEADLINE`; counted once"},
    [J_WAIT] = {.name = "slurm_job_queue_wait_seconds",
                .type = METRIC_HISTOGRAM,
                .labels = LABELS("partition"),
                .help = "StartTime - SubmitTime of each job, observed once when it starts",
                .doc = "buckets `--collector.jobs.wait-buckets`"},
    [J_RUN] = {.name = "slurm_job_run_seconds",
               .type = METRIC_HISTOGRAM,
               .labels = LABELS("partition", "state"),
               .help = "EndTime - StartTime of each job that ran, observed once when it finishes",
               .doc = "buckets `--collector.jobs.run-buckets`; a job cancelled before it started is not observed"},
    [J_TRACE + TRACE_JOB_MEM] = {.name = "slurm_job_mem_alloc",
                                 .type = METRIC_GAUGE,
                                 .labels = LABELS("jobid"),
                                 .help = "running job mem allocated",
                                 .doc = "the job's memory (MB × 10⁶) from squeue" TRACED},
    [J_TRACE + TRACE_JOB_CPUS] = {.name = "slurm_job_cpu_alloc",
                                  .type = METRIC_GAUGE,
                                  .labels = LABELS("jobid"),
                                  .help = "running job cpus allocated",
                                  .doc = "the job's CPUs from squeue" TRACED},
    [J_TRACE + TRACE_PID] = {.name = "slurm_proc_pid",
                             .type = METRIC_GAUGE,
                             .labels = LABELS("hostname", "jobid"),
                             .help = "pid of running slurm job",
                             .doc = "the wrapper's child pid, per host" TRACED},
    [J_TRACE + TRACE_CPU] = {.name = "slurm_proc_cpu_usage",
                             .type = METRIC_GAUGE,
                             .labels = LABELS("jobid", "username"),
                             .help = "actual cpu usage collected from proc monitor",
                             .doc = "the posted value, summed over the job's hosts (B13)" TRACED},
    [J_TRACE + TRACE_MEM] = GAUGE("slurm_proc_mem_usage", "proc mem usage", "the same, memory (bytes)", false, true),
    [J_TRACE + TRACE_THREADS] = GAUGE("slurm_proc_threadcount", "threads currently being used", "the same, threads", false, true),
    [J_TRACE + TRACE_WRITE] = GAUGE("slurm_proc_write_bytes", "proc write bytes", "the same, bytes written", false, true),
    [J_TRACE + TRACE_READ] = GAUGE("slurm_proc_read_bytes", "proc read bytes", "the same, bytes read", false, true),
    NATIVE_SCOPE(SCOPE_CLUSTER, "slurm_jobs", NULL, "jobs squeue lists, finished ones included", "")
        NATIVE_SCOPE(SCOPE_PARTITION, "slurm_partition_jobs", LABELS("partition"),
                     "jobs of the partition that have not finished (as Slurm)", " in the partition")
            NATIVE_SCOPE(SCOPE_USER, "slurm_user_jobs", LABELS("username"),
                         "jobs of the user; this block only with --collector.jobs.users-accts", " of the user")
                NATIVE_SCOPE(SCOPE_ACCOUNT, "slurm_account_jobs", LABELS("account"),
                             "jobs of the account; this block only with --collector.jobs.users-accts",
                             " of the account")[N_JOBS_FAMILIES] = {0},
};

typedef struct {
    bool users_accts;
    char *wait_buckets, *run_buckets;
} jobs_settings;

#define DEFAULT_JOB_BUCKETS "1,5,10,30,60,300,900,1800,3600,7200,14400,28800,86400,172800,604800"

static const collector_option jobs_options[] = {
    {.name = "collector.jobs.users-accts",
     .type = OPT_BOOL,
     .def = "false",
     .offset = offsetof(jobs_settings, users_accts),
     .help = "Also Slurm's per-user and per-account job families (slurm_user_jobs*, slurm_account_jobs*; Slurm's "
             "/metrics/jobs-users-accts, whose cost Slurm's documentation warns of)."},
    {.name = "collector.jobs.wait-buckets",
     .type = OPT_STRING,
     .def = DEFAULT_JOB_BUCKETS,
     .offset = offsetof(jobs_settings, wait_buckets),
     .help = "Upper bounds (seconds, ascending, comma-separated) of slurm_job_queue_wait_seconds' buckets."},
    {.name = "collector.jobs.run-buckets",
     .type = OPT_STRING,
     .def = DEFAULT_JOB_BUCKETS,
     .offset = offsetof(jobs_settings, run_buckets),
     .help = "Upper bounds (seconds, ascending, comma-separated) of slurm_job_run_seconds' buckets."},
    {0},
};

static int jobs_validate(const void *settings, char *err, size_t err_len) {
    const jobs_settings *s = settings;
    double b[JOB_EDGE_MAX_BUCKETS];
    if (parse_bounds(s->wait_buckets, b, JOB_EDGE_MAX_BUCKETS, err, err_len) < 0) return -1;
    return parse_bounds(s->run_buckets, b, JOB_EDGE_MAX_BUCKETS, err, err_len) < 0 ? -1 : 0;
}

typedef struct {
    family *fam[N_JOBS_FAMILIES];
    bool users_accts;
    arena scratch; /* the fields of one seed-format line; emptied after each line */
    json_doc doc;  /* `squeue --json` output, parsed at the end */
    /* traced jobs (--trace.enabled): a snapshot of the trace table, and what squeue says of them */
    trace_entry *traces;
    size_t n_traces;
    htab traced_ids; /* job id text -> index into jobs */
    traced_job *jobs;
    const traced_job **job_of_trace;
    job_edges *memory; /* jobs starting and finishing across runs (NULL: no memory lent) */
    job_edges_run edges;
    slurm_time_cache times;
} jobs_state;

/* Takes the trace table's live entries, so each squeue line can tell whether its job is traced. */
static void snapshot_traces(jobs_state *s, trace_table *t, arena *mem) {
    s->n_traces = trace_table_snapshot(t, &s->traces);
    s->jobs = xcalloc(s->n_traces ? s->n_traces : 1, sizeof *s->jobs);
    s->job_of_trace = xcalloc(s->n_traces ? s->n_traces : 1, sizeof *s->job_of_trace);
    for (size_t i = 0; i < s->n_traces; i++) {
        char id[24];
        int n = snprintf(id, sizeof id, "%lld", s->traces[i].job_id);
        long k = htab_find(&s->traced_ids, id, (size_t)n);
        if (k < 0) k = (long)htab_insert(&s->traced_ids, arena_strndup(mem, id, (size_t)n), (size_t)n);
        s->job_of_trace[i] = &s->jobs[k];
    }
}

static void jobs_begin(void *state, sample_set *out, const collect_env *env) {
    jobs_state *s = state;
    if (env->traces) snapshot_traces(s, env->traces, &out->mem);
    ss_declare(out, jobs_families, s->fam);
    const jobs_settings *settings = env->settings;
    s->users_accts = settings && settings->users_accts;
    fam_slot(s->fam[AT_SCOPE(SCOPE_CLUSTER, JN_TOTAL)], NULL); /* the cluster's series exist with no jobs */
    if ((s->memory = env->memory)) {
        double wait[JOB_EDGE_MAX_BUCKETS], run[JOB_EDGE_MAX_BUCKETS];
        size_t nw = bounds_or(settings ? settings->wait_buckets : NULL, DEFAULT_JOB_BUCKETS, wait, JOB_EDGE_MAX_BUCKETS),
               nr = bounds_or(settings ? settings->run_buckets : NULL, DEFAULT_JOB_BUCKETS, run, JOB_EDGE_MAX_BUCKETS);
        job_edges_configure(s->memory, wait, nw, run, nr);
    }
}

/* The count of one TRES in a tres-alloc list ("cpu=1,mem=2G,node=1,gres/gpu=2"), 0 if absent. */
static double tres_count(const char *tres, const char *key) {
    size_t klen = strlen(key);
    for (const char *p = tres; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == '=') {
            long long v;
            char text[24];
            size_t n = strcspn(p + klen + 1, ",");
            snprintf(text, sizeof text, "%.*s", (int)(n < sizeof text ? n : sizeof text - 1), p + klen + 1);
            return parse_int(text, &v) == 0 && v > 0 ? (double)v : 0;
        }
    return 0;
}

static int job_state_index(const char *word) {
    for (int k = 0; k < N_JOB_STATES; k++)
        if (!strcmp(job_state_words[k], word)) return k;
    return -1;
}

/* A running job's GRES from its tres-alloc ("…,gres/gpu=2,gres/gpu:a100=2"): the typed entries of a
 * name where there are any (the untyped one is then their total), else the untyped one. */
static void count_gres(jobs_state *s, const char *tres, const char *user, const char *account) {
    for (const char *p = tres; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (strncmp(p, "gres/", 5)) continue;
        size_t n = strcspn(p, ","), key = strcspn(p, "=");
        if (key >= n) continue;
        char name[128], type[128] = "";
        size_t colon = strcspn(p + 5, ":=");
        snprintf(name, sizeof name, "%.*s", (int)colon, p + 5);
        bool typed = p[5 + colon] == ':';
        if (typed) snprintf(type, sizeof type, "%.*s", (int)(key - 6 - colon), p + 6 + colon);
        if (!typed) { /* untyped: only when no typed entry of this name follows or precedes */
            char probe[160];
            snprintf(probe, sizeof probe, "gres/%s:", name);
            if (strstr(tres, probe)) continue;
        }
        char count[24];
        snprintf(count, sizeof count, "%.*s", (int)(n - key - 1 < sizeof count ? n - key - 1 : sizeof count - 1), p + key + 1);
        long long v;
        if (parse_int(count, &v) < 0 || v <= 0) continue;
        FAM_ADD(s->fam[J_USER_GRES], (double)v, user, name, type);
        FAM_ADD(s->fam[J_ACCOUNT_GRES], (double)v, account, name, type);
    }
}

/* One job into Slurm's own families: per cluster, partition and (when asked) user and account. */
static void count_native(jobs_state *s, char **f, double cpus, double job_bytes) {
    int st = job_state_index(f[F_STATE]);
    bool running = st == JS_running, finished = st >= 0 && job_state_finished[st];
    bool held = st == JS_pending && (!strcmp(f[F_REASON], "JobHeldUser") || !strcmp(f[F_REASON], "JobHeldAdmin"));
    const char *keys[N_SCOPES] = {NULL, f[F_PARTITION], f[F_USER], f[F_ACCOUNT]};
    for (int scope = 0; scope < (s->users_accts ? N_SCOPES : SCOPE_USER); scope++) {
        family **b = &s->fam[AT_SCOPE(scope, 0)];
        size_t slot = fam_slot(b[JN_TOTAL], scope ? &keys[scope] : NULL);
        if (!(scope == SCOPE_PARTITION && finished)) fam_add_at(b[JN_TOTAL], slot, 1); /* Slurm's partition count: live jobs */
        if (st >= 0) fam_add_at(b[JN_STATE0 + st], slot, 1);
        if (held) fam_add_at(b[JN_HOLD], slot, 1);
        if (finished) fam_add_at(b[JN_FINISHED], slot, 1);
        if (!running) continue;
        fam_add_at(b[JN_CPUS], slot, cpus);
        fam_add_at(b[JN_MEMORY], slot, job_bytes / 1048576.0);
        fam_add_at(b[JN_GPUS], slot, tres_count(f[F_TRES], "gres/gpu"));
    }
}

/* The whole job's memory from a tres-alloc list such as "cpu=1,mem=512M,node=1,billing=1". */
static int tres_memory_bytes(const char *tres, double *bytes) {
    *bytes = 0;
    for (const char *p = tres; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (strncmp(p, "mem=", 4)) continue;
        char value[64];
        size_t n = strcspn(p + 4, ",");
        if (n >= sizeof value) return -1;
        memcpy(value, p + 4, n);
        value[n] = '\0';
        double si;
        return parse_slurm_memory(value, &si, bytes);
    }
    return 0;
}

/* The seed folds every ReqNodeNotAvail-with-node-list reason into one node-agnostic value. */
static const char *pending_reason(const char *reason) {
    return strstr(reason, "ReqNodeNotAvail, UnavailableNodes") ? "(ReqNodeNotAvail, UnavailableNodes)" : reason;
}

/* A line of the seed's default format: {"a": "%a", "id": %A, "u": "%u", "state": "%T", "p": "%P",
 * "cpu": %C, "mem": "%m", "r": "%R", …}. %R of a pending job is its reason in parentheses. */
static int seed_fields(jobs_state *s, const char *line, char **f, char *why, size_t why_len) {
    static const char *const keys[] = {"id", "u", "a", "p", "state", "cpu", "mem", "r"};
    char *v[8];
    if (seed_json_fields(line, keys, v, 8, &s->scratch, why, why_len) < 0) return -1;
    f[F_JOBID] = v[0], f[F_USER] = v[1], f[F_ACCOUNT] = v[2], f[F_PARTITION] = v[3], f[F_STATE] = v[4];
    f[F_CPUS] = v[5], f[F_MINMEM] = v[6], f[F_TRES] = "", f[F_REASON] = v[7];
    f[F_SUBMIT] = f[F_START] = f[F_END] = "";
    size_t rlen = strlen(v[7]);
    if (!strcmp(v[4], "PENDING") && rlen >= 2 && v[7][0] == '(' && v[7][rlen - 1] == ')') {
        v[7][rlen - 1] = '\0';
        f[F_REASON] = v[7] + 1;
    }
    return 0;
}

/* A job's submit, start and end times (unix seconds; 0: not known). */
typedef struct {
    double submit, start, end;
} job_times;

static int count_job(jobs_state *s, char **f, const char *features, const job_times *t, char *why, size_t why_len);

/* The twelve columns: SubmitTime is a time (every job has one; StartTime and EndTime may be N/A,
 * Unknown or NONE, which 22.05 prints for a running job's end). */
static bool times_at(char *const *f, slurm_time_cache *cache) {
    double t;
    return parse_slurm_time_cached(f[0], &t, cache);
}

static double time_or_zero(const char *text, slurm_time_cache *cache) {
    double t;
    return parse_slurm_time_cached(text, &t, cache) ? t : 0;
}

static int jobs_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    jobs_state *s = state;
    if (json_doc_take(&s->doc, line, len)) return 0;
    if (!len) return 0;
    char *f[N_FIELDS];
    job_times t = {0};
    if (line[0] == '{') {
        int rc = seed_fields(s, line, f, why, why_len);
        if (rc == 0) rc = count_job(s, f, "", &t, why, why_len);
        arena_free(&s->scratch);
        return rc;
    }
    size_t n = split_fields(line, f, N_FIELDS);
    if (n < N_FIELDS_WITHOUT_TIMES) {
        snprintf(why, why_len, "expected %d (or %d) '|'-separated fields", N_FIELDS, N_FIELDS_WITHOUT_TIMES);
        return -1;
    }
    if (n < N_FIELDS || !times_at(f + F_SUBMIT, &s->times)) { /* the older columns: the reason, '|'s and all, after the 8th */
        char *reason = f[N_FIELDS_WITHOUT_TIMES - 1];
        for (char *p = reason; p < line + len; p++)
            if (!*p) *p = '|';
        f[F_REASON] = reason;
        f[F_SUBMIT] = f[F_START] = f[F_END] = "";
    }
    t = (job_times){time_or_zero(f[F_SUBMIT], &s->times), time_or_zero(f[F_START], &s->times), time_or_zero(f[F_END], &s->times)};
    return count_job(s, f, "", &t, why, why_len);
}

/* Adds one job (its fields in slurmpush's column order) to every aggregate; features is its
 * '&'-separated feature list ("" in text mode, as the seed: every job in feature=""). */
static int count_job(jobs_state *s, char **f, const char *features, const job_times *t, char *why, size_t why_len) {
    long long cpus;
    double mem_si, mem_bin, job_bytes;
    if (!*f[F_JOBID] || !*f[F_STATE]) {
        snprintf(why, why_len, "empty job id or state");
        return -1;
    }
    if (parse_int(f[F_CPUS], &cpus) < 0 || cpus < 0) {
        snprintf(why, why_len, "NumCPUs \"%.40s\" is not a count", f[F_CPUS]);
        return -1;
    }
    if (parse_slurm_memory(f[F_MINMEM], &mem_si, &mem_bin) < 0) {
        snprintf(why, why_len, "MinMemory \"%.40s\" is not a memory size", f[F_MINMEM]);
        return -1;
    }
    if (tres_memory_bytes(f[F_TRES], &job_bytes) < 0) {
        snprintf(why, why_len, "tres-alloc \"%.60s\" has a bad mem=", f[F_TRES]);
        return -1;
    }
    if (!*f[F_TRES]) job_bytes = mem_bin; /* no tres-alloc (the seed's format): the request */
    const char *state_ = f[F_STATE], *user = f[F_USER], *account = f[F_ACCOUNT], *partition = f[F_PARTITION];
    /* one lookup per label set serves every family that shares it */
    size_t us = FAM_SLOT(s->fam[J_USER_JOBS], state_, user), ac = FAM_SLOT(s->fam[J_ACCOUNT_JOBS], account, state_),
           pa = FAM_SLOT(s->fam[J_PARTITION_JOBS], partition, state_);
    fam_add_at(s->fam[J_USER_JOBS], us, 1);
    fam_add_at(s->fam[J_USER_CPUS], us, (double)cpus);
    fam_add_at(s->fam[J_USER_MEM], us, mem_si);
    fam_add_at(s->fam[J_USER_BYTES], us, job_bytes);
    fam_add_at(s->fam[J_ACCOUNT_JOBS], ac, 1);
    fam_add_at(s->fam[J_ACCOUNT_CPUS], ac, (double)cpus);
    fam_add_at(s->fam[J_ACCOUNT_MEM], ac, mem_si);
    fam_add_at(s->fam[J_ACCOUNT_BYTES], ac, job_bytes);
    fam_add_at(s->fam[J_PARTITION_JOBS], pa, 1);
    fam_add_at(s->fam[J_PARTITION_CPUS], pa, (double)cpus);
    fam_add_at(s->fam[J_PARTITION_BYTES], pa, job_bytes);
    /* a job with "a&b" counts once in each feature, as the seed */
    for (const char *p = features;;) {
        size_t n = strcspn(p, "&");
        char feature[256];
        snprintf(feature, sizeof feature, "%.*s", (int)(n < sizeof feature ? n : sizeof feature - 1), p);
        size_t fe = FAM_SLOT(s->fam[J_FEATURE_JOBS], feature);
        fam_add_at(s->fam[J_FEATURE_JOBS], fe, 1);
        fam_add_at(s->fam[J_FEATURE_CPUS], fe, (double)cpus);
        fam_add_at(s->fam[J_FEATURE_MEM], fe, mem_si);
        fam_add_at(s->fam[J_FEATURE_BYTES], fe, job_bytes);
        if (!p[n]) break;
        p += n + 1;
    }
    if (!strcmp(state_, "PENDING")) FAM_ADD(s->fam[J_PENDING_REASON], 1, pending_reason(f[F_REASON]));
    count_native(s, f, (double)cpus, job_bytes);
    if (!strcmp(state_, "RUNNING")) count_gres(s, f[F_TRES], user, account);
    if (s->memory) job_edges_see(&s->edges, s->memory, f[F_JOBID], state_, partition, account, t->submit, t->start, t->end);
    if (s->n_traces) {
        long k = htab_find(&s->traced_ids, f[F_JOBID], strlen(f[F_JOBID]));
        if (k >= 0) s->jobs[k] = (traced_job){.listed = true, .cpus = (double)cpus, .mem = mem_si};
    }
    return 0;
}

/* One job of `squeue --json` (openapi v0.0.37/v0.0.38 or data_parser v0.0.39+) as text fields. */
static void json_job_fields(jobs_state *s, json_object *job, char **f) {
    arena *a = &s->scratch;
    char num[32];
    double v;
    snprintf(num, sizeof num, "%.0f", jnum(jget(job, "job_id"), &v) ? v : 0);
    f[F_JOBID] = arena_strdup(a, num);
    f[F_USER] = (char *)jstr(jget(job, "user_name"));
    f[F_ACCOUNT] = (char *)jstr(jget(job, "account"));
    f[F_PARTITION] = (char *)jstr(jget(job, "partition"));
    f[F_STATE] = (char *)jstr(jget(job, "job_state")); /* an array in data_parser: its base state first */
    snprintf(num, sizeof num, "%.0f", jnum(jget(job, "cpus"), &v) ? v : 0);
    f[F_CPUS] = arena_strdup(a, num);
    /* %m: memory per node, else per CPU, in MB; written as squeue writes it ("1G", "62.50G",
     * "40000M"), so JSON and text mode give the same seed-unit value */
    if (jnum(jget(job, "memory_per_node"), &v) || jnum(jget(job, "memory_per_cpu"), &v))
        slurm_memory_text(v, num, sizeof num);
    else
        snprintf(num, sizeof num, "0");
    f[F_MINMEM] = arena_strdup(a, num);
    const char *tres = jstr(jget(job, "tres_alloc_str"));
    f[F_TRES] = (char *)(*tres ? tres : jstr(jget(job, "tres_req_str")));
    const char *reason = jstr(jget(job, "state_description"));
    f[F_REASON] = (char *)(*reason ? reason : jstr(jget(job, "state_reason")));
}

static int count_json_jobs(jobs_state *s, char *why, size_t why_len) {
    json_object *doc = json_doc_parse(&s->doc, why, why_len);
    if (!doc) return -1;
    json_object *jobs = jget(doc, "jobs");
    int rc = 0;
    if (!jobs || !json_object_is_type(jobs, json_type_array)) {
        snprintf(why, why_len, "JSON output has no \"jobs\" array");
        rc = -1;
    }
    for (size_t i = 0; !rc && i < jlen(jobs); i++) {
        json_object *job = json_object_array_get_idx(jobs, i);
        char *f[N_FIELDS];
        json_job_fields(s, job, f);
        job_times t = {0};
        if (!jnum(jget(job, "submit_time"), &t.submit)) t.submit = 0;
        if (!jnum(jget(job, "start_time"), &t.start)) t.start = 0;
        if (!jnum(jget(job, "end_time"), &t.end)) t.end = 0;
        rc = count_job(s, f, jstr(jget(job, "features")), &t, why, why_len);
        arena_free(&s->scratch);
    }
    json_object_put(doc);
    return rc;
}

static int jobs_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    jobs_state *s = state;
    if (s->doc.active && count_json_jobs(s, why, why_len) < 0) return -1;
    if (s->traces) trace_emit(s->fam + J_TRACE, s->traces, s->n_traces, s->job_of_trace);
    if (s->memory) {
        job_edges_commit(s->memory, &s->edges);
        job_edges_emit(s->memory, s->fam[J_STARTED], s->fam[J_FINISHED], s->fam[J_WAIT], s->fam[J_RUN]);
    }
    return 0;
}

static void jobs_release(void *state) {
    jobs_state *s = state;
    arena_free(&s->scratch);
    json_doc_free(&s->doc);
    trace_snapshot_free(s->traces, s->n_traces);
    htab_free(&s->traced_ids);
    free(s->jobs);
    free(s->job_of_trace);
    job_edges_run_free(&s->edges);
}

static void jobs_memory_save(const void *memory, json_object *out) { job_edges_save(memory, out); }
static int jobs_memory_load(void *memory, json_object *in) { return job_edges_load(memory, in); }
static void jobs_memory_release(void *memory) { job_edges_free(memory); }

const collector_def jobs_collector = {
    .name = "jobs",
    .summary = "jobs per user, account, partition, feature and pending reason (squeue)",
    .enabled_by_default = true,
    .command = "squeue --states=all -h -r -O JobID:|,UserName:|,Account:|,Partition:|,State:|,NumCPUs:|,MinMemory:|,"
               "tres-alloc:|,SubmitTime:|,StartTime:|,EndTime:|,Reason:",
    .command_alias = "slurm.squeue-cli",
    .fixture = "squeue",
    .families = jobs_families,
    .slurm_names_from = J_NATIVE,
    .options = jobs_options,
    .settings_size = sizeof(jobs_settings),
    .error_metric = "slurm_job_scrape_error",
    .error_help = "slurm job scrape errors",
    .duration_metric = "slurm_job_scrape_duration",
    .json_command = "squeue --states=all --json", /* 23.02+ filters --json too: without --states, finished jobs vanish */
    .state_size = sizeof(jobs_state),
    .begin = jobs_begin,
    .parse_line = jobs_line,
    .end = jobs_end,
    .release = jobs_release,
    .validate = jobs_validate,
    .memory_size = sizeof(job_edges),
    .memory_save = jobs_memory_save,
    .memory_load = jobs_memory_load,
    .memory_release = jobs_memory_release,
};
