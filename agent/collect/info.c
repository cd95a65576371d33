/* info.c — the info collector: `scontrol show config`, read for two lines, `ClusterName = …`
 * and `SLURM_VERSION = …` (every Slurm version prints both), as `slurm_info{version,
 * cluster_name} 1`. It runs at start and hourly (the values change with an upgrade or a
 * reconfiguration). Output without a well-formed version fails the run with a reason that
 * says what was printed, so a Slurm that changed its output is named in the log. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../collector.h"

static const family_def info_families[] = {
    {.name = "slurm_info",
     .type = METRIC_GAUGE,
     .labels = LABELS("version", "cluster_name"),
     .help = "Slurm's version and cluster name (scontrol show config); always 1",
     .doc = "1; `version` is `SLURM_VERSION` (e.g. `24.11.5`), `cluster_name` is `ClusterName`"},
    {0},
};

typedef struct {
    family *fam[1];
    sample_set *out;
    const char *version, *cluster; /* in the set's arena */
} info_state;

static void info_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    info_state *s = state;
    s->out = out;
    ss_declare(out, info_families, s->fam);
}

/* "KEY   = value" -> value (trimmed) when line's key is key, else NULL. */
static char *config_value(char *line, const char *key) {
    size_t n = strlen(key);
    if (strncmp(line, key, n) || (line[n] != ' ' && line[n] != '=')) return NULL;
    char *v = line + n;
    while (*v == ' ') v++;
    if (*v != '=') return NULL;
    for (v++; *v == ' '; v++) {
    }
    char *end = v + strlen(v);
    while (end > v && isspace((unsigned char)end[-1])) *--end = '\0';
    return v;
}

/* 22.05.8, 24.11.5, 26.05.0-rc1: digits, dots, then anything printable without spaces. */
static bool plausible_version(const char *v) {
    if (!isdigit((unsigned char)v[0]) || !strchr(v, '.')) return false;
    for (; *v; v++)
        if (!isgraph((unsigned char)*v)) return false;
    return true;
}

static int info_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    info_state *s = state;
    if (!len) return 0;
    char *v;
    if ((v = config_value(line, "SLURM_VERSION"))) {
        if (!plausible_version(v)) {
            snprintf(why, why_len, "SLURM_VERSION \"%.40s\" is not a version", v);
            return -1;
        }
        s->version = arena_strdup(&s->out->mem, v);
    } else if ((v = config_value(line, "ClusterName"))) {
        s->cluster = arena_strdup(&s->out->mem, v);
    }
    return 0;
}

static int info_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    info_state *s = state;
    if (!s->version) {
        snprintf(why, why_len, "no \"SLURM_VERSION = …\" line: not the output of scontrol show config");
        return -1;
    }
    FAM_SET(s->fam[0], 1, s->version, s->cluster ? s->cluster : "");
    return 0;
}

const collector_def info_collector = {
    .name = "info",
    .summary = "Slurm's version and cluster name (scontrol show config), at start and hourly",
    .enabled_by_default = true,
    .command = "scontrol show config",
    .interval = "3600",
    .fixture = "config",
    .families = info_families,
    .error_metric = "slurm_info_scrape_error",
    .error_help = "failed runs of the info collector",
    .state_size = sizeof(info_state),
    .begin = info_begin,
    .parse_line = info_line,
    .end = info_end,
};
