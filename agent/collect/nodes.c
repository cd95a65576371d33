/* nodes.c — the nodes collector: one `sinfo -N` run (a line per node and partition), merged
 * per node name, aggregated per partition, per state and for the cluster. Every family of
 * the seed's nodes collector, same names, labels and values, with allocated memory taken
 * from Slurm's AllocMem (the seed's Real − Free was OS usage), plus `_bytes` families. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "seed_lines.h"

enum { F_NODE, F_PARTITION, F_STATE, F_CPUSTATE, F_LOAD, F_MEMORY, F_FREE, F_ALLOC, F_WEIGHT, N_FIELDS };

typedef struct partition_ref {
    const char *name;
    struct partition_ref *next;
} partition_ref;

typedef struct {
    const char *name, *state;
    double cpus_alloc, cpus_idle, cpus_total, load, real_mb, free_mb, alloc_mb, weight;
    partition_ref *partitions;
} node;

typedef struct {
    arena *mem;
    arena scratch; /* the fields of one seed-format line; emptied after each line */
    htab by_name;
    node *nodes;
    size_t n, cap;
} nodes_state;

static void nodes_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    nodes_state *s = state;
    s->mem = &out->mem;
}

static node *find_or_add(nodes_state *s, const char *name) {
    long idx = htab_find(&s->by_name, name, strlen(name));
    if (idx >= 0) return &s->nodes[idx];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->nodes = xrealloc(s->nodes, s->cap * sizeof *s->nodes);
    }
    node *n = &s->nodes[s->n];
    *n = (node){.name = arena_strdup(s->mem, name)};
    htab_insert(&s->by_name, n->name, strlen(n->name));
    s->n++;
    return n;
}

/* "A/I/O/T" allocated/idle/other/total CPUs */
static int parse_cpu_state(char *text, double *alloc, double *idle, double *total) {
    long long v[4];
    char *part = text;
    for (int i = 0; i < 4; i++) {
        char *slash = strchr(part, '/');
        if ((i < 3) != (slash != NULL)) return -1;
        if (slash) *slash = '\0';
        if (parse_int(part, &v[i]) < 0 || v[i] < 0) return -1;
        part = slash ? slash + 1 : part;
    }
    *alloc = (double)v[0], *idle = (double)v[1], *total = (double)v[3];
    return 0;
}

/* A line of the seed's (<= 1.7) format: {"s": "%T", "mem": %m, "n": "%n", "l": "%O", "p": "%R",
 * "fmem": "%e", "cstate": "%C", "w": %w}. It has no allocated memory: that counts as 0. */
static int seed_fields(nodes_state *s, const char *line, char **f, char *why, size_t why_len) {
    static const char *const keys[] = {"n", "p", "s", "cstate", "l", "mem", "fmem", "w"};
    char *v[8];
    if (seed_json_fields(line, keys, v, 8, &s->scratch, why, why_len) < 0) return -1;
    f[F_NODE] = v[0], f[F_PARTITION] = v[1], f[F_STATE] = v[2], f[F_CPUSTATE] = v[3], f[F_LOAD] = v[4];
    f[F_MEMORY] = v[5], f[F_FREE] = v[6], f[F_ALLOC] = "0", f[F_WEIGHT] = v[7];
    return 0;
}

static int add_node_line(nodes_state *s, char **f, char *why, size_t why_len);

static int nodes_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    nodes_state *s = state;
    if (!len) return 0;
    char *f[N_FIELDS];
    if (line[0] == '{') {
        int rc = seed_fields(s, line, f, why, why_len);
        if (rc == 0) rc = add_node_line(s, f, why, why_len);
        arena_free(&s->scratch);
        return rc;
    }
    if (split_fields(line, f, N_FIELDS) != N_FIELDS || strchr(f[F_WEIGHT], '|')) {
        snprintf(why, why_len, "expected %d '|'-separated fields", N_FIELDS);
        return -1;
    }
    return add_node_line(s, f, why, why_len);
}

/* Merges one (node, partition) line, its fields in slurmpush's column order, into the node table. */
static int add_node_line(nodes_state *s, char **f, char *why, size_t why_len) {
    double alloc, idle, total, load, real_si, real_mb, free_mb, alloc_mb, weight;
    int missing;
    long long w;
    if (!*f[F_NODE] || !*f[F_STATE]) {
        snprintf(why, why_len, "empty node name or state");
        return -1;
    }
    if (parse_cpu_state(f[F_CPUSTATE], &alloc, &idle, &total) < 0) {
        snprintf(why, why_len, "CPUsState is not A/I/O/T");
        return -1;
    }
    if (parse_number_or_na(f[F_LOAD], &load, &missing) < 0 || parse_number_or_na(f[F_FREE], &free_mb, &missing) < 0 ||
        parse_number_or_na(f[F_ALLOC], &alloc_mb, &missing) < 0 || parse_slurm_memory(f[F_MEMORY], &real_si, &real_mb) < 0 ||
        parse_int(f[F_WEIGHT], &w) < 0) {
        snprintf(why, why_len, "a number field (CPUsLoad, Memory, FreeMem, AllocMem, Weight) is not a number");
        return -1;
    }
    real_mb = real_si / 1e6;
    weight = (double)w;

    node *n = find_or_add(s, f[F_NODE]);
    if (!n->state) {
        n->state = arena_strdup(s->mem, f[F_STATE]);
        n->cpus_alloc = alloc, n->cpus_idle = idle, n->cpus_total = total, n->load = load;
        n->real_mb = real_mb, n->free_mb = free_mb, n->alloc_mb = alloc_mb, n->weight = weight;
    } else if (strcmp(n->state, f[F_STATE])) {
        /* the seed joins differing states of one node with '&' */
        size_t a = strlen(n->state), b = strlen(f[F_STATE]);
        char *joined = arena_alloc(s->mem, a + b + 2);
        memcpy(joined, n->state, a);
        joined[a] = '&';
        memcpy(joined + a + 1, f[F_STATE], b + 1);
        n->state = joined;
    }
    /* the default partition's '*' marker is not part of its name */
    size_t plen = strlen(f[F_PARTITION]);
    if (plen && f[F_PARTITION][plen - 1] == '*') f[F_PARTITION][--plen] = '\0';
    for (partition_ref *p = n->partitions; p; p = p->next)
        if (!strcmp(p->name, f[F_PARTITION])) return 0;
    partition_ref *p = arena_alloc(s->mem, sizeof *p);
    p->name = arena_strdup(s->mem, f[F_PARTITION]);
    p->next = n->partitions;
    n->partitions = p;
    return 0;
}

static const double MB = 1e6, MIB = 1048576.0;

static void nodes_end(void *state, sample_set *out) {
    nodes_state *s = state;
    family *p_cpus = ss_family(out, "slurm_partition_total_cpus", "Total cpus per partition", METRIC_GAUGE, "partition", NULL);
    family *p_real = ss_family(out, "slurm_partition_real_mem", "Real mem per partition", METRIC_GAUGE, "partition", NULL);
    family *p_free = ss_family(out, "slurm_partition_free_mem", "Free mem per partition", METRIC_GAUGE, "partition", NULL);
    family *p_alloc_mem = ss_family(out, "slurm_partition_alloc_mem", "Alloc mem per partition per state", METRIC_GAUGE,
                                    "partition", "state", NULL);
    family *p_alloc_cpus = ss_family(out, "slurm_partition_alloc_cpus", "Alloc cpus per partition per state", METRIC_GAUGE,
                                     "partition", "state", NULL);
    family *p_nodes = ss_family(out, "slurm_partition_node_count", "Node count per partition per state", METRIC_GAUGE,
                                "partition", "state", NULL);
    family *p_idle = ss_family(out, "slurm_partition_idle_cpus", "Idle cpus per partition", METRIC_GAUGE, "partition", NULL);
    family *p_weight =
        ss_family(out, "slurm_partition_weight", "Total node weight per partition", METRIC_GAUGE, "partition", NULL);
    family *p_load = ss_family(out, "slurm_partition_cpu_load", "Total cpu load per partition", METRIC_GAUGE, "partition", NULL);
    family *p_real_b = ss_family(out, "slurm_partition_real_mem_bytes", "Real memory of the nodes per partition in bytes",
                                 METRIC_GAUGE, "partition", NULL);
    family *p_free_b = ss_family(out, "slurm_partition_free_mem_bytes", "Free memory of the nodes per partition in bytes",
                                 METRIC_GAUGE, "partition", NULL);
    family *p_alloc_b =
        ss_family(out, "slurm_partition_alloc_mem_bytes", "Memory allocated to jobs on the nodes per partition in bytes",
                  METRIC_GAUGE, "partition", NULL);
    family *positive[] = {p_cpus, p_real, p_free, p_alloc_mem, p_alloc_cpus, p_nodes, p_idle, p_weight, p_load};
    for (size_t i = 0; i < sizeof positive / sizeof *positive; i++) positive[i]->positive_only = true;

    family *c_total = ss_family(out, "slurm_cpus_total", "Total cpus", METRIC_GAUGE, NULL);
    family *c_idle = ss_family(out, "slurm_cpus_idle", "Total idle cpus", METRIC_GAUGE, NULL);
    family *c_alloc = ss_family(out, "slurm_cpus_alloc", "Total CPUs allocated to jobs", METRIC_GAUGE, NULL);
    family *c_load = ss_family(out, "slurm_cpu_load", "Total cpu load", METRIC_GAUGE, NULL);
    family *c_state =
        ss_family(out, "slurm_cpus_per_state", "Cpus per state i.e alloc, mixed, draining, etc.", METRIC_GAUGE, "state", NULL);
    family *n_state = ss_family(out, "slurm_node_count_per_state", "nodes per state", METRIC_GAUGE, "state", NULL);
    family *m_real = ss_family(out, "slurm_mem_real", "Total real mem", METRIC_GAUGE, NULL);
    family *m_free = ss_family(out, "slurm_mem_free", "Total free mem", METRIC_GAUGE, NULL);
    family *m_alloc = ss_family(out, "slurm_mem_alloc", "Total alloc mem", METRIC_GAUGE, NULL);
    family *m_real_b = ss_family(out, "slurm_mem_real_bytes", "Real memory of all nodes in bytes", METRIC_GAUGE, NULL);
    family *m_free_b = ss_family(out, "slurm_mem_free_bytes", "Free memory of all nodes in bytes", METRIC_GAUGE, NULL);
    family *m_alloc_b =
        ss_family(out, "slurm_mem_alloc_bytes", "Memory allocated to jobs on all nodes in bytes", METRIC_GAUGE, NULL);
    family *scalars[] = {c_total, c_idle, c_alloc, c_load, m_real, m_free, m_alloc, m_real_b, m_free_b, m_alloc_b};
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) fam_set(scalars[i], 0, NULL); /* always present */

    for (size_t i = 0; i < s->n; i++) {
        const node *n = &s->nodes[i];
        for (const partition_ref *p = n->partitions; p; p = p->next) {
            FAM_ADD(p_cpus, n->cpus_total, p->name);
            FAM_ADD(p_real, n->real_mb * MB, p->name);
            FAM_ADD(p_free, n->free_mb * MB, p->name);
            FAM_ADD(p_alloc_mem, n->alloc_mb * MB, p->name, n->state);
            FAM_ADD(p_alloc_cpus, n->cpus_alloc, p->name, n->state);
            FAM_ADD(p_nodes, 1, p->name, n->state);
            FAM_ADD(p_idle, n->cpus_idle, p->name);
            FAM_ADD(p_weight, n->weight, p->name);
            FAM_ADD(p_load, n->load, p->name);
            FAM_ADD(p_real_b, n->real_mb * MIB, p->name);
            FAM_ADD(p_free_b, n->free_mb * MIB, p->name);
            FAM_ADD(p_alloc_b, n->alloc_mb * MIB, p->name);
        }
        fam_add(c_total, n->cpus_total, NULL);
        fam_add(c_idle, n->cpus_idle, NULL);
        fam_add(c_alloc, n->cpus_alloc, NULL);
        fam_add(c_load, n->load, NULL);
        FAM_ADD(c_state, n->cpus_total, n->state);
        FAM_ADD(n_state, 1, n->state);
        fam_add(m_real, n->real_mb * MB, NULL);
        fam_add(m_free, n->free_mb * MB, NULL);
        fam_add(m_alloc, n->alloc_mb * MB, NULL);
        fam_add(m_real_b, n->real_mb * MIB, NULL);
        fam_add(m_free_b, n->free_mb * MIB, NULL);
        fam_add(m_alloc_b, n->alloc_mb * MIB, NULL);
    }
}

static void nodes_release(void *state) {
    nodes_state *s = state;
    htab_free(&s->by_name);
    free(s->nodes);
    arena_free(&s->scratch);
}

const collector_def nodes_collector = {
    .name = "nodes",
    .enabled_option = offsetof(config, collect_nodes),
    .command_option = offsetof(config, sinfo_cli),
    .error_metric = "slurm_node_scrape_error",
    .error_help = "slurm node info scrape errors",
    .duration_metric = "slurm_node_scrape_duration",
    .state_size = sizeof(nodes_state),
    .begin = nodes_begin,
    .parse_line = nodes_line,
    .end = nodes_end,
    .release = nodes_release,
};
