/* selfmetrics.c — process_* and delivery metrics (see selfmetrics.h). */
#include "selfmetrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef SLURMPUSH_VERSION
#define SLURMPUSH_VERSION "0.0.0"
#endif

static double count_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    double n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory handle itself */
}

void emit_process_metrics(sample_set *ss, double start_time_s) {
    double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    unsigned long utime = 0, stime = 0, vsize = 0;
    long rss = 0;
    char *stat = read_file("/proc/self/stat", 4096, NULL);
    /* fields after the parenthesised command name; utime/stime are 14/15, vsize/rss 23/24 */
    const char *p = stat ? strrchr(stat, ')') : NULL;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %*u %lu %ld", &utime, &stime,
               &vsize, &rss);
    free(stat);
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    fam_set(ss_family(ss, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", METRIC_COUNTER, NULL),
            (double)(utime + stime) / ticks, NULL);
    fam_set(ss_family(ss, "process_resident_memory_bytes", "Resident memory size in bytes.", METRIC_GAUGE, NULL),
            (double)rss * page, NULL);
    fam_set(ss_family(ss, "process_virtual_memory_bytes", "Virtual memory size in bytes.", METRIC_GAUGE, NULL), (double)vsize,
            NULL);
    fam_set(ss_family(ss, "process_open_fds", "Number of open file descriptors.", METRIC_GAUGE, NULL), count_open_fds(), NULL);
    fam_set(ss_family(ss, "process_max_fds", "Maximum number of open file descriptors.", METRIC_GAUGE, NULL),
            rl.rlim_cur == RLIM_INFINITY ? 1e9 : (double)rl.rlim_cur, NULL);
    fam_set(
        ss_family(ss, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", METRIC_GAUGE, NULL),
        start_time_s, NULL);
}

void emit_sender_metrics(sample_set *ss, const endpoint_ref *eps, size_t n) {
    if (!n) return;
    family *requests = ss_family(ss, "slurmpush_sender_requests_total",
                                 "Requests per endpoint by outcome: ok, rejected (4xx, never resent), evicted (queue full).",
                                 METRIC_COUNTER, "endpoint", "protocol", "result", NULL);
    family *samples = ss_family(ss, "slurmpush_sender_samples_total", "Samples per endpoint by outcome: sent, rejected, evicted.",
                                METRIC_COUNTER, "endpoint", "protocol", "result", NULL);
    family *retries = ss_family(ss, "slurmpush_sender_retries_total", "Attempts that failed and were retried.", METRIC_COUNTER,
                                "endpoint", "protocol", NULL);
    family *transport = ss_family(ss, "slurmpush_sender_transport_errors_total",
                                  "Attempts that got no HTTP answer, by cause: tls (a certificate refused, a failed "
                                  "handshake: nothing was sent), connect, timeout, other.",
                                  METRIC_COUNTER, "endpoint", "protocol", "kind", NULL);
    family *qreq = ss_family(ss, "slurmpush_sender_queue_requests", "Requests waiting to be sent.", METRIC_GAUGE, "endpoint",
                             "protocol", NULL);
    family *qbytes =
        ss_family(ss, "slurmpush_sender_queue_bytes", "Bytes waiting to be sent.", METRIC_GAUGE, "endpoint", "protocol", NULL);
    family *spool = ss_family(ss, "slurmpush_sender_spool_bytes", "Bytes waiting in the endpoint's on-disk spool.", METRIC_GAUGE,
                              "endpoint", NULL);
    family *damage = ss_family(ss, "slurmpush_sender_spool_damage_total",
                               "Damage found in the endpoint's spool: damaged records skipped (bad framing or CRC; the intact "
                               "ones around them are sent), an acknowledged position missing or damaged (re-sent, not lost).",
                               METRIC_COUNTER, "endpoint", "kind", NULL);
    family *last = ss_family(ss, "slurmpush_sender_last_success_timestamp_seconds", "When a request last succeeded.",
                             METRIC_GAUGE, "endpoint", "protocol", NULL);
    family *latency = ss_family(ss, "slurmpush_sender_last_request_duration_seconds", "How long the last request took.",
                                METRIC_GAUGE, "endpoint", "protocol", NULL);
    family *fallback = ss_family(ss, "slurmpush_sender_remote_write_v1_fallback",
                                 "1 if the endpoint did not take remote-write 2.0 and gets 1.0.", METRIC_GAUGE, "endpoint", NULL);
    for (size_t i = 0; i < n; i++) {
        sender_stats st;
        sender_get_stats(eps[i].s, &st);
        const char *e = eps[i].endpoint, *p = eps[i].protocol;
        FAM_SET(requests, (double)st.requests_ok, e, p, "ok");
        FAM_SET(requests, (double)st.requests_dropped, e, p, "rejected");
        FAM_SET(requests, (double)st.requests_evicted, e, p, "evicted");
        FAM_SET(samples, (double)st.samples_sent, e, p, "sent");
        FAM_SET(samples, (double)st.samples_dropped, e, p, "rejected");
        FAM_SET(samples, (double)st.samples_evicted, e, p, "evicted");
        FAM_SET(retries, (double)st.retries, e, p);
        for (int k = 0; k < N_TRANSPORT; k++) FAM_SET(transport, (double)st.transport_errors[k], e, p, transport_error_names[k]);
        FAM_SET(qreq, (double)st.queue_requests, e, p);
        FAM_SET(qbytes, (double)st.queue_bytes, e, p);
        if (st.spooled) {
            FAM_SET(spool, (double)st.spool_bytes, e);
            FAM_SET(damage, (double)st.spool_damaged_records, e, "damaged_record");
            FAM_SET(damage, (double)st.spool_position_repairs, e, "position_lost");
        }
        FAM_SET(last, (double)st.last_success_ms / 1000.0, e, p);
        FAM_SET(latency, st.last_request_seconds, e, p);
        if (!strcmp(p, "remote_write")) FAM_SET(fallback, st.protocol_v1_fallback ? 1 : 0, e);
    }
}

void emit_build_info(sample_set *ss) {
    FAM_SET(ss_family(ss, "slurmpush_build_info", "A metric with a constant 1 labelled by the version of slurmpush.",
                      METRIC_GAUGE, "version", NULL),
            1, SLURMPUSH_VERSION);
}
