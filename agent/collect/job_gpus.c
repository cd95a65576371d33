/* job_gpus.c — the job-gpus collector: `scontrol show job -d -o`, one line per job; with -d each
 * running job lists, per group of its nodes, what it holds there: "Nodes=node[0-1] CPU_IDs=0-3
 * Mem=512 GRES=gpu:a100:2(IDX:0-1),nic:1(IDX:0)". Each GPU index a running job holds becomes one
 * series: the join key of DCGM's `gpu` label (dcgm-exporter's job mapping needs prolog and epilog
 * files for it). JOB_GRES= (the job's total) is not a node's and is not read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "../hostlist.h"

enum { JG_INFO, N_JG };

static const family_def job_gpus_families[] = {
    [JG_INFO] = {.name = "slurm_job_gpu_info",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("jobid", "node", "gpu_index", "username", "account", "partition"),
                 .help = "1 per GPU index a running job holds on a node (scontrol show job -d)",
                 .doc = "from `GRES=gpu[:TYPE]:N(IDX:0-1)` per node of each running job; join with DCGM's "
                        "`gpu` and `Hostname` labels"},
    [N_JG] = {0},
};

enum { MAX_NODES_PER_JOB = 100000, MAX_GPU_INDEX = 4096 };

typedef struct {
    family *fam[N_JG];
} job_gpus_state;

static void job_gpus_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    ss_declare(out, job_gpus_families, ((job_gpus_state *)state)->fam);
}

/* The job's labels and the GPU indices of one node group, for each node of the group. */
typedef struct {
    family *f;
    const char *job, *user, *account, *partition;
    const int *indices;
    size_t n_indices;
} node_ctx;

static void add_node(const char *node, void *ctx) {
    const node_ctx *c = ctx;
    for (size_t i = 0; i < c->n_indices; i++) {
        char index[16];
        snprintf(index, sizeof index, "%d", c->indices[i]);
        FAM_SET(c->f, 1, c->job, node, index, c->user, c->account, c->partition);
    }
}

/* "0-1,3" -> 0 1 3 (added to out, at most max); -1 when it is not such a list. */
static int index_list(const char *s, size_t len, int *out, size_t max, size_t *n) {
    const char *p = s, *end = s + len;
    while (p < end) {
        char *stop;
        long lo = strtol(p, &stop, 10), hi = lo;
        if (stop == p || lo < 0) return -1;
        p = stop;
        if (p < end && *p == '-') {
            hi = strtol(p + 1, &stop, 10);
            if (stop == p + 1 || hi < lo) return -1;
            p = stop;
        }
        if (hi >= MAX_GPU_INDEX) return -1;
        for (long i = lo; i <= hi && *n < max; i++) out[(*n)++] = (int)i;
        if (p < end && *p != ',') return -1;
        if (p < end) p++;
    }
    return 0;
}

/* The GPU indices of a node group's GRES= value ("gpu:a100:2(IDX:0-1),mps:100(0)"): only gpu entries. */
static int gpu_indices(const char *gres, size_t len, int *out, size_t max, size_t *n, char *why, size_t why_len) {
    const char *p = gres, *end = gres + len;
    while (p < end) {
        const char *q = p;
        int depth = 0;
        while (q < end && (depth || *q != ',')) depth += (*q == '(') - (*q == ')'), q++;
        const char *open = memchr(p, '(', (size_t)(q - p));
        bool gpu = (size_t)(q - p) >= 3 && !strncmp(p, "gpu", 3) && (p + 3 == q || p[3] == ':' || p[3] == '(');
        if (gpu && open && (size_t)(q - open) > 5 && !strncmp(open, "(IDX:", 5) && q[-1] == ')') {
            if (index_list(open + 5, (size_t)(q - 1 - (open + 5)), out, max, n) < 0) {
                snprintf(why, why_len, "GRES=\"%.60s\": not an index list", gres);
                return -1;
            }
        }
        p = q < end ? q + 1 : q;
    }
    return 0;
}

/* The value of the word that starts at the first " KEY=" at or after from (before stop), or NULL. */
static const char *word_after(const char *from, const char *stop, const char *key, size_t *len) {
    size_t klen = strlen(key);
    for (const char *p = from; p && p < stop; p++) {
        p = strstr(p, key);
        if (!p || p >= stop) return NULL;
        if (p > from && p[-1] == ' ') {
            *len = strcspn(p + klen, " ");
            return p + klen;
        }
    }
    return NULL;
}

static int job_gpus_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    job_gpus_state *s = state;
    if (!len || !strcmp(line, "No jobs in the system")) return 0;
    char job[64], user[256], account[256], partition[256], st[64];
    kv_text(line, "JobId", job, sizeof job);
    if (!*job) {
        snprintf(why, why_len, "no JobId=");
        return -1;
    }
    kv_text(line, "JobState", st, sizeof st);
    if (strcmp(st, "RUNNING")) return 0;
    kv_text(line, "UserId", user, sizeof user);
    user[strcspn(user, "(")] = '\0'; /* "bob(1001)" */
    kv_text(line, "Account", account, sizeof account);
    kv_text(line, "Partition", partition, sizeof partition);
    const char *end = line + len, *at = line;
    size_t n;
    /* each node group: " Nodes=LIST … GRES=…" up to the next " Nodes=" */
    for (const char *nodes; (nodes = word_after(at, end, "Nodes=", &n));) {
        char list[4096];
        snprintf(list, sizeof list, "%.*s", (int)(n < sizeof list ? n : sizeof list - 1), nodes);
        size_t next_len;
        const char *next = word_after(nodes + n, end, "Nodes=", &next_len);
        const char *group_end = next ? next - 6 : end;
        size_t glen;
        const char *gres = word_after(nodes + n, group_end, "GRES=", &glen);
        at = next ? next - 7 : end; /* the space before the next " Nodes=" */
        int indices[256];
        size_t n_indices = 0;
        if (!gres || gpu_indices(gres, glen, indices, 256, &n_indices, why, why_len) < 0) {
            if (gres) return -1;
            continue;
        }
        if (!n_indices) continue;
        node_ctx c = {s->fam[JG_INFO], job, user, account, partition, indices, n_indices};
        char list_why[96];
        if (hostlist_expand(list, MAX_NODES_PER_JOB, add_node, &c, list_why, sizeof list_why) < 0) {
            snprintf(why, why_len, "Nodes=\"%.40s\": %s", list, list_why);
            return -1;
        }
    }
    return 0;
}

const collector_def job_gpus_collector = {
    .name = "job-gpus",
    .summary = "the GPU indices each running job holds, per node (scontrol show job -d -o)",
    .enabled_by_default = false,
    .command = "scontrol show job -d -o",
    .fixture = "jobs-detail",
    .families = job_gpus_families,
    .error_metric = "slurmpush_job_gpus_scrape_error",
    .error_help = "failed runs of the job-gpus collector",
    .state_size = sizeof(job_gpus_state),
    .begin = job_gpus_begin,
    .parse_line = job_gpus_line,
};
