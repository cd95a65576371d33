/* licenses.c — the licenses collector: `scontrol show lic -o`, one line per license
 * (`LicenseName=matlab Total=4 Used=3 Free=1 Reserved=0 Remote=no`). Text works on every
 * Slurm version; the seed's `--json` fails before 23.02. The seed's families, each series
 * only when > 0, as the seed. */
#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "json_doc.h"

/* The families, in the order of the keys of a line (and of the JSON objects). */
enum { LIC_TOTAL, LIC_USED, LIC_FREE, LIC_RESERVED, LIC_LAST_CONSUMED, LIC_LAST_DEFICIT, N_LIC };

#define LICENSE_FAMILY(metric, what, first)                                                                                      \
    {                                                                                                                            \
        .name = metric, .type = METRIC_GAUGE, .labels = LABELS("name"), .help = "slurm license " what,                           \
        .doc = "`" what "` as Slurm prints it", .positive_only = true, .shares_previous = !(first)                               \
    }
static const family_def licenses_families[] = {
    [LIC_TOTAL] = LICENSE_FAMILY("slurm_lic_total", "total", 1),
    [LIC_USED] = LICENSE_FAMILY("slurm_lic_used", "used", 0),
    [LIC_FREE] = LICENSE_FAMILY("slurm_lic_free", "free", 0),
    [LIC_RESERVED] = LICENSE_FAMILY("slurm_lic_reserved", "reserved", 0),
    [LIC_LAST_CONSUMED] = LICENSE_FAMILY("slurm_lic_last_consumed", "last_consumed", 0),
    [LIC_LAST_DEFICIT] = LICENSE_FAMILY("slurm_lic_last_deficit", "last_deficit", 0),
    [N_LIC] = {0},
};
static const char *const line_keys[N_LIC] = {"Total", "Used", "Free", "Reserved", "LastConsumed", "LastDeficit"};

typedef struct {
    family *fam[N_LIC];
    json_doc doc; /* `scontrol show lic --json` (23.02+), when a site's command prints it */
} licenses_state;

static void licenses_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    licenses_state *s = state;
    ss_declare(out, licenses_families, s->fam);
}

/* The value of KEY= (writable: it lies in line), or NULL. */
static char *word_value(char *line, const char *key) {
    size_t len;
    return (char *)kv_value(line, key, &len);
}

static int number_at(const char *line, const char *key, double *out, char *why, size_t why_len) {
    *out = 0;
    return kv_count(line, key, out, why, why_len) < 0 ? -1 : 0; /* a missing key counts 0, as the seed */
}

static int licenses_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    licenses_state *s = state;
    if (json_doc_take(&s->doc, line, len)) return 0;
    if (!len) return 0;
    char *name = word_value(line, "LicenseName");
    if (!name || !*name || *name == ' ') {
        snprintf(why, why_len, "no LicenseName=");
        return -1;
    }
    double values[N_LIC];
    for (size_t k = 0; k < N_LIC; k++)
        if (number_at(line, line_keys[k], &values[k], why, why_len)) return -1;
    name[strcspn(name, " ")] = '\0'; /* after the numbers: they are read from the rest of the line */
    size_t slot = FAM_SLOT(s->fam[LIC_TOTAL], name);
    for (size_t k = 0; k < N_LIC; k++) fam_add_at(s->fam[k], slot, values[k]);
    return 0;
}

/* `scontrol show lic --json`: licenses[].{LicenseName, Total, Used, Free, Reserved, LastConsumed, LastDeficit} */
static int licenses_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    licenses_state *s = state;
    if (!s->doc.active) return 0;
    json_object *doc = json_doc_parse(&s->doc, why, why_len), *list = jget(doc, "licenses");
    if (doc && !list) snprintf(why, why_len, "JSON output has no \"licenses\"");
    if (!list) {
        json_object_put(doc);
        return -1;
    }
    for (size_t i = 0; i < jlen(list); i++) {
        json_object *l = json_object_array_get_idx(list, i);
        size_t slot = FAM_SLOT(s->fam[LIC_TOTAL], jstr(jget(l, "LicenseName")));
        for (size_t k = 0; k < N_LIC; k++) {
            double v;
            if (jnum(jget(l, line_keys[k]), &v)) fam_add_at(s->fam[k], slot, v);
        }
    }
    json_object_put(doc);
    return 0;
}

static void licenses_release(void *state) { json_doc_free(&((licenses_state *)state)->doc); }

const collector_def licenses_collector = {
    .name = "licenses",
    .summary = "license counts (scontrol show lic; text on every Slurm version)",
    .enabled_by_default = false,
    .enable_alias = "slurm.collect-licenses",
    .command = "scontrol show lic -o",
    .command_alias = "slurm.lic-cli",
    .interval = "60",
    .fixture = "lic",
    .families = licenses_families,
    .error_metric = "slurm_lic_scrape_error",
    .error_help = "slurm license scrape error",
    .duration_metric = NULL, /* the seed has none */
    .state_size = sizeof(licenses_state),
    .begin = licenses_begin,
    .parse_line = licenses_line,
    .end = licenses_end,
    .release = licenses_release,
};
