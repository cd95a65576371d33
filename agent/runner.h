/* runner.h — runs one Slurm command without a shell and streams its stdout, line by line,
 * to a parser. A timeout kills the command and everything it started (leftovers.h) and reaps it; stderr is
 * kept (its head) for the log; the output is capped. Knows nothing of what lines mean. */
#ifndef SLURMPUSH_RUNNER_H
#define SLURMPUSH_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    RUN_OK,
    RUN_EXIT_NONZERO,
    RUN_SIGNALED,
    RUN_TIMEOUT,
    RUN_SPAWN_FAILED,
    RUN_OUTPUT_TOO_LARGE,
    RUN_LINE_REJECTED, /* the parser refused a line: the output is not what was asked for */
    RUN_HTTP_FAILED,   /* an HTTP source: no answer, or not 200 (the reason in stderr_head) */
} run_status;

typedef struct {
    run_status status;
    int exit_code;   /* RUN_EXIT_NONZERO */
    int signal;      /* RUN_SIGNALED */
    int spawn_errno; /* RUN_SPAWN_FAILED */
    double seconds;  /* wall time of the run */
    size_t stdout_bytes, lines;
    char stderr_head[512]; /* first bytes of stderr, NUL-terminated */
    char reject_reason[160];
} run_result;

/* Called for every stdout line (without its newline, NUL-terminated, writable).
 * Return 0 to go on; non-zero rejects the output (write why into reason). */
typedef int (*line_fn)(void *ctx, char *line, size_t len, char *reason, size_t reason_len);

/* Splits a command line into argv: spaces separate, '…' and "…" group, \ escapes.
 * Returns a NULL-terminated array in one allocation (free() it), or NULL if quotes are unbalanced. */
char **runner_split(const char *command);

/* cancel (may be NULL) is polled every 100 ms: when it turns true the run ends as a timeout. */
void runner_run(char *const argv[], double timeout_s, size_t max_output, const _Atomic bool *cancel, line_fn on_line, void *ctx,
                run_result *res);

/* One phrase for logs: "exit status 1", "timed out after 10s", … */
const char *run_status_text(const run_result *res, char *out, size_t outlen);

#endif
