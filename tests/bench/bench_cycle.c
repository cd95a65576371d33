/* bench_cycle.c — one full cycle on CLI output in files: run the commands (cat), parse,
 * aggregate, encode remote-write (protobuf + snappy) and text; print CPU seconds of this
 * process, its peak RSS and the payload bytes, then the parse floor (floor.c: squeue and sinfo
 * read once, split and summed) and the cycle's ratio to it. A program, not a test: it prints figures.
 *   bench_cycle DIR   (every collector whose output DIR holds as STEM.txt, e.g. from gen_cluster) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent/collector.h"
#include "encode/remote_write.h"
#include "encode/text.h"
#include "floor.h"

static void discard(void *ctx, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples) {
    free(body_v2);
    (void)len_v2;
    (void)ctx;
    (void)len;
    (void)samples;
    free(body);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_cycle DIR\n");
        return 2;
    }
    config cfg = {.cli_timeout = 600, .cli_max_output = (int64_t)1 << 34};
    label_pair extra[] = {{"cluster", "bench"}};
    /* every collector whose output DIR holds (DIR/STEM.txt, its fixture stem), with its defaults */
    const sample_set *sets[64];
    size_t n_sets = 0, input_bytes = 0, lines = 0;
    double baselines = 0; /* the baseline runs of collectors with memory: not part of a cycle's figure */
    double t0 = cpu_seconds();
    for (size_t k = 0; all_collectors[k] && n_sets < 64; k++) {
        const collector_def *d = all_collectors[k];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.txt", argv[1], d->fixture ? d->fixture : "-");
        if (!d->command || access(path, R_OK)) continue;
        char *args[] = {"cat", path, NULL};
        run_result res;
        /* a collector with memory runs twice, as in the daemon: a baseline, then the measured run, which
         * compares every job or node with the last run's (its memory stays allocated, in the RSS) */
        void *memory = d->memory_size ? calloc(1, d->memory_size) : NULL;
        if (memory) {
            double b0 = cpu_seconds();
            ss_free(collector_run(d, args, &cfg, &(collect_env){.memory = memory}, NULL, &res));
            baselines += cpu_seconds() - b0;
            printf("collector=%s baseline_cpu_s=%.3f\n", d->name, cpu_seconds() - b0);
        }
        double c0 = cpu_seconds();
        sample_set *ss = collector_run(d, args, &cfg, &(collect_env){.memory = memory}, NULL, &res);
        if (res.status != RUN_OK) {
            char why[256];
            fprintf(stderr, "bench_cycle: %s: %s\n", d->name, run_status_text(&res, why, sizeof why));
            return 1;
        }
        ss_finish(ss);
        printf("collector=%s input_lines=%zu series=%zu cpu_s=%.3f\n", d->name, res.lines, ss_series_count(ss),
               cpu_seconds() - c0);
        if (memory && d->memory_save) { /* what the daemon writes to --state-dir after the run */
            double s0 = cpu_seconds();
            json_object *doc = json_object_new_object();
            d->memory_save(memory, doc);
            size_t len = strlen(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
            json_object_put(doc);
            printf("collector=%s state_bytes=%zu state_save_cpu_s=%.3f\n", d->name, len, cpu_seconds() - s0);
        }
        sets[n_sets++] = ss;
        input_bytes += res.stdout_bytes;
        lines += res.lines;
    }
    double t_parse = cpu_seconds();
    rw_stats st;
    rw_encode(sets, n_sets, extra, 1, 2000, false, discard, NULL, &st);
    double t_rw = cpu_seconds();
    buf text = {0};
    text_encode(sets, n_sets, extra, 1, false, &text);
    double t_text = cpu_seconds();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("input_lines=%zu input_bytes=%zu series=%zu cpu_parse_s=%.3f cpu_remote_write_s=%.3f cpu_text_s=%.3f cpu_total_s=%.3f "
           "peak_rss_mb=%.1f rw_requests=%zu rw_raw_bytes=%zu rw_payload_bytes=%zu text_bytes=%zu\n",
           lines, input_bytes, st.samples, t_parse - t0 - baselines, t_rw - t_parse, t_text - t_rw, t_text - t0 - baselines,
           ru.ru_maxrss / 1024.0, st.requests, st.raw_bytes, st.compressed_bytes, text.len);
    buf_free(&text);
    for (size_t k = 0; k < n_sets; k++) ss_free((sample_set *)sets[k]);
    /* the floor, measured after the cycle so that its memory does not hide in the cycle's peak
     * (BENCH_NO_FLOOR=1: the cycle alone, for instructions.sh) */
    if (getenv("BENCH_NO_FLOOR")) return 0;
    double f0 = cpu_seconds();
    size_t floor_bytes = parse_floor(argv[1]);
    double floor_s = cpu_seconds() - f0, cycle_s = t_text - t0 - baselines;
    printf("floor_bytes=%zu floor_cpu_s=%.3f cycle_to_floor=%.1f\n", floor_bytes, floor_s, floor_s > 0 ? cycle_s / floor_s : 0);
    return 0;
}
