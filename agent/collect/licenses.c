/* licenses.c — the licenses collector: `scontrol show lic -o`, one line per license
 * (`LicenseName=matlab Total=4 Used=3 Free=1 Reserved=0 Remote=no`). Text works on every
 * Slurm version; the seed's `--json` fails before 23.02. The seed's families, each series
 * only when > 0, as the seed. */
#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "json_doc.h"

typedef struct {
    family *total, *used, *free_, *reserved, *last_consumed, *last_deficit;
    json_doc doc; /* `scontrol show lic --json` (23.02+), when a site's command prints it */
} licenses_state;

static void licenses_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    licenses_state *s = state;
    s->total = ss_family(out, "slurm_lic_total", "slurm license total", METRIC_GAUGE, "name", NULL);
    s->used = ss_family_like(out, s->total, "slurm_lic_used", "slurm license used", METRIC_GAUGE);
    s->free_ = ss_family_like(out, s->total, "slurm_lic_free", "slurm license free", METRIC_GAUGE);
    s->reserved = ss_family_like(out, s->total, "slurm_lic_reserved", "slurm license reserved", METRIC_GAUGE);
    s->last_consumed = ss_family_like(out, s->total, "slurm_lic_last_consumed", "slurm license last_consumed", METRIC_GAUGE);
    s->last_deficit = ss_family_like(out, s->total, "slurm_lic_last_deficit", "slurm license last_deficit", METRIC_GAUGE);
    family *all[] = {s->total, s->used, s->free_, s->reserved, s->last_consumed, s->last_deficit};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) all[i]->positive_only = true;
}

/* The value of KEY= in a line of space-separated KEY=VALUE words (terminated in place), or NULL. */
static char *word_value(char *line, const char *key) {
    size_t klen = strlen(key);
    for (char *p = line; (p = strstr(p, key));) {
        if ((p == line || p[-1] == ' ') && p[klen] == '=') {
            char *v = p + klen + 1;
            return v;
        }
        p += klen;
    }
    return NULL;
}

static int number_at(char *line, const char *key, double *out, char *why, size_t why_len) {
    char *v = word_value(line, key);
    *out = 0;
    if (!v) return 0;
    char text[32];
    size_t n = strcspn(v, " ");
    if (n >= sizeof text) n = sizeof text - 1;
    memcpy(text, v, n);
    text[n] = '\0';
    long long x;
    if (parse_int(text, &x) < 0 || x < 0) {
        snprintf(why, why_len, "%s=\"%.20s\" is not a count", key, text);
        return -1;
    }
    *out = (double)x;
    return 0;
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
    double total, used, free_, reserved, consumed, deficit;
    if (number_at(line, "Total", &total, why, why_len) || number_at(line, "Used", &used, why, why_len) ||
        number_at(line, "Free", &free_, why, why_len) || number_at(line, "Reserved", &reserved, why, why_len) ||
        number_at(line, "LastConsumed", &consumed, why, why_len) || number_at(line, "LastDeficit", &deficit, why, why_len))
        return -1;
    name[strcspn(name, " ")] = '\0'; /* after the numbers: they are read from the rest of the line */
    size_t slot = FAM_SLOT(s->total, name);
    fam_add_at(s->total, slot, total);
    fam_add_at(s->used, slot, used);
    fam_add_at(s->free_, slot, free_);
    fam_add_at(s->reserved, slot, reserved);
    fam_add_at(s->last_consumed, slot, consumed);
    fam_add_at(s->last_deficit, slot, deficit);
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
    const char *keys[] = {"Total", "Used", "Free", "Reserved", "LastConsumed", "LastDeficit"};
    family *fams[] = {s->total, s->used, s->free_, s->reserved, s->last_consumed, s->last_deficit};
    for (size_t i = 0; i < jlen(list); i++) {
        json_object *l = json_object_array_get_idx(list, i);
        size_t slot = FAM_SLOT(s->total, jstr(jget(l, "LicenseName")));
        for (size_t k = 0; k < 6; k++) {
            double v;
            if (jnum(jget(l, keys[k]), &v)) fam_add_at(fams[k], slot, v);
        }
    }
    json_object_put(doc);
    return 0;
}

static void licenses_release(void *state) { json_doc_free(&((licenses_state *)state)->doc); }

const collector_def licenses_collector = {
    .name = "licenses",
    .enabled_option = offsetof(config, collect_licenses),
    .command_option = offsetof(config, lic_cli),
    .error_metric = "slurm_lic_scrape_error",
    .error_help = "slurm license scrape error",
    .duration_metric = NULL, /* the seed has none */
    .state_size = sizeof(licenses_state),
    .begin = licenses_begin,
    .parse_line = licenses_line,
    .end = licenses_end,
    .release = licenses_release,
};
