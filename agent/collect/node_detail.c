/* node_detail.c — the node-detail collector: `scontrol show nodes -o`, one line per node of
 * KEY=VALUE words, for what sinfo's aggregates hide: each node's base state and flags
 * (State=IDLE+DRAIN+NOT_RESPONDING), the reason a node is down or drained and who set it when,
 * its CPU load, partitions and features. Values may hold spaces (OS=Linux 6.1 #1 SMP …); Reason=
 * comes last and takes the rest of the line, so it is cut off before the words are read. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "../tally.h"

enum {
    ND_STATE,
    ND_FLAG,
    ND_REASON,
    ND_REASON_TIME,
    ND_LOAD,
    ND_PARTITION,
    ND_FEATURES,
    ND_TRANSITIONS,
    ND_FLAG_SET,
    ND_UNAVAILABLE,
    ND_UNAVAILABLE_SINCE,
    N_ND
};

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
    [ND_TRANSITIONS] = {.name = "slurm_node_state_transitions_total",
                        .type = METRIC_COUNTER,
                        .labels = LABELS("from", "to"),
                        .help = "Node base-state changes seen between successive runs",
                        .doc = "a node whose base state differs from the last successful run's (`idle`→`down` …); "
                               "`drain` is a flag, not a state: idle → drained → idle is no transition"},
    [ND_FLAG_SET] = {.name = "slurm_node_flag_set_total",
                     .type = METRIC_COUNTER,
                     .labels = LABELS("flag"),
                     .help = "Times a flag appeared on a node between successive runs (drain, not_responding, fail …)"},
    [ND_UNAVAILABLE] =
        {.name = "slurm_node_unavailable_seconds",
         .type = METRIC_HISTOGRAM,
         .labels = LABELS("partition"),
         .help = "How long nodes stayed unavailable (down, fail, drain, not responding), observed when available again",
         .doc = "observed once per partition of the node when it is available again; buckets "
                "`--collector.node-detail.unavailable-buckets`"},
    [ND_UNAVAILABLE_SINCE] = {.name = "slurm_node_unavailable_since_timestamp_seconds",
                              .type = METRIC_GAUGE,
                              .labels = LABELS("node"),
                              .help =
                                  "While a node is unavailable: since when (first seen so, or Slurm's reason time when earlier)"},
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
    char *unavailable_buckets;
} node_detail_settings;

#define DEFAULT_UNAVAILABLE_BUCKETS "60,300,900,1800,3600,7200,14400,28800,86400,172800,604800"
enum { MAX_BUCKETS = 32 };

static const collector_option node_detail_options[] = {
    {.name = "collector.node-detail.unavailable-buckets",
     .type = OPT_STRING,
     .def = DEFAULT_UNAVAILABLE_BUCKETS,
     .offset = offsetof(node_detail_settings, unavailable_buckets),
     .help = "Upper bounds (seconds, ascending, comma-separated) of slurm_node_unavailable_seconds' buckets."},
    {0},
};

static int node_detail_validate(const void *settings, char *err, size_t err_len) {
    double bounds[MAX_BUCKETS];
    const node_detail_settings *s = settings;
    return parse_bounds(s->unavailable_buckets, bounds, MAX_BUCKETS, err, err_len) < 0 ? -1 : 0;
}

/* One node as a run saw it: what the next run compares with. */
typedef struct {
    const char *node, *state;
    const char *flags;      /* "+drain+not_responding+": each flag between '+' */
    const char *partitions; /* "debug,long" */
    double since;           /* unavailable since (unix seconds); 0: available */
    double reason_time;     /* Slurm's reason time, 0 when none */
} node_seen;

/* Every node of one run, by name. */
typedef struct {
    arena mem;
    htab index;
    node_seen *nodes;
    size_t n, cap;
} node_snapshot;

static void snapshot_free(node_snapshot *s) {
    free(s->nodes);
    htab_free(&s->index);
    arena_free(&s->mem);
    *s = (node_snapshot){0};
}

static node_seen *snapshot_find(const node_snapshot *s, const char *node) {
    long at = htab_find(&s->index, node, strlen(node));
    return at < 0 ? NULL : &s->nodes[at];
}

/* Adds a node (a name listed twice: the last line wins). */
static node_seen *snapshot_put(node_snapshot *s, const char *node) {
    node_seen *seen = snapshot_find(s, node);
    if (seen) return seen;
    char *name = arena_strdup(&s->mem, node);
    htab_insert(&s->index, name, strlen(name));
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->nodes = xrealloc(s->nodes, s->cap * sizeof *s->nodes);
    }
    s->nodes[s->n] = (node_seen){.node = name, .state = "", .flags = "+", .partitions = ""};
    return &s->nodes[s->n++];
}

/* What node-detail remembers across runs: the last successful run's nodes, and the counters and
 * histogram made from what changed between runs. */
typedef struct {
    bool baseline; /* a successful run has been seen (or restored): the next one has edges */
    node_snapshot last;
    tally transitions, flags_set, unavailable;
    double bounds[MAX_BUCKETS];
    size_t nbounds;
} node_detail_memory;

typedef struct {
    family *fam[N_ND];
    collect_env env;   /* a copy: what begin() was lent */
    node_snapshot now; /* this run's nodes */
} node_detail_state;

static void memory_init(node_detail_memory *m, const double *bounds, size_t nbounds) {
    memcpy(m->bounds, bounds, nbounds * sizeof *bounds);
    m->nbounds = nbounds;
    tally_init(&m->transitions, 2, NULL, 0);
    tally_init(&m->flags_set, 1, NULL, 0);
    tally_init(&m->unavailable, 1, m->bounds, m->nbounds);
}

/* The memory's histogram bounds are the configured ones (a change starts the histogram again). */
static void memory_bounds(node_detail_memory *m, const node_detail_settings *settings) {
    double bounds[MAX_BUCKETS];
    size_t n = bounds_or(settings ? settings->unavailable_buckets : NULL, DEFAULT_UNAVAILABLE_BUCKETS, bounds, MAX_BUCKETS);
    if (m->nbounds == n && !memcmp(m->bounds, bounds, n * sizeof *bounds)) return;
    tally_free(&m->unavailable);
    memcpy(m->bounds, bounds, n * sizeof *bounds);
    m->nbounds = n;
    tally_init(&m->unavailable, 1, m->bounds, m->nbounds);
    if (!m->transitions.nlabels) tally_init(&m->transitions, 2, NULL, 0), tally_init(&m->flags_set, 1, NULL, 0);
}

static void node_detail_begin(void *state, sample_set *out, const collect_env *env) {
    node_detail_state *s = state;
    s->env = *env;
    if (env->memory) memory_bounds(env->memory, env->settings);
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
    node_seen *seen = s->env.memory ? snapshot_put(&s->now, node) : NULL;
    if (seen) {
        seen->state = arena_strdup(&s->now.mem, st);
        buf flags = {0};
        buf_puts(&flags, "+");
        for (const char *f = flag; f && *f; f++) buf_append(&flags, f, 1);
        if (flag && *flag) buf_puts(&flags, "+");
        seen->flags = arena_strdup(&s->now.mem, flags.data);
        buf_free(&flags);
    }
    for (char *f = flag; f && *f;) {
        char *next = strchr(f, '+');
        if (next) *next++ = '\0';
        if (*f) FAM_SET(s->fam[ND_FLAG], 1, node, f);
        if (*f && !known_flag(f) && s->env.note_once)
            s->env.note_once(s->env.note_ctx, "node state flag unknown to slurmpush: kept as printed", f);
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
    if (seen) seen->partitions = arena_strdup(&s->now.mem, parts);
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
        if (seen && has_when) seen->reason_time = when;
    }
    return 0;
}

static bool has_flag(const char *flags, const char *flag) {
    char probe[80];
    snprintf(probe, sizeof probe, "+%.64s+", flag);
    return strstr(flags, probe) != NULL;
}

/* Jobs cannot run there: base state down or fail, or the flags drain, fail or not_responding. */
static bool unavailable(const node_seen *n) {
    return !strcmp(n->state, "down") || !strcmp(n->state, "fail") || has_flag(n->flags, "drain") || has_flag(n->flags, "fail") ||
           has_flag(n->flags, "not_responding");
}

/* The flags n carries that was lacked, counted. */
static void count_new_flags(node_detail_memory *m, const node_seen *was, const node_seen *n) {
    for (const char *f = n->flags + 1; *f;) {
        size_t len = strcspn(f, "+");
        char flag[64];
        snprintf(flag, sizeof flag, "%.*s", (int)(len < sizeof flag ? len : sizeof flag - 1), f);
        if (*flag && !has_flag(was->flags, flag)) tally_add(&m->flags_set, (const char *const[]){flag}, 1);
        f += len + (f[len] == '+');
    }
}

/* A node available again: how long it was not, once per partition it is in. */
static void observe_unavailable(node_detail_memory *m, const node_seen *was, double seconds) {
    const char *p = was->partitions;
    if (!*p) tally_observe(&m->unavailable, (const char *const[]){""}, seconds);
    while (*p) {
        size_t len = strcspn(p, ",");
        char one[256];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), p);
        if (*one) tally_observe(&m->unavailable, (const char *const[]){one}, seconds);
        p += len + (p[len] == ',');
    }
}

/* This run against the last success: edges into the memory's counters, then this run becomes the last. */
static void node_detail_edges(node_detail_state *s, double now) {
    node_detail_memory *m = s->env.memory;
    for (size_t i = 0; i < s->now.n; i++) {
        node_seen *n = &s->now.nodes[i];
        const node_seen *was = m->baseline ? snapshot_find(&m->last, n->node) : NULL;
        bool down = unavailable(n);
        if (was) {
            if (strcmp(was->state, n->state)) tally_add(&m->transitions, (const char *const[]){was->state, n->state}, 1);
            count_new_flags(m, was, n);
            if (was->since && !down) observe_unavailable(m, was, now - was->since);
        }
        if (down) {
            n->since = was && was->since ? was->since : now;
            if (n->reason_time && n->reason_time < n->since) n->since = n->reason_time;
            FAM_SET(s->fam[ND_UNAVAILABLE_SINCE], n->since, n->node);
        }
    }
    node_snapshot old = m->last; /* this run is the last success now; the old one is freed with the run */
    m->last = s->now;
    s->now = old;
    m->baseline = true;
    tally_emit(&m->transitions, s->fam[ND_TRANSITIONS]);
    tally_emit(&m->flags_set, s->fam[ND_FLAG_SET]);
    tally_emit(&m->unavailable, s->fam[ND_UNAVAILABLE]);
}

static int node_detail_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)why, (void)why_len;
    node_detail_state *s = state;
    if (s->env.memory) node_detail_edges(s, (double)out->timestamp_ms / 1000.0);
    return 0;
}

static void node_detail_release(void *state) { snapshot_free(&((node_detail_state *)state)->now); }

static void node_detail_memory_release(void *memory) {
    node_detail_memory *m = memory;
    snapshot_free(&m->last);
    tally_free(&m->transitions);
    tally_free(&m->flags_set);
    tally_free(&m->unavailable);
}

static json_object *nodes_json(const node_snapshot *snap) {
    json_object *nodes = json_object_new_array();
    for (size_t i = 0; i < snap->n; i++) {
        const node_seen *n = &snap->nodes[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(n->node));
        json_object_object_add(o, "state", json_object_new_string(n->state));
        json_object_object_add(o, "flags", json_object_new_string(n->flags));
        json_object_object_add(o, "partitions", json_object_new_string(n->partitions));
        json_object_object_add(o, "since", json_object_new_double(n->since));
        json_object_array_add(nodes, o);
    }
    return nodes;
}

static void node_detail_save(const void *memory, json_object *out) {
    const node_detail_memory *m = memory;
    json_object_object_add(out, "baseline", json_object_new_boolean(m->baseline));
    json_object_object_add(out, "nodes", nodes_json(&m->last));
    json_object_object_add(out, "transitions", tally_save(&m->transitions));
    json_object_object_add(out, "flags_set", tally_save(&m->flags_set));
    json_object_object_add(out, "unavailable", tally_save(&m->unavailable));
}

static const char *text_in(json_object *o, const char *key) {
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int load_nodes(node_detail_memory *m, json_object *nodes) {
    if (!json_object_is_type(nodes, json_type_array)) return -1;
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        json_object *o = json_object_array_get_idx(nodes, i), *since;
        const char *node = text_in(o, "node"), *st = text_in(o, "state"), *flags = text_in(o, "flags"),
                   *parts = text_in(o, "partitions");
        if (!node || !st || !flags || !parts || *flags != '+' || !json_object_object_get_ex(o, "since", &since)) return -1;
        node_seen *n = snapshot_put(&m->last, node);
        n->state = arena_strdup(&m->last.mem, st);
        n->flags = arena_strdup(&m->last.mem, flags);
        n->partitions = arena_strdup(&m->last.mem, parts);
        n->since = json_object_get_double(since);
    }
    return 0;
}

/* The saved histogram is kept only with the bounds it was made with (memory_bounds then checks them
 * against the configured ones). */
static int load_bounds(node_detail_memory *m, json_object *hist) {
    json_object *bounds;
    if (!json_object_object_get_ex(hist, "bounds", &bounds) || !json_object_is_type(bounds, json_type_array) ||
        json_object_array_length(bounds) > MAX_BUCKETS)
        return -1;
    double b[MAX_BUCKETS];
    size_t n = json_object_array_length(bounds);
    for (size_t i = 0; i < n; i++) b[i] = json_object_get_double(json_object_array_get_idx(bounds, i));
    memory_init(m, b, n);
    return 0;
}

static int node_detail_load(void *memory, json_object *in) {
    node_detail_memory *m = memory;
    json_object *baseline, *nodes, *transitions, *flags_set, *hist;
    if (!json_object_object_get_ex(in, "baseline", &baseline) || !json_object_object_get_ex(in, "nodes", &nodes) ||
        !json_object_object_get_ex(in, "transitions", &transitions) || !json_object_object_get_ex(in, "flags_set", &flags_set) ||
        !json_object_object_get_ex(in, "unavailable", &hist) || load_bounds(m, hist) < 0)
        return -1;
    m->baseline = json_object_get_boolean(baseline);
    if (load_nodes(m, nodes) < 0 || tally_load(&m->transitions, transitions) < 0 || tally_load(&m->flags_set, flags_set) < 0 ||
        tally_load(&m->unavailable, hist) < 0)
        return -1;
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
    .options = node_detail_options,
    .settings_size = sizeof(node_detail_settings),
    .validate = node_detail_validate,
    .state_size = sizeof(node_detail_state),
    .begin = node_detail_begin,
    .parse_line = node_detail_line,
    .end = node_detail_end,
    .release = node_detail_release,
    .memory_size = sizeof(node_detail_memory),
    .memory_save = node_detail_save,
    .memory_load = node_detail_load,
    .memory_release = node_detail_memory_release,
};
