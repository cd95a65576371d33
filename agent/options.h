/* options.h — the parsed configuration and the one table that declares every option.
 * The table drives command-line parsing (GNU `--name=value` and the seed's `-name value`),
 * environment variables, `--help` and the README's options table (`--help-markdown`). */
#ifndef SLURMPUSH_OPTIONS_H
#define SLURMPUSH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **items;
    size_t n;
} strlist;

typedef struct {
    const char *name, *value;
} label_pair;

typedef enum { OPT_STRING, OPT_BOOL, OPT_SECONDS, OPT_BYTES, OPT_COUNT, OPT_LIST } opt_type;

/* What the options say of one collector (index = its place in the registry). The rows that
 * fill it come from the collector's own descriptor (collector.h). */
typedef struct {
    bool enabled;       /* --collector.NAME */
    char *command;      /* --collector.NAME.command */
    double interval;    /* --collector.NAME.interval: seconds between runs, 0 = every cycle */
    int64_t max_series; /* --collector.NAME.max-series: more series in one run are dropped (counted) */
    void *settings;     /* the collector's own option struct (its descriptor's settings_size bytes) */
} collector_config;

typedef struct {
    char *protocol;
    strlist headers;
    char *username;
    char *password_file;
    char *bearer_token_file;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *server_name;
    bool insecure;
    char *proxy_url;
    /* derived at start-up */
    bool v2;
    char *password; /* read from password_file */
} endpoint_options;

typedef struct config {
    /* listener */
    char *listen_address;
    char *telemetry_path;
    double request_timeout;
    char *web_config_file;
    char *log_level;
    /* collection */
    double poll_limit;
    double interval;
    double cli_timeout;
    int64_t cli_max_output;
    bool cli_fallback;
    collector_config *collectors; /* one per registry entry, in registry order */
    size_t n_collectors;
    strlist labels;
    char *metrics_exclude;
    /* delivery */
    strlist remote_write_urls;
    double remote_write_timeout;
    int64_t remote_write_max_samples;
    int64_t remote_write_queue_bytes;
    char *remote_write_spool_dir;
    char *state_dir; /* --state-dir, else the spool dir, else NULL */
    /* per-endpoint options: given before any --remote-write.url they are every endpoint's default;
     * after one, they belong to that endpoint (resolved at start-up: rw_endpoints[i] is complete) */
    endpoint_options rw_default;
    endpoint_options *rw_endpoints; /* one per remote_write_urls item */
    int64_t remote_write_spool_bytes;
    char *pushgateway_url;
    char *pushgateway_job;
    char *pushgateway_instance;
    bool pushgateway_gzip;
    bool pushgateway_delete;
    /* trace ingest */
    bool trace_enabled;
    char *trace_path;
    double trace_rate;
    int64_t trace_max_jobs;
    int64_t trace_max_body;
    char *trace_token_file;
    /* run mode */
    bool once;
    bool dry_run;
    /* derived after parsing */
    label_pair *extra_labels; /* parsed --label pairs, later ones replace earlier */
    size_t n_extra_labels;
    size_t n_text_labels; /* the first ones: without the "__" names, which only remote-write carries */
    double cycle_seconds; /* max(poll_limit, interval) */
} config;

typedef enum { OPTIONS_OK, OPTIONS_EXIT_OK, OPTIONS_ERROR } options_result;

/* Fills cfg from defaults, then the environment, then argv. Prints --help/--version itself.
 * On a bad value writes one line to stderr and returns OPTIONS_ERROR. */
options_result options_parse(config *cfg, int argc, char **argv);
void options_free(config *cfg);
/* The index of the named collector in the registry (and cfg->collectors), or -1. */
int collector_index(const char *name);
/* True when name matches [a-zA-Z_][a-zA-Z0-9_]* (and, for metrics, ':' allowed). */
bool valid_label_name(const char *name);
bool valid_metric_name(const char *name);

#endif
