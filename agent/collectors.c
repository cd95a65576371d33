/* collectors.c — running a collector, and what the descriptors drive: the families of a run,
 * --list-collectors and the README's metrics tables. */
#include "collector.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const collector_def *def;
    void *state;
} parse_ctx;

static int parse_one(void *ctx, char *line, size_t len, char *why, size_t why_len) {
    parse_ctx *p = ctx;
    return p->def->parse_line(p->state, line, len, why, why_len);
}

/* A family of the descriptor (ctx) that carries one of Slurm's own names. */
static bool slurm_named(const char *name, void *ctx) {
    const collector_def *d = ctx;
    for (const family_def *f = d->families + d->slurm_names_from; f->name; f++)
        if (!strcmp(f->name, name)) return true;
    return false;
}

/* Slurm's own families come from Slurm when the native collector reads them: never twice. */
static bool native_collector_on(const config *cfg) {
    int i = collector_index("native");
    return i >= 0 && cfg->collectors && cfg->collectors[i].enabled;
}

sample_set *collector_run(const collector_def *d, char *const argv[], const config *cfg, const collect_env *env,
                          const _Atomic bool *cancel, run_result *res) {
    sample_set *ss = ss_new(0);
    parse_ctx ctx = {d, xcalloc(1, d->state_size ? d->state_size : 1)};
    collect_env own = *env;
    int index = collector_index(d->name);
    if (!own.settings && index >= 0 && cfg->collectors) own.settings = cfg->collectors[index].settings;
    if (d->begin) d->begin(ctx.state, ss, &own);
    if (d->http_request) {
        http_request req = {0};
        d->http_request(own.settings, &req, &ss->mem);
        http_source_run(&req, (size_t)cfg->cli_max_output, cancel, parse_one, &ctx, res);
    } else {
        runner_run(argv, cfg->cli_timeout, (size_t)cfg->cli_max_output, cancel, parse_one, &ctx, res);
        if (res->status == RUN_EXIT_NONZERO && d->nonzero_exit_ok) res->status = RUN_OK;
    }
    ss->timestamp_ms = now_ms(); /* the output is complete: what end() measures against ("now") is the set's time */
    if (res->status == RUN_OK && d->end && d->end(ctx.state, ss, res->reject_reason, sizeof res->reject_reason))
        res->status = RUN_LINE_REJECTED;
    if (d->release) d->release(ctx.state);
    free(ctx.state);
    if (d->slurm_names_from && native_collector_on(cfg)) ss_drop_families(ss, slurm_named, (void *)d);
    if (res->status != RUN_OK) {
        int64_t ts = ss->timestamp_ms;
        ss_free(ss);
        ss = ss_new(ts);
    }
    return ss;
}

size_t family_count(const family_def *defs) {
    size_t n = 0;
    while (defs && defs[n].name) n++;
    return n;
}

void ss_declare(sample_set *out, const family_def *defs, family **fams) {
    for (size_t i = 0; defs[i].name; i++) {
        const family_def *d = &defs[i];
        if (d->type == METRIC_HISTOGRAM) {
            fams[i] = ss_histogram(out, d->name, d->help, d->labels); /* its _bucket part */
        } else if (d->shares_previous && i > 0) {
            fams[i] = ss_family_like(out, fams[i - 1], d->name, d->help, d->type);
        } else {
            fams[i] = ss_family_labels(out, d->name, d->help, d->type, d->labels);
        }
        fams[i]->positive_only = d->positive_only;
    }
}

void collectors_print_list(FILE *out) {
    for (size_t i = 0; all_collectors[i]; i++) {
        const collector_def *d = all_collectors[i];
        fprintf(out, "%s\t%s\t%s\t%s\t%zu\t%s\n", d->name, d->enabled_by_default ? "on" : "off", d->interval ? d->interval : "0",
                d->fixture ? d->fixture : "-", family_count(d->families), d->command ? d->command : "-");
    }
}

static void print_labels(FILE *out, const char *const *labels) {
    if (!labels || !labels[0]) fputs("–", out);
    for (size_t k = 0; labels && labels[k]; k++) fprintf(out, "%s%s", k ? ", " : "", labels[k]);
}

static void print_cell(FILE *out, const char *s) {
    for (; *s; s++) fputs(*s == '|' ? "\\|" : (char[]){*s, 0}, out);
}

void collectors_print_metrics_markdown(FILE *out) {
    for (size_t i = 0; all_collectors[i]; i++) {
        const collector_def *d = all_collectors[i];
        fprintf(out, "%s#### %s (`--collector.%s`, %s)\n\n", i ? "\n" : "", d->name, d->name,
                d->enabled_by_default ? "on by default" : "off by default");
        fprintf(out, "%s", d->summary);
        if (d->command) {
            fputs("; `", out);
            print_cell(out, d->command);
            fputs("`", out);
        }
        fprintf(out, ".%s\n\n| metric | type | labels | value |\n|---|---|---|---|\n",
                d->dynamic_families ? " Its families are the ones its source serves." : "");
        for (const family_def *f = d->families; f && f->name; f++) {
            const family_def *first = f;
            while (first->shares_previous && first > d->families) first--;
            fprintf(out, "| `%s` | %s | ", f->name,
                    f->type == METRIC_COUNTER     ? "counter"
                    : f->type == METRIC_HISTOGRAM ? "histogram"
                                                  : "gauge");
            print_labels(out, first->labels);
            fputs(" | ", out);
            print_cell(out, f->doc ? f->doc : f->help);
            fprintf(out, "%s |\n", f->positive_only ? " (> 0 only)" : "");
        }
        if (d->duration_metric)
            fprintf(out, "| `%s` | gauge | – | how long the last run took, ms (seed name) |\n", d->duration_metric);
        fprintf(out, "| `%s` | counter | – | failed runs (seed name) |\n", d->error_metric);
    }
}
