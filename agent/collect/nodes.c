/* nodes.c — the nodes collector: one `sinfo -N` run (a line per node and partition), merged
 * per node name, aggregated per partition, per state and for the cluster. Every family of
 * the seed's nodes collector, same names, labels and values, with allocated memory taken
 * from Slurm's AllocMem (the seed's Real − Free was OS usage), plus `_bytes` families. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "json_doc.h"
#include "seed_lines.h"

enum { F_NODE, F_PARTITION, F_STATE, F_CPUSTATE, F_LOAD, F_MEMORY, F_FREE, F_ALLOC, F_WEIGHT, N_FIELDS };

enum {
    P_CPUS,
    P_REAL,
    P_FREE,
    P_ALLOC_MEM,
    P_ALLOC_CPUS,
    P_NODES,
    P_IDLE,
    P_WEIGHT,
    P_LOAD,
    P_REAL_BYTES,
    P_FREE_BYTES,
    P_ALLOC_BYTES,
    N_PARTITION_FAMILIES,
    C_TOTAL = N_PARTITION_FAMILIES,
    C_IDLE,
    C_ALLOC,
    C_LOAD,
    C_STATE,
    N_STATE,
    M_REAL,
    M_FREE,
    M_ALLOC,
    M_REAL_BYTES,
    M_FREE_BYTES,
    M_ALLOC_BYTES,
    NATIVE_FIRST, /* Slurm's own /metrics/nodes and /metrics/partitions names from here */
};

/* What Slurm's endpoint counts nodes by: the base state and the flags, as far as sinfo's long
 * state word and its suffix character tell them. */
enum {
    NS_ALLOC,
    NS_MIXED,
    NS_IDLE,
    NS_DOWN,
    NS_FUTURE,
    NS_UNKNOWN, /* base states */
    NS_COMPLETING,
    NS_DRAINED,
    NS_DRAINING,
    NS_FAIL,
    NS_INVALID_REG,
    NS_MAINT,
    NS_NORESP,
    NS_PLANNED,
    NS_POWER_DOWN,
    NS_POWER_UP,
    NS_POWERED_DOWN,
    NS_POWERING_UP,
    NS_REBOOT_ISSUED,
    NS_REBOOT_REQ,
    NS_RESV,
    NS_POWERING_DOWN, /* last: the cluster endpoint has no slurm_nodes_powering_down */
    N_NODE_CONDITIONS
};

enum {
    /* per node */
    NN_CPUS = NATIVE_FIRST,
    NN_CPUS_ALLOC,
    NN_CPUS_IDLE,
    NN_MEMORY,
    NN_MEMORY_ALLOC,
    NN_MEMORY_FREE,
    /* the cluster */
    NC_NODES,
    NC_JOBS_NODES_ALLOC,
    NC_CONDITION0, /* then one per condition but powering_down */
    /* per partition */
    NP_PARTITIONS = NC_CONDITION0 + N_NODE_CONDITIONS - 1,
    NP_NODES,
    NP_CPUS,
    NP_CPUS_ALLOC,
    NP_CPUS_IDLE,
    NP_MEM_ALLOC,
    NP_MEM_FREE,
    NP_MEM_TOT,
    NP_CONDITION0,
    N_NODES_FAMILIES = NP_CONDITION0 + N_NODE_CONDITIONS
};

#define PARTITION(metric, text, what, positive, ...)                                                                             \
    { .name = metric, .type = METRIC_GAUGE, .labels = LABELS(__VA_ARGS__), .help = text, .doc = what, .positive_only = positive }
#define NATIVE_SIBLING(metric, text)                                                                                             \
    { .name = metric, .type = METRIC_GAUGE, .help = text, .shares_previous = true }
#define CONDITION_ROW(metric, partition)                                                                                         \
    {                                                                                                                            \
        .name = metric, .type = METRIC_GAUGE, .help = "Nodes by state or flag (sinfo's long state and suffix)",                  \
        .shares_previous = partition                                                                                             \
    }
#define CLUSTER(metric, text, what)                                                                                              \
    { .name = metric, .type = METRIC_GAUGE, .help = text, .doc = what }
static const family_def nodes_families[] = {
    [P_CPUS] =
        PARTITION("slurm_partition_total_cpus", "Total cpus per partition", "Σ CPUs of the partition's nodes", true, "partition"),
    [P_REAL] =
        PARTITION("slurm_partition_real_mem", "Real mem per partition", "Σ RealMemory, MB × 10⁶ as the seed", true, "partition"),
    [P_FREE] =
        PARTITION("slurm_partition_free_mem", "Free mem per partition", "Σ FreeMem, MB × 10⁶ as the seed", true, "partition"),
    [P_ALLOC_MEM] = PARTITION("slurm_partition_alloc_mem", "Alloc mem per partition per state", "Σ AllocMem, MB × 10⁶", true,
                              "partition", "state"),
    [P_ALLOC_CPUS] = PARTITION("slurm_partition_alloc_cpus", "Alloc cpus per partition per state",
                               "Σ allocated CPUs by node state", true, "partition", "state"),
    [P_NODES] = PARTITION("slurm_partition_node_count", "Node count per partition per state", "nodes by state", true, "partition",
                          "state"),
    [P_IDLE] = PARTITION("slurm_partition_idle_cpus", "Idle cpus per partition", "Σ idle CPUs", true, "partition"),
    [P_WEIGHT] = PARTITION("slurm_partition_weight", "Total node weight per partition", "Σ node weight", true, "partition"),
    [P_LOAD] = PARTITION("slurm_partition_cpu_load", "Total cpu load per partition", "Σ CPU load", true, "partition"),
    [P_REAL_BYTES] = PARTITION("slurm_partition_real_mem_bytes", "Real memory of the nodes per partition in bytes",
                               "Σ RealMemory in bytes (MiB × 2²⁰) — **new**", false, "partition"),
    [P_FREE_BYTES] = PARTITION("slurm_partition_free_mem_bytes", "Free memory of the nodes per partition in bytes",
                               "Σ FreeMem in bytes — **new**", false, "partition"),
    [P_ALLOC_BYTES] = PARTITION("slurm_partition_alloc_mem_bytes", "Memory allocated to jobs on the nodes per partition in bytes",
                                "Σ AllocMem in bytes — **new**", false, "partition"),
    [C_TOTAL] = CLUSTER("slurm_cpus_total", "Total cpus", "CPUs of the cluster, each node once"),
    [C_IDLE] = CLUSTER("slurm_cpus_idle", "Total idle cpus", "idle CPUs of the cluster"),
    [C_ALLOC] = CLUSTER("slurm_cpus_alloc", "Total CPUs allocated to jobs", "allocated CPUs of the cluster — **new**"),
    [C_LOAD] = CLUSTER("slurm_cpu_load", "Total cpu load", "Σ CPU load of the cluster"),
    [C_STATE] = {.name = "slurm_cpus_per_state",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("state"),
                 .help = "Cpus per state i.e alloc, mixed, draining, etc.",
                 .doc = "Σ total CPUs of the nodes in that state"},
    [N_STATE] = {.name = "slurm_node_count_per_state",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("state"),
                 .help = "nodes per state",
                 .doc = "nodes per state"},
    [M_REAL] = CLUSTER("slurm_mem_real", "Total real mem", "Σ RealMemory, MB × 10⁶"),
    [M_FREE] = CLUSTER("slurm_mem_free", "Total free mem", "Σ FreeMem, MB × 10⁶"),
    [M_ALLOC] = CLUSTER("slurm_mem_alloc", "Total alloc mem", "Σ AllocMem, MB × 10⁶"),
    [M_REAL_BYTES] = CLUSTER("slurm_mem_real_bytes", "Real memory of all nodes in bytes", "Σ RealMemory in bytes — **new**"),
    [M_FREE_BYTES] = CLUSTER("slurm_mem_free_bytes", "Free memory of all nodes in bytes", "Σ FreeMem in bytes — **new**"),
    [M_ALLOC_BYTES] =
        CLUSTER("slurm_mem_alloc_bytes", "Memory allocated to jobs on all nodes in bytes", "Σ AllocMem in bytes — **new**"),
    [NN_CPUS] = {.name = "slurm_node_cpus",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("node"),
                 .help = "Total number of cpus in the node",
                 .doc = "CPUs of the node (Slurm's own name)"},
    [NN_CPUS_ALLOC] = NATIVE_SIBLING("slurm_node_cpus_alloc", "Allocated cpus in the node"),
    [NN_CPUS_IDLE] = NATIVE_SIBLING("slurm_node_cpus_idle", "Cpus of the node not allocated (a down node's count too, as Slurm)"),
    [NN_MEMORY] = NATIVE_SIBLING("slurm_node_memory_bytes", "RealMemory of the node in bytes (Slurm's endpoint: MB)"),
    [NN_MEMORY_ALLOC] =
        NATIVE_SIBLING("slurm_node_memory_alloc_bytes", "Memory allocated to jobs in the node in bytes (Slurm's endpoint: MB)"),
    [NN_MEMORY_FREE] = NATIVE_SIBLING("slurm_node_memory_free_bytes", "Free memory of the node in bytes (Slurm's endpoint: MB)"),
    [NC_NODES] = CLUSTER("slurm_nodes", "Total number of nodes", "nodes (Slurm's own name)"),
    [NC_JOBS_NODES_ALLOC] =
        CLUSTER("slurm_jobs_nodes_alloc", "Nodes with CPUs allocated to jobs", "nodes running jobs (Slurm's /metrics/jobs name)"),
    [NC_CONDITION0 + NS_ALLOC] = CONDITION_ROW("slurm_nodes_alloc", false),
    [NC_CONDITION0 + NS_MIXED] = CONDITION_ROW("slurm_nodes_mixed", false),
    [NC_CONDITION0 + NS_IDLE] = CONDITION_ROW("slurm_nodes_idle", false),
    [NC_CONDITION0 + NS_DOWN] = CONDITION_ROW("slurm_nodes_down", false),
    [NC_CONDITION0 + NS_FUTURE] = CONDITION_ROW("slurm_nodes_future", false),
    [NC_CONDITION0 + NS_UNKNOWN] = CONDITION_ROW("slurm_nodes_unknown", false),
    [NC_CONDITION0 + NS_COMPLETING] = CONDITION_ROW("slurm_nodes_completing", false),
    [NC_CONDITION0 + NS_DRAINED] = CONDITION_ROW("slurm_nodes_drained", false),
    [NC_CONDITION0 + NS_DRAINING] = CONDITION_ROW("slurm_nodes_draining", false),
    [NC_CONDITION0 + NS_FAIL] = CONDITION_ROW("slurm_nodes_fail", false),
    [NC_CONDITION0 + NS_INVALID_REG] = CONDITION_ROW("slurm_nodes_invalid_reg", false),
    [NC_CONDITION0 + NS_MAINT] = CONDITION_ROW("slurm_nodes_maint", false),
    [NC_CONDITION0 + NS_NORESP] = CONDITION_ROW("slurm_nodes_noresp", false),
    [NC_CONDITION0 + NS_PLANNED] = CONDITION_ROW("slurm_nodes_planned", false),
    [NC_CONDITION0 + NS_POWER_DOWN] = CONDITION_ROW("slurm_nodes_power_down", false),
    [NC_CONDITION0 + NS_POWER_UP] = CONDITION_ROW("slurm_nodes_power_up", false),
    [NC_CONDITION0 + NS_POWERED_DOWN] = CONDITION_ROW("slurm_nodes_powered_down", false),
    [NC_CONDITION0 + NS_POWERING_UP] = CONDITION_ROW("slurm_nodes_powering_up", false),
    [NC_CONDITION0 + NS_REBOOT_ISSUED] = CONDITION_ROW("slurm_nodes_reboot_issued", false),
    [NC_CONDITION0 + NS_REBOOT_REQ] = CONDITION_ROW("slurm_nodes_reboot_req", false),
    [NC_CONDITION0 + NS_RESV] = CONDITION_ROW("slurm_nodes_resv", false),
    [NP_PARTITIONS] = CLUSTER("slurm_partitions", "Total number of partitions", "partitions sinfo lists (Slurm's own name)"),
    [NP_NODES] = {.name = "slurm_partition_nodes",
                  .type = METRIC_GAUGE,
                  .labels = LABELS("partition"),
                  .help = "Partition total nodes",
                  .doc = "nodes of the partition (Slurm's own name)"},
    [NP_CPUS] = NATIVE_SIBLING("slurm_partition_cpus", "Partition total cpus"),
    [NP_CPUS_ALLOC] = NATIVE_SIBLING("slurm_partition_nodes_cpus_alloc", "Number of allocated cpus"),
    [NP_CPUS_IDLE] =
        NATIVE_SIBLING("slurm_partition_nodes_cpus_idle", "CPUs not allocated on all nodes (down nodes' too, as Slurm)"),
    [NP_MEM_ALLOC] = NATIVE_SIBLING("slurm_partition_nodes_mem_alloc", "Amount of allocated memory of all nodes, MB (as Slurm)"),
    [NP_MEM_FREE] = NATIVE_SIBLING("slurm_partition_nodes_mem_free", "Amount of free memory in all nodes, MB (as Slurm)"),
    [NP_MEM_TOT] = NATIVE_SIBLING("slurm_partition_nodes_mem_tot", "Total amount of memory of all nodes, MB (as Slurm)"),
    [NP_CONDITION0 + NS_ALLOC] = CONDITION_ROW("slurm_partition_nodes_alloc", true),
    [NP_CONDITION0 + NS_MIXED] = CONDITION_ROW("slurm_partition_nodes_mixed", true),
    [NP_CONDITION0 + NS_IDLE] = CONDITION_ROW("slurm_partition_nodes_idle", true),
    [NP_CONDITION0 + NS_DOWN] = CONDITION_ROW("slurm_partition_nodes_down", true),
    [NP_CONDITION0 + NS_FUTURE] = CONDITION_ROW("slurm_partition_nodes_future", true),
    [NP_CONDITION0 + NS_UNKNOWN] = CONDITION_ROW("slurm_partition_nodes_unknown", true),
    [NP_CONDITION0 + NS_COMPLETING] = CONDITION_ROW("slurm_partition_nodes_cg", true),
    [NP_CONDITION0 + NS_DRAINED] = CONDITION_ROW("slurm_partition_nodes_drained", true),
    [NP_CONDITION0 + NS_DRAINING] = CONDITION_ROW("slurm_partition_nodes_draining", true),
    [NP_CONDITION0 + NS_FAIL] = CONDITION_ROW("slurm_partition_nodes_fail", true),
    [NP_CONDITION0 + NS_INVALID_REG] = CONDITION_ROW("slurm_partition_nodes_invalid_reg", true),
    [NP_CONDITION0 + NS_MAINT] = CONDITION_ROW("slurm_partition_nodes_maint", true),
    [NP_CONDITION0 + NS_NORESP] = CONDITION_ROW("slurm_partition_nodes_no_resp", true),
    [NP_CONDITION0 + NS_PLANNED] = CONDITION_ROW("slurm_partition_nodes_planned", true),
    [NP_CONDITION0 + NS_POWER_DOWN] = CONDITION_ROW("slurm_partition_nodes_power_down", true),
    [NP_CONDITION0 + NS_POWER_UP] = CONDITION_ROW("slurm_partition_nodes_power_up", true),
    [NP_CONDITION0 + NS_POWERED_DOWN] = CONDITION_ROW("slurm_partition_nodes_powered_down", true),
    [NP_CONDITION0 + NS_POWERING_UP] = CONDITION_ROW("slurm_partition_nodes_powering_up", true),
    [NP_CONDITION0 + NS_REBOOT_ISSUED] = CONDITION_ROW("slurm_partition_nodes_reboot_issued", true),
    [NP_CONDITION0 + NS_REBOOT_REQ] = CONDITION_ROW("slurm_partition_nodes_reboot_requested", true),
    [NP_CONDITION0 + NS_RESV] = CONDITION_ROW("slurm_partition_nodes_resv", true),
    [NP_CONDITION0 + NS_POWERING_DOWN] = CONDITION_ROW("slurm_partition_nodes_powering_down", true),
    [N_NODES_FAMILIES] = {0},
};

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
    json_doc doc;  /* `sinfo -N --json` output, parsed at the end */
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
    if (json_doc_take(&s->doc, line, len)) return 0;
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

/* sinfo's long state from JSON's base state and flags (sinfo(1) NODE STATE CODES):
 * DRAIN makes idle "drained" and busy "draining"; a flag such as NOT_RESPONDING adds "*". */
static void state_text(const char *base, json_object *flags, char *out, size_t outlen) {
    static const struct {
        const char *flag, *suffix;
    } suffixes[] = {{"NOT_RESPONDING", "*"},   {"POWERED_DOWN", "~"},  {"POWERING_UP", "#"},
                    {"POWERING_DOWN", "%"},    {"POWER_DOWN", "!"},    {"MAINTENANCE", "$"},
                    {"REBOOT_REQUESTED", "@"}, {"REBOOT_ISSUED", "^"}, {"PLANNED", "-"}};
    char lower[32];
    size_t n = 0;
    for (; base[n] && n + 1 < sizeof lower; n++) lower[n] = (char)(base[n] >= 'A' && base[n] <= 'Z' ? base[n] + 32 : base[n]);
    lower[n] = '\0';
    bool drain = false, completing = false, planned = false;
    const char *suffix = "";
    for (size_t i = 0; i < jlen(flags); i++) {
        const char *f = jstr(json_object_array_get_idx(flags, i));
        if (!strcmp(f, "DRAIN")) drain = true;
        if (!strcmp(f, "COMPLETING")) completing = true;
        if (!strcmp(f, "PLANNED")) planned = true;
        for (size_t k = 0; k < sizeof suffixes / sizeof *suffixes && !*suffix; k++)
            if (!strcmp(f, suffixes[k].flag)) suffix = suffixes[k].suffix;
    }
    bool busy = !strcmp(lower, "allocated") || !strcmp(lower, "mixed") || completing;
    /* an idle node the backfill scheduler plans for is "planned" in sinfo's long form */
    const char *word = drain ? (busy ? "draining" : "drained") : completing ? "completing" : planned && !busy ? "planned" : lower;
    if (planned && !busy && !strcmp(suffix, "-")) suffix = "";
    snprintf(out, outlen, "%s%s", word, suffix);
}

/* Slurm's NO_VAL-like sentinels of unknown numbers in JSON (free_memory -2, cpu_load 4294967294). */
static bool known(double v) { return v >= 0 && v < 4294967294.0; }

static char *text_of(arena *a, double v, bool ok) {
    char num[40];
    if (!ok) return "N/A";
    snprintf(num, sizeof num, "%.17g", v);
    return arena_strdup(a, num);
}

/* One node (openapi v0.0.37/v0.0.38 "nodes" item) or one node-partition entry (data_parser
 * "sinfo" item) as text fields, partitions aside. */
static void json_node_fields(nodes_state *s, json_object *n, bool data_parser, char **f) {
    arena *a = &s->scratch;
    double alloc = 0, idle = 0, other = 0, total = 0, load = 0, real = 0, free_ = 0, amem = 0, weight = 0;
    bool has_load, has_free;
    char state[48];
    if (data_parser) {
        json_object *cpus = jget(n, "cpus"), *mem = jget(n, "memory"), *st = jget(jget(n, "node"), "state");
        f[F_NODE] = (char *)jstr(jget(jget(n, "nodes"), "nodes"));
        jnum(jget(cpus, "allocated"), &alloc), jnum(jget(cpus, "idle"), &idle), jnum(jget(cpus, "other"), &other);
        jnum(jget(cpus, "total"), &total);
        has_load = jnum(jget(jget(cpus, "load"), "minimum"), &load) && known(load);
        jnum(jget(mem, "minimum"), &real), jnum(jget(mem, "allocated"), &amem),
            jnum(jget(n, "weight") ? jget(jget(n, "weight"), "minimum") : NULL, &weight);
        has_free = jnum(jget(jget(mem, "free"), "minimum"), &free_) && known(free_);
        json_object *flags = json_object_new_array();
        for (size_t i = 1; i < jlen(st); i++) json_object_array_add(flags, json_object_get(json_object_array_get_idx(st, i)));
        state_text(jstr(st), flags, state, sizeof state);
        json_object_put(flags);
    } else {
        f[F_NODE] = (char *)jstr(jget(n, "name"));
        jnum(jget(n, "cpus"), &total), jnum(jget(n, "alloc_cpus"), &alloc), jnum(jget(n, "idle_cpus"), &idle);
        other = total - alloc - idle > 0 ? total - alloc - idle : 0;
        has_load = jnum(jget(n, "cpu_load"), &load) && known(load);
        jnum(jget(n, "real_memory"), &real), jnum(jget(n, "alloc_memory"), &amem), jnum(jget(n, "weight"), &weight);
        has_free = jnum(jget(n, "free_memory"), &free_) && known(free_);
        state_text(jstr(jget(n, "state")), jget(n, "state_flags"), state, sizeof state);
    }
    /* sinfo's A/I/O/T counts a down, drained or failed node's free CPUs as "other", not idle */
    if (!strncmp(state, "down", 4) || !strncmp(state, "drain", 5) || !strncmp(state, "fail", 4) || !strncmp(state, "error", 5) ||
        !strncmp(state, "future", 6))
        other += idle, idle = 0;
    char cpus[96];
    snprintf(cpus, sizeof cpus, "%.0f/%.0f/%.0f/%.0f", alloc, idle, other, total);
    f[F_STATE] = arena_strdup(a, state);
    f[F_CPUSTATE] = arena_strdup(a, cpus);
    f[F_LOAD] = text_of(a, load / 100, has_load); /* JSON's load is x100 (B4) */
    f[F_MEMORY] = text_of(a, real, true);
    f[F_FREE] = text_of(a, free_, has_free);
    f[F_ALLOC] = text_of(a, amem, true);
    f[F_WEIGHT] = text_of(a, weight, true);
}

static int add_json_node(nodes_state *s, json_object *n, bool data_parser, char *why, size_t why_len) {
    char *f[N_FIELDS];
    json_node_fields(s, n, data_parser, f);
    json_object *parts = data_parser ? NULL : jget(n, "partitions");
    size_t nparts = data_parser ? 1 : jlen(parts);
    int rc = 0;
    for (size_t i = 0; !rc && i < nparts; i++) {
        f[F_PARTITION] = (char *)jstr(data_parser ? jget(jget(n, "partition"), "name") : json_object_array_get_idx(parts, i));
        char *copy[N_FIELDS]; /* add_node_line may edit its fields in place: never json-c's strings */
        for (int k = 0; k < N_FIELDS; k++) copy[k] = arena_strdup(&s->scratch, f[k]);
        rc = add_node_line(s, copy, why, why_len);
    }
    arena_free(&s->scratch);
    return rc;
}

static int count_json_nodes(nodes_state *s, char *why, size_t why_len) {
    json_object *doc = json_doc_parse(&s->doc, why, why_len);
    if (!doc) return -1;
    json_object *errors = jget(doc, "errors"), *list = jget(doc, "nodes");
    bool data_parser = !list;
    if (data_parser) list = jget(doc, "sinfo");
    int rc = 0;
    if (jlen(errors)) {
        snprintf(why, why_len, "sinfo reported %zu errors in its JSON output", jlen(errors));
        rc = -1;
    } else if (!list || !json_object_is_type(list, json_type_array)) {
        snprintf(why, why_len, "JSON output has neither a \"nodes\" nor a \"sinfo\" array");
        rc = -1;
    }
    for (size_t i = 0; !rc && i < jlen(list); i++)
        rc = add_json_node(s, json_object_array_get_idx(list, i), data_parser, why, why_len);
    json_object_put(doc);
    return rc;
}

static const double MB = 1e6, MIB = 1048576.0;

/* The base state from the CPUs, for a long state word that names only a flag ("draining"). */
static unsigned base_from_cpus(const node *n) {
    if (n->cpus_total > 0 && n->cpus_alloc >= n->cpus_total) return 1u << NS_ALLOC;
    return 1u << (n->cpus_alloc > 0 ? NS_MIXED : NS_IDLE);
}

/* What a node's sinfo long state ("allocated", "down*", "draining", "idle~" …) says in Slurm's
 * terms: a bit per condition. Of several states joined with '&' the first counts. */
static unsigned node_conditions(const node *n) {
    static const struct {
        const char *word;
        int base, flag; /* base -1: from the CPUs; flag -1: none */
    } words[] = {
        {"allocated", NS_ALLOC, -1},
        {"mixed", NS_MIXED, -1},
        {"idle", NS_IDLE, -1},
        {"down", NS_DOWN, -1},
        {"future", NS_FUTURE, -1},
        {"unknown", NS_UNKNOWN, -1},
        {"drained", NS_IDLE, NS_DRAINED},
        {"draining", -1, NS_DRAINING},
        {"completing", -1, NS_COMPLETING},
        {"fail", NS_IDLE, NS_FAIL},
        {"failing", -1, NS_FAIL},
        {"inval", -1, NS_INVALID_REG},
        {"maint", -1, NS_MAINT},
        {"reserved", -1, NS_RESV},
        {"planned", NS_IDLE, NS_PLANNED},
        {"reboot_requested", -1, NS_REBOOT_REQ},
        {"reboot_issued", -1, NS_REBOOT_ISSUED},
        {"powered_down", NS_IDLE, NS_POWERED_DOWN},
        {"powering_up", -1, NS_POWERING_UP},
        {"powering_down", -1, NS_POWERING_DOWN},
        {"power_down", -1, NS_POWER_DOWN},
        {"power_up", -1, NS_POWER_UP},
    };
    static const char suffixes[] = "*~#%!@^$-";
    static const int suffix_flag[] = {NS_NORESP,     NS_POWERED_DOWN,  NS_POWERING_UP, NS_POWERING_DOWN, NS_POWER_DOWN,
                                      NS_REBOOT_REQ, NS_REBOOT_ISSUED, NS_MAINT,       NS_PLANNED};
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)strcspn(n->state, "&"), n->state);
    unsigned bits = 0;
    for (size_t len = strlen(word); len && strchr(suffixes, word[len - 1]); word[--len] = '\0')
        bits |= 1u << suffix_flag[strchr(suffixes, word[len - 1]) - suffixes];
    if (word[0] && word[strlen(word) - 1] == '+') word[strlen(word) - 1] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!strcmp(word, words[i].word)) {
            bits |= words[i].base >= 0 ? 1u << words[i].base : base_from_cpus(n);
            if (words[i].flag >= 0) bits |= 1u << words[i].flag;
            return bits;
        }
    return bits | base_from_cpus(n); /* a state word this table does not know: its CPUs still say alloc/mixed/idle */
}

/* Slurm's own node and partition families (its /metrics/nodes and /metrics/partitions). */
static void emit_native(family **f, const nodes_state *s) {
    size_t partitions = 0;
    for (size_t i = 0; i < s->n; i++) {
        const node *n = &s->nodes[i];
        double idle = n->cpus_total - n->cpus_alloc; /* Slurm counts a down node's CPUs as idle */
        size_t slot = FAM_SLOT(f[NN_CPUS], n->name);
        fam_add_at(f[NN_CPUS], slot, n->cpus_total);
        fam_add_at(f[NN_CPUS_ALLOC], slot, n->cpus_alloc);
        fam_add_at(f[NN_CPUS_IDLE], slot, idle);
        fam_add_at(f[NN_MEMORY], slot, n->real_mb * MIB);
        fam_add_at(f[NN_MEMORY_ALLOC], slot, n->alloc_mb * MIB);
        fam_add_at(f[NN_MEMORY_FREE], slot, n->free_mb * MIB);
        unsigned bits = node_conditions(n);
        fam_add(f[NC_NODES], 1, NULL);
        if (n->cpus_alloc > 0) fam_add(f[NC_JOBS_NODES_ALLOC], 1, NULL);
        for (int c = 0; c < NS_POWERING_DOWN; c++)
            if (bits & (1u << c)) fam_add(f[NC_CONDITION0 + c], 1, NULL);
        for (const partition_ref *p = n->partitions; p; p = p->next) {
            size_t before = f[NP_NODES]->n, ps = FAM_SLOT(f[NP_NODES], p->name);
            partitions += f[NP_NODES]->n > before;
            fam_add_at(f[NP_NODES], ps, 1);
            fam_add_at(f[NP_CPUS], ps, n->cpus_total);
            fam_add_at(f[NP_CPUS_ALLOC], ps, n->cpus_alloc);
            fam_add_at(f[NP_CPUS_IDLE], ps, idle);
            fam_add_at(f[NP_MEM_ALLOC], ps, n->alloc_mb);
            fam_add_at(f[NP_MEM_FREE], ps, n->free_mb);
            fam_add_at(f[NP_MEM_TOT], ps, n->real_mb);
            for (int c = 0; c < N_NODE_CONDITIONS; c++)
                if (bits & (1u << c)) fam_add_at(f[NP_CONDITION0 + c], ps, 1);
        }
    }
    fam_set(f[NP_PARTITIONS], (double)partitions, NULL);
}

static int nodes_end(void *state, sample_set *out, char *why, size_t why_len) {
    nodes_state *s = state;
    if (s->doc.active && count_json_nodes(s, why, why_len) < 0) return -1;
    family *f[N_NODES_FAMILIES];
    ss_declare(out, nodes_families, f);
    for (size_t i = N_PARTITION_FAMILIES; i < N_NODES_FAMILIES; i++)
        if (!f[i]->nlabels) fam_set(f[i], 0, NULL); /* cluster totals: always present */

    for (size_t i = 0; i < s->n; i++) {
        const node *n = &s->nodes[i];
        for (const partition_ref *p = n->partitions; p; p = p->next) {
            FAM_ADD(f[P_CPUS], n->cpus_total, p->name);
            FAM_ADD(f[P_REAL], n->real_mb * MB, p->name);
            FAM_ADD(f[P_FREE], n->free_mb * MB, p->name);
            FAM_ADD(f[P_ALLOC_MEM], n->alloc_mb * MB, p->name, n->state);
            FAM_ADD(f[P_ALLOC_CPUS], n->cpus_alloc, p->name, n->state);
            FAM_ADD(f[P_NODES], 1, p->name, n->state);
            FAM_ADD(f[P_IDLE], n->cpus_idle, p->name);
            FAM_ADD(f[P_WEIGHT], n->weight, p->name);
            FAM_ADD(f[P_LOAD], n->load, p->name);
            FAM_ADD(f[P_REAL_BYTES], n->real_mb * MIB, p->name);
            FAM_ADD(f[P_FREE_BYTES], n->free_mb * MIB, p->name);
            FAM_ADD(f[P_ALLOC_BYTES], n->alloc_mb * MIB, p->name);
        }
        fam_add(f[C_TOTAL], n->cpus_total, NULL);
        fam_add(f[C_IDLE], n->cpus_idle, NULL);
        fam_add(f[C_ALLOC], n->cpus_alloc, NULL);
        fam_add(f[C_LOAD], n->load, NULL);
        FAM_ADD(f[C_STATE], n->cpus_total, n->state);
        FAM_ADD(f[N_STATE], 1, n->state);
        fam_add(f[M_REAL], n->real_mb * MB, NULL);
        fam_add(f[M_FREE], n->free_mb * MB, NULL);
        fam_add(f[M_ALLOC], n->alloc_mb * MB, NULL);
        fam_add(f[M_REAL_BYTES], n->real_mb * MIB, NULL);
        fam_add(f[M_FREE_BYTES], n->free_mb * MIB, NULL);
        fam_add(f[M_ALLOC_BYTES], n->alloc_mb * MIB, NULL);
    }
    emit_native(f, s);
    return 0;
}

static void nodes_release(void *state) {
    nodes_state *s = state;
    htab_free(&s->by_name);
    free(s->nodes);
    arena_free(&s->scratch);
    json_doc_free(&s->doc);
}

const collector_def nodes_collector = {
    .name = "nodes",
    .summary = "CPUs, memory and node counts per partition, state and cluster (sinfo -N)",
    .enabled_by_default = true,
    .command = "sinfo -h -N -O NodeList:|,Partition:|,StateLong:|,CPUsState:|,CPUsLoad:|,Memory:|,FreeMem:|,AllocMem:|,Weight:",
    .command_alias = "slurm.sinfo-cli",
    .fixture = "sinfo",
    .families = nodes_families,
    .slurm_names_from = NATIVE_FIRST,
    .error_metric = "slurm_node_scrape_error",
    .error_help = "slurm node info scrape errors",
    .duration_metric = "slurm_node_scrape_duration",
    .json_command = "sinfo -N --json",
    .state_size = sizeof(nodes_state),
    .begin = nodes_begin,
    .parse_line = nodes_line,
    .end = nodes_end,
    .release = nodes_release,
};
