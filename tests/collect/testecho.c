/* testecho.c — a collector that exists only in the test tree. It is built into a second
 * binary (tests/CMakeLists.txt) to show that one file is all a collector takes: the registry,
 * --help, --list-collectors, the README tables and the option parsing pick it up from this
 * descriptor alone. It reads "NAME VALUE" lines and emits VALUE × --collector.testecho.scale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collector.h"

typedef struct {
    double scale;
    char *prefix;
} testecho_settings;

static const collector_option testecho_options[] = {
    {.name = "collector.testecho.scale",
     .type = OPT_SECONDS,
     .def = "1",
     .offset = offsetof(testecho_settings, scale),
     .help = "Factor applied to every value."},
    {.name = "collector.testecho.prefix",
     .type = OPT_STRING,
     .def = "",
     .alias = "testecho-prefix",
     .offset = offsetof(testecho_settings, prefix),
     .help = "Text put before every name label."},
    {0},
};

static const family_def testecho_families[] = {
    {.name = "slurmpush_testecho_value",
     .type = METRIC_GAUGE,
     .labels = LABELS("name"),
     .help = "The value of a line",
     .doc = "VALUE × scale, per NAME"},
    {0},
};

typedef struct {
    family *fam[1];
    const testecho_settings *settings;
} testecho_state;

static void testecho_begin(void *state, sample_set *out, const collect_env *env) {
    testecho_state *s = state;
    s->settings = env->settings;
    ss_declare(out, testecho_families, s->fam);
}

static int testecho_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    testecho_state *s = state;
    if (!len) return 0;
    char *space = strchr(line, ' ');
    long long v;
    if (!space || parse_int(space + 1, &v) < 0) {
        snprintf(why, why_len, "not \"NAME VALUE\"");
        return -1;
    }
    *space = '\0';
    char name[128];
    snprintf(name, sizeof name, "%s%s", s->settings && s->settings->prefix ? s->settings->prefix : "", line);
    FAM_ADD(s->fam[0], (double)v * (s->settings ? s->settings->scale : 1), name);
    return 0;
}

const collector_def testecho_collector = {
    .name = "testecho",
    .summary = "test-only: NAME VALUE lines",
    .enabled_by_default = false,
    .command = "printf 'a 1\\nb 2\\n'",
    .interval = "5",
    .fixture = "testecho",
    .options = testecho_options,
    .settings_size = sizeof(testecho_settings),
    .families = testecho_families,
    .error_metric = "slurmpush_testecho_error",
    .error_help = "failed testecho runs",
    .state_size = sizeof(testecho_state),
    .begin = testecho_begin,
    .parse_line = testecho_line,
};
