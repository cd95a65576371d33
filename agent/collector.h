/* collector.h — what a collector is. One collector per file under collect/, each a
 * descriptor with designated initializers: its name, where its on/off switch and command
 * live in the configuration, its seed-compatible self-metric names, and three callbacks
 * that turn a stream of lines into families. A collector never sees HTTP, protobuf or
 * another collector; adding a metric family touches its one file. */
#ifndef SLURMPUSH_COLLECTOR_H
#define SLURMPUSH_COLLECTOR_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

#include "http_source.h"
#include "options.h"
#include "samples.h"
#include "trace.h"

/* What the agent lends every collector run (read-only for the collector). */
typedef struct {
    trace_table *traces;  /* NULL unless --trace.enabled */
    const void *settings; /* the collector's own option struct, filled from its option rows */
    /* Logs msg with value the first time this collector notes that value in this process (a
     * state flag no Slurm slurmpush knows printed, say), never again; NULL: nothing logged. */
    void (*note_once)(void *ctx, const char *msg, const char *value);
    void *note_ctx;
    void *memory; /* what the collector keeps across runs (its descriptor's memory_size bytes), or NULL */
} collect_env;

/* One metric family, as the collector's descriptor declares it: ss_declare() makes the
 * families of a run from this table, and --help-metrics-markdown the README's tables. */
typedef struct {
    const char *name;
    metric_type type;
    const char *const *labels; /* NULL-terminated (LABELS(...)); NULL: no labels */
    const char *help;          /* the HELP line */
    const char *doc;           /* the README's description, when it says more than help */
    bool positive_only;        /* zero-valued series omitted (the seed's rule) */
    bool shares_previous;      /* same labels and series as the family before it: one lookup serves both */
} family_def;
#define LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* One option of a collector beyond the switch, command and interval every collector has. */
typedef struct {
    const char *name; /* the whole option name, by convention "collector.NAME.knob" */
    opt_type type;
    const char *def;   /* default as text, NULL = unset */
    const char *alias; /* an older spelling that also works, or NULL */
    size_t offset;     /* where the value lands in the collector's settings struct */
    const char *help;
} collector_option;

typedef struct collector_def {
    const char *name;    /* label value of collector="…"; its options are --collector.NAME[.…] */
    const char *summary; /* one line for --help and the README: what it reads */
    bool enabled_by_default;
    const char *enable_alias;        /* an older spelling of --collector.NAME (the seed's), or NULL */
    const char *command;             /* default command (split on spaces, quotes group; no shell) */
    const char *command_alias;       /* an older spelling of --collector.NAME.command, or NULL */
    const char *json_command;        /* replaces the default command with --slurm.cli-fallback=false (may be NULL) */
    const char *interval;            /* default of --collector.NAME.interval (NULL: "0", every cycle) */
    const char *fixture;             /* its output's file name stem in fixture sets (fixtures/SET/STEM.txt), fuzz seeds too */
    const collector_option *options; /* its own options, ended by a row without name (may be NULL) */
    size_t settings_size;            /* bytes of the struct its options fill */
    const family_def *families;      /* every family it emits, ended by a row without name */
    size_t slurm_names_from;         /* families from this row on carry Slurm's own metric names (0: none): with the
                                        native collector on, which reads them from Slurm itself, they are left out */
    const char *error_metric;        /* seed-compatible error counter name */
    const char *error_help;
    const char *duration_metric; /* seed-compatible duration gauge (ms), or NULL where the seed has none */
    size_t state_size;           /* bytes of private state the callbacks share during one run */
    /* Declares families into out before the first line. */
    void (*begin)(void *state, sample_set *out, const collect_env *env);
    /* One line of output; returns non-zero (and says why) if the line is not what was asked for. */
    int (*parse_line)(void *state, char *line, size_t len, char *why, size_t why_len);
    /* After a successful run: emit what needs all lines (may be NULL); non-zero (with why)
     * refuses the output, e.g. a JSON document that does not parse. */
    int (*end)(void *state, sample_set *out, char *why, size_t why_len);
    /* Frees what the state holds outside the set's arena (may be NULL); called after every run. */
    void (*release)(void *state);
    /* A collector that reads HTTP instead of running a command (its command is NULL): fills req
     * from its settings, anything it allocates in mem (freed with the run's set). */
    void (*http_request)(const void *settings, http_request *req, arena *mem);
    bool dynamic_families; /* its families come from its input (the native collector): none declared */
    bool nonzero_exit_ok;  /* the command's non-zero exit is an answer (scontrol ping: a controller is down) */
    /* Families joined from another collector's result (may be NULL): after a successful run, join()
     * reads the latest successful result of the collector named by joins (this cycle's: waited for
     * while it runs), read-only, and adds to out. Nothing when that collector is off or has none.
     * A joined collector joins nothing itself. */
    const char *joins;
    void (*join)(const sample_set *other, sample_set *out);
    /* What the collector remembers from run to run (0: nothing), to turn snapshots into edges and
     * counters. The agent keeps memory_size bytes for the process's life, zeroed at start or restored
     * from --state-dir by memory_load, and lends them as env->memory. Only end() changes them, and only
     * for a run it accepts (one collector's runs never overlap), so a failed run leaves them as the
     * last success did; after each success the agent saves them (memory_save writes one JSON object). */
    size_t memory_size;
    void (*memory_save)(const void *memory, json_object *out);
    /* Restores saved memory (zeroed before); non-zero: not a document it wrote, start from nothing. */
    int (*memory_load)(void *memory, json_object *in);
    void (*memory_release)(void *memory); /* frees what the memory holds (may be NULL) */
    /* Checks its own options at start-up (may be NULL): non-zero, with a one-line reason, is a start-up error. */
    int (*validate)(const void *settings, char *err, size_t err_len);
} collector_def;

/* Declares every family of a descriptor's table into out, in order; fams[i] is defs[i]'s. */
void ss_declare(sample_set *out, const family_def *defs, family **fams);
/* The number of rows of a family or option table (up to the row without name). */
size_t family_count(const family_def *defs);

/* The registry: every collector the agent knows, NULL-terminated, in name order. It is
 * generated at build time from the descriptors found under collect/ (registry.c). */
extern const collector_def *const all_collectors[];

/* --list-collectors: one line per collector, tab-separated: name, default, interval, fixture stem, families, command. */
void collectors_print_list(FILE *out);
/* --help-metrics-markdown: the README's metrics tables, one per collector, from the descriptors. */
void collectors_print_metrics_markdown(FILE *out);

/* Runs the collector's command once and parses its output into a new set stamped with the
 * time the output was complete. On any failure (res->status != RUN_OK) the set is empty:
 * no series built from a failed or garbled run. */
#include "runner.h"
sample_set *collector_run(const collector_def *d, char *const argv[], const config *cfg, const collect_env *env,
                          const _Atomic bool *cancel, run_result *res);

/* Helpers shared by the parsers. */
/* Splits line on '|' into at most max fields; the last field takes the rest of the line. */
size_t split_fields(char *line, char **fields, size_t max);
/* Parses a Slurm memory size: number with optional K/M/G/T/P suffix; no suffix = MB.
 * Writes the seed's SI bytes (M = 1e6) and true bytes (M = 2^20); "N/A" and "" give 0. */
int parse_slurm_memory(const char *s, double *si_bytes, double *bytes);
/* MB as Slurm prints it: the largest unit (M, G, T, P) that keeps two exact decimals. */
void slurm_memory_text(double mb, char *out, size_t outlen);
/* In a line of space-separated KEY=VALUE words (scontrol -o), the value of KEY (its length in
 * *len, up to the next space), or NULL. */
const char *kv_value(const char *line, const char *key, size_t *len);
/* KEY's value copied into out; "" when KEY is missing or Slurm's "(null)". */
void kv_text(const char *line, const char *key, char *out, size_t outlen);
/* KEY's value as a count: 0 and *out, 1 when missing (no series), -1 (with why) when not a count. */
int kv_count(const char *line, const char *key, double *out, char *why, size_t why_len);
/* The UTC offsets of the hours parse_slurm_time_cached has seen: a collector that reads many times keeps one
 * in its run state (zeroed). */
enum { SLURM_TIME_CACHE_SLOTS = 64 };
typedef struct {
    bool valid[SLURM_TIME_CACHE_SLOTS];
    long hour[SLURM_TIME_CACHE_SLOTS], offset[SLURM_TIME_CACHE_SLOTS];
} slurm_time_cache;
bool parse_slurm_time_cached(const char *text, double *out, slurm_time_cache *cache);
/* "2026-12-10T16:44:41" (the form the runner pins with SLURM_TIME_FORMAT=standard) in this process's
 * timezone, as Slurm printed it; false for "N/A", "Unknown", "None" and anything else. */
bool parse_slurm_time(const char *text, double *out);
/* Histogram bounds from text ("60,300,3600"): ascending, finite, positive numbers; their count, or -1 with why. */
int parse_bounds(const char *text, double *out, size_t max, char *why, size_t why_len);
/* The bounds of text, or of fallback when text is NULL or not bounds (validate() refused it at start-up). */
size_t bounds_or(const char *text, const char *fallback, double *out, size_t max);
/* Parses a whole decimal number (optional leading '-'); -1 when s is anything else. */
int parse_int(const char *s, long long *out);
/* Parses a number; "N/A" and friends give *missing = 1 and 0. -1 on garbage. */
int parse_number_or_na(const char *s, double *out, int *missing);

#endif
