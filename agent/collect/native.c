/* native.c — the native collector: Slurm's own metrics endpoints (slurmctld with
 * MetricsType=metrics/openmetrics, Slurm 25.11 and later), read over HTTP and pushed like any
 * other collector's output. Off by default: the CLI collectors compute the same families on
 * every Slurm version. The body is the text exposition format (Prometheus 0.0.4 or
 * OpenMetrics); this file holds its small parser. Every sample's name becomes a family; HELP
 * and TYPE are kept where the body gives them. Output that is not that format fails the run
 * with the line named, never a partial push. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"

typedef struct {
    char *url, *paths, *token_file, *token_style;
    double timeout;
} native_settings;

static const collector_option native_options[] = {
    {.name = "collector.native.url",
     .type = OPT_STRING,
     .def = "http://localhost:6817",
     .offset = offsetof(native_settings, url),
     .help = "Base URL of slurmctld's HTTP listener (its SlurmctldPort)."},
    {.name = "collector.native.paths",
     .type = OPT_STRING,
     .def = "/metrics/jobs,/metrics/nodes,/metrics/partitions,/metrics/scheduler",
     .offset = offsetof(native_settings, paths),
     .help = "Comma-separated endpoint paths read each run, in order (add /metrics/jobs-users-accts for the per-user and "
             "per-account families: Slurm warns of their cost)."},
    {.name = "collector.native.token-file",
     .type = OPT_STRING,
     .offset = offsetof(native_settings, token_file),
     .help = "File holding a Slurm JWT (for MetricsAuthUsers), read at each run; unset: no authentication."},
    {.name = "collector.native.token-header",
     .type = OPT_STRING,
     .def = "x-slurm-user-token",
     .offset = offsetof(native_settings, token_style),
     .help = "How the token is sent: x-slurm-user-token (X-SLURM-USER-TOKEN: …) or bearer (Authorization: Bearer …)."},
    {.name = "collector.native.timeout",
     .type = OPT_SECONDS,
     .def = "10",
     .offset = offsetof(native_settings, timeout),
     .help = "Seconds all the paths of one run may take together."},
    {0},
};

static int native_validate(const void *settings, char *err, size_t err_len) {
    const native_settings *s = settings;
    if (strcmp(s->token_style, "x-slurm-user-token") && strcmp(s->token_style, "bearer")) {
        snprintf(err, err_len, "--collector.native.token-header must be x-slurm-user-token or bearer, not \"%s\"",
                 s->token_style);
        return -1;
    }
    if (strncmp(s->url, "http://", 7) && strncmp(s->url, "https://", 8)) {
        snprintf(err, err_len, "--collector.native.url \"%s\" is not an http:// or https:// URL", s->url);
        return -1;
    }
    return 0;
}

static void native_request(const void *settings, http_request *req, arena *mem) {
    const native_settings *s = settings;
    size_t n = 1;
    for (const char *p = s->paths; *p; p++) n += *p == ',';
    const char **urls = arena_calloc(mem, n + 1, sizeof *urls);
    size_t k = 0, base = strlen(s->url);
    while (base && s->url[base - 1] == '/') base--;
    for (const char *p = s->paths; *p;) {
        size_t len = strcspn(p, ",");
        if (len) {
            buf u = {0};
            buf_printf(&u, "%.*s%s%.*s", (int)base, s->url, p[0] == '/' ? "" : "/", (int)len, p);
            urls[k++] = arena_strdup(mem, u.data);
            buf_free(&u);
        }
        p += len + (p[len] == ',');
    }
    *req = (http_request){.urls = urls,
                          .token_file = s->token_file,
                          .bearer = s->token_style && !strcmp(s->token_style, "bearer"),
                          .timeout_s = s->timeout > 0 ? s->timeout : 10};
}

/* ---------------------------------------------------------------- the exposition parser */

enum { MAX_LABELS = 32 };

typedef struct {
    char *name;
    const char *help;
    metric_type type;
} meta; /* a # HELP or # TYPE line, kept for the samples that follow */

typedef struct {
    sample_set *out;
    htab fam_index; /* sample name -> index into fams */
    family **fams;
    size_t n_fams;
    meta *metas;
    size_t n_metas;
} native_state;

static void native_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    ((native_state *)state)->out = out;
}

static bool name_char(char c, bool first) {
    return isalpha((unsigned char)c) || c == '_' || c == ':' || (!first && isdigit((unsigned char)c));
}

/* Reads a metric or label name at *p; returns its length (0: none). */
static size_t scan_name(const char *p) {
    size_t n = 0;
    while (p[n] && name_char(p[n], n == 0)) n++;
    return n;
}

static meta *find_meta(native_state *s, const char *name, size_t len) {
    for (size_t i = 0; i < s->n_metas; i++)
        if (strlen(s->metas[i].name) == len && !memcmp(s->metas[i].name, name, len)) return &s->metas[i];
    return NULL;
}

static meta *meta_for(native_state *s, const char *name, size_t len) {
    meta *m = find_meta(s, name, len);
    if (!m) {
        s->metas = xrealloc(s->metas, (s->n_metas + 1) * sizeof *s->metas);
        m = &s->metas[s->n_metas++];
        *m = (meta){.name = arena_strndup(&s->out->mem, name, len), .help = "", .type = METRIC_GAUGE};
    }
    return m;
}

/* "# HELP name text", "# TYPE name type"; other comments are skipped: # UNIT, free text, and
 * # EOF (OpenMetrics ends each body with it, and one run reads several bodies). */
static int comment_line(native_state *s, char *line, char *why, size_t why_len) {
    bool help = !strncmp(line, "# HELP ", 7), type = !strncmp(line, "# TYPE ", 7);
    if (!help && !type) return 0;
    char *name = line + 7;
    size_t len = scan_name(name);
    if (!len || (name[len] != ' ' && name[len] != '\0')) {
        snprintf(why, why_len, "# %s without a metric name", help ? "HELP" : "TYPE");
        return -1;
    }
    meta *m = meta_for(s, name, len);
    const char *text = name[len] ? name + len + 1 : "";
    if (help) m->help = arena_strdup(&s->out->mem, text);
    if (type) m->type = !strcmp(text, "counter") ? METRIC_COUNTER : METRIC_GAUGE;
    return 0;
}

/* A quoted label value with the format's escapes (\\, \", \n), unescaped in place; returns the
 * character after the closing quote, or NULL. */
static char *scan_value(char *p, char **value) {
    if (*p != '"') return NULL;
    char *out = ++p;
    *value = out;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\') {
            p++;
            if (*p == 'n')
                *out++ = '\n';
            else if (*p == '\\' || *p == '"')
                *out++ = *p;
            else
                return NULL;
        } else {
            *out++ = *p;
        }
    }
    if (*p != '"') return NULL;
    *out = '\0';
    return p + 1;
}

static int parse_float(const char *text, double *v) {
    if (!strcmp(text, "NaN")) return *v = NAN, 0;
    if (!strcmp(text, "+Inf") || !strcmp(text, "Inf")) return *v = INFINITY, 0;
    if (!strcmp(text, "-Inf")) return *v = -INFINITY, 0;
    char *end;
    if (!*text || isspace((unsigned char)*text)) return -1;
    *v = strtod(text, &end);
    if (*end || isnan(*v) || isinf(*v)) return -1; /* "nan", "inf", "0x…" spellings are not the format's */
    for (const char *c = text; *c; c++)
        if (*c == 'x' || *c == 'X') return -1;
    return 0;
}

/* The family a sample of this name and these label names goes to (made on first sight). */
static family *family_for(native_state *s, const char *name, size_t len, const char *const *labels, size_t nl, char *why,
                          size_t why_len) {
    long k = htab_find(&s->fam_index, name, len);
    if (k >= 0) {
        family *f = s->fams[k];
        bool same = f->nlabels == nl;
        for (size_t i = 0; same && i < nl; i++) same = !strcmp(f->label_names[i], labels[i]);
        if (!same) snprintf(why, why_len, "samples of %.*s with different label names", (int)len, name);
        return same ? f : NULL;
    }
    meta *m = find_meta(s, name, len);
    if (!m && len > 6 && !strcmp(name + len - 6, "_total")) m = find_meta(s, name, len - 6); /* OpenMetrics counters */
    const char **copy = arena_calloc(&s->out->mem, nl + 1, sizeof *copy);
    for (size_t i = 0; i < nl; i++) copy[i] = arena_strdup(&s->out->mem, labels[i]);
    char *fname = arena_strndup(&s->out->mem, name, len);
    family *f = ss_family_labels(s->out, fname, m ? m->help : "", m ? m->type : METRIC_GAUGE, copy);
    s->fams = xrealloc(s->fams, (s->n_fams + 1) * sizeof *s->fams);
    s->fams[s->n_fams] = f;
    htab_insert(&s->fam_index, fname, len);
    s->n_fams++;
    return f;
}

/* name{label="value",…} value [timestamp] */
static int sample_line(native_state *s, char *line, char *why, size_t why_len) {
    size_t len = scan_name(line);
    if (!len) {
        snprintf(why, why_len, "not a sample: no metric name");
        return -1;
    }
    char *p = line + len;
    const char *names[MAX_LABELS], *values[MAX_LABELS];
    size_t nl = 0;
    if (*p == '{') {
        for (p++; *p != '}';) {
            size_t ln = scan_name(p);
            if (!ln || p[ln] != '=' || nl == MAX_LABELS) {
                snprintf(why, why_len, nl == MAX_LABELS ? "more than %d labels" : "bad label in a sample", MAX_LABELS);
                return -1;
            }
            names[nl] = p;
            p[ln] = '\0';
            char *value;
            p = scan_value(p + ln + 1, &value);
            if (!p) {
                snprintf(why, why_len, "bad label value in a sample");
                return -1;
            }
            values[nl++] = value;
            if (*p == ',')
                p++;
            else if (*p != '}') {
                snprintf(why, why_len, "bad label list in a sample");
                return -1;
            }
        }
        p++;
    }
    if (*p != ' ') {
        snprintf(why, why_len, "no value after the sample's name");
        return -1;
    }
    char saved = line[len];
    line[len] = '\0';
    char *value_text = p + 1, *after = strchr(value_text, ' ');
    if (after) *after = '\0'; /* a timestamp may follow: the push stamps its own collection time */
    double v;
    if (parse_float(value_text, &v)) {
        snprintf(why, why_len, "value \"%.30s\" is not a number", value_text);
        return -1;
    }
    family *f = family_for(s, line, len, names, nl, why, why_len);
    line[len] = saved;
    if (!f) return -1;
    fam_set(f, v, values); /* label names in first-seen order: Slurm prints them alike on every line */
    return 0;
}

static int native_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    native_state *s = state;
    if (!len) return 0;
    return line[0] == '#' ? comment_line(s, line, why, why_len) : sample_line(s, line, why, why_len);
}

static void native_release(void *state) {
    native_state *s = state;
    htab_free(&s->fam_index);
    free(s->fams);
    free(s->metas);
}

const collector_def native_collector = {
    .name = "native",
    .summary = "Slurm's own metrics endpoints (slurmctld, MetricsType=metrics/openmetrics, 25.11+), over HTTP",
    .enabled_by_default = false,
    .interval = "60",
    .fixture = "metrics",
    .options = native_options,
    .settings_size = sizeof(native_settings),
    .dynamic_families = true,
    .error_metric = "slurmpush_native_scrape_error",
    .error_help = "failed runs of the native collector",
    .state_size = sizeof(native_state),
    .begin = native_begin,
    .parse_line = native_line,
    .release = native_release,
    .http_request = native_request,
    .validate = native_validate,
};
