/* samples.c — sample sets and family aggregation (see samples.h). */
#include "samples.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

sample_set *ss_new(int64_t timestamp_ms) {
    sample_set *ss = xcalloc(1, sizeof *ss);
    ss->timestamp_ms = timestamp_ms;
    return ss;
}

void ss_free(sample_set *ss) {
    if (!ss) return;
    for (size_t i = 0; i < ss->n; i++) {
        free(ss->fams[i]->items);
        htab_free(&ss->fams[i]->index);
    }
    free(ss->fams);
    arena_free(&ss->mem);
    free(ss);
}

family *ss_family_labels(sample_set *ss, const char *name, const char *help, metric_type type, const char *const *labels) {
    family *f = arena_calloc(&ss->mem, 1, sizeof *f);
    f->name = name;
    f->help = help;
    f->type = type;
    f->mem = &ss->mem;
    while (labels && labels[f->nlabels]) f->nlabels++;
    f->label_names = arena_calloc(&ss->mem, f->nlabels + 1, sizeof(char *));
    for (size_t i = 0; i < f->nlabels; i++) f->label_names[i] = labels[i];
    if (ss->n == ss->cap) {
        ss->cap = ss->cap ? ss->cap * 2 : 16;
        ss->fams = xrealloc(ss->fams, ss->cap * sizeof *ss->fams);
    }
    ss->fams[ss->n++] = f;
    return f;
}

family *ss_family(sample_set *ss, const char *name, const char *help, metric_type type, ...) {
    const char *labels[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, type);
    for (const char *l; (l = va_arg(ap, const char *)) && n + 1 < sizeof labels / sizeof *labels;) labels[n++] = l;
    va_end(ap);
    labels[n] = NULL;
    return ss_family_labels(ss, name, help, type, labels);
}

family *ss_histogram(sample_set *ss, const char *name, const char *help, const char *const *labels) {
    size_t n = 0;
    while (labels && labels[n]) n++;
    const char **with_le = arena_calloc(&ss->mem, n + 2, sizeof *with_le);
    for (size_t i = 0; i < n; i++) with_le[i] = labels[i];
    with_le[n] = "le";
    size_t len = strlen(name);
    char *bucket = arena_alloc(&ss->mem, len + 8), *sum = arena_alloc(&ss->mem, len + 5), *count = arena_alloc(&ss->mem, len + 7);
    memcpy(bucket, name, len), memcpy(bucket + len, "_bucket", 8);
    memcpy(sum, name, len), memcpy(sum + len, "_sum", 5);
    memcpy(count, name, len), memcpy(count + len, "_count", 7);
    family *b = ss_family_labels(ss, bucket, help, METRIC_HISTOGRAM, with_le);
    b->hist_sum = ss_family_labels(ss, sum, help, METRIC_HISTOGRAM, labels);
    b->hist_count = ss_family_labels(ss, count, help, METRIC_HISTOGRAM, labels);
    b->metadata_name = b->hist_sum->metadata_name = b->hist_count->metadata_name = name;
    return b;
}

family *ss_family_like(sample_set *ss, family *first, const char *name, const char *help, metric_type type) {
    family *f = ss_family(ss, name, help, type, NULL);
    f->label_names = first->label_names;
    f->nlabels = first->nlabels;
    f->next_sibling = first->next_sibling;
    first->next_sibling = f;
    return f;
}

static void append_series(family *f, const char **values) {
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->items = xrealloc(f->items, f->cap * sizeof *f->items);
    }
    f->items[f->n++] = (series){.values = values, .value = 0};
}

/* A label value past this many bytes is cut (at a character's start) and counted: no receiver needs more
 * (Mimir's default limit is 2048), and one hostile job name must not cost megabytes per series. */
enum { LABEL_VALUE_MAX = 1024 };

static bool clean_value(const char *v) { return strlen(v) <= LABEL_VALUE_MAX && utf8_valid(v); }

/* v with U+FFFD for its invalid bytes, cut to LABEL_VALUE_MAX bytes; counts what it changed. */
static char *cleaned(family *f, const char *v) {
    char *out = xmalloc(3 * strlen(v) + 1);
    if (!utf8_valid(v)) {
        utf8_sanitize(v, out);
        f->utf8_replaced++;
    } else {
        strcpy(out, v);
    }
    size_t n = strlen(out);
    if (n > LABEL_VALUE_MAX) {
        n = LABEL_VALUE_MAX;
        while (n && ((unsigned char)out[n] & 0xC0) == 0x80) n--; /* not inside a character */
        out[n] = '\0';
        f->label_values_truncated++;
    }
    return out;
}

/* The series of values that are not all clean (valid UTF-8, not too long): looked up (or made) under
 * the cleaned values, so values that differ only where they were changed are one series. */
static size_t slot_of_unclean(family *f, const char *const *values) {
    const char **clean = xcalloc(f->nlabels, sizeof *clean);
    size_t replaced = f->utf8_replaced, truncated = f->label_values_truncated;
    for (size_t i = 0; i < f->nlabels; i++) clean[i] = clean_value(values[i]) ? values[i] : cleaned(f, values[i]);
    size_t before = f->n, slot = fam_slot(f, clean); /* clean values: found or made, never back here */
    if (f->n == before)                              /* counted once per series made, not per line */
        f->utf8_replaced = replaced, f->label_values_truncated = truncated;
    for (size_t i = 0; i < f->nlabels; i++)
        if (clean[i] != values[i]) free((char *)clean[i]);
    free(clean);
    return slot;
}

static bool all_clean(const family *f, const char *const *values) {
    for (size_t i = 0; i < f->nlabels; i++)
        if (!clean_value(values[i])) return false;
    return true;
}

/* The key is the values joined by NUL bytes; the series' value pointers point into the one
 * interned copy of that key, shared by the family and its siblings. Label values must be UTF-8 on
 * every path (a scrape of /metrics fails on one bad byte, a Pushgateway refuses the whole push):
 * only valid keys are interned, so a hit needs no check and a miss checks once. */
size_t fam_slot(family *f, const char *const *values) {
    char stack[512];
    size_t lens[16], klen = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = strlen(values[i]) + 1;
        if (i < 16) lens[i] = n;
        klen += n;
    }
    char *key = klen <= sizeof stack ? stack : xmalloc(klen);
    for (size_t i = 0, off = 0; i < f->nlabels; i++) {
        size_t n = i < 16 ? lens[i] : strlen(values[i]) + 1;
        memcpy(key + off, values[i], n);
        off += n;
    }
    if (f->last_key && f->last_klen == klen && memcmp(f->last_key, key, klen) == 0) {
        if (key != stack) free(key);
        return f->last_slot;
    }
    long idx = htab_find(&f->index, key, klen);
    if (idx < 0 && !all_clean(f, values)) {
        if (key != stack) free(key);
        return slot_of_unclean(f, values);
    }
    if (idx < 0) {
        char *kept = arena_strndup(f->mem, key, klen);
        const char **vals = arena_alloc(f->mem, (f->nlabels ? f->nlabels : 1) * sizeof(char *));
        for (size_t i = 0, off = 0; i < f->nlabels; i++) {
            vals[i] = kept + off;
            off += strlen(kept + off) + 1;
        }
        idx = (long)htab_insert(&f->index, kept, klen);
        for (family *g = f; g; g = g->next_sibling) append_series(g, vals);
    }
    if (key != stack) free(key);
    f->last_key = f->index.keys[idx];
    f->last_klen = klen;
    f->last_slot = (size_t)idx;
    return (size_t)idx;
}

static series *lookup(family *f, const char *const *values) {
    size_t slot = fam_slot(f, values); /* may grow f->items: index only after */
    return &f->items[slot];
}

void fam_add(family *f, double v, const char *const *values) { lookup(f, values)->value += v; }
void fam_set(family *f, double v, const char *const *values) { lookup(f, values)->value = v; }

/* By label values; a histogram's buckets by their bound (`le`, the last label) as a number, +Inf last:
 * text parsers read a histogram's buckets in order. */
static int cmp_series(const void *a, const void *b, void *fam) {
    const series *x = a, *y = b;
    const family *f = fam;
    bool buckets = f->hist_sum != NULL;
    size_t n = f->nlabels - (buckets ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c) return c;
    }
    if (!buckets) return 0;
    double lx = strtod(x->values[n], NULL), ly = strtod(y->values[n], NULL); /* "+Inf" is HUGE_VAL */
    return (lx > ly) - (lx < ly);
}

void ss_finish(sample_set *ss) {
    for (size_t i = 0; i < ss->n; i++) {
        family *f = ss->fams[i];
        htab_free(&f->index);
        if (f->positive_only) {
            size_t k = 0;
            for (size_t j = 0; j < f->n; j++)
                if (f->items[j].value > 0) f->items[k++] = f->items[j];
            f->n = k;
        }
        if (f->n > 1) qsort_r(f->items, f->n, sizeof *f->items, cmp_series, f);
    }
}

family *ss_find(const sample_set *ss, const char *name) {
    for (size_t i = 0; i < ss->n; i++)
        if (!strcmp(ss->fams[i]->name, name)) return ss->fams[i];
    return NULL;
}

void ss_drop_families(sample_set *ss, bool (*drop)(const char *name, void *ctx), void *ctx) {
    size_t k = 0;
    for (size_t i = 0; i < ss->n; i++) {
        family *f = ss->fams[i];
        if (!drop(f->name, ctx)) {
            ss->fams[k++] = f;
            continue;
        }
        free(f->items);
        htab_free(&f->index);
    }
    ss->n = k;
}

/* Would the series survive ss_finish (positive_only families drop what is not > 0)? */
static bool survives(const family *f, size_t i) { return !f->positive_only || f->items[i].value > 0; }

size_t ss_cap_series(sample_set *ss, size_t max) {
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < ss->n; i++) {
        family *f = ss->fams[i];
        size_t k = 0;
        for (size_t j = 0; j < f->n; j++) {
            if (!survives(f, j)) continue;
            if (kept < max) {
                f->items[k++] = f->items[j];
                kept++;
            } else {
                dropped++;
            }
        }
        f->n = k;
    }
    return dropped;
}

size_t ss_utf8_replaced(const sample_set *ss) {
    size_t n = 0;
    for (size_t i = 0; i < ss->n; i++) n += ss->fams[i]->utf8_replaced;
    return n;
}

size_t ss_label_values_truncated(const sample_set *ss) {
    size_t n = 0;
    for (size_t i = 0; i < ss->n; i++) n += ss->fams[i]->label_values_truncated;
    return n;
}

size_t ss_series_count(const sample_set *ss) {
    size_t n = 0;
    for (size_t i = 0; i < ss->n; i++) n += ss->fams[i]->n;
    return n;
}

/* "family\0value\0value\0…" of one series, into b. */
static void series_identity(buf *b, const family *f, const series *s) {
    b->len = 0;
    buf_append(b, f->name, strlen(f->name) + 1);
    for (size_t i = 0; i < f->nlabels; i++) buf_append(b, s->values[i], strlen(s->values[i]) + 1);
}

sample_set *ss_vanished(const sample_set *prev, const sample_set *next, int64_t ts) {
    if (!prev) return NULL;
    htab present = {0};
    arena keys = {0};
    buf id = {0};
    for (size_t i = 0; next && i < next->n; i++)
        for (size_t k = 0; k < next->fams[i]->n; k++) {
            series_identity(&id, next->fams[i], &next->fams[i]->items[k]);
            htab_insert(&present, arena_strndup(&keys, id.data, id.len), id.len);
        }
    sample_set *gone = NULL;
    for (size_t i = 0; i < prev->n; i++) {
        const family *f = prev->fams[i];
        family *g = NULL;
        for (size_t k = 0; k < f->n; k++) {
            series_identity(&id, f, &f->items[k]);
            if (htab_find(&present, id.data, id.len) >= 0) continue;
            if (!gone) gone = ss_new(ts);
            if (!g) {
                g = ss_family(gone, arena_strdup(&gone->mem, f->name), arena_strdup(&gone->mem, f->help), f->type, NULL);
                if (f->metadata_name) g->metadata_name = arena_strdup(&gone->mem, f->metadata_name);
                g->nlabels = f->nlabels;
                g->label_names = arena_alloc(&gone->mem, (f->nlabels + 1) * sizeof(char *));
                for (size_t j = 0; j < f->nlabels; j++) g->label_names[j] = arena_strdup(&gone->mem, f->label_names[j]);
            }
            fam_set(g, stale_nan(), f->items[k].values);
        }
    }
    buf_free(&id);
    htab_free(&present);
    arena_free(&keys);
    if (gone) ss_finish(gone);
    return gone;
}

double stale_nan(void) {
    uint64_t bits = 0x7ff0000000000002ull;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

bool is_stale_nan(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == 0x7ff0000000000002ull;
}
