/* collectors.c — the registry of collectors. A new collector is one file under collect/
 * and one line here. */
#include "collector.h"

#include <stdlib.h>

extern const collector_def jobs_collector;
extern const collector_def nodes_collector;
extern const collector_def licenses_collector;
extern const collector_def diags_collector;
extern const collector_def limits_collector;

const collector_def *const all_collectors[] = {
    &jobs_collector, &nodes_collector, &licenses_collector, &diags_collector, &limits_collector, NULL,
};

typedef struct {
    const collector_def *def;
    void *state;
} parse_ctx;

static int parse_one(void *ctx, char *line, size_t len, char *why, size_t why_len) {
    parse_ctx *p = ctx;
    return p->def->parse_line(p->state, line, len, why, why_len);
}

sample_set *collector_run(const collector_def *d, char *const argv[], const config *cfg, const collect_env *env,
                          const _Atomic bool *cancel, run_result *res) {
    sample_set *ss = ss_new(0);
    parse_ctx ctx = {d, xcalloc(1, d->state_size ? d->state_size : 1)};
    if (d->begin) d->begin(ctx.state, ss, env);
    runner_run(argv, cfg->cli_timeout, (size_t)cfg->cli_max_output, cancel, parse_one, &ctx, res);
    if (res->status == RUN_OK && d->end && d->end(ctx.state, ss, res->reject_reason, sizeof res->reject_reason))
        res->status = RUN_LINE_REJECTED;
    if (d->release) d->release(ctx.state);
    free(ctx.state);
    if (res->status != RUN_OK) {
        ss_free(ss);
        ss = ss_new(0);
    }
    ss->timestamp_ms = now_ms();
    return ss;
}
