/* node_detail.c — the node-detail collector: `scontrol show nodes -o`, one line per node of
 * KEY=VALUE words, for what sinfo's aggregates hide: each node's base state and flags
 * (State=IDLE+DRAIN+NOT_RESPONDING), the reason a node is down or drained and who set it when,
 * its CPU load, partitions and features. Values may hold spaces (OS=Linux 6.1 #1 SMP …); Reason=
 * comes last and takes the rest of the line, so it is cut off before the words are read. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../collector.h"

enum { ND_STATE, ND_FLAG, ND_REASON, ND_REASON_TIME, ND_LOAD, ND_PARTITION, ND_FEATURES, N_ND };

static const family_def node_detail_families[] = {
    [ND_STATE] = {.name = "slurm_node_state",
                  .type = METRIC_GAUGE,
                  .labels = LABELS("node", "state"),
                  .help = "1 per node, its base state in lower case (idle, allocated, mixed, down, future, unknown, error)",
                  .doc = "1; the base state of `State=BASE+FLAG…`, lower case"},
    [ND_FLAG] = {.name = "slurm_node_state_flag",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("node", "flag"),
                 .help = "1 per flag a node carries (drain, not_responding, maint, reserved, power_down …)",
                 .doc = "1 per flag after the base state, lower case; sinfo's `draining`/`drained` are a base state + `drain`"},
    [ND_REASON] = {.name = "slurm_node_reason_info",
                   .type = METRIC_GAUGE,
                   .labels = LABELS("node", "reason", "user"),
                   .help = "1 while a node has a reason (down, drained), with who set it",
                   .doc = "1; `Reason=TEXT [USER@TIME]`"},
    [ND_REASON_TIME] = {.name = "slurm_node_reason_timestamp_seconds",
                        .type = METRIC_GAUGE,
                        .labels = LABELS("node"),
                        .help = "When the node's reason was set, unix seconds"},
    [ND_LOAD] = {.name = "slurm_node_cpu_load",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("node"),
                 .help = "CPU load of the node (CPULoad, not x100)"},
    [ND_PARTITION] = {.name = "slurm_node_partition_info",
                      .type = METRIC_GAUGE,
                      .labels = LABELS("node", "partition"),
                      .help = "1 per partition the node is in"},
    [ND_FEATURES] = {.name = "slurm_node_features_info",
                     .type = METRIC_GAUGE,
                     .labels = LABELS("node", "active", "available"),
                     .help = "1; the node's active and available features as Slurm prints them"},
    [N_ND] = {0},
};

/* The flags Slurm 22.05 to 26.05 print after the base state; another is kept too, and logged once. */
static const char *const known_flags[] = {
    "blocked",        "cloud",        "completing",    "drain",
    "dynamic_future", "dynamic_norm", "external",      "fail",
    "invalid_reg",    "maint",        "maintenance",   "not_responding",
    "planned",        "power_down",   "power_up",      "powered_down",
    "powering_down",  "powering_up",  "reboot_issued", "reboot_requested",
    "reserved",       "resume",       "undrain",       NULL,
};

static bool known_flag(const char *flag) {
    for (const char *const *k = known_flags; *k; k++)
        if (!strcmp(*k, flag)) return true;
    return false;
}

typedef struct {
    family *fam[N_ND];
    const collect_env *env;
} node_detail_state;

static void node_detail_begin(void *state, sample_set *out, const collect_env *env) {
    node_detail_state *s = state;
    s->env = env;
    ss_declare(out, node_detail_families, s->fam);
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* "testlab: no slurmd for c4 [root@2026-12-03T16:44:36]" -> reason, user, time. */
static void reason_parts(char *reason, const char **user, double *when, bool *has_when) {
    *user = "";
    *has_when = false;
    size_t n = strlen(reason);
    char *open = n && reason[n - 1] == ']' ? strrchr(reason, '[') : NULL;
    if (!open) return;
    reason[n - 1] = '\0';
    char *at = strchr(open + 1, '@');
    if (at) {
        *at = '\0';
        *has_when = parse_slurm_time(at + 1, when);
    }
    *user = open + 1;
    while (open > reason && open[-1] == ' ') open--;
    *open = '\0';
}

static int node_detail_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    node_detail_state *s = state;
    if (!len || !strncmp(line, "No nodes in the system", 22)) return 0;
    char *reason = strstr(line, " Reason=");
    if (reason) *reason = '\0', reason += 8; /* the rest of the line, spaces and all */
    char node[256], st[256], load[32], parts[1024], active[1024], available[1024];
    kv_text(line, "NodeName", node, sizeof node);
    kv_text(line, "State", st, sizeof st);
    if (!*node || !*st) {
        snprintf(why, why_len, "no NodeName= or State=");
        return -1;
    }
    lower(st);
    char *flag = strchr(st, '+');
    if (flag) *flag++ = '\0';
    FAM_SET(s->fam[ND_STATE], 1, node, st);
    for (char *f = flag; f && *f;) {
        char *next = strchr(f, '+');
        if (next) *next++ = '\0';
        if (*f) FAM_SET(s->fam[ND_FLAG], 1, node, f);
        if (*f && !known_flag(f) && s->env->note_once)
            s->env->note_once(s->env->note_ctx, "node state flag unknown to slurmpush: kept as printed", f);
        f = next;
    }
    kv_text(line, "CPULoad", load, sizeof load);
    double v;
    int missing = 0;
    if (*load && (parse_number_or_na(load, &v, &missing) < 0)) {
        snprintf(why, why_len, "CPULoad=\"%.20s\" is not a number", load);
        return -1;
    }
    if (*load && !missing) FAM_SET(s->fam[ND_LOAD], v, node);
    kv_text(line, "Partitions", parts, sizeof parts);
    for (char *p = parts; *p;) {
        size_t n = strcspn(p, ",");
        char one[256];
        snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
        if (*one) FAM_SET(s->fam[ND_PARTITION], 1, node, one);
        p += n + (p[n] == ',');
    }
    kv_text(line, "ActiveFeatures", active, sizeof active);
    kv_text(line, "AvailableFeatures", available, sizeof available);
    FAM_SET(s->fam[ND_FEATURES], 1, node, active, available);
    if (reason && *reason && strcmp(reason, "(null)")) {
        const char *user;
        double when = 0;
        bool has_when;
        reason_parts(reason, &user, &when, &has_when);
        FAM_SET(s->fam[ND_REASON], 1, node, reason, user);
        if (has_when) FAM_SET(s->fam[ND_REASON_TIME], when, node);
    }
    return 0;
}

const collector_def node_detail_collector = {
    .name = "node-detail",
    .summary = "per node: base state, flags, reason, load, partitions, features (scontrol show nodes -o)",
    .enabled_by_default = true,
    .command = "scontrol show nodes -o",
    .fixture = "nodes-detail",
    .families = node_detail_families,
    .error_metric = "slurmpush_node_detail_scrape_error",
    .error_help = "failed runs of the node-detail collector",
    .state_size = sizeof(node_detail_state),
    .begin = node_detail_begin,
    .parse_line = node_detail_line,
};
