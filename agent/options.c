/* options.c — the option table and everything it drives (see options.h). */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector.h"
#include "log.h"
#include "util.h"

#ifndef SLURMPUSH_VERSION
#define SLURMPUSH_VERSION "0.0.0"
#endif

/* Where an option's value lands. */
typedef enum {
    IN_CONFIG,    /* struct config */
    IN_ENDPOINT,  /* endpoint_options: the last --remote-write.url's, or the default */
    IN_COLLECTOR, /* collector_config of one collector */
    IN_SETTINGS,  /* the collector's own settings struct */
} opt_place;

typedef struct {
    const char *name; /* long name; also accepted with one dash, as the seed's Go flags */
    opt_type type;
    opt_place place;
    const char *def; /* default, as text; NULL = unset */
    const char *env; /* environment variable read before the command line, or NULL */
    size_t offset;   /* where the value lands (see place) */
    const char *help;
    const char *alias; /* an older spelling (collectors' rows), or NULL */
    int collector;     /* IN_COLLECTOR, IN_SETTINGS: the collector's index in the registry */
} option_def;

#define AT(field) offsetof(config, field)
#define EP(field) offsetof(endpoint_options, field)

/* A row of the table below: an option_def without the collector fields. */
typedef struct {
    const char *name;
    opt_type type;
    opt_place place;
    const char *def, *env;
    size_t offset;
    const char *help;
} table_row;

/* The one declaration of every option but the collectors' (their descriptors hold those).
 * Order here is the order of --help. */
static const table_row option_table[] = {
    {"web.listen-address", OPT_STRING, IN_CONFIG, ":9092", NULL, AT(listen_address),
     "Address of the built-in HTTP listener (/metrics); empty disables it."},
    {"web.telemetry-path", OPT_STRING, IN_CONFIG, "/metrics", NULL, AT(telemetry_path), "Path that serves the metrics."},
    {"web.request-timeout", OPT_SECONDS, IN_CONFIG, "10", NULL, AT(request_timeout),
     "Seconds a connection has to send a whole request (from its start, or from the previous answer); slower ones are "
     "closed."},
    {"web.config.file", OPT_STRING, IN_CONFIG, NULL, NULL, AT(web_config_file),
     "Prometheus exporter-toolkit web configuration (YAML, as node_exporter reads it): TLS (tls_server_config), basic auth "
     "(basic_auth_users, bcrypt), response headers; for /metrics and /trace alike. Re-read on SIGHUP."},
    {"web.log-level", OPT_STRING, IN_CONFIG, "info", "LOGLEVEL", AT(log_level), "Log level: debug, info, warn (warning), error."},
    {"slurm.poll-limit", OPT_SECONDS, IN_CONFIG, "10", "POLL_LIMIT", AT(poll_limit),
     "Seconds between collection cycles; no Slurm command runs more often."},
    {"interval", OPT_SECONDS, IN_CONFIG, "0", NULL, AT(interval),
     "A longer cycle than --slurm.poll-limit (0: use the poll limit)."},
    {"slurm.cli-timeout", OPT_SECONDS, IN_CONFIG, "10", "CLI_TIMEOUT", AT(cli_timeout),
     "Seconds a Slurm command may run before it is killed, with everything it started."},
    {"slurm.cli-max-output", OPT_BYTES, IN_CONFIG, "268435456", NULL, AT(cli_max_output),
     "Largest output (bytes) accepted from one Slurm command; more fails the run."},
    {"slurm.cli-fallback", OPT_BOOL, IN_CONFIG, "true", NULL, AT(cli_fallback),
     "Text mode (the default, fast, every Slurm version); false: JSON mode, squeue/sinfo --json (openapi v0.0.37, v0.0.38 and "
     "data_parser v0.0.39+ shapes)."},
    {"metrics.exclude", OPT_STRING, IN_CONFIG, "", NULL, AT(metrics_exclude),
     "Extended regular expression: metric families whose name it matches (anywhere) are neither pushed nor served."},
    {"label", OPT_LIST, IN_CONFIG, NULL, NULL, AT(labels),
     "name=value added to every pushed and served series (repeatable; replaces a same-named label)."},
    {"remote-write.url", OPT_LIST, IN_CONFIG, NULL, NULL, AT(remote_write_urls),
     "Prometheus remote-write endpoint (repeatable); none: serve /metrics only."},
    {"remote-write.timeout", OPT_SECONDS, IN_CONFIG, "30", NULL, AT(remote_write_timeout),
     "Seconds one remote-write request may take."},
    {"remote-write.max-samples-per-send", OPT_COUNT, IN_CONFIG, "2000", NULL, AT(remote_write_max_samples),
     "Samples in one remote-write request at most."},
    {"remote-write.queue-max-bytes", OPT_BYTES, IN_CONFIG, "67108864", NULL, AT(remote_write_queue_bytes),
     "Compressed bytes queued per endpoint at most; the oldest request is dropped (and counted) beyond."},
    {"remote-write.protocol", OPT_STRING, IN_ENDPOINT, "v1", NULL, EP(protocol),
     "v1 (remote-write 1.0) or v2 (2.0, falling back to 1.0 per endpoint on 415, 400 or a 2xx that wrote nothing)."},
    {"remote-write.spool-dir", OPT_STRING, IN_CONFIG, NULL, NULL, AT(remote_write_spool_dir),
     "Directory of the durable queues (one subdirectory per endpoint): every request is written there before it is sent "
     "and survives restarts and outages; unset: memory only."},
    {"state-dir", OPT_STRING, IN_CONFIG, NULL, NULL, AT(state_dir),
     "Directory where collectors keep what they remember across restarts (counters made from Slurm's snapshots), "
     "saved after each run; unset: --remote-write.spool-dir, if set; neither: counters start at zero at every start."},
    {"remote-write.spool-max-bytes", OPT_BYTES, IN_CONFIG, "1073741824", NULL, AT(remote_write_spool_bytes),
     "Bytes one endpoint's spool may hold; beyond, its oldest requests are dropped (counted and logged)."},
    {"remote-write.header", OPT_LIST, IN_ENDPOINT, NULL, NULL, EP(headers),
     "'Name: value' added to every remote-write request (repeatable), e.g. X-Scope-OrgID or THANOS-TENANT; the protocol's "
     "own headers cannot be overridden."},
    {"remote-write.basic-auth.username", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(username), "Basic-auth user name."},
    {"remote-write.basic-auth.password-file", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(password_file),
     "File holding the basic-auth password (never on the command line)."},
    {"remote-write.bearer-token-file", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(bearer_token_file),
     "File holding a bearer token, re-read whenever it changes."},
    {"remote-write.tls.ca-file", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(ca_file), "CA certificates to verify the receiver."},
    {"remote-write.tls.cert-file", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(cert_file), "Client certificate (mutual TLS)."},
    {"remote-write.tls.key-file", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(key_file), "Client key (mutual TLS)."},
    {"remote-write.tls.server-name", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(server_name),
     "Name to expect in the receiver's certificate (and to send as SNI) instead of the URL's host."},
    {"remote-write.tls.insecure-skip-verify", OPT_BOOL, IN_ENDPOINT, "false", NULL, EP(insecure),
     "Do not verify the receiver's certificate (testing only)."},
    {"remote-write.proxy-url", OPT_STRING, IN_ENDPOINT, NULL, NULL, EP(proxy_url),
     "HTTP proxy for remote-write; the environment's proxy variables are not used."},
    {"pushgateway.url", OPT_STRING, IN_CONFIG, NULL, NULL, AT(pushgateway_url),
     "Pushgateway base URL; each cycle PUTs the group /metrics/job/JOB/instance/INSTANCE."},
    {"pushgateway.job", OPT_STRING, IN_CONFIG, "slurm", NULL, AT(pushgateway_job), "Pushgateway job name."},
    {"pushgateway.instance", OPT_STRING, IN_CONFIG, NULL, NULL, AT(pushgateway_instance),
     "Pushgateway instance (default: the cluster label, else the host name)."},
    {"trace.enabled", OPT_BOOL, IN_CONFIG, "false", NULL, AT(trace_enabled),
     "Accept job traces: POST (the seed wrapper's JSON body) and GET (a JSON listing) on --trace.path."},
    {"trace.path", OPT_STRING, IN_CONFIG, "/trace", NULL, AT(trace_path), "Path of the trace endpoint."},
    {"trace.rate", OPT_SECONDS, IN_CONFIG, "10", NULL, AT(trace_rate), "Seconds a posted trace stays valid."},
    {"trace.max-jobs", OPT_COUNT, IN_CONFIG, "10000", NULL, AT(trace_max_jobs),
     "Live (job, host) traces kept at most; further ones are refused with 429."},
    {"trace.max-body", OPT_BYTES, IN_CONFIG, "16384", NULL, AT(trace_max_body),
     "Largest trace body accepted (bytes); larger: 413."},
    {"trace.token-file", OPT_STRING, IN_CONFIG, NULL, NULL, AT(trace_token_file),
     "File holding a bearer token that trace posters must send (Authorization: Bearer …); unset: no authentication."},
    {"pushgateway.gzip", OPT_BOOL, IN_CONFIG, "true", NULL, AT(pushgateway_gzip),
     "gzip the pushed text (Pushgateway 1.5.0 and later)."},
    {"pushgateway.delete-on-shutdown", OPT_BOOL, IN_CONFIG, "false", NULL, AT(pushgateway_delete),
     "DELETE the group when slurmpush stops, so its last values do not linger."},
    {"once", OPT_BOOL, IN_CONFIG, "false", NULL, AT(once),
     "Run one cycle (collect, push), wait for delivery, exit non-zero if a collector or push failed."},
    {"dry-run", OPT_BOOL, IN_CONFIG, "false", NULL, AT(dry_run),
     "Run one cycle and print what would be pushed (text format, with timestamps); send nothing."},
};
enum { N_GLOBAL_OPTIONS = sizeof option_table / sizeof option_table[0] };

/* Every option: the table above, then each collector's rows, made from its descriptor (its
 * switch, command, interval, and its own options). Built for each use, freed after. */
typedef struct {
    option_def *rows;
    size_t n, n_global;
    char **owned; /* names and help texts made here */
    size_t n_owned;
} option_list;

static const char *own(option_list *l, char *text) {
    l->owned = xrealloc(l->owned, (l->n_owned + 1) * sizeof *l->owned);
    return l->owned[l->n_owned++] = text;
}

static const char *ownf(option_list *l, const char *fmt, const char *a, const char *b) {
    buf t = {0};
    buf_printf(&t, fmt, a, b);
    return own(l, t.data);
}

static void add_row(option_list *l, option_def row) {
    l->rows = xrealloc(l->rows, (l->n + 1) * sizeof *l->rows);
    l->rows[l->n++] = row;
}

/* The rows every collector has, from its descriptor; then its own. */
static void add_collector_rows(option_list *l, int index, const collector_def *d) {
    const struct {
        const char *suffix;
        opt_type type;
        size_t offset;
        const char *def, *alias, *help, *help_arg; /* help: one %s for the name, one for help_arg */
    } rows[] = {
        {"", OPT_BOOL, offsetof(collector_config, enabled), d->enabled_by_default ? "true" : "false", d->enable_alias,
         "Run the %s collector: %s.", d->summary},
        {".command", OPT_STRING, offsetof(collector_config, command), d->command, d->command_alias,
         "Command of the %s collector (split on spaces, quotes group; no shell).%s",
         d->json_command ? " With --slurm.cli-fallback=false the default is its --json form." : ""},
        {".interval", OPT_SECONDS, offsetof(collector_config, interval), d->interval ? d->interval : "0", NULL,
         "Seconds between runs of the %s collector, rounded up to whole cycles (0: every cycle); between runs its last "
         "result is pushed again.%s",
         ""},
        {".max-series", OPT_COUNT, offsetof(collector_config, max_series), "1000000", NULL,
         "Series one run of the %s collector may make; past it the rest of that run is dropped, counted in "
         "slurmpush_series_dropped_total and logged.%s",
         ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!rows[i].def) continue; /* no command: an HTTP source (native) */
        add_row(l, (option_def){.name = ownf(l, "collector.%s%s", d->name, rows[i].suffix),
                                .type = rows[i].type,
                                .place = IN_COLLECTOR,
                                .def = rows[i].def,
                                .offset = rows[i].offset,
                                .help = ownf(l, rows[i].help, d->name, rows[i].help_arg),
                                .alias = rows[i].alias,
                                .collector = index});
    }
    for (const collector_option *o = d->options; o && o->name; o++)
        add_row(l, (option_def){.name = o->name,
                                .type = o->type,
                                .place = IN_SETTINGS,
                                .def = o->def,
                                .offset = o->offset,
                                .help = o->help,
                                .alias = o->alias,
                                .collector = index});
}

static option_list all_options(void) {
    option_list l = {0};
    for (size_t i = 0; i < N_GLOBAL_OPTIONS; i++) {
        const table_row *r = &option_table[i];
        add_row(&l, (option_def){.name = r->name,
                                 .type = r->type,
                                 .place = r->place,
                                 .def = r->def,
                                 .env = r->env,
                                 .offset = r->offset,
                                 .help = r->help});
    }
    l.n_global = l.n;
    for (int i = 0; all_collectors[i]; i++) add_collector_rows(&l, i, all_collectors[i]);
    return l;
}

static void free_option_list(option_list *l) {
    for (size_t i = 0; i < l->n_owned; i++) free(l->owned[i]);
    free(l->owned);
    free(l->rows);
}

int collector_index(const char *name) {
    for (int i = 0; all_collectors[i]; i++)
        if (!strcmp(all_collectors[i]->name, name)) return i;
    return -1;
}

#define PER_ENDPOINT_NOTE " Per endpoint: applies to the --remote-write.url before it; before any, to all."

static const char *type_word(opt_type t) {
    switch (t) {
    case OPT_STRING: return "string";
    case OPT_BOOL: return "bool";
    case OPT_SECONDS: return "seconds";
    case OPT_BYTES: return "bytes";
    case OPT_COUNT: return "count";
    case OPT_LIST: return "list";
    }
    return "";
}

/* Where an option lands: in the configuration, or in the options of the last --remote-write.url
 * given so far (before any, the default of every endpoint). */
static void *field(config *cfg, const option_def *o) {
    size_t n = cfg->remote_write_urls.n;
    switch (o->place) {
    case IN_CONFIG: break;
    case IN_ENDPOINT: return (char *)(n ? &cfg->rw_endpoints[n - 1] : &cfg->rw_default) + o->offset;
    case IN_COLLECTOR: return (char *)&cfg->collectors[o->collector] + o->offset;
    case IN_SETTINGS: return (char *)cfg->collectors[o->collector].settings + o->offset;
    }
    return (char *)cfg + o->offset;
}

static int parse_bool(const char *v, bool *out) {
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = false;
    else
        return -1;
    return 0;
}

/* Sets one option from text; returns 0 or writes why not into err. */
static int set_option(config *cfg, const option_def *o, const char *v, char *err, size_t errlen) {
    void *f = field(cfg, o);
    char *end;
    switch (o->type) {
    case OPT_STRING:
        free(*(char **)f);
        *(char **)f = xstrdup(v);
        return 0;
    case OPT_BOOL:
        if (parse_bool(v, f) == 0) return 0;
        snprintf(err, errlen, "--%s wants true or false, not \"%s\"", o->name, v);
        return -1;
    case OPT_SECONDS: {
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d) || d < 0) {
            snprintf(err, errlen, "--%s wants a non-negative number of seconds, not \"%s\"", o->name, v);
            return -1;
        }
        *(double *)f = d;
        return 0;
    }
    case OPT_BYTES:
    case OPT_COUNT: {
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (end == v || *end || errno || n <= 0) {
            snprintf(err, errlen, "--%s wants a positive whole number, not \"%s\"", o->name, v);
            return -1;
        }
        *(int64_t *)f = n;
        return 0;
    }
    case OPT_LIST: {
        strlist *l = f;
        l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
        l->items[l->n++] = xstrdup(v);
        if (l == &cfg->remote_write_urls) { /* a new endpoint: the options that follow are its own */
            cfg->rw_endpoints = xrealloc(cfg->rw_endpoints, l->n * sizeof *cfg->rw_endpoints);
            cfg->rw_endpoints[l->n - 1] = (endpoint_options){0};
        }
        return 0;
    }
    }
    return -1;
}

static const option_def *find_option(const option_list *l, const char *name, size_t len) {
    for (size_t i = 0; i < l->n; i++) {
        const option_def *o = &l->rows[i];
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
        if (o->alias && strlen(o->alias) == len && !strncmp(o->alias, name, len)) return o;
    }
    return NULL;
}

static void print_help(const option_list *l) {
    printf("Usage: slurmpush [options]\n\n"
           "Collects Slurm state through the Slurm CLI and pushes it to Prometheus remote-write\n"
           "receivers or a Pushgateway; also serves /metrics. Options take --name=value or\n"
           "--name value; the seed exporter's single-dash spellings (-name) work too.\n\n");
    for (size_t i = 0; i < l->n; i++) {
        const option_def *o = &l->rows[i];
        if (i == l->n_global) printf("\nCollectors (--list-collectors lists them, --help-metrics-markdown their families):\n");
        printf("  --%s=%s\n      %s%s", o->name, type_word(o->type), o->help, o->place == IN_ENDPOINT ? PER_ENDPOINT_NOTE : "");
        if (o->def) printf(" (default: %s)", o->def);
        if (o->env) printf(" [env %s]", o->env);
        if (o->alias) printf(" [also --%s]", o->alias);
        printf("\n");
    }
    printf(
        "  --help      Show this help.\n  --version   Show the version.\n"
        "  --list-collectors  One line per collector (tab-separated): name, default, interval, fixture stem, families, command.\n"
        "  --help-markdown, --help-metrics-markdown, --help-man  The README's options and metrics tables; the man page.\n");
}

static void print_markdown_text(const char *s) {
    for (const char *p = s; *p; p++) printf(*p == '|' ? "\\|" : "%c", *p);
}

static void print_help_markdown(const option_list *l) {
    printf("| option | type | default | env | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < l->n; i++) {
        const option_def *o = &l->rows[i];
        printf("| `--%s` | %s | ", o->name, type_word(o->type));
        if (o->def && *o->def) {
            printf("`");
            print_markdown_text(o->def);
            printf("`");
        }
        printf(" | %s | ", o->env ? o->env : "");
        print_markdown_text(o->help);
        if (o->place == IN_ENDPOINT) printf(PER_ENDPOINT_NOTE);
        if (o->alias) printf(" Also `--%s`.", o->alias);
        printf(" |\n");
    }
}

/* Text for a troff line: backslashes and dashes escaped, a leading '.' or '\'' defused. */
static void print_man_text(const char *s) {
    if (*s == '.' || *s == '\'') printf("\\&");
    for (const char *p = s; *p; p++) printf(*p == '\\' ? "\\e" : *p == '-' ? "\\-" : "%c", *p);
}

/* --help-man: slurmpush(8), its options and collectors from the same tables as --help. */
static void print_help_man(const option_list *l) {
    printf(".TH SLURMPUSH 8 \"\" \"slurmpush %s\" \"System Administration\"\n"
           ".SH NAME\nslurmpush \\- Slurm state to Prometheus remote\\-write, a Pushgateway and /metrics\n"
           ".SH SYNOPSIS\n.B slurmpush\n[\\fIoptions\\fR]\n"
           ".SH DESCRIPTION\nslurmpush runs on a Slurm login or controller node. Every cycle it runs the Slurm commands of\n"
           "its collectors (never through a shell, each at most once a cycle, each with a timeout), turns their\n"
           "output into Prometheus series, pushes them by remote\\-write (protobuf, snappy) or to a Pushgateway,\n"
           "and serves them on /metrics. Job wrappers may POST per\\-job process samples to /trace\n"
           "(see \\fBslurmpush\\-trace\\fR(1)). Logs go to standard error in logfmt.\n"
           ".PP\nOptions take \\fB\\-\\-name=value\\fR or \\fB\\-\\-name value\\fR; the seed exporter's single\\-dash\n"
           "spellings work too. An option with an environment variable reads it when the option is not given.\n"
           ".SH OPTIONS\n",
           SLURMPUSH_VERSION);
    for (size_t i = 0; i < l->n; i++) {
        const option_def *o = &l->rows[i];
        if (i == l->n_global) printf(".SS Collector options\n");
        printf(".TP\n.B \\-\\-");
        print_man_text(o->name);
        printf("=\\fI%s\\fR\n", type_word(o->type));
        print_man_text(o->help);
        if (o->place == IN_ENDPOINT) print_man_text(PER_ENDPOINT_NOTE);
        if (o->def && *o->def) printf(" Default: \\fB"), print_man_text(o->def), printf("\\fR.");
        if (o->env) printf(" Environment: \\fB%s\\fR.", o->env);
        if (o->alias) printf(" Also \\fB\\-\\-"), print_man_text(o->alias), printf("\\fR.");
        printf("\n");
    }
    printf(".TP\n.B \\-\\-help\nShow the options.\n.TP\n.B \\-\\-version\nShow the version.\n"
           ".TP\n.B \\-\\-list\\-collectors\nOne line per collector, tab\\-separated: name, default, interval, fixture "
           "stem, families, command.\n"
           ".TP\n.B \\-\\-help\\-markdown\\fR, \\fB\\-\\-help\\-metrics\\-markdown\\fR, \\fB\\-\\-help\\-man\n"
           "The README's options and metrics tables; this page.\n.SH COLLECTORS\n");
    for (size_t i = 0; all_collectors[i]; i++) {
        const collector_def *d = all_collectors[i];
        printf(".TP\n.B ");
        print_man_text(d->name);
        printf("\n");
        print_man_text(d->summary);
        printf(". %s", d->enabled_by_default ? "On by default" : "Off by default");
        if (d->interval && strcmp(d->interval, "0")) printf(", every %s s", d->interval);
        printf(".\n");
    }
    printf(".SH SIGNALS\n.TP\n.B SIGTERM\\fR, \\fBSIGINT\nStop: running commands are ended, every live series is marked "
           "stale, pushes are finished or spooled: every endpoint at once, the Pushgateway DELETE included, within 5 s "
           "(or \\fB\\-\\-remote\\-write.timeout\\fR if shorter) and half a second.\n"
           ".TP\n.B SIGHUP\nRe\\-read the token files (also re\\-read when they change) and the web configuration "
           "file (\\fB\\-\\-web.config.file\\fR; one that does not check keeps the running one).\n"
           ".SH EXIT STATUS\n0 on a clean stop; 1 when \\fB\\-\\-once\\fR saw a collector or a push fail; 2 on a "
           "start\\-up error (one line on standard error says which).\n"
           ".SH FILES\n.TP\n.I /etc/default/slurmpush\nThe options the systemd unit passes (\\fBSLURMPUSH_ARGS\\fR).\n"
           ".TP\n.I /var/lib/slurmpush\nThe unit's state directory: the remote\\-write spool.\n"
           ".SH SEE ALSO\n\\fBslurmpush\\-trace\\fR(1), \\fBsqueue\\fR(1), \\fBsinfo\\fR(1), \\fBscontrol\\fR(1), "
           "\\fBsdiag\\fR(1), \\fBsshare\\fR(1), \\fBprometheus\\fR(1)\n");
}

bool valid_label_name(const char *s) {
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
    return true;
}

bool valid_metric_name(const char *s) {
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_' || *s == ':')) return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':')) return false;
    return true;
}

static bool valid_http_url(const char *u) {
    const char *rest = !strncmp(u, "http://", 7) ? u + 7 : !strncmp(u, "https://", 8) ? u + 8 : NULL;
    if (!rest || !*rest || *rest == '/' || *rest == ':') return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ') return false;
    return true;
}

/* An endpoint's own options, completed from the defaults (headers: the defaults' first). */
static void resolve_endpoint(endpoint_options *e, const endpoint_options *d) {
    char **own[] = {&e->protocol,  &e->username, &e->password_file, &e->bearer_token_file, &e->ca_file,
                    &e->cert_file, &e->key_file, &e->server_name,   &e->proxy_url};
    char *const *def[] = {&d->protocol,  &d->username, &d->password_file, &d->bearer_token_file, &d->ca_file,
                          &d->cert_file, &d->key_file, &d->server_name,   &d->proxy_url};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (!*own[i] && *def[i]) *own[i] = xstrdup(*def[i]);
    e->insecure = e->insecure || d->insecure;
    if (d->headers.n) {
        char **items = xmalloc((d->headers.n + e->headers.n) * sizeof *items);
        for (size_t i = 0; i < d->headers.n; i++) items[i] = xstrdup(d->headers.items[i]);
        for (size_t i = 0; i < e->headers.n; i++) items[d->headers.n + i] = e->headers.items[i];
        free(e->headers.items);
        e->headers.items = items;
        e->headers.n += d->headers.n;
    }
}

/* "OPTION "URL" is not an http:// or https:// URL", the URL shown without its secrets; -1. */
static int url_error(char *err, size_t errlen, const char *option, const char *url) {
    char *shown = url_without_secrets(url);
    snprintf(err, errlen, "%s \"%s\" is not an http:// or https:// URL", option, shown);
    free(shown);
    return -1;
}

/* TLS settings only go with https:// (an http:// URL would send the data in the clear, whatever they say),
 * a key only with its certificate, and every file there from the start (else each request fails later). */
static int validate_tls(const endpoint_options *e, const char *url, char *err, size_t errlen) {
    if (!strncmp(url, "http://", 7) && (e->ca_file || e->cert_file || e->key_file || e->server_name)) {
        snprintf(err, errlen,
                 "TLS options (--remote-write.tls.*) for %s, an http:// URL: it would go in the clear; use https:// "
                 "(or give TLS options per URL)",
                 url);
        return -1;
    }
    if (e->key_file && !e->cert_file) {
        snprintf(err, errlen, "--remote-write.tls.key-file needs --remote-write.tls.cert-file for %s", url);
        return -1;
    }
    const struct {
        const char *option, *path;
    } files[] = {{"ca-file", e->ca_file}, {"cert-file", e->cert_file}, {"key-file", e->key_file}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t len = 0;
        char *text = files[i].path ? read_file(files[i].path, 1 << 20, &len) : NULL;
        bool ok = text && len;
        if (text) memset(text, 0, len), free(text); /* a key file is a secret */
        if (files[i].path && !ok) {
            snprintf(err, errlen, "cannot read --remote-write.tls.%s %s", files[i].option, files[i].path);
            return -1;
        }
    }
    return 0;
}

/* One endpoint's rules: headers that do not touch the protocol's own, one kind of auth, secrets
 * readable, a known protocol. url names the endpoint in errors ("" for the defaults), without its secrets. */
static int validate_endpoint(endpoint_options *e, const char *url, char *err, size_t errlen) {
    static const char *const reserved[] = {"content-encoding", "content-type", "x-prometheus-remote-write-version", "user-agent"};
    const char *at = *url ? " for " : "";
    for (size_t i = 0; i < e->headers.n; i++) {
        const char *h = e->headers.items[i], *colon = strchr(h, ':');
        if (!colon || colon == h || strpbrk(h, "\r\n")) {
            snprintf(err, errlen, "--remote-write.header \"%s\" must be 'Name: value'", h);
            return -1;
        }
        for (size_t k = 0; k < sizeof reserved / sizeof *reserved; k++)
            if ((size_t)(colon - h) == strlen(reserved[k]) && !strncasecmp(h, reserved[k], strlen(reserved[k]))) {
                snprintf(err, errlen, "--remote-write.header cannot override %.*s: remote-write fixes it", (int)(colon - h), h);
                return -1;
            }
    }
    if (e->protocol && strcmp(e->protocol, "v1") && strcmp(e->protocol, "v2")) {
        snprintf(err, errlen, "--remote-write.protocol must be v1 or v2, not \"%s\"", e->protocol);
        return -1;
    }
    e->v2 = e->protocol && !strcmp(e->protocol, "v2");
    if (e->proxy_url && !valid_http_url(e->proxy_url)) return url_error(err, errlen, "--remote-write.proxy-url", e->proxy_url);
    if (!*url) return 0; /* the defaults: the rest is checked once complete, per endpoint */
    if (e->username && e->bearer_token_file) {
        snprintf(err, errlen, "choose basic auth or a bearer token%s%s, not both", at, url);
        return -1;
    }
    if (e->bearer_token_file) { /* re-read whenever it changes, but it must be there from the start */
        size_t len;
        char *token = read_file(e->bearer_token_file, 16384, &len);
        if (!token) {
            snprintf(err, errlen, "cannot read --remote-write.bearer-token-file %s", e->bearer_token_file);
            return -1;
        }
        memset(token, 0, len);
        free(token);
    }
    if (e->password_file) {
        if (!e->username) {
            snprintf(err, errlen, "--remote-write.basic-auth.password-file needs --remote-write.basic-auth.username%s%s", at,
                     url);
            return -1;
        }
        size_t len;
        e->password = read_file(e->password_file, 4096, &len);
        if (!e->password) {
            snprintf(err, errlen, "cannot read --remote-write.basic-auth.password-file %s", e->password_file);
            return -1;
        }
        e->password[strcspn(e->password, "\r\n")] = '\0';
    }
    return validate_tls(e, url, err, errlen);
}

/* Orders the --label pairs so that the reserved "__" ones (a receiver's __replica__) come last:
 * remote-write sends them all, the text outputs only the first n_text_labels. */
static void text_labels_first(config *cfg) {
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_extra_labels; i++)
        if (strncmp(cfg->extra_labels[i].name, "__", 2)) {
            label_pair keep = cfg->extra_labels[i];
            memmove(&cfg->extra_labels[n + 1], &cfg->extra_labels[n], (i - n) * sizeof keep);
            cfg->extra_labels[n++] = keep;
        }
    cfg->n_text_labels = n;
}

/* Checks what the table cannot: cross-field rules and formats. */
static int validate(config *cfg, char *err, size_t errlen) {
    if (log_parse_level(cfg->log_level) < 0) {
        snprintf(err, errlen, "--web.log-level must be debug, info, warn or error, not \"%s\"", cfg->log_level);
        return -1;
    }
    if (cfg->poll_limit <= 0) {
        snprintf(err, errlen, "--slurm.poll-limit must be more than 0 seconds");
        return -1;
    }
    if (cfg->cli_timeout <= 0) {
        snprintf(err, errlen, "--slurm.cli-timeout (CLI_TIMEOUT) must be more than 0 seconds");
        return -1;
    }
    if (cfg->remote_write_timeout <= 0) {
        snprintf(err, errlen, "--remote-write.timeout must be more than 0 seconds");
        return -1;
    }
    regex_t re;
    int rc = regcomp(&re, cfg->metrics_exclude, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[128];
        regerror(rc, &re, why, sizeof why);
        snprintf(err, errlen, "--metrics.exclude \"%s\" is not a valid regular expression: %s", cfg->metrics_exclude, why);
        return -1;
    }
    regfree(&re);
    if (cfg->trace_path[0] != '/' || !strcmp(cfg->trace_path, cfg->telemetry_path)) {
        snprintf(err, errlen, "--trace.path must start with / and differ from --web.telemetry-path");
        return -1;
    }
    if (cfg->trace_enabled && cfg->trace_rate <= 0) {
        snprintf(err, errlen, "--trace.rate must be more than 0 seconds");
        return -1;
    }
    if (cfg->telemetry_path[0] != '/') {
        snprintf(err, errlen, "--web.telemetry-path must start with /");
        return -1;
    }
    for (size_t i = 0; i < cfg->remote_write_urls.n; i++)
        if (!valid_http_url(cfg->remote_write_urls.items[i]))
            return url_error(err, errlen, "--remote-write.url", cfg->remote_write_urls.items[i]);
    if (cfg->pushgateway_url && !valid_http_url(cfg->pushgateway_url))
        return url_error(err, errlen, "--pushgateway.url", cfg->pushgateway_url);
    if (!cfg->pushgateway_job || !*cfg->pushgateway_job) {
        snprintf(err, errlen, "--pushgateway.job must not be empty");
        return -1;
    }
    /* grouping values are label values: the Pushgateway refuses a push whose group is not UTF-8 */
    const char *grouping[][2] = {{"--pushgateway.job", cfg->pushgateway_job},
                                 {"--pushgateway.instance", cfg->pushgateway_instance}};
    for (size_t i = 0; i < 2; i++)
        if (grouping[i][1] && !utf8_valid(grouping[i][1])) {
            snprintf(err, errlen, "%s is not valid UTF-8", grouping[i][0]);
            return -1;
        }
    if (validate_endpoint(&cfg->rw_default, "", err, errlen) < 0) return -1;
    for (size_t i = 0; i < cfg->remote_write_urls.n; i++) {
        resolve_endpoint(&cfg->rw_endpoints[i], &cfg->rw_default);
        char *shown = url_without_secrets(cfg->remote_write_urls.items[i]);
        int rc = validate_endpoint(&cfg->rw_endpoints[i], shown, err, errlen);
        free(shown);
        if (rc < 0) return -1;
    }
    cfg->extra_labels = xcalloc(cfg->labels.n, sizeof *cfg->extra_labels);
    for (size_t i = 0; i < cfg->labels.n; i++) {
        char *item = cfg->labels.items[i], *eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, errlen, "--label \"%s\" must be name=value", item);
            return -1;
        }
        *eq = '\0';
        if (!valid_label_name(item) || !strcmp(item, "__name__")) {
            snprintf(err, errlen, "--label name \"%s\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not __name__)", item);
            return -1;
        }
        if (!eq[1]) {
            snprintf(err, errlen, "--label %s has an empty value (an empty label is an absent label)", item);
            return -1;
        }
        if (!utf8_valid(eq + 1)) {
            snprintf(err, errlen, "--label %s has a value that is not valid UTF-8", item);
            return -1;
        }
        size_t j = 0;
        while (j < cfg->n_extra_labels && strcmp(cfg->extra_labels[j].name, item)) j++;
        cfg->extra_labels[j] = (label_pair){item, eq + 1};
        if (j == cfg->n_extra_labels) cfg->n_extra_labels++;
    }
    text_labels_first(cfg);
    for (size_t i = 0; i < cfg->n_collectors; i++)
        if (all_collectors[i]->validate && all_collectors[i]->validate(cfg->collectors[i].settings, err, errlen)) return -1;
    cfg->cycle_seconds = cfg->interval > cfg->poll_limit ? cfg->interval : cfg->poll_limit;
    if ((!cfg->state_dir || !*cfg->state_dir) && cfg->remote_write_spool_dir && *cfg->remote_write_spool_dir) {
        free(cfg->state_dir);
        cfg->state_dir = xstrdup(cfg->remote_write_spool_dir);
    }
    return 0;
}

/* The environment, then the command line, over the defaults already set. */
static options_result parse_args(config *cfg, const option_list *l, int argc, char **argv, char *err, size_t errlen) {
    for (size_t i = 0; i < l->n; i++) {
        const option_def *o = &l->rows[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (v && *v && set_option(cfg, o, v, err, errlen) < 0) {
            fprintf(stderr, "slurmpush: environment %s: %s\n", o->env, err);
            return OPTIONS_ERROR;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-help") || !strcmp(arg, "-h")) {
            print_help(l);
            return OPTIONS_EXIT_OK;
        }
        if (!strcmp(arg, "--help-markdown")) {
            print_help_markdown(l);
            return OPTIONS_EXIT_OK;
        }
        if (!strcmp(arg, "--help-man")) {
            print_help_man(l);
            return OPTIONS_EXIT_OK;
        }
        if (!strcmp(arg, "--help-metrics-markdown")) {
            collectors_print_metrics_markdown(stdout);
            return OPTIONS_EXIT_OK;
        }
        if (!strcmp(arg, "--list-collectors")) {
            collectors_print_list(stdout);
            return OPTIONS_EXIT_OK;
        }
        if (!strcmp(arg, "--version") || !strcmp(arg, "-version")) {
            printf("slurmpush %s\n", SLURMPUSH_VERSION);
            return OPTIONS_EXIT_OK;
        }
        if (arg[0] != '-' || !arg[1]) {
            fprintf(stderr, "slurmpush: unexpected argument \"%s\" (options start with --)\n", arg);
            return OPTIONS_ERROR;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const option_def *o = find_option(l, name, len);
        if (!o) {
            fprintf(stderr, "slurmpush: unknown option \"%s\" (see --help)\n", arg);
            return OPTIONS_ERROR;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && o->type == OPT_BOOL) value = "true";
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "slurmpush: option --%s needs a value\n", o->name);
                return OPTIONS_ERROR;
            }
            value = argv[++i];
        }
        if (set_option(cfg, o, value, err, errlen) < 0) {
            fprintf(stderr, "slurmpush: %s\n", err);
            return OPTIONS_ERROR;
        }
    }
    if (validate(cfg, err, errlen) < 0) {
        fprintf(stderr, "slurmpush: %s\n", err);
        return OPTIONS_ERROR;
    }
    return OPTIONS_OK;
}

options_result options_parse(config *cfg, int argc, char **argv) {
    char err[512] = "";
    *cfg = (config){0};
    while (all_collectors[cfg->n_collectors]) cfg->n_collectors++;
    cfg->collectors = xcalloc(cfg->n_collectors ? cfg->n_collectors : 1, sizeof *cfg->collectors);
    for (size_t i = 0; i < cfg->n_collectors; i++)
        cfg->collectors[i].settings = xcalloc(1, all_collectors[i]->settings_size ? all_collectors[i]->settings_size : 1);
    option_list l = all_options();
    for (size_t i = 0; i < l.n; i++)
        if (l.rows[i].def) set_option(cfg, &l.rows[i], l.rows[i].def, err, sizeof err);
    options_result rc = parse_args(cfg, &l, argc, argv, err, sizeof err);
    free_option_list(&l);
    return rc;
}

static void free_strlist(strlist *l) {
    for (size_t j = 0; j < l->n; j++) free(l->items[j]);
    free(l->items);
}

static void free_endpoint(endpoint_options *e) {
    char *strings[] = {e->protocol,  e->username, e->password_file, e->bearer_token_file, e->ca_file,
                       e->cert_file, e->key_file, e->server_name,   e->proxy_url,         e->password};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) free(strings[i]);
    free_strlist(&e->headers);
}

void options_free(config *cfg) {
    free_endpoint(&cfg->rw_default);
    for (size_t i = 0; i < cfg->remote_write_urls.n; i++) free_endpoint(&cfg->rw_endpoints[i]);
    free(cfg->rw_endpoints);
    option_list all = all_options();
    for (size_t i = 0; cfg->collectors && i < all.n; i++) {
        if (all.rows[i].place == IN_ENDPOINT) continue;
        void *f = field(cfg, &all.rows[i]);
        if (all.rows[i].type == OPT_STRING) free(*(char **)f);
        if (all.rows[i].type == OPT_LIST) free_strlist(f);
    }
    free_option_list(&all);
    for (size_t i = 0; i < cfg->n_collectors; i++) free(cfg->collectors[i].settings);
    free(cfg->collectors);
    free(cfg->extra_labels);
    *cfg = (config){0};
}
