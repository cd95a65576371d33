/* text.c — text exposition encoder (see text.h). */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "labels.h"

typedef struct {
    const family *f;
    int64_t timestamp_ms;
    size_t order; /* keeps same-named families in set order */
} family_ref;

/* By exposed name (a histogram's parts together), then name, then set order. */
static int cmp_ref(const void *a, const void *b) {
    const family_ref *x = a, *y = b;
    int c = strcmp(family_metadata_name(x->f), family_metadata_name(y->f));
    if (!c) c = strcmp(x->f->name, y->f->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static const char *type_word(metric_type t) {
    return t == METRIC_COUNTER ? "counter" : t == METRIC_HISTOGRAM ? "histogram" : "gauge";
}

static void put_escaped(buf *out, const char *s, bool quote_too) {
    size_t plain = strcspn(s, quote_too ? "\\\n\"" : "\\\n");
    if (!s[plain]) { /* the usual case: nothing to escape */
        buf_append(out, s, plain);
        return;
    }
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else if (*p == '"' && quote_too)
            buf_puts(out, "\\\"");
        else
            buf_append(out, p, 1);
    }
}

static void put_series(buf *out, const family *f, const series *s, const label_slot *slots, size_t nslots, int64_t ts) {
    buf_puts(out, f->name);
    if (nslots) {
        buf_append(out, "{", 1);
        for (size_t i = 0; i < nslots; i++) {
            if (i) buf_append(out, ",", 1);
            buf_puts(out, slots[i].name);
            buf_puts(out, "=\"");
            put_escaped(out, slot_value(&slots[i], s), true);
            buf_append(out, "\"", 1);
        }
        buf_append(out, "}", 1);
    }
    char value[32];
    buf_append(out, " ", 1);
    buf_puts(out, format_value(s->value, value));
    if (ts) buf_printf(out, " %lld", (long long)ts);
    buf_append(out, "\n", 1);
}

void text_encode(const sample_set *const *sets, size_t nsets, const label_pair *extra, size_t n_extra, bool with_timestamps,
                 buf *out) {
    size_t total = 0;
    for (size_t i = 0; i < nsets; i++) total += sets[i] ? sets[i]->n : 0;
    family_ref *refs = xmalloc((total ? total : 1) * sizeof *refs);
    size_t n = 0;
    for (size_t i = 0; i < nsets; i++)
        for (size_t j = 0; sets[i] && j < sets[i]->n; j++)
            refs[n] = (family_ref){sets[i]->fams[j], sets[i]->timestamp_ms, n}, n++;
    if (n > 1) qsort(refs, n, sizeof *refs, cmp_ref);

    label_slot *slots = NULL;
    size_t slots_cap = 0;
    const char *last_header = NULL;
    for (size_t i = 0; i < n; i++) {
        const family *f = refs[i].f;
        if (!f->n) continue; /* an empty family is not written, as Prometheus clients do */
        const char *header = family_metadata_name(f);
        if (!last_header || strcmp(last_header, header)) {
            last_header = header;
            buf_printf(out, "# HELP %s ", header);
            put_escaped(out, f->help, false);
            buf_printf(out, "\n# TYPE %s %s\n", header, type_word(f->type));
        }
        if (f->nlabels + n_extra > slots_cap) {
            slots_cap = f->nlabels + n_extra;
            slots = xrealloc(slots, slots_cap * sizeof *slots);
        }
        size_t nslots = merge_labels(f, extra, n_extra, slots);
        for (size_t k = 0; k < f->n; k++) {
            if (is_stale_nan(f->items[k].value)) continue; /* staleness is a push concept */
            put_series(out, f, &f->items[k], slots, nslots, with_timestamps ? refs[i].timestamp_ms : 0);
        }
    }
    free(slots);
    free(refs);
}
