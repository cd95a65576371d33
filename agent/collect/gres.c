/* gres.c — the gres collector: `sinfo -h -N -O NodeList:|,Partition:|,Gres:|,GresUsed:`, one line per
 * node and partition, as GRES configured and allocated per node and per partition, by name and type
 * (`gpu:a100:2(S:0-1)` is gpu, a100, 2; `gpu:2` is gpu, "", 2). Lists are comma-separated, with
 * commas inside parentheses (`(IDX:0-1,3)`) that do not separate; `(null)` is none; a count may carry
 * a K/M/G/T suffix (×1024 each, as Slurm). A node in several partitions counts once per node and
 * once in each partition. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"

enum { F_NODE, F_PARTITION, F_GRES, F_USED, N_FIELDS };
enum { G_NODE, G_NODE_ALLOC, G_PARTITION, G_PARTITION_ALLOC, N_GRES };

static const family_def gres_families[] = {
    [G_NODE] = {.name = "slurm_node_gres",
                .type = METRIC_GAUGE,
                .labels = LABELS("node", "gres", "type"),
                .help = "GRES configured on the node, by name and type (type \"\" when untyped)"},
    [G_NODE_ALLOC] = {.name = "slurm_node_gres_alloc",
                      .type = METRIC_GAUGE,
                      .labels = LABELS("node", "gres", "type"),
                      .help = "GRES of the node allocated to jobs, by name and type"},
    [G_PARTITION] = {.name = "slurm_partition_gres",
                     .type = METRIC_GAUGE,
                     .labels = LABELS("partition", "gres", "type"),
                     .help = "GRES configured on the partition's nodes, by name and type"},
    [G_PARTITION_ALLOC] = {.name = "slurm_partition_gres_alloc",
                           .type = METRIC_GAUGE,
                           .labels = LABELS("partition", "gres", "type"),
                           .help = "GRES of the partition's nodes allocated to jobs"},
    [N_GRES] = {0},
};

typedef struct {
    family *fam[N_GRES];
    htab nodes_seen;
    arena *mem;
} gres_state;

static void gres_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    gres_state *s = state;
    ss_declare(out, gres_families, s->fam);
    s->mem = &out->mem;
}

/* "2", "1K" (×1024) … ; -1 when not a count. */
static int gres_count(const char *text, size_t len, double *out) {
    char digits[32];
    if (!len || len >= sizeof digits) return -1;
    memcpy(digits, text, len);
    digits[len] = '\0';
    double scale = 1;
    const char *suffixes = "KMGT";
    const char *suf = strchr(suffixes, toupper((unsigned char)digits[len - 1]));
    if (suf && len > 1) {
        for (const char *p = suffixes; p <= suf; p++) scale *= 1024;
        digits[len - 1] = '\0';
    }
    long long v;
    if (parse_int(digits, &v) < 0 || v < 0) return -1;
    *out = (double)v * scale;
    return 0;
}

typedef void (*gres_fn)(gres_state *s, const char *gres, const char *type, double count, const char *node, const char *partition,
                        bool alloc, bool first_time);

/* Walks a GRES list, calling fn for each entry; -1 (with why) on an entry that is not NAME[:TYPE]:COUNT[(…)]. */
static int each_gres(gres_state *s, const char *list, const char *node, const char *partition, bool alloc, bool first, gres_fn fn,
                     char *why, size_t why_len) {
    if (!*list || !strcmp(list, "(null)") || !strcmp(list, "N/A")) return 0;
    for (const char *p = list; *p;) {
        /* one entry: up to a comma outside parentheses */
        size_t n = 0;
        int depth = 0;
        while (p[n] && (depth || p[n] != ',')) {
            depth += p[n] == '(' ? 1 : p[n] == ')' ? -1 : 0;
            n++;
        }
        size_t body = strcspn(p, "(");
        if (body > n) body = n;
        char entry[256];
        snprintf(entry, sizeof entry, "%.*s", (int)(body < sizeof entry ? body : sizeof entry - 1), p);
        char *last = strrchr(entry, ':'), *first_colon = strchr(entry, ':');
        double count;
        if (!last || last == entry || gres_count(last + 1, strlen(last + 1), &count) < 0) {
            snprintf(why, why_len, "GRES \"%.60s\" is not NAME[:TYPE]:COUNT", entry);
            return -1;
        }
        *last = '\0';
        const char *type = "";
        if (first_colon != last) {
            *first_colon = '\0';
            type = first_colon + 1;
        }
        fn(s, entry, type, count, node, partition, alloc, first);
        p += n + (p[n] == ',');
    }
    return 0;
}

static void add_gres(gres_state *s, const char *gres, const char *type, double count, const char *node, const char *partition,
                     bool alloc, bool first_time) {
    if (first_time) FAM_ADD(s->fam[alloc ? G_NODE_ALLOC : G_NODE], count, node, gres, type);
    FAM_ADD(s->fam[alloc ? G_PARTITION_ALLOC : G_PARTITION], count, partition, gres, type);
}

static int gres_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    gres_state *s = state;
    if (!len) return 0;
    char *f[N_FIELDS];
    if (split_fields(line, f, N_FIELDS) != N_FIELDS || !*f[F_NODE]) {
        snprintf(why, why_len, "expected %d '|'-separated fields", N_FIELDS);
        return -1;
    }
    size_t plen = strlen(f[F_PARTITION]);
    if (plen && f[F_PARTITION][plen - 1] == '*') f[F_PARTITION][plen - 1] = '\0'; /* the default partition's mark */
    size_t nlen = strlen(f[F_NODE]);
    bool first = htab_find(&s->nodes_seen, f[F_NODE], nlen) < 0;
    if (first) htab_insert(&s->nodes_seen, arena_strndup(s->mem, f[F_NODE], nlen), nlen);
    if (each_gres(s, f[F_GRES], f[F_NODE], f[F_PARTITION], false, first, add_gres, why, why_len) ||
        each_gres(s, f[F_USED], f[F_NODE], f[F_PARTITION], true, first, add_gres, why, why_len))
        return -1;
    return 0;
}

static void gres_release(void *state) { htab_free(&((gres_state *)state)->nodes_seen); }

const collector_def gres_collector = {
    .name = "gres",
    .summary = "GRES (GPUs …) configured and allocated per node and partition, by type (sinfo -N Gres, GresUsed)",
    .enabled_by_default = true,
    .command = "sinfo -h -N -O NodeList:|,Partition:|,Gres:|,GresUsed:",
    .fixture = "gres",
    .families = gres_families,
    .error_metric = "slurmpush_gres_scrape_error",
    .error_help = "failed runs of the gres collector",
    .state_size = sizeof(gres_state),
    .begin = gres_begin,
    .parse_line = gres_line,
    .release = gres_release,
};
