/* reservations.c — the reservations collector: `scontrol show reservation -o`, one line per
 * reservation of space-separated KEY=VALUE words ("ReservationName=maint StartTime=… Nodes=c[1-4]
 * NodeCnt=4 CoreCnt=8 … State=ACTIVE"). Times are in the form the runner pins
 * (SLURM_TIME_FORMAT=standard) and in this process's timezone, as scontrol printed them.
 * "(null)" is Slurm's empty: an empty label. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "../hostlist.h"

enum { R_INFO, R_START, R_END, R_NODES, R_CORES, R_NODE, R_NODES_STATE, N_RESV };

static const family_def reservations_families[] = {
    [R_INFO] = {.name = "slurm_reservation_info",
                .type = METRIC_GAUGE,
                .labels = LABELS("reservation", "state", "partition", "flags", "users", "accounts"),
                .help = "1 per reservation, its state, partition, flags, users and accounts as scontrol prints them",
                .doc = "1 per reservation; `(null)` is an empty label"},
    [R_START] = {.name = "slurm_reservation_start_time_seconds",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("reservation"),
                 .help = "When the reservation starts, unix seconds"},
    [R_END] = {.name = "slurm_reservation_end_time_seconds",
               .type = METRIC_GAUGE,
               .labels = LABELS("reservation"),
               .help = "When the reservation ends, unix seconds"},
    [R_NODES] = {.name = "slurm_reservation_nodes",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("reservation"),
                 .help = "Nodes of the reservation (NodeCnt)"},
    [R_CORES] = {.name = "slurm_reservation_cores",
                 .type = METRIC_GAUGE,
                 .labels = LABELS("reservation"),
                 .help = "Cores of the reservation (CoreCnt)"},
    [R_NODE] = {.name = "slurm_reservation_node_info",
                .type = METRIC_GAUGE,
                .labels = LABELS("reservation", "node"),
                .help = "1 per node of the reservation (Nodes= expanded)",
                .doc = "1 per node (the host list expanded)"},
    [R_NODES_STATE] = {.name = "slurm_reservation_nodes_state",
                       .type = METRIC_GAUGE,
                       .labels = LABELS("reservation", "state"),
                       .help = "Nodes of the reservation by base state (from the node-detail collector's latest run)",
                       .doc = "the reservation's nodes counted by `slurm_node_state`'s base state; needs the node-detail "
                              "collector (on by default): its run of the same cycle, or its latest"},
    [N_RESV] = {0},
};

enum { MAX_NODES_PER_RESERVATION = 100000 };

typedef struct {
    family *f;
    const char *reservation;
} node_ctx;

static void add_node(const char *node, void *ctx) {
    node_ctx *c = ctx;
    FAM_SET(c->f, 1, c->reservation, node);
}

typedef struct {
    family *fam[N_RESV];
} reservations_state;

static void reservations_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    ss_declare(out, reservations_families, ((reservations_state *)state)->fam);
}

/* KEY's time (unix seconds); false when Slurm printed none. */
static bool timestamp(const char *line, const char *key, double *out) {
    char text[64];
    kv_text(line, key, text, sizeof text);
    return parse_slurm_time(text, out);
}

static int reservations_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    reservations_state *s = state;
    if (!len || !strcmp(line, "No reservations in the system")) return 0;
    char name[256], st[64], partition[256], flags[512], users[1024], accounts[1024];
    kv_text(line, "ReservationName", name, sizeof name);
    if (!*name) {
        snprintf(why, why_len, "no ReservationName=");
        return -1;
    }
    kv_text(line, "State", st, sizeof st);
    kv_text(line, "PartitionName", partition, sizeof partition);
    kv_text(line, "Flags", flags, sizeof flags);
    kv_text(line, "Users", users, sizeof users);
    kv_text(line, "Accounts", accounts, sizeof accounts);
    FAM_SET(s->fam[R_INFO], 1, name, st, partition, flags, users, accounts);
    double v;
    if (timestamp(line, "StartTime", &v)) FAM_SET(s->fam[R_START], v, name);
    if (timestamp(line, "EndTime", &v)) FAM_SET(s->fam[R_END], v, name);
    int rc;
    if ((rc = kv_count(line, "NodeCnt", &v, why, why_len)) < 0) return -1;
    if (rc == 0) FAM_SET(s->fam[R_NODES], v, name);
    if ((rc = kv_count(line, "CoreCnt", &v, why, why_len)) < 0) return -1;
    if (rc == 0) FAM_SET(s->fam[R_CORES], v, name);
    size_t nlen = 0;
    const char *nodes_at = kv_value(line, "Nodes", &nlen);
    if (!nodes_at || !nlen || (nlen == 6 && !strncmp(nodes_at, "(null)", 6))) return 0;
    char *nodes = xmalloc(nlen + 1), list_why[96];
    memcpy(nodes, nodes_at, nlen);
    nodes[nlen] = '\0';
    node_ctx c = {s->fam[R_NODE], name};
    long n = hostlist_expand(nodes, MAX_NODES_PER_RESERVATION, add_node, &c, list_why, sizeof list_why);
    if (n < 0) snprintf(why, why_len, "Nodes=\"%.40s\": %s", nodes, list_why);
    free(nodes);
    return n < 0 ? -1 : 0;
}

/* node's series in node-detail's slurm_node_state (sorted by node, then state: one per node), or NULL. */
static const series *node_state_of(const family *states, const char *node) {
    size_t lo = 0, hi = states->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(states->items[mid].values[0], node);
        if (!c) return &states->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* slurm_reservation_nodes_state: each node of each reservation counted under its base state.
 * A node that node-detail did not list (it left the cluster meanwhile) is counted nowhere. */
static void reservations_join(const sample_set *node_detail, sample_set *out) {
    const family *states = ss_find(node_detail, "slurm_node_state");
    family *members = ss_find(out, reservations_families[R_NODE].name);
    family *by_state = ss_find(out, reservations_families[R_NODES_STATE].name);
    if (!states || !members || !by_state) return;
    for (size_t i = 0; i < members->n; i++) {
        const series *node = node_state_of(states, members->items[i].values[1]);
        if (node) FAM_ADD(by_state, 1, members->items[i].values[0], node->values[1]);
    }
}

const collector_def reservations_collector = {
    .name = "reservations",
    .summary = "reservations: state, times, size (scontrol show reservation -o)",
    .enabled_by_default = false,
    .command = "scontrol show reservation -o",
    .interval = "60",
    .fixture = "reservations",
    .families = reservations_families,
    .error_metric = "slurmpush_reservations_scrape_error",
    .error_help = "failed runs of the reservations collector",
    .state_size = sizeof(reservations_state),
    .begin = reservations_begin,
    .parse_line = reservations_line,
    .joins = "node-detail",
    .join = reservations_join,
};
