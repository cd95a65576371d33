/* runner.c — fork/exec without a shell, stream stdout, kill the command and all it started on a
 * timeout, reap what it left (see runner.h and leftovers.h). */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leftovers.h"
#include "util.h"

extern char **environ;

char **runner_split(const char *cmd) {
    size_t n = strlen(cmd);
    /* worst case: every other char starts a word; strings live after the pointer array */
    size_t max_words = n / 2 + 2;
    char **argv = xmalloc(max_words * sizeof(char *) + n + 1);
    char *out = (char *)(argv + max_words);
    size_t argc = 0;
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        argv[argc++] = out;
        char quote = 0;
        for (; *p; p++) {
            if (quote) {
                if (*p == quote)
                    quote = 0;
                else if (*p == '\\' && quote == '"' && (p[1] == '"' || p[1] == '\\'))
                    *out++ = *++p;
                else
                    *out++ = *p;
            } else if (*p == '\'' || *p == '"') {
                quote = *p;
            } else if (*p == '\\' && p[1]) {
                *out++ = *++p;
            } else if (*p == ' ' || *p == '\t' || *p == '\n') {
                break;
            } else {
                *out++ = *p;
            }
        }
        if (quote) {
            free(argv);
            return NULL;
        }
        *out++ = '\0';
    }
    argv[argc] = NULL;
    if (!argc) {
        free(argv);
        return NULL;
    }
    return argv;
}

/* The child's environment: ours, with timestamps pinned to one parseable form, and the run's mark. */
static char **child_environment(const char *mark) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = xmalloc((n + 4) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "SLURM_TIME_FORMAT=", 18) && strncmp(environ[i], "LC_NUMERIC=", 11) &&
            strncmp(environ[i], "SLURMPUSH_RUN=", 14))
            env[k++] = environ[i];
    env[k++] = "SLURM_TIME_FORMAT=standard";
    env[k++] = "LC_NUMERIC=C";
    env[k++] = (char *)mark;
    env[k] = NULL;
    return env;
}

typedef struct {
    buf pending; /* an incomplete last line */
    line_fn on_line;
    void *ctx;
    run_result *res;
    bool rejected;
} line_splitter;

/* No line of any Slurm command slurmpush reads comes near this; a longer one is hostile (a 10 MB job
 * name) and would only grow memory: the output is refused. */
enum { MAX_LINE = 1 << 20 };

static void refuse_long_line(line_splitter *s) {
    if (s->rejected) return;
    s->res->lines++;
    snprintf(s->res->reject_reason, sizeof s->res->reject_reason, "a line longer than %d bytes", MAX_LINE);
    s->rejected = true;
}

static void deliver(line_splitter *s, char *line, size_t len) {
    if (s->rejected) return;
    if (len > MAX_LINE) return refuse_long_line(s);
    if (memchr(line, '\0', len)) { /* a NUL inside a line would cut its last field short unseen */
        s->res->lines++;
        snprintf(s->res->reject_reason, sizeof s->res->reject_reason, "a NUL byte inside a line");
        s->rejected = true;
        return;
    }
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    s->res->lines++;
    if (s->on_line(s->ctx, line, len, s->res->reject_reason, sizeof s->res->reject_reason)) s->rejected = true;
}

/* Feeds a chunk: complete lines are parsed in place; a partial one is kept for the next chunk. */
static void split_lines(line_splitter *s, char *data, size_t n) {
    char *start = data, *end = data + n;
    for (char *nl; start < end && (nl = memchr(start, '\n', (size_t)(end - start)));) {
        *nl = '\0';
        if (s->pending.len) {
            buf_append(&s->pending, start, (size_t)(nl - start));
            deliver(s, s->pending.data, s->pending.len);
            s->pending.len = 0;
        } else {
            deliver(s, start, (size_t)(nl - start));
        }
        start = nl + 1;
    }
    if (start < end && !s->rejected) {
        if (s->pending.len + (size_t)(end - start) > MAX_LINE) return refuse_long_line(s);
        buf_append(&s->pending, start, (size_t)(end - start));
    }
}

static int spawn(char *const argv[], int out_fd, int err_fd, const char *mark, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
    posix_spawnattr_init(&attr);
    /* own process group, so a timeout kills the command and everything it started;
     * default signal mask and handlers, whatever this thread blocks */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char **env = child_environment(mark);
    int rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, env);
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

void runner_run(char *const argv[], double timeout_s, size_t max_output, const _Atomic bool *cancel, line_fn on_line, void *ctx,
                run_result *res) {
    *res = (run_result){.status = RUN_OK};
    /* orphans of the command are re-parented to this process, so they can be reaped */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    double t0 = mono_seconds();
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        res->status = RUN_SPAWN_FAILED;
        res->spawn_errno = errno;
        return;
    }
    if (pipe2(err, O_CLOEXEC) < 0) {
        res->status = RUN_SPAWN_FAILED;
        res->spawn_errno = errno;
        close(out[0]);
        close(out[1]);
        return;
    }
    char mark[LEFTOVERS_MARK_MAX];
    leftovers_mark(mark);
    pid_t pid;
    int rc = spawn(argv, out[1], err[1], mark, &pid);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        res->status = RUN_SPAWN_FAILED;
        res->spawn_errno = rc;
        res->seconds = mono_seconds() - t0;
        return;
    }

    line_splitter s = {.on_line = on_line, .ctx = ctx, .res = res};
    struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    size_t err_len = 0;
    char chunk[65536];
    double deadline = t0 + timeout_s;
    bool killed = false;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        double left = deadline - mono_seconds();
        if (left <= 0 || (cancel && *cancel)) {
            res->status = RUN_TIMEOUT;
            break;
        }
        int ready = poll(fds, 2, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                continue;
            }
            if (i == 1) {
                size_t room = sizeof res->stderr_head - 1 - err_len;
                size_t take = (size_t)n < room ? (size_t)n : room;
                memcpy(res->stderr_head + err_len, chunk, take);
                err_len += take;
                continue;
            }
            res->stdout_bytes += (size_t)n;
            if (res->stdout_bytes > max_output) {
                res->status = RUN_OUTPUT_TOO_LARGE;
                break;
            }
            split_lines(&s, chunk, (size_t)n);
            if (s.rejected) {
                res->status = RUN_LINE_REJECTED;
                break;
            }
        }
        if (res->status != RUN_OK) break;
    }
    if (res->status != RUN_OK) { /* the command, its group, and what left the group (setsid) */
        kill(-pid, SIGKILL);
        leftovers_end(mark, pid);
        killed = true;
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (res->status == RUN_OK && s.pending.len) deliver(&s, s.pending.data, s.pending.len);
    if (res->status == RUN_OK && s.rejected) res->status = RUN_LINE_REJECTED;
    buf_free(&s.pending);

    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    /* the command is gone; anything it left behind in its group goes with it, and as we are
     * a subreaper those orphans are our children: reap them so no zombie is left */
    if (!killed) kill(-pid, SIGKILL);
    while (waitpid(-pid, NULL, 0) > 0 || errno == EINTR) {
    }
    leftovers_sweep(mark); /* what left the group, and orphans of earlier runs that have exited */
    res->stderr_head[err_len] = '\0';
    res->seconds = mono_seconds() - t0;
    if (res->status != RUN_OK) return;
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
        res->status = RUN_EXIT_NONZERO;
        res->exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        res->status = RUN_SIGNALED;
        res->signal = WTERMSIG(wstatus);
    }
}

const char *run_status_text(const run_result *res, char *out, size_t outlen) {
    switch (res->status) {
    case RUN_OK: snprintf(out, outlen, "ok"); break;
    case RUN_EXIT_NONZERO: snprintf(out, outlen, "exit status %d", res->exit_code); break;
    case RUN_SIGNALED: snprintf(out, outlen, "killed by signal %d", res->signal); break;
    case RUN_TIMEOUT: snprintf(out, outlen, "timed out after %.3gs; process group killed", res->seconds); break;
    case RUN_SPAWN_FAILED: snprintf(out, outlen, "cannot start: %s", strerror(res->spawn_errno)); break;
    case RUN_OUTPUT_TOO_LARGE: snprintf(out, outlen, "output larger than the cap (%zu bytes read)", res->stdout_bytes); break;
    case RUN_LINE_REJECTED: snprintf(out, outlen, "unexpected output at line %zu: %s", res->lines, res->reject_reason); break;
    case RUN_HTTP_FAILED: snprintf(out, outlen, "HTTP request failed: %s", res->stderr_head); break;
    }
    return out;
}
