/* diags.c — the scheduler diagnostics collector: plain `sdiag` text, which every Slurm version
 * prints (the seed's `sdiag --json` needs 23.02+). Every value the seed exports, under its
 * names, with truthful HELP; plus job counters and scheduler cycle times the seed lacks.
 * sdiag's numbers reset when slurmctld restarts or is reconfigured: all are gauges, as the seed. */
#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "json_doc.h"

typedef enum { SEC_MAIN, SEC_BACKFILL, SEC_RPC_TYPE, SEC_RPC_USER, SEC_OTHER } section;

typedef struct {
    section sec;
    bool saw_banner, saw_threads;
    double bf_cycles, bf_mean_cycle;
    family *threads, *dbd_queue, *bf_jobs, *bf_cycle_sum, *bf_depth, *bf_depth_try, *bf_cycle_counter;
    family *rpc_user_count, *rpc_user_total, *rpc_type_count, *rpc_type_avg, *rpc_type_total;
    family *jobs, *agent_queue, *main_cycle, *bf_cycle;
    json_doc doc; /* `sdiag --json` (23.02+), when a site's command prints it */
} diags_state;

static family *scalar(sample_set *out, const char *name, const char *help) {
    return ss_family(out, name, help, METRIC_GAUGE, NULL);
}

static void diags_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    diags_state *s = state;
    s->threads = scalar(out, "slurm_daemon_thread_count", "slurm daemon thread count");
    s->dbd_queue = scalar(out, "slurm_dbd_agent_queue_size",
                          "slurmDbd queue size. Number of threads interacting with SlurmDBD. Will grow rapidly if DB is down "
                          "or under stress");
    s->bf_jobs =
        scalar(out, "slurm_backfill_job_count", "slurm number of jobs started thanks to backfilling since last slurm start");
    s->bf_cycle_sum = scalar(out, "slurm_backfill_cycle_count",
                             "Total time of the backfill scheduling cycles since last reset, microseconds (the seed's name; "
                             "from sdiag text: mean cycle x cycles)");
    s->bf_depth = scalar(out, "slurm_backfill_last_depth",
                         "slurm number of processed jobs during last backfilling scheduling cycle. It counts every job even if "
                         "that job can not be started due to dependencies or limits");
    s->bf_depth_try = scalar(out, "slurm_backfill_last_depth_try_sched",
                             "slurm number of processed jobs during last backfilling scheduling cycle. It counts only jobs with "
                             "a chance to start using available resources");
    s->bf_cycle_counter =
        scalar(out, "slurm_backfill_cycle_counter", "slurm number of backfill scheduling cycles since last reset");
    s->rpc_user_count = ss_family(out, "slurm_rpc_user_count", "slurm rpc count per user", METRIC_GAUGE, "user", NULL);
    s->rpc_user_total =
        ss_family_like(out, s->rpc_user_count, "slurm_rpc_user_total_time", "slurm rpc total time per user", METRIC_GAUGE);
    s->rpc_type_count =
        ss_family(out, "slurm_rpc_msg_type_count", "slurm rpc count per message type", METRIC_GAUGE, "type", NULL);
    s->rpc_type_avg = ss_family_like(out, s->rpc_type_count, "slurm_rpc_msg_type_avg_time",
                                     "slurm rpc average time per message type", METRIC_GAUGE);
    s->rpc_type_total = ss_family_like(out, s->rpc_type_count, "slurm_rpc_msg_type_total_time",
                                       "slurm rpc total time consumed per message type", METRIC_GAUGE);
    family *positive[] = {s->rpc_user_count, s->rpc_user_total, s->rpc_type_count, s->rpc_type_avg, s->rpc_type_total};
    for (size_t i = 0; i < sizeof positive / sizeof *positive; i++) positive[i]->positive_only = true;
    s->jobs = ss_family(out, "slurm_scheduler_jobs", "Jobs since the statistics were last reset, by event (sdiag)", METRIC_GAUGE,
                        "event", NULL);
    s->agent_queue = scalar(out, "slurm_scheduler_agent_queue_size", "Outgoing RPCs queued in slurmctld's agent (sdiag)");
    s->main_cycle = ss_family(out, "slurm_scheduler_main_cycle_microseconds", "Main scheduler cycle time (sdiag)", METRIC_GAUGE,
                              "stat", NULL);
    s->bf_cycle = ss_family(out, "slurm_scheduler_backfill_cycle_microseconds", "Backfill scheduler cycle time (sdiag)",
                            METRIC_GAUGE, "stat", NULL);
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
        fam_set(s->threads, v, NULL), s->saw_threads = true;
    else if (labelled(l, "DBD Agent queue size:", &v))
        fam_set(s->dbd_queue, v, NULL);
    else if (labelled(l, "Agent queue size:", &v))
        fam_set(s->agent_queue, v, NULL);
    else if (labelled(l, "Last cycle:", &v))
        FAM_SET(s->main_cycle, v, "last");
    else if (labelled(l, "Max cycle:", &v))
        FAM_SET(s->main_cycle, v, "max");
    else if (labelled(l, "Mean cycle:", &v))
        FAM_SET(s->main_cycle, v, "mean");
    else
        for (size_t i = 0; i < sizeof events / sizeof *events; i++)
            if (labelled(l, events[i][0], &v)) FAM_SET(s->jobs, v, events[i][1]);
}

static void backfill_section(diags_state *s, const char *l) {
    double v;
    if (labelled(l, "Total backfilled jobs (since last slurm start):", &v))
        fam_set(s->bf_jobs, v, NULL);
    else if (labelled(l, "Total cycles:", &v))
        fam_set(s->bf_cycle_counter, v, NULL), s->bf_cycles = v;
    else if (labelled(l, "Last depth cycle (try sched):", &v))
        fam_set(s->bf_depth_try, v, NULL);
    else if (labelled(l, "Last depth cycle:", &v))
        fam_set(s->bf_depth, v, NULL);
    else if (labelled(l, "Last cycle:", &v))
        FAM_SET(s->bf_cycle, v, "last");
    else if (labelled(l, "Max cycle:", &v))
        FAM_SET(s->bf_cycle, v, "max");
    else if (labelled(l, "Mean cycle:", &v))
        FAM_SET(s->bf_cycle, v, "mean"), s->bf_mean_cycle = v;
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
            size_t slot = FAM_SLOT(s->rpc_user_count, name);
            fam_add_at(s->rpc_user_count, slot, count);
            fam_add_at(s->rpc_user_total, slot, total);
        } else {
            size_t slot = FAM_SLOT(s->rpc_type_count, name);
            fam_add_at(s->rpc_type_count, slot, count);
            fam_add_at(s->rpc_type_avg, slot, avg);
            fam_add_at(s->rpc_type_total, slot, total);
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
    } scalars[] = {
        {s->threads, "server_thread_count"},       {s->dbd_queue, "dbd_agent_queue_size"}, {s->bf_jobs, "bf_backfilled_jobs"},
        {s->bf_cycle_sum, "bf_cycle_sum"},         {s->bf_depth, "bf_last_depth"},         {s->bf_depth_try, "bf_last_depth_try"},
        {s->bf_cycle_counter, "bf_cycle_counter"}, {s->agent_queue, "agent_queue_size"}};
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++)
        if (jnum(jget(st, scalars[i].key), &v)) fam_set(scalars[i].f, v, NULL);
    const char *events[] = {"submitted", "started", "completed", "canceled", "failed", "pending", "running"};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        char key[32];
        snprintf(key, sizeof key, "jobs_%s", events[i]);
        if (jnum(jget(st, key), &v)) FAM_SET(s->jobs, v, events[i]);
    }
    const char *stats[] = {"last", "max", "mean"};
    for (size_t i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "schedule_cycle_%s", stats[i]);
        if (jnum(jget(st, key), &v)) FAM_SET(s->main_cycle, v, stats[i]);
        snprintf(key, sizeof key, "bf_cycle_%s", stats[i]);
        if (jnum(jget(st, key), &v)) FAM_SET(s->bf_cycle, v, stats[i]);
    }
    json_object *users = jget(st, "rpcs_by_user"), *types = jget(st, "rpcs_by_message_type");
    for (size_t i = 0; i < jlen(users); i++) {
        json_object *u = json_object_array_get_idx(users, i);
        double count = 0, total = 0;
        size_t slot = FAM_SLOT(s->rpc_user_count, jstr(jget(u, "user")));
        if (jnum(jget(u, "count"), &count)) fam_add_at(s->rpc_user_count, slot, count);
        if (jnum(jget(u, "total_time"), &total)) fam_add_at(s->rpc_user_total, slot, total);
    }
    for (size_t i = 0; i < jlen(types); i++) {
        json_object *t = json_object_array_get_idx(types, i);
        double count = 0, avg = 0, total = 0;
        size_t slot = FAM_SLOT(s->rpc_type_count, jstr(jget(t, "message_type")));
        if (jnum(jget(t, "count"), &count)) fam_add_at(s->rpc_type_count, slot, count);
        if (jnum(jget(t, "average_time"), &avg)) fam_add_at(s->rpc_type_avg, slot, avg);
        if (jnum(jget(t, "total_time"), &total)) fam_add_at(s->rpc_type_total, slot, total);
    }
    json_object_put(doc);
    return 0;
}

static int diags_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    diags_state *s = state;
    if (s->doc.active) return diags_json(s, why, why_len);
    /* sdiag text has no cycle sum: mean x count is the closest (integer rounding of the mean) */
    fam_set(s->bf_cycle_sum, s->bf_cycles * s->bf_mean_cycle, NULL);
    return 0;
}

static void diags_release(void *state) { json_doc_free(&((diags_state *)state)->doc); }

const collector_def diags_collector = {
    .name = "diags",
    .enabled_option = offsetof(config, collect_diags),
    .command_option = offsetof(config, diag_cli),
    .error_metric = "slurm_diag_scrape_error",
    .error_help = "slurm diag scrape error",
    .duration_metric = "slurm_diag_scrape_duration",
    .state_size = sizeof(diags_state),
    .begin = diags_begin,
    .parse_line = diags_line,
    .end = diags_end,
    .release = diags_release,
};
