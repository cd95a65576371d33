/* test_runner.c — the CLI runner: lines, exit status, stderr, timeout with the whole
 * process group killed and reaped, output cap, missing binary, rejected output, argv split. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/runner.h"
#include "agent/util.h"

typedef struct {
    size_t lines;
    buf all;
    const char *reject_on; /* reject a line equal to this */
} sink;

static int collect_line(void *ctx, char *line, size_t len, char *why, size_t why_len) {
    sink *s = ctx;
    s->lines++;
    buf_append(&s->all, line, len);
    buf_append(&s->all, "\n", 1);
    if (s->reject_on && !strcmp(line, s->reject_on)) {
        snprintf(why, why_len, "garbage");
        return -1;
    }
    return 0;
}

static void run_cmd(const char *cmd, double timeout, size_t cap, sink *s, run_result *res) {
    char **argv = runner_split(cmd);
    assert_non_null(argv);
    runner_run(argv, timeout, cap, NULL, collect_line, s, res);
    free(argv);
}

static void test_lines_and_last_line_without_newline(void **st) {
    (void)st;
    sink s = {0};
    run_result res;
    run_cmd("printf 'a|1\\nb|2\\nc|3'", 5, 1 << 20, &s, &res);
    assert_int_equal(res.status, RUN_OK);
    assert_int_equal(s.lines, 3);
    assert_string_equal(s.all.data, "a|1\nb|2\nc|3\n");
    buf_free(&s.all);
}

static void test_nonzero_exit(void **st) {
    (void)st;
    sink s = {0};
    run_result res;
    run_cmd("sh -c 'echo partial; exit 3'", 5, 1 << 20, &s, &res);
    assert_int_equal(res.status, RUN_EXIT_NONZERO);
    assert_int_equal(res.exit_code, 3);
    buf_free(&s.all);
}

static void test_stderr_is_kept_not_fatal(void **st) {
    (void)st;
    sink s = {0};
    run_result res;
    run_cmd("sh -c 'echo out; echo oops >&2'", 5, 1 << 20, &s, &res);
    assert_int_equal(res.status, RUN_OK);
    assert_string_equal(res.stderr_head, "oops\n");
    assert_int_equal(s.lines, 1);
    buf_free(&s.all);
}

static bool process_gone(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return access(path, F_OK) != 0; /* not even a zombie */
}

static void test_timeout_kills_and_reaps_the_group(void **st) {
    (void)st;
    char pidfile[] = "/tmp/slurmpush-runner-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sh -c 'sleep 30 & echo $! > %s; echo started; sleep 30'", pidfile);
    sink s = {0};
    run_result res;
    double t0 = mono_seconds();
    run_cmd(cmd, 0.5, 1 << 20, &s, &res);
    double took = mono_seconds() - t0;
    assert_int_equal(res.status, RUN_TIMEOUT);
    assert_true(took < 3);
    char *text = read_file(pidfile, 64, NULL);
    assert_non_null(text);
    pid_t grandchild = (pid_t)atoi(text);
    free(text);
    unlink(pidfile);
    assert_true(grandchild > 0);
    assert_true(process_gone(grandchild));
    buf_free(&s.all);
}

/* Runs cmd_fmt (its %s: a file the command writes a pid into), returns that pid. */
static pid_t run_and_read_pid(const char *cmd_fmt, double timeout, run_result *res) {
    char pidfile[] = "/tmp/slurmpush-runner-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, cmd_fmt, pidfile);
    sink s = {0};
    run_cmd(cmd, timeout, 1 << 20, &s, res);
    buf_free(&s.all);
    char *text = NULL;
    for (int i = 0; i < 200 && !(text && *text); i++) { /* written by a background process: may lag */
        free(text);
        text = read_file(pidfile, 64, NULL);
        if (!(text && *text)) usleep(10 * 1000);
    }
    assert_non_null(text);
    pid_t pid = (pid_t)atoi(text);
    free(text);
    unlink(pidfile);
    assert_true(pid > 0);
    return pid;
}

/* A child that leaves the process group and the session (setsid) and holds stdout: the timeout
 * ends it too, and it is reaped. (The pid is the child's own: setsid(1) may fork.) */
static void test_timeout_kills_what_left_the_session(void **st) {
    (void)st;
    run_result res;
    pid_t escaped =
        run_and_read_pid("sh -c 'setsid sh -c \"echo \\$\\$ > %s; exec sleep 30\" & echo started; sleep 30'", 0.5, &res);
    assert_int_equal(res.status, RUN_TIMEOUT);
    assert_true(process_gone(escaped));
}

/* A finished command's setsid child, still running: ended and reaped with the run, while a process
 * of the agent's own that no command started is left alone. */
static void test_finished_run_ends_what_it_left(void **st) {
    (void)st;
    pid_t bystander = fork();
    if (bystander == 0) {
        execlp("sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    assert_true(bystander > 0);
    run_result res;
    pid_t left = run_and_read_pid("sh -c 'setsid sh -c \"echo \\$\\$ > %1$s; exec sleep 30\" > /dev/null 2>&1 & "
                                  "while [ ! -s %1$s ]; do sleep 0.01; done; echo done'",
                                  5, &res);
    assert_int_equal(res.status, RUN_OK);
    assert_true(process_gone(left));
    assert_int_equal(kill(bystander, 0), 0);
    kill(bystander, SIGKILL);
    waitpid(bystander, NULL, 0);
}

/* An orphan that has exited (re-parented to the agent, a subreaper) is reaped: no zombie per run, even
 * from one that shed the run's mark (env -i) and so outlived its run. */
static void test_exited_orphan_is_reaped(void **st) {
    (void)st;
    for (int i = 0; i < 3; i++) {
        run_result res;
        pid_t orphan = run_and_read_pid("sh -c 'setsid env -i /bin/sh -c \"echo \\$\\$ > %1$s; exec /bin/sleep 0.2\" "
                                        "> /dev/null 2>&1 & while [ ! -s %1$s ]; do sleep 0.01; done; echo done'",
                                        5, &res);
        assert_int_equal(res.status, RUN_OK);
        for (int k = 0; k < 200 && !process_gone(orphan); k++) { /* it exits after its run: a later run reaps it */
            sink s = {0};
            run_cmd("true", 5, 1 << 20, &s, &res);
            usleep(10 * 1000);
        }
        assert_true(process_gone(orphan));
    }
}

static void test_output_cap(void **st) {
    (void)st;
    sink s = {0};
    run_result res;
    run_cmd("yes slurmpush", 10, 1 << 20, &s, &res);
    assert_int_equal(res.status, RUN_OUTPUT_TOO_LARGE);
    assert_true(res.stdout_bytes > (1 << 20));
    buf_free(&s.all);
}

static void test_missing_binary(void **st) {
    (void)st;
    sink s = {0};
    run_result res;
    run_cmd("/nonexistent/squeue -h", 5, 1 << 20, &s, &res);
    assert_int_equal(res.status, RUN_SPAWN_FAILED);
    char text[128];
    assert_non_null(strstr(run_status_text(&res, text, sizeof text), "No such file"));
}

static void test_rejected_line_stops_the_run(void **st) {
    (void)st;
    sink s = {.reject_on = "garbage"};
    run_result res;
    run_cmd("sh -c 'echo ok; echo garbage; yes'", 10, 1u << 30, &s, &res);
    assert_int_equal(res.status, RUN_LINE_REJECTED);
    assert_string_equal(res.reject_reason, "garbage");
    buf_free(&s.all);
}

/* A line over 1 MiB (a hostile job name) and a NUL inside a line are refused, not parsed. */
static void test_hostile_lines_refused(void **st) {
    (void)st;
    sink s = {0};
    run_result res;
    run_cmd("sh -c 'head -c 1100000 /dev/zero | tr \\\\0 x; echo'", 10, 1 << 24, &s, &res);
    assert_int_equal(res.status, RUN_LINE_REJECTED);
    assert_non_null(strstr(res.reject_reason, "longer than"));
    assert_int_equal(s.lines, 0);
    buf_free(&s.all);
    sink t = {0};
    run_cmd("printf 'ok\\na\\000b\\n'", 5, 1 << 20, &t, &res);
    assert_int_equal(res.status, RUN_LINE_REJECTED);
    assert_non_null(strstr(res.reject_reason, "NUL"));
    assert_int_equal(t.lines, 1); /* the good line before it was parsed; the run still fails */
    buf_free(&t.all);
}

static void test_split_quotes(void **st) {
    (void)st;
    char **argv = runner_split("squeue -O 'JobID:|,Name:' \"a b\" c\\ d");
    assert_non_null(argv);
    assert_string_equal(argv[0], "squeue");
    assert_string_equal(argv[1], "-O");
    assert_string_equal(argv[2], "JobID:|,Name:");
    assert_string_equal(argv[3], "a b");
    assert_string_equal(argv[4], "c d");
    assert_null(argv[5]);
    free(argv);
    assert_null(runner_split("unbalanced 'quote"));
    assert_null(runner_split("   "));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_last_line_without_newline),
        cmocka_unit_test(test_nonzero_exit),
        cmocka_unit_test(test_stderr_is_kept_not_fatal),
        cmocka_unit_test(test_timeout_kills_and_reaps_the_group),
        cmocka_unit_test(test_timeout_kills_what_left_the_session),
        cmocka_unit_test(test_finished_run_ends_what_it_left),
        cmocka_unit_test(test_exited_orphan_is_reaped),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_missing_binary),
        cmocka_unit_test(test_rejected_line_stops_the_run),
        cmocka_unit_test(test_split_quotes),
        cmocka_unit_test(test_hostile_lines_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
