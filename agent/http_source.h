/* http_source.h — the other way a collector's input can arrive: GET one or more URLs (in
 * order) and stream the bodies, line by line, to the same parser callback the runner feeds.
 * Used by the native collector (slurmctld's own metrics endpoints). Bounded in time and size;
 * a token, if any, is read from its file at each run (never from the command line). */
#ifndef SLURMPUSH_HTTP_SOURCE_H
#define SLURMPUSH_HTTP_SOURCE_H

#include <stdbool.h>

#include "runner.h"

typedef struct {
    const char *const *urls; /* NULL-terminated */
    const char *token_file;  /* NULL: no authentication */
    bool bearer;             /* the token as Authorization: Bearer, else as X-SLURM-USER-TOKEN */
    double timeout_s;        /* for the whole run, every URL together */
} http_request;

/* Fills res as runner_run does; a failed request is RUN_HTTP_FAILED with the reason in stderr_head. */
void http_source_run(const http_request *req, size_t max_output, const _Atomic bool *cancel, line_fn on_line, void *ctx,
                     run_result *res);

#endif
