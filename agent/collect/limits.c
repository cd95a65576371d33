/* limits.c — the account limits collector: `sacctmgr show assoc format=User,Account,GrpCPU,
 * GrpMem,GrpJobs,GrpSubmit --noheader --parsable2`, as the seed. Only account rows (empty
 * User) count; an empty field is unset and emits nothing, as a zero limit. An account listed
 * twice (several clusters on one slurmdbd) is counted once: the seed answered those with an
 * HTTP 500 for the whole scrape. */
#include <stdio.h>
#include <string.h>

#include "../collector.h"

enum { F_USER, F_ACCOUNT, F_CPU, F_MEM, F_JOBS, F_SUBMIT, N_FIELDS };

enum { LIM_CPU, LIM_MEM, LIM_JOBS, LIM_SUBMIT, N_LIM };

static const family_def limits_families[] = {
    [LIM_CPU] = {.name = "slurm_account_cpu_limit",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("account"),
                 .help = "slurm account cpu limit",
                 .doc = "GrpCPU of the account row; unset or 0 emits nothing, as the seed",
                 .positive_only = true},
    [LIM_MEM] = {.name = "slurm_account_mem_limit",
                 .type = METRIC_GAUGE,
                 .help = "slurm account mem limit (in bytes)",
                 .doc = "GrpMem, MB × 10⁶ as the seed",
                 .positive_only = true,
                 .shares_previous = true},
    [LIM_JOBS] = {.name = "slurm_account_job_alloc_limit",
                  .type = METRIC_GAUGE,
                  .help = "slurm account limit on the # of jobs allowed to be RUNNING state",
                  .doc = "GrpJobs",
                  .positive_only = true,
                  .shares_previous = true},
    [LIM_SUBMIT] = {.name = "slurm_account_job_limit",
                    .type = METRIC_GAUGE,
                    .help = "slurm account limit on the # of jobs allowed to be RUNNING or PENDING state",
                    .doc = "GrpSubmit",
                    .positive_only = true,
                    .shares_previous = true},
    [N_LIM] = {0},
};

typedef struct {
    family *fam[N_LIM];
    htab seen; /* accounts already counted */
} limits_state;

static void limits_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    ss_declare(out, limits_families, ((limits_state *)state)->fam);
}

static int limit_value(const char *text, double *out) {
    long long v = 0;
    if (*text && (parse_int(text, &v) < 0 || v < 0)) return -1;
    *out = (double)v;
    return 0;
}

static int limits_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    limits_state *s = state;
    if (!len) return 0;
    char *f[N_FIELDS + 1];
    if (split_fields(line, f, N_FIELDS + 1) != N_FIELDS) {
        snprintf(why, why_len, "expected %d '|'-separated fields", N_FIELDS);
        return -1;
    }
    double cpu, mem, jobs, submit;
    if (limit_value(f[F_CPU], &cpu) || limit_value(f[F_MEM], &mem) || limit_value(f[F_JOBS], &jobs) ||
        limit_value(f[F_SUBMIT], &submit)) {
        snprintf(why, why_len, "a limit is not a whole number");
        return -1;
    }
    if (*f[F_USER] || !*f[F_ACCOUNT]) return 0; /* user rows are not account limits */
    size_t alen = strlen(f[F_ACCOUNT]);
    if (htab_find(&s->seen, f[F_ACCOUNT], alen) >= 0) return 0;
    size_t slot = FAM_SLOT(s->fam[LIM_CPU], f[F_ACCOUNT]);
    htab_insert(&s->seen, s->fam[LIM_CPU]->items[slot].values[0], alen);
    fam_add_at(s->fam[LIM_CPU], slot, cpu);
    fam_add_at(s->fam[LIM_MEM], slot, mem * 1e6); /* GrpMem is MB; the seed's unit (PR #80) */
    fam_add_at(s->fam[LIM_JOBS], slot, jobs);
    fam_add_at(s->fam[LIM_SUBMIT], slot, submit);
    return 0;
}

static void limits_release(void *state) { htab_free(&((limits_state *)state)->seen); }

const collector_def limits_collector = {
    .name = "limits",
    .summary = "account limits (sacctmgr show assoc, account rows)",
    .enabled_by_default = false,
    .enable_alias = "slurm.collect-limits",
    .command = "sacctmgr show assoc format=User,Account,GrpCPU,GrpMem,GrpJobs,GrpSubmit --noheader --parsable2",
    .command_alias = "slurm.sacctmgr-cli",
    .fixture = "sacctmgr",
    .families = limits_families,
    .error_metric = "slurm_account_collect_error",
    .error_help = "Slurm sacct collect error",
    .duration_metric = "slurm_limit_scrape_duration",
    .state_size = sizeof(limits_state),
    .begin = limits_begin,
    .parse_line = limits_line,
    .release = limits_release,
};
