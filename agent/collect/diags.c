/* diags.c — the scheduler diagnostics collector: plain `sdiag` text, which every Slurm version
 * prints (the seed's `sdiag --json` needs 23.02+). Every value the seed exports, under its
 * names, with truthful HELP; plus job counters and scheduler cycle times the seed lacks.
 * sdiag's numbers reset when slurmctld restarts or is reconfigured: all are gauges, as the seed. */
#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "json_doc.h"

typedef enum { SEC_MAIN, SEC_BACKFILL, SEC_RPC_TYPE, SEC_RPC_USER, SEC_OTHER } section;

enum {
    D_THREADS,
    D_DBD_QUEUE,
    D_BF_JOBS,
    D_BF_CYCLE_SUM,
    D_BF_DEPTH,
    D_BF_DEPTH_TRY,
    D_BF_CYCLE_COUNTER,
    D_RPC_USER_COUNT,
    D_RPC_USER_TOTAL,
    D_RPC_TYPE_COUNT,
    D_RPC_TYPE_AVG,
    D_RPC_TYPE_TOTAL,
    D_JOBS,
    D_AGENT_QUEUE,
    D_MAIN_CYCLE,
    D_BF_CYCLE,
    N_DIAG
};

#define SCALAR(metric, text, what)                                                                                               \
    { .name = metric, .type = METRIC_GAUGE, .help = text, .doc = what }
static const family_def diags_families[] = {
    [D_THREADS] = SCALAR("slurm_daemon_thread_count", "slurm daemon thread count", "\"Server thread count\""),
    [D_DBD_QUEUE] = SCALAR("slurm_dbd_agent_queue_size",
                           "slurmDbd queue size. Number of threads interacting with SlurmDBD. Will grow rapidly if DB is down "
                           "or under stress",
                           "\"DBD Agent queue size\""),
    [D_BF_JOBS] = SCALAR("slurm_backfill_job_count", "slurm number of jobs started thanks to backfilling since last slurm start",
                         "backfilled jobs since slurmctld started"),
    [D_BF_CYCLE_SUM] = SCALAR("slurm_backfill_cycle_count",
                              "Total time of the backfill scheduling cycles since last reset, microseconds (the seed's name; "
                              "from sdiag text: mean cycle x cycles)",
                              "the seed's name for the **sum** of backfill cycle times (µs; B7): sdiag text has no sum, so "
                              "mean cycle × cycles"),
    [D_BF_DEPTH] = SCALAR("slurm_backfill_last_depth",
                          "slurm number of processed jobs during last backfilling scheduling cycle. It counts every job even if "
                          "that job can not be started due to dependencies or limits",
                          "jobs looked at in the last backfill cycle"),
    [D_BF_DEPTH_TRY] = SCALAR("slurm_backfill_last_depth_try_sched",
                              "slurm number of processed jobs during last backfilling scheduling cycle. It counts only jobs with "
                              "a chance to start using available resources",
                              "jobs of the last backfill cycle that could start"),
    [D_BF_CYCLE_COUNTER] = SCALAR("slurm_backfill_cycle_counter", "slurm number of backfill scheduling cycles since last reset",
                                  "backfill cycles since the last reset"),
    [D_RPC_USER_COUNT] = {.name = "slurm_rpc_user_count",
                          .type = METRIC_GAUGE,
                          .labels = LABELS("user"),
                          .help = "slurm rpc count per user",
                          .positive_only = true},
    [D_RPC_USER_TOTAL] = {.name = "slurm_rpc_user_total_time",
                          .type = METRIC_GAUGE,
                          .help = "slurm rpc total time per user",
                          .doc = "µs of RPCs per user",
                          .positive_only = true,
                          .shares_previous = true},
    [D_RPC_TYPE_COUNT] = {.name = "slurm_rpc_msg_type_count",
                          .type = METRIC_GAUGE,
                          .labels = LABELS("type"),
                          .help = "slurm rpc count per message type",
                          .positive_only = true},
    [D_RPC_TYPE_AVG] = {.name = "slurm_rpc_msg_type_avg_time",
                        .type = METRIC_GAUGE,
                        .help = "slurm rpc average time per message type",
                        .doc = "µs per RPC; HELP no longer swapped (B5)",
                        .positive_only = true,
                        .shares_previous = true},
    [D_RPC_TYPE_TOTAL] = {.name = "slurm_rpc_msg_type_total_time",
                          .type = METRIC_GAUGE,
                          .help = "slurm rpc total time consumed per message type",
                          .positive_only = true,
                          .shares_previous = true},
    [D_JOBS] = {.name = "slurm_scheduler_jobs",
                .type = METRIC_GAUGE,
                .labels = LABELS("event"),
                .help = "Jobs since the statistics were last reset, by event (sdiag)",
                .doc = "sdiag's job counters, event=`submitted`|`started`|`completed`|`canceled`|`failed`|`pending`|`running`"},
    [D_AGENT_QUEUE] = SCALAR("slurm_scheduler_agent_queue_size", "Outgoing RPCs queued in slurmctld's agent (sdiag)", NULL),
    [D_MAIN_CYCLE] = {.name = "slurm_scheduler_main_cycle_microseconds",
                      .type = METRIC_GAUGE,
                      .labels = LABELS("stat"),
                      .help = "Main scheduler cycle time (sdiag)",
                      .doc = "stat=`last`|`max`|`mean`"},
    [D_BF_CYCLE] = {.name = "slurm_scheduler_backfill_cycle_microseconds",
                    .type = METRIC_GAUGE,
                    .labels = LABELS("stat"),
                    .help = "Backfill scheduler cycle time (sdiag)",
                    .doc = "stat=`last`|`max`|`mean`"},
    [N_DIAG] = {0},
};

typedef struct {
    section sec;
    bool saw_banner, saw_threads;
    double bf_cycles, bf_mean_cycle;
    family *fam[N_DIAG];
    json_doc doc; /* `sdiag --json` (23.02+), when a site's command prints it */
} diags_state;

static void diags_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    ss_declare(out, diags_families, ((diags_state *)state)->fam);
}

/* "Label:   123" -> true and the number when line starts with label. */
static bool labelled(const char *line, const char *label, double *out) {
    size_t n = strlen(label);
    if (strncmp(line, label, n)) return false;
    const char *v = line + n;
    while (*v == ' ' || *v == '\t') v++;
    char text[32];
    size_t len = strcspn(v, " \t");
    if (!len || len >= sizeof text) return false;
    memcpy(text, v, len);
    text[len] = '\0';
    long long x;
    if (parse_int(text, &x) < 0) return false;
    *out = (double)x;
    return true;
}

/* "NAME  ( id) count:N ave_time:N total_time:N" */
static int rpc_line(char *line, char **name, double *count, double *avg, double *total) {
    char *paren = strchr(line, '(');
    if (!paren) return -1;
    char *end = paren;
    while (end > line && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (end == line) return -1;
    *end = '\0';
    *name = line;
    char *rest = strchr(paren + 1, ')');
    long long c, a, t;
    if (!rest || sscanf(rest + 1, " count:%lld ave_time:%lld total_time:%lld", &c, &a, &t) != 3) return -1;
    *count = (double)c, *avg = (double)a, *total = (double)t;
    return 0;
}

static void main_section(diags_state *s, const char *l) {
    double v;
    const char *events[][2] = {{"Jobs submitted:", "submitted"}, {"Jobs started:", "started"}, {"Jobs completed:", "completed"},
                               {"Jobs canceled:", "canceled"},   {"Jobs failed:", "failed"},   {"Jobs pending:", "pending"},
                               {"Jobs running:", "running"}};
    if (labelled(l, "Server thread count:", &v))
        fam_set(s->fam[D_THREADS], v, NULL), s->saw_threads = true;
    else if (labelled(l, "DBD Agent queue size:", &v))
        fam_set(s->fam[D_DBD_QUEUE], v, NULL);
    else if (labelled(l, "Agent queue size:", &v))
        fam_set(s->fam[D_AGENT_QUEUE], v, NULL);
    else if (labelled(l, "Last cycle:", &v))
        FAM_SET(s->fam[D_MAIN_CYCLE], v, "last");
    else if (labelled(l, "Max cycle:", &v))
        FAM_SET(s->fam[D_MAIN_CYCLE], v, "max");
    else if (labelled(l, "Mean cycle:", &v))
        FAM_SET(s->fam[D_MAIN_CYCLE], v, "mean");
    else
        for (size_t i = 0; i < sizeof events / sizeof *events; i++)
            if (labelled(l, events[i][0], &v)) FAM_SET(s->fam[D_JOBS], v, events[i][1]);
}

static void backfill_section(diags_state *s, const char *l) {
    double v;
    if (labelled(l, "Total backfilled jobs (since last slurm start):", &v))
        fam_set(s->fam[D_BF_JOBS], v, NULL);
    else if (labelled(l, "Total cycles:", &v))
        fam_set(s->fam[D_BF_CYCLE_COUNTER], v, NULL), s->bf_cycles = v;
    else if (labelled(l, "Last depth cycle (try sched):", &v))
        fam_set(s->fam[D_BF_DEPTH_TRY], v, NULL);
    else if (labelled(l, "Last depth cycle:", &v))
        fam_set(s->fam[D_BF_DEPTH], v, NULL);
    else if (labelled(l, "Last cycle:", &v))
        FAM_SET(s->fam[D_BF_CYCLE], v, "last");
    else if (labelled(l, "Max cycle:", &v))
        FAM_SET(s->fam[D_BF_CYCLE], v, "max");
    else if (labelled(l, "Mean cycle:", &v))
        FAM_SET(s->fam[D_BF_CYCLE], v, "mean"), s->bf_mean_cycle = v;
}

static int diags_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    diags_state *s = state;
    if (!s->saw_banner && json_doc_take(&s->doc, line, len)) return 0;
    while (*line == ' ' || *line == '\t') line++, len--;
    if (!len) return 0;
    if (!s->saw_banner && !s->doc.active) {
        if (line[0] != '*') {
            snprintf(why, why_len, "not sdiag output (no ***** banner)");
            return -1;
        }
        s->saw_banner = true;
        return 0;
    }
    if (!strncmp(line, "Backfilling stats", 17))
        s->sec = SEC_BACKFILL;
    else if (!strncmp(line, "Remote Procedure Call statistics by message type", 48))
        s->sec = SEC_RPC_TYPE;
    else if (!strncmp(line, "Remote Procedure Call statistics by user", 40))
        s->sec = SEC_RPC_USER;
    else if (!strncmp(line, "Pending RPC statistics", 22) || !strncmp(line, "Latency for", 11))
        s->sec = SEC_OTHER;
    else if (s->sec == SEC_MAIN)
        main_section(s, line);
    else if (s->sec == SEC_BACKFILL)
        backfill_section(s, line);
    else if (s->sec == SEC_RPC_TYPE || s->sec == SEC_RPC_USER) {
        char *name;
        double count, avg, total;
        if (rpc_line(line, &name, &count, &avg, &total) < 0) {
            snprintf(why, why_len, "RPC statistics line is not \"NAME ( id) count:N ave_time:N total_time:N\"");
            return -1;
        }
        if (s->sec == SEC_RPC_USER) {
            size_t slot = FAM_SLOT(s->fam[D_RPC_USER_COUNT], name);
            fam_add_at(s->fam[D_RPC_USER_COUNT], slot, count);
            fam_add_at(s->fam[D_RPC_USER_TOTAL], slot, total);
        } else {
            size_t slot = FAM_SLOT(s->fam[D_RPC_TYPE_COUNT], name);
            fam_add_at(s->fam[D_RPC_TYPE_COUNT], slot, count);
            fam_add_at(s->fam[D_RPC_TYPE_AVG], slot, avg);
            fam_add_at(s->fam[D_RPC_TYPE_TOTAL], slot, total);
        }
    }
    return 0;
}

/* `sdiag --json` (data_parser v0.0.39 and v0.0.41 shapes). A value Slurm marks unset or
 * infinite is left out, never the whole run (the seed failed it all: B17). */
static int diags_json(diags_state *s, char *why, size_t why_len) {
    json_object *doc = json_doc_parse(&s->doc, why, why_len), *st = jget(doc, "statistics");
    if (doc && !st) snprintf(why, why_len, "JSON output has no \"statistics\"");
    if (!st) {
        json_object_put(doc);
        return -1;
    }
    double v;
    const struct {
        family *f;
        const char *key;
    } scalars[] = {{s->fam[D_THREADS], "server_thread_count"},
                   {s->fam[D_DBD_QUEUE], "dbd_agent_queue_size"},
                   {s->fam[D_BF_JOBS], "bf_backfilled_jobs"},
                   {s->fam[D_BF_CYCLE_SUM], "bf_cycle_sum"},
                   {s->fam[D_BF_DEPTH], "bf_last_depth"},
                   {s->fam[D_BF_DEPTH_TRY], "bf_last_depth_try"},
                   {s->fam[D_BF_CYCLE_COUNTER], "bf_cycle_counter"},
                   {s->fam[D_AGENT_QUEUE], "agent_queue_size"}};
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++)
        if (jnum(jget(st, scalars[i].key), &v)) fam_set(scalars[i].f, v, NULL);
    const char *events[] = {"submitted", "started", "completed", "canceled", "failed", "pending", "running"};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        char key[32];
        snprintf(key, sizeof key, "jobs_%s", events[i]);
        if (jnum(jget(st, key), &v)) FAM_SET(s->fam[D_JOBS], v, events[i]);
    }
    const char *stats[] = {"last", "max", "mean"};
    for (size_t i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "schedule_cycle_%s", stats[i]);
        if (jnum(jget(st, key), &v)) FAM_SET(s->fam[D_MAIN_CYCLE], v, stats[i]);
        snprintf(key, sizeof key, "bf_cycle_%s", stats[i]);
        if (jnum(jget(st, key), &v)) FAM_SET(s->fam[D_BF_CYCLE], v, stats[i]);
    }
    json_object *users = jget(st, "rpcs_by_user"), *types = jget(st, "rpcs_by_message_type");
    for (size_t i = 0; i < jlen(users); i++) {
        json_object *u = json_object_array_get_idx(users, i);
        double count = 0, total = 0;
        size_t slot = FAM_SLOT(s->fam[D_RPC_USER_COUNT], jstr(jget(u, "user")));
        if (jnum(jget(u, "count"), &count)) fam_add_at(s->fam[D_RPC_USER_COUNT], slot, count);
        if (jnum(jget(u, "total_time"), &total)) fam_add_at(s->fam[D_RPC_USER_TOTAL], slot, total);
    }
    for (size_t i = 0; i < jlen(types); i++) {
        json_object *t = json_object_array_get_idx(types, i);
        double count = 0, avg = 0, total = 0;
        size_t slot = FAM_SLOT(s->fam[D_RPC_TYPE_COUNT], jstr(jget(t, "message_type")));
        if (jnum(jget(t, "count"), &count)) fam_add_at(s->fam[D_RPC_TYPE_COUNT], slot, count);
        if (jnum(jget(t, "average_time"), &avg)) fam_add_at(s->fam[D_RPC_TYPE_AVG], slot, avg);
        if (jnum(jget(t, "total_time"), &total)) fam_add_at(s->fam[D_RPC_TYPE_TOTAL], slot, total);
    }
    json_object_put(doc);
    return 0;
}

static int diags_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    diags_state *s = state;
    if (s->doc.active) return diags_json(s, why, why_len);
    /* sdiag text has no cycle sum: mean x count is the closest (integer rounding of the mean) */
    fam_set(s->fam[D_BF_CYCLE_SUM], s->bf_cycles * s->bf_mean_cycle, NULL);
    return 0;
}

static void diags_release(void *state) { json_doc_free(&((diags_state *)state)->doc); }

const collector_def diags_collector = {
    .name = "diags",
    .summary = "scheduler diagnostics (plain sdiag text: every Slurm version; never sdiag -r)",
    .enabled_by_default = false,
    .enable_alias = "slurm.collect-diags",
    .command = "sdiag",
    .command_alias = "slurm.diag-cli",
    .fixture = "sdiag",
    .families = diags_families,
    .error_metric = "slurm_diag_scrape_error",
    .error_help = "slurm diag scrape error",
    .duration_metric = "slurm_diag_scrape_duration",
    .state_size = sizeof(diags_state),
    .begin = diags_begin,
    .parse_line = diags_line,
    .end = diags_end,
    .release = diags_release,
};
