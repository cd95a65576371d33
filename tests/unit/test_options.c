/* test_options.c — the option table: GNU and seed spellings, env vars, precedence, and a
 * clear error (never a silent default) for every bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/options.h"

static options_result parse(config *cfg, const char *const *args) {
    char *argv[32] = {"slurmpush"};
    int argc = 1;
    for (; args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
    /* keep --help output and errors out of the test log */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    options_result r = options_parse(cfg, argc, argv);
    fclose(stderr);
    stderr = saved;
    return r;
}

static void test_defaults(void **st) {
    (void)st;
    config cfg;
    assert_int_equal(parse(&cfg, (const char *[]){NULL}), OPTIONS_OK);
    assert_string_equal(cfg.listen_address, ":9092");
    assert_true(cfg.poll_limit == 10);
    assert_true(cfg.cli_timeout == 10);
    assert_true(cfg.cycle_seconds == 10);
    assert_true(cfg.cli_fallback);
    assert_int_equal(cfg.remote_write_urls.n, 0);
    options_free(&cfg);
}

/* Every collector's rows come from its descriptor: the uniform switch, command and interval,
 * the seed's older spellings as aliases, and the defaults the descriptor names. */
static void test_collector_rows(void **st) {
    (void)st;
    config cfg;
    assert_int_equal(parse(&cfg, (const char *[]){"-slurm.collect-licenses", "--collector.diags=true", "--collector.jobs=false",
                                                  "--slurm.lic-cli", "cat lic", "--collector.nodes.interval=30",
                                                  "--collector.limits.command=cat limits", NULL}),
                     OPTIONS_OK);
    assert_true(cfg.collectors[collector_index("licenses")].enabled);
    assert_true(cfg.collectors[collector_index("diags")].enabled);
    assert_false(cfg.collectors[collector_index("jobs")].enabled);
    assert_false(cfg.collectors[collector_index("limits")].enabled); /* a command alone does not switch it on */
    assert_true(cfg.collectors[collector_index("nodes")].enabled);   /* on by default */
    assert_string_equal(cfg.collectors[collector_index("licenses")].command, "cat lic");
    assert_string_equal(cfg.collectors[collector_index("limits")].command, "cat limits");
    assert_string_equal(cfg.collectors[collector_index("diags")].command, "sdiag");
    assert_true(cfg.collectors[collector_index("nodes")].interval == 30);
    assert_true(cfg.collectors[collector_index("jobs")].interval == 0);
    assert_int_equal(collector_index("no-such"), -1);
    options_free(&cfg);
    assert_int_equal(parse(&cfg, (const char *[]){"--collector.nodes.interval=-1", NULL}), OPTIONS_ERROR);
    options_free(&cfg);
    assert_int_equal(parse(&cfg, (const char *[]){"--collector.nosuch", NULL}), OPTIONS_ERROR);
    options_free(&cfg);
}

static void test_gnu_and_seed_spellings(void **st) {
    (void)st;
    config cfg;
    assert_int_equal(
        parse(&cfg, (const char *[]){"-web.listen-address", "127.0.0.1:1", "--slurm.poll-limit=2.5", "-slurm.squeue-cli=cat x",
                                     "--remote-write.url", "http://127.0.0.1:9/api/v1/write", "--label", "cluster=a",
                                     "--label=site=b", "--label", "cluster=c", "-web.log-level=warning", "--interval=30", NULL}),
        OPTIONS_OK);
    assert_string_equal(cfg.listen_address, "127.0.0.1:1");
    assert_true(cfg.poll_limit == 2.5);
    assert_string_equal(cfg.collectors[collector_index("jobs")].command, "cat x");
    assert_int_equal(cfg.remote_write_urls.n, 1);
    assert_int_equal(cfg.n_extra_labels, 2);
    assert_string_equal(cfg.extra_labels[0].name, "cluster");
    assert_string_equal(cfg.extra_labels[0].value, "c"); /* the later --label replaces */
    assert_true(cfg.cycle_seconds == 30);
    options_free(&cfg);
}

static void test_environment_and_precedence(void **st) {
    (void)st;
    config cfg;
    setenv("POLL_LIMIT", "3", 1);
    setenv("CLI_TIMEOUT", "2.5", 1);
    assert_int_equal(parse(&cfg, (const char *[]){NULL}), OPTIONS_OK);
    assert_true(cfg.poll_limit == 3);
    assert_true(cfg.cli_timeout == 2.5); /* fractional, not truncated as the seed did */
    options_free(&cfg);
    assert_int_equal(parse(&cfg, (const char *[]){"--slurm.poll-limit=7", NULL}), OPTIONS_OK);
    assert_true(cfg.poll_limit == 7); /* the flag wins over the environment */
    options_free(&cfg);
    setenv("CLI_TIMEOUT", "soon", 1);
    assert_int_equal(parse(&cfg, (const char *[]){NULL}), OPTIONS_ERROR);
    options_free(&cfg);
    unsetenv("POLL_LIMIT");
    unsetenv("CLI_TIMEOUT");
}

static void test_bad_values_are_errors(void **st) {
    (void)st;
    const char *bad[][3] = {
        {"--no-such-option", NULL},
        {"--remote-write.url=ftp://x/y", NULL},
        {"--remote-write.url=http://", NULL},
        {"--pushgateway.url=localhost:9091", NULL},
        {"--label", "1bad=x", NULL},
        {"--label", "__name__=x", NULL},
        {"--label", "noequals", NULL},
        {"--label", "empty=", NULL},
        {"--slurm.poll-limit=-1", NULL},
        {"--slurm.poll-limit=0", NULL},
        {"--slurm.cli-timeout=abc", NULL},
        {"--remote-write.timeout=-5", NULL},
        {"--web.log-level=verbose", NULL},
        {"--slurm.cli-fallback=maybe", NULL},
        {"--remote-write.max-samples-per-send=0", NULL},
        {"--web.telemetry-path=metrics", NULL},
        {"--slurm.poll-limit", NULL},
        {"positional", NULL},
        {"--label", "site=caf\xe9", NULL},                /* not UTF-8 */
        {"--collector.native.token-header=cookie", NULL}, /* a collector's own option, checked by its descriptor */
        {"--collector.native.url=localhost:6817", NULL},
        {"--remote-write.url=http://127.0.0.1:9/w", "--remote-write.bearer-token-file=/nonexistent/token", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        config cfg;
        if (parse(&cfg, bad[i]) != OPTIONS_ERROR) fail_msg("accepted: %s %s", bad[i][0], bad[i][1] ? bad[i][1] : "");
        options_free(&cfg);
    }
}

static void test_per_endpoint_options(void **st) {
    (void)st;
    config cfg;
    assert_int_equal(
        parse(&cfg, (const char *[]){"--remote-write.header=X-Scope-OrgID: everyone", "--remote-write.url=http://127.0.0.1:1/a",
                                     "--remote-write.header=X-Extra: a", "--remote-write.url=https://127.0.0.1:2/b",
                                     "--remote-write.protocol=v2", "--remote-write.tls.server-name=receiver.example", NULL}),
        OPTIONS_OK);
    assert_int_equal(cfg.remote_write_urls.n, 2);
    endpoint_options *a = &cfg.rw_endpoints[0], *b = &cfg.rw_endpoints[1];
    assert_int_equal(a->headers.n, 2);
    assert_string_equal(a->headers.items[0], "X-Scope-OrgID: everyone");
    assert_string_equal(a->headers.items[1], "X-Extra: a");
    assert_false(a->v2);
    assert_null(a->server_name);
    assert_int_equal(b->headers.n, 1);
    assert_true(b->v2);
    assert_string_equal(b->server_name, "receiver.example");
    options_free(&cfg);
    /* TLS settings for an http:// URL would change nothing: the data would go in the clear; refused */
    assert_int_equal(parse(&cfg, (const char *[]){"--remote-write.url=http://127.0.0.1:2/b",
                                                  "--remote-write.tls.server-name=receiver.example", NULL}),
                     OPTIONS_ERROR);
    options_free(&cfg);
    /* the reserved headers are refused wherever they are given */
    assert_int_equal(
        parse(&cfg, (const char *[]){"--remote-write.url=http://127.0.0.1:1/a", "--remote-write.header=user-agent: x", NULL}),
        OPTIONS_ERROR);
    options_free(&cfg);
}

static void test_help_and_version_exit_ok(void **st) {
    (void)st;
    config cfg;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    options_result a = parse(&cfg, (const char *[]){"--help", NULL});
    options_free(&cfg);
    options_result b = parse(&cfg, (const char *[]){"--version", NULL});
    options_free(&cfg);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(a, OPTIONS_EXIT_OK);
    assert_int_equal(b, OPTIONS_EXIT_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_gnu_and_seed_spellings),
        cmocka_unit_test(test_collector_rows),
        cmocka_unit_test(test_environment_and_precedence),
        cmocka_unit_test(test_bad_values_are_errors),
        cmocka_unit_test(test_per_endpoint_options),
        cmocka_unit_test(test_help_and_version_exit_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
