/* diags.c — the scheduler diagnostics collector: plain `sdiag` text, which every Slurm version
 * prints (the seed's `sdiag --json` needs 23.02+). Every value the seed exports, under its
 * names, with truthful HELP; plus job counters and scheduler cycle times the seed lacks.
 * sdiag's numbers reset when slurmctld restarts or is reconfigured: all are gauges, as the seed. */
#include <math.h>
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
    D_JOBS_TOTAL,
    D_CYCLES_TOTAL,
    D_BF_CYCLES_TOTAL,
    /* Slurm's own /metrics/scheduler names, from the same sdiag text */
    DN_SCHED_STATS_TIMESTAMP,
    DN_LAST_PROC_REQ_START,
    DN_SERVER_THREAD_CNT,
    DN_AGENT_QUEUE_SIZE,
    DN_AGENT_CNT,
    DN_AGENT_THREAD_CNT,
    DN_SLURMDBD_QUEUE_SIZE,
    DN_SDIAG_JOBS_SUBMITTED,
    DN_SDIAG_JOBS_STARTED,
    DN_SDIAG_JOBS_COMPLETED,
    DN_SDIAG_JOBS_CANCELED,
    DN_SDIAG_JOBS_FAILED,
    DN_SDIAG_JOB_STATES_TS,
    DN_SDIAG_JOBS_PENDING,
    DN_SDIAG_JOBS_RUNNING,
    DN_SCHEDULE_CYCLE_LAST,
    DN_SCHEDULE_CYCLE_MAX,
    DN_SCHEDULE_CYCLE_CNT,
    DN_SCHED_MEAN_CYCLE,
    DN_SCHED_MEAN_DEPTH_CYCLE,
    DN_SCHEDULE_QUEUE_LEN,
    DN_SCHED_EXIT_END,
    DN_SCHED_EXIT_MAX_DEPTH,
    DN_SCHED_EXIT_MAX_JOB_START,
    DN_SCHED_EXIT_LIC,
    DN_SCHED_EXIT_RPC_CNT,
    DN_SCHED_EXIT_TIMEOUT,
    DN_BACKFILLED_JOBS,
    DN_LAST_BACKFILLED_JOBS,
    DN_BACKFILLED_HET_JOBS,
    DN_BF_CYCLE_CNT,
    DN_BF_WHEN_LAST_CYCLE,
    DN_BF_CYCLE_LAST,
    DN_BF_CYCLE_MAX,
    DN_BF_MEAN_CYCLE,
    DN_BF_LAST_DEPTH,
    DN_BF_LAST_DEPTH_TRY,
    DN_BF_DEPTH_MEAN,
    DN_BF_TRY_DEPTH_MEAN,
    DN_BF_QUEUE_LEN,
    DN_BF_QUEUE_LEN_MEAN,
    DN_BF_TABLE_SIZE,
    DN_BF_MEAN_TABLE_SZ,
    DN_BF_EXIT_END,
    DN_BF_EXIT_MAX_JOB_START,
    DN_BF_EXIT_MAX_JOB_TEST,
    DN_BF_EXIT_STATE_CHANGED,
    DN_BF_EXIT_TABLE_LIMIT,
    DN_BF_EXIT_TIMEOUT,
    DN_SCHEDULE_CYCLE_TOT,
    DN_SCHEDULE_CYCLE_DEPTH,
    DN_BF_CYCLE_TOT,
    DN_BF_DEPTH_TOT,
    DN_BF_DEPTH_TRY_TOT,
    DN_BF_QUEUE_LEN_TOT,
    DN_BF_TABLE_SIZE_TOT,
    DN_SDIAG_LATENCY,
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
    [D_JOBS_TOTAL] = {.name = "slurm_scheduler_jobs_total",
                      .type = METRIC_COUNTER,
                      .labels = LABELS("event"),
                      .help = "Jobs by event since slurmpush first read sdiag, across sdiag's resets",
                      .doc = "sdiag's job counters made monotonic (event=`submitted`|`started`|`completed`|`canceled`|"
                             "`failed`): the first value read, then every rise, and after a drop (slurmctld restart, "
                             "`sdiag -r`, the daily reset) the new value; kept across restarts in `--state-dir`"},
    [D_CYCLES_TOTAL] = {.name = "slurm_scheduler_cycles_total",
                        .type = METRIC_COUNTER,
                        .help = "Main scheduler cycles since slurmpush first read sdiag, across sdiag's resets",
                        .doc = "sdiag's main `Total cycles`, made monotonic the same way"},
    [D_BF_CYCLES_TOTAL] = {.name = "slurm_scheduler_backfill_cycles_total",
                           .type = METRIC_COUNTER,
                           .help = "Backfill cycles since slurmpush first read sdiag, across sdiag's resets",
                           .doc = "sdiag's backfill `Total cycles`, made monotonic the same way"},
    [DN_SCHED_STATS_TIMESTAMP] = SCALAR("slurm_sched_stats_timestamp", "Statistics snapshot timestamp",
                                        "Statistics snapshot timestamp (Slurm's own name)"),
    [DN_LAST_PROC_REQ_START] = SCALAR("slurm_last_proc_req_start", "Timestamp of last process request start",
                                      "Timestamp of last process request start (Slurm's own name)"),
    [DN_SERVER_THREAD_CNT] =
        SCALAR("slurm_server_thread_cnt", "Active slurmctld threads count", "Active slurmctld threads count (Slurm's own name)"),
    [DN_AGENT_QUEUE_SIZE] =
        SCALAR("slurm_agent_queue_size", "Outgoing RPC retry queue length", "Outgoing RPC retry queue length (Slurm's own name)"),
    [DN_AGENT_CNT] = SCALAR("slurm_agent_cnt", "Number of agent threads", "Number of agent threads (Slurm's own name)"),
    [DN_AGENT_THREAD_CNT] = SCALAR("slurm_agent_thread_cnt", "Total active agent-created threads",
                                   "Total active agent-created threads (Slurm's own name)"),
    [DN_SLURMDBD_QUEUE_SIZE] =
        SCALAR("slurm_slurmdbd_queue_size", "Queued messages to SlurmDBD", "Queued messages to SlurmDBD (Slurm's own name)"),
    [DN_SDIAG_JOBS_SUBMITTED] =
        SCALAR("slurm_sdiag_jobs_submitted", "Jobs submitted since reset", "Jobs submitted since reset (Slurm's own name)"),
    [DN_SDIAG_JOBS_STARTED] =
        SCALAR("slurm_sdiag_jobs_started", "Jobs started since reset", "Jobs started since reset (Slurm's own name)"),
    [DN_SDIAG_JOBS_COMPLETED] =
        SCALAR("slurm_sdiag_jobs_completed", "Jobs completed since reset", "Jobs completed since reset (Slurm's own name)"),
    [DN_SDIAG_JOBS_CANCELED] =
        SCALAR("slurm_sdiag_jobs_canceled", "Jobs canceled since reset", "Jobs canceled since reset (Slurm's own name)"),
    [DN_SDIAG_JOBS_FAILED] =
        SCALAR("slurm_sdiag_jobs_failed", "Jobs failed since reset", "Jobs failed since reset (Slurm's own name)"),
    [DN_SDIAG_JOB_STATES_TS] =
        SCALAR("slurm_sdiag_job_states_ts", "Job states timestamp", "Job states timestamp (Slurm's own name)"),
    [DN_SDIAG_JOBS_PENDING] =
        SCALAR("slurm_sdiag_jobs_pending", "Jobs pending at timestamp", "Jobs pending at timestamp (Slurm's own name)"),
    [DN_SDIAG_JOBS_RUNNING] =
        SCALAR("slurm_sdiag_jobs_running", "Jobs running at timestamp", "Jobs running at timestamp (Slurm's own name)"),
    [DN_SCHEDULE_CYCLE_LAST] =
        SCALAR("slurm_schedule_cycle_last", "Last scheduling cycle time", "Last scheduling cycle time (Slurm's own name)"),
    [DN_SCHEDULE_CYCLE_MAX] =
        SCALAR("slurm_schedule_cycle_max", "Max scheduling cycle time", "Max scheduling cycle time (Slurm's own name)"),
    [DN_SCHEDULE_CYCLE_CNT] =
        SCALAR("slurm_schedule_cycle_cnt", "Scheduling cycle count", "Scheduling cycle count (Slurm's own name)"),
    [DN_SCHED_MEAN_CYCLE] =
        SCALAR("slurm_sched_mean_cycle", "Mean scheduling cycle time", "Mean scheduling cycle time (Slurm's own name)"),
    [DN_SCHED_MEAN_DEPTH_CYCLE] = SCALAR("slurm_sched_mean_depth_cycle", "Mean depth of scheduling cycles",
                                         "Mean depth of scheduling cycles (Slurm's own name)"),
    [DN_SCHEDULE_QUEUE_LEN] =
        SCALAR("slurm_schedule_queue_len", "Jobs pending queue length", "Jobs pending queue length (Slurm's own name)"),
    [DN_SCHED_EXIT_END] = SCALAR("slurm_sched_exit_end", "End of job queue", "End of job queue (Slurm's own name)"),
    [DN_SCHED_EXIT_MAX_DEPTH] =
        SCALAR("slurm_sched_exit_max_depth", "Hit default_queue_depth", "Hit default_queue_depth (Slurm's own name)"),
    [DN_SCHED_EXIT_MAX_JOB_START] =
        SCALAR("slurm_sched_exit_max_job_start", "Hit sched_max_job_start", "Hit sched_max_job_start (Slurm's own name)"),
    [DN_SCHED_EXIT_LIC] = SCALAR("slurm_sched_exit_lic", "Blocked on licenses", "Blocked on licenses (Slurm's own name)"),
    [DN_SCHED_EXIT_RPC_CNT] = SCALAR("slurm_sched_exit_rpc_cnt", "Hit max_rpc_cnt", "Hit max_rpc_cnt (Slurm's own name)"),
    [DN_SCHED_EXIT_TIMEOUT] =
        SCALAR("slurm_sched_exit_timeout", "Timeout (max_sched_time)", "Timeout (max_sched_time) (Slurm's own name)"),
    [DN_BACKFILLED_JOBS] = SCALAR("slurm_backfilled_jobs", "Total backfilled jobs since reset",
                                  "Total backfilled jobs since reset (Slurm's own name)"),
    [DN_LAST_BACKFILLED_JOBS] = SCALAR("slurm_last_backfilled_jobs", "Backfilled jobs since last cycle",
                                       "Backfilled jobs since last cycle (Slurm's own name)"),
    [DN_BACKFILLED_HET_JOBS] = SCALAR("slurm_backfilled_het_jobs", "Heterogeneous components backfilled",
                                      "Heterogeneous components backfilled (Slurm's own name)"),
    [DN_BF_CYCLE_CNT] = SCALAR("slurm_bf_cycle_cnt", "Backfill cycle count", "Backfill cycle count (Slurm's own name)"),
    [DN_BF_WHEN_LAST_CYCLE] = SCALAR("slurm_bf_when_last_cycle", "Timestamp of last backfill cycle",
                                     "Timestamp of last backfill cycle (Slurm's own name)"),
    [DN_BF_CYCLE_LAST] = SCALAR("slurm_bf_cycle_last", "Last backfill cycle time", "Last backfill cycle time (Slurm's own name)"),
    [DN_BF_CYCLE_MAX] = SCALAR("slurm_bf_cycle_max", "Max backfill cycle time", "Max backfill cycle time (Slurm's own name)"),
    [DN_BF_MEAN_CYCLE] = SCALAR("slurm_bf_mean_cycle", "Mean backfill cycle time", "Mean backfill cycle time (Slurm's own name)"),
    [DN_BF_LAST_DEPTH] = SCALAR("slurm_bf_last_depth", "Last backfill depth", "Last backfill depth (Slurm's own name)"),
    [DN_BF_LAST_DEPTH_TRY] =
        SCALAR("slurm_bf_last_depth_try", "Last backfill depth attempts", "Last backfill depth attempts (Slurm's own name)"),
    [DN_BF_DEPTH_MEAN] =
        SCALAR("slurm_bf_depth_mean", "Mean backfill cycle depth", "Mean backfill cycle depth (Slurm's own name)"),
    [DN_BF_TRY_DEPTH_MEAN] = SCALAR("slurm_bf_try_depth_mean", "Mean depth attempts in backfill",
                                    "Mean depth attempts in backfill (Slurm's own name)"),
    [DN_BF_QUEUE_LEN] = SCALAR("slurm_bf_queue_len", "Backfill queue length", "Backfill queue length (Slurm's own name)"),
    [DN_BF_QUEUE_LEN_MEAN] =
        SCALAR("slurm_bf_queue_len_mean", "Mean backfill queue length", "Mean backfill queue length (Slurm's own name)"),
    [DN_BF_TABLE_SIZE] = SCALAR("slurm_bf_table_size", "Backfill table size", "Backfill table size (Slurm's own name)"),
    [DN_BF_MEAN_TABLE_SZ] =
        SCALAR("slurm_bf_mean_table_sz", "Mean backfill table size", "Mean backfill table size (Slurm's own name)"),
    [DN_BF_EXIT_END] = SCALAR("slurm_bf_exit_end", "End of job queue", "End of job queue (Slurm's own name)"),
    [DN_BF_EXIT_MAX_JOB_START] =
        SCALAR("slurm_bf_exit_max_job_start", "Hit bf_max_job_start", "Hit bf_max_job_start (Slurm's own name)"),
    [DN_BF_EXIT_MAX_JOB_TEST] =
        SCALAR("slurm_bf_exit_max_job_test", "Hit bf_max_job_test", "Hit bf_max_job_test (Slurm's own name)"),
    [DN_BF_EXIT_STATE_CHANGED] =
        SCALAR("slurm_bf_exit_state_changed", "System state changed", "System state changed (Slurm's own name)"),
    [DN_BF_EXIT_TABLE_LIMIT] = SCALAR("slurm_bf_exit_table_limit", "Hit table size limit (bf_node_space_size)",
                                      "Hit table size limit (bf_node_space_size) (Slurm's own name)"),
    [DN_BF_EXIT_TIMEOUT] = SCALAR("slurm_bf_exit_timeout", "Timeout (bf_max_time)", "Timeout (bf_max_time) (Slurm's own name)"),
    [DN_SCHEDULE_CYCLE_TOT] =
        SCALAR("slurm_schedule_cycle_tot", "Sum of scheduling cycle times",
               "Sum of scheduling cycle times (sdiag text: mean cycle × cycles): closest value (Slurm's own name)"),
    [DN_SCHEDULE_CYCLE_DEPTH] =
        SCALAR("slurm_schedule_cycle_depth", "Processed jobs depth total",
               "Processed jobs depth total (sdiag text: mean depth × cycles): closest value (Slurm's own name)"),
    [DN_BF_CYCLE_TOT] = SCALAR("slurm_bf_cycle_tot", "Sum of backfill cycle times",
                               "Sum of backfill cycle times (sdiag text: mean cycle × cycles): closest value (Slurm's own name)"),
    [DN_BF_DEPTH_TOT] = SCALAR("slurm_bf_depth_tot", "Sum of backfill job depths",
                               "Sum of backfill job depths (sdiag text: depth mean × cycles): closest value (Slurm's own name)"),
    [DN_BF_DEPTH_TRY_TOT] =
        SCALAR("slurm_bf_depth_try_tot", "Sum of backfill depth attempts",
               "Sum of backfill depth attempts (sdiag text: mean × cycles): closest value (Slurm's own name)"),
    [DN_BF_QUEUE_LEN_TOT] = SCALAR("slurm_bf_queue_len_tot", "Sum of backfill queue lengths",
                                   "Sum of backfill queue lengths (sdiag text: mean × cycles): closest value (Slurm's own name)"),
    [DN_BF_TABLE_SIZE_TOT] = SCALAR("slurm_bf_table_size_tot", "Sum of backfill table sizes",
                                    "Sum of backfill table sizes (sdiag text: mean × cycles): closest value (Slurm's own name)"),
    [DN_SDIAG_LATENCY] =
        SCALAR("slurm_sdiag_latency", "Measurement latency", "microseconds of 1000 gettimeofday() calls (Slurm's own name)"),
    [N_DIAG] = {0},
};

/* The sdiag text line behind each of Slurm's own scheduler families (section, label). Labels
 * repeat between sections ("Last cycle:"): the section tells them apart. */
typedef enum { NUMBER, EPOCH } line_value; /* the number after the label, or the (epoch) at the end */
static const struct {
    section sec;
    const char *label;
    int fam;
    line_value kind;
} native_lines[] = {
    {SEC_MAIN, "sdiag output at", DN_SCHED_STATS_TIMESTAMP, EPOCH},
    {SEC_MAIN, "Data since", DN_LAST_PROC_REQ_START, EPOCH},
    {SEC_MAIN, "Server thread count:", DN_SERVER_THREAD_CNT, NUMBER},
    {SEC_MAIN, "Agent queue size:", DN_AGENT_QUEUE_SIZE, NUMBER},
    {SEC_MAIN, "Agent count:", DN_AGENT_CNT, NUMBER},
    {SEC_MAIN, "Agent thread count:", DN_AGENT_THREAD_CNT, NUMBER},
    {SEC_MAIN, "DBD Agent queue size:", DN_SLURMDBD_QUEUE_SIZE, NUMBER},
    {SEC_MAIN, "Jobs submitted:", DN_SDIAG_JOBS_SUBMITTED, NUMBER},
    {SEC_MAIN, "Jobs started:", DN_SDIAG_JOBS_STARTED, NUMBER},
    {SEC_MAIN, "Jobs completed:", DN_SDIAG_JOBS_COMPLETED, NUMBER},
    {SEC_MAIN, "Jobs canceled:", DN_SDIAG_JOBS_CANCELED, NUMBER},
    {SEC_MAIN, "Jobs failed:", DN_SDIAG_JOBS_FAILED, NUMBER},
    {SEC_MAIN, "Job states ts:", DN_SDIAG_JOB_STATES_TS, EPOCH},
    {SEC_MAIN, "Jobs pending:", DN_SDIAG_JOBS_PENDING, NUMBER},
    {SEC_MAIN, "Jobs running:", DN_SDIAG_JOBS_RUNNING, NUMBER},
    {SEC_MAIN, "Last cycle:", DN_SCHEDULE_CYCLE_LAST, NUMBER},
    {SEC_MAIN, "Max cycle:", DN_SCHEDULE_CYCLE_MAX, NUMBER},
    {SEC_MAIN, "Total cycles:", DN_SCHEDULE_CYCLE_CNT, NUMBER},
    {SEC_MAIN, "Mean cycle:", DN_SCHED_MEAN_CYCLE, NUMBER},
    {SEC_MAIN, "Mean depth cycle:", DN_SCHED_MEAN_DEPTH_CYCLE, NUMBER},
    {SEC_MAIN, "Last queue length:", DN_SCHEDULE_QUEUE_LEN, NUMBER},
    {SEC_MAIN, "End of job queue:", DN_SCHED_EXIT_END, NUMBER},
    {SEC_MAIN, "Hit default_queue_depth:", DN_SCHED_EXIT_MAX_DEPTH, NUMBER},
    {SEC_MAIN, "Hit sched_max_job_start:", DN_SCHED_EXIT_MAX_JOB_START, NUMBER},
    {SEC_MAIN, "Blocked on licenses:", DN_SCHED_EXIT_LIC, NUMBER},
    {SEC_MAIN, "Hit max_rpc_cnt:", DN_SCHED_EXIT_RPC_CNT, NUMBER},
    {SEC_MAIN, "Timeout (max_sched_time):", DN_SCHED_EXIT_TIMEOUT, NUMBER},
    {SEC_BACKFILL, "Total backfilled jobs (since last slurm start):", DN_BACKFILLED_JOBS, NUMBER},
    {SEC_BACKFILL, "Total backfilled jobs (since last stats cycle start):", DN_LAST_BACKFILLED_JOBS, NUMBER},
    {SEC_BACKFILL, "Total backfilled heterogeneous job components:", DN_BACKFILLED_HET_JOBS, NUMBER},
    {SEC_BACKFILL, "Total cycles:", DN_BF_CYCLE_CNT, NUMBER},
    {SEC_BACKFILL, "Last cycle when:", DN_BF_WHEN_LAST_CYCLE, EPOCH},
    {SEC_BACKFILL, "Last cycle:", DN_BF_CYCLE_LAST, NUMBER},
    {SEC_BACKFILL, "Max cycle:", DN_BF_CYCLE_MAX, NUMBER},
    {SEC_BACKFILL, "Mean cycle:", DN_BF_MEAN_CYCLE, NUMBER},
    {SEC_BACKFILL, "Last depth cycle:", DN_BF_LAST_DEPTH, NUMBER},
    {SEC_BACKFILL, "Last depth cycle (try sched):", DN_BF_LAST_DEPTH_TRY, NUMBER},
    {SEC_BACKFILL, "Depth Mean:", DN_BF_DEPTH_MEAN, NUMBER},
    {SEC_BACKFILL, "Depth Mean (try depth):", DN_BF_TRY_DEPTH_MEAN, NUMBER},
    {SEC_BACKFILL, "Last queue length:", DN_BF_QUEUE_LEN, NUMBER},
    {SEC_BACKFILL, "Queue length mean:", DN_BF_QUEUE_LEN_MEAN, NUMBER},
    {SEC_BACKFILL, "Last table size:", DN_BF_TABLE_SIZE, NUMBER},
    {SEC_BACKFILL, "Mean table size:", DN_BF_MEAN_TABLE_SZ, NUMBER},
    {SEC_BACKFILL, "End of job queue:", DN_BF_EXIT_END, NUMBER},
    {SEC_BACKFILL, "Hit bf_max_job_start:", DN_BF_EXIT_MAX_JOB_START, NUMBER},
    {SEC_BACKFILL, "Hit bf_max_job_test:", DN_BF_EXIT_MAX_JOB_TEST, NUMBER},
    {SEC_BACKFILL, "System state changed:", DN_BF_EXIT_STATE_CHANGED, NUMBER},
    {SEC_BACKFILL, "Hit table size limit (bf_node_space_size):", DN_BF_EXIT_TABLE_LIMIT, NUMBER},
    {SEC_BACKFILL, "Timeout (bf_max_time):", DN_BF_EXIT_TIMEOUT, NUMBER},
};

/* Sums Slurm keeps and sdiag text prints only as means: mean × count, the closest value. */
static const int native_sums[][3] = {
    {DN_SCHEDULE_CYCLE_TOT, DN_SCHED_MEAN_CYCLE, DN_SCHEDULE_CYCLE_CNT},
    {DN_SCHEDULE_CYCLE_DEPTH, DN_SCHED_MEAN_DEPTH_CYCLE, DN_SCHEDULE_CYCLE_CNT},
    {DN_BF_CYCLE_TOT, DN_BF_MEAN_CYCLE, DN_BF_CYCLE_CNT},
    {DN_BF_DEPTH_TOT, DN_BF_DEPTH_MEAN, DN_BF_CYCLE_CNT},
    {DN_BF_DEPTH_TRY_TOT, DN_BF_TRY_DEPTH_MEAN, DN_BF_CYCLE_CNT},
    {DN_BF_QUEUE_LEN_TOT, DN_BF_QUEUE_LEN_MEAN, DN_BF_CYCLE_CNT},
    {DN_BF_TABLE_SIZE_TOT, DN_BF_MEAN_TABLE_SZ, DN_BF_CYCLE_CNT},
};

/* sdiag's counters that slurmpush keeps monotonic across sdiag's resets, and their names in the
 * saved state (the first five are slurm_scheduler_jobs_total's event label too) */
enum { C_SUBMITTED, C_STARTED, C_COMPLETED, C_CANCELED, C_FAILED, C_MAIN_CYCLES, C_BF_CYCLES, N_COUNTERS };
static const char *const counter_names[N_COUNTERS] = {"submitted", "started",     "completed",      "canceled",
                                                      "failed",    "main_cycles", "backfill_cycles"};

typedef struct {
    bool seen[N_COUNTERS];
    double last[N_COUNTERS];  /* sdiag's value at the last successful run */
    double total[N_COUNTERS]; /* the counter slurmpush pushes */
} diags_memory;

typedef struct {
    section sec;
    bool saw_banner, saw_threads;
    double bf_cycles, bf_mean_cycle;
    bool have_json_main_cycles;
    double json_main_cycles;
    family *fam[N_DIAG];
    json_doc doc; /* `sdiag --json` (23.02+), when a site's command prints it */
    diags_memory *memory;
} diags_state;

static void diags_begin(void *state, sample_set *out, const collect_env *env) {
    diags_state *s = state;
    s->memory = env->memory;
    ss_declare(out, diags_families, s->fam);
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

/* "Label ... (1796316276)" -> the number in the last parentheses. */
static bool epoch_at_end(const char *line, double *out) {
    const char *open = strrchr(line, '(');
    long long v;
    char text[24];
    if (!open || !strchr(open, ')')) return false;
    size_t n = (size_t)(strchr(open, ')') - open - 1);
    if (n >= sizeof text) return false;
    memcpy(text, open + 1, n);
    text[n] = '\0';
    if (parse_int(text, &v) < 0) return false;
    *out = (double)v;
    return true;
}

/* Slurm's own scheduler families: the line's value under its native name, if it has one. */
static void native_line(diags_state *s, const char *line) {
    for (size_t i = 0; i < sizeof native_lines / sizeof *native_lines; i++) {
        if (native_lines[i].sec != s->sec) continue;
        double v;
        bool found = native_lines[i].kind == EPOCH
                         ? !strncmp(line, native_lines[i].label, strlen(native_lines[i].label)) && epoch_at_end(line, &v)
                         : labelled(line, native_lines[i].label, &v);
        if (found) {
            fam_set(s->fam[native_lines[i].fam], v, NULL);
            return;
        }
    }
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
    else if (!strncmp(line, "Latency for", 11)) {
        s->sec = SEC_OTHER;
        const char *colon = strstr(line, "): ");
        long long v;
        char text[24];
        if (colon && sscanf(colon + 3, "%23s", text) == 1 && parse_int(text, &v) == 0)
            fam_set(s->fam[DN_SDIAG_LATENCY], (double)v, NULL);
    } else if (!strncmp(line, "Pending RPC statistics", 22))
        s->sec = SEC_OTHER;
    else if (s->sec == SEC_MAIN)
        main_section(s, line), native_line(s, line);
    else if (s->sec == SEC_BACKFILL)
        backfill_section(s, line), native_line(s, line);
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
    s->have_json_main_cycles = jnum(jget(st, "schedule_cycle_counter"), &s->json_main_cycles);
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

/* The first value read, then every rise; after a drop (a reset to zero) the new value is what
 * was counted since. */
static void count_on(diags_memory *m, int i, double raw) {
    if (!m->seen[i])
        m->total[i] = raw;
    else if (raw >= m->last[i])
        m->total[i] += raw - m->last[i];
    else
        m->total[i] += raw;
    m->last[i] = raw;
    m->seen[i] = true;
}

/* A one-label family's value for that label value, or false. */
static bool value_of(const family *f, const char *label, double *out) {
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->items[i].values[0], label)) return *out = f->items[i].value, true;
    return false;
}

/* This run's sdiag counters into the memory, and the monotonic counters out. */
static void emit_counters(diags_state *s) {
    diags_memory *m = s->memory;
    if (!m) return;
    double raw[N_COUNTERS];
    bool have[N_COUNTERS] = {false};
    for (int i = C_SUBMITTED; i <= C_FAILED; i++) have[i] = value_of(s->fam[D_JOBS], counter_names[i], &raw[i]);
    const family *main = s->fam[DN_SCHEDULE_CYCLE_CNT], *bf = s->fam[D_BF_CYCLE_COUNTER];
    if ((have[C_MAIN_CYCLES] = s->have_json_main_cycles)) raw[C_MAIN_CYCLES] = s->json_main_cycles;
    if (!have[C_MAIN_CYCLES] && main->n) have[C_MAIN_CYCLES] = true, raw[C_MAIN_CYCLES] = main->items[0].value;
    if ((have[C_BF_CYCLES] = bf->n > 0)) raw[C_BF_CYCLES] = bf->items[0].value;
    for (int i = 0; i < N_COUNTERS; i++)
        if (have[i]) count_on(m, i, raw[i]);
    for (int i = C_SUBMITTED; i <= C_FAILED; i++)
        if (m->seen[i]) FAM_SET(s->fam[D_JOBS_TOTAL], m->total[i], counter_names[i]);
    if (m->seen[C_MAIN_CYCLES]) fam_set(s->fam[D_CYCLES_TOTAL], m->total[C_MAIN_CYCLES], NULL);
    if (m->seen[C_BF_CYCLES]) fam_set(s->fam[D_BF_CYCLES_TOTAL], m->total[C_BF_CYCLES], NULL);
}

static int diags_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    diags_state *s = state;
    if (s->doc.active) {
        if (diags_json(s, why, why_len)) return -1;
        emit_counters(s);
        return 0;
    }
    /* sdiag text has no cycle sum: mean x count is the closest (integer rounding of the mean) */
    fam_set(s->fam[D_BF_CYCLE_SUM], s->bf_cycles * s->bf_mean_cycle, NULL);
    for (size_t i = 0; i < sizeof native_sums / sizeof *native_sums; i++) {
        const family *mean = s->fam[native_sums[i][1]], *count = s->fam[native_sums[i][2]];
        if (mean->n && count->n) fam_set(s->fam[native_sums[i][0]], mean->items[0].value * count->items[0].value, NULL);
    }
    emit_counters(s);
    return 0;
}

/* {"counters": {"submitted": {"last": N, "total": N}, …}} */
static void diags_save(const void *memory, json_object *out) {
    const diags_memory *m = memory;
    json_object *counters = json_object_new_object();
    for (int i = 0; i < N_COUNTERS; i++) {
        if (!m->seen[i]) continue;
        json_object *c = json_object_new_object();
        json_object_object_add(c, "last", json_object_new_double(m->last[i]));
        json_object_object_add(c, "total", json_object_new_double(m->total[i]));
        json_object_object_add(counters, counter_names[i], c);
    }
    json_object_object_add(out, "counters", counters);
}

static bool finite_number(json_object *o, double *out) {
    if (!o || !(json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int))) return false;
    *out = json_object_get_double(o);
    return isfinite(*out) && *out >= 0;
}

static int diags_load(void *memory, json_object *in) {
    diags_memory *m = memory;
    json_object *counters = NULL, *c, *last, *total;
    if (!json_object_object_get_ex(in, "counters", &counters) || !json_object_is_type(counters, json_type_object)) return -1;
    for (int i = 0; i < N_COUNTERS; i++) {
        if (!json_object_object_get_ex(counters, counter_names[i], &c)) continue;
        if (!json_object_object_get_ex(c, "last", &last) || !json_object_object_get_ex(c, "total", &total) ||
            !finite_number(last, &m->last[i]) || !finite_number(total, &m->total[i]))
            return -1;
        m->seen[i] = true;
    }
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
    .slurm_names_from = DN_SCHED_STATS_TIMESTAMP,
    .error_metric = "slurm_diag_scrape_error",
    .error_help = "slurm diag scrape error",
    .duration_metric = "slurm_diag_scrape_duration",
    .state_size = sizeof(diags_state),
    .begin = diags_begin,
    .parse_line = diags_line,
    .end = diags_end,
    .release = diags_release,
    .memory_size = sizeof(diags_memory),
    .memory_save = diags_save,
    .memory_load = diags_load,
};
