/* tally.c — counters and histograms across runs (see tally.h). */
#include "tally.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tally_init(tally *t, size_t nlabels, const double *bounds, size_t nbounds) {
    *t = (tally){.nlabels = nlabels, .bounds = bounds, .nbounds = bounds ? nbounds : 0};
}

void tally_free(tally *t) {
    free(t->rows);
    htab_free(&t->index);
    arena_free(&t->mem);
    *t = (tally){.nlabels = t->nlabels, .bounds = t->bounds, .nbounds = t->nbounds};
}

static tally_row *row_of(tally *t, const char *const *values) {
    buf key = {0};
    for (size_t i = 0; i < t->nlabels; i++) buf_append(&key, values[i], strlen(values[i]) + 1);
    long at = htab_find(&t->index, key.data ? key.data : "", key.len);
    if (at < 0) {
        char *kept = arena_strndup(&t->mem, key.data ? key.data : "", key.len);
        at = (long)htab_insert(&t->index, kept, key.len);
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 8;
            t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
        }
        tally_row *r = &t->rows[t->n++];
        *r = (tally_row){.values = arena_calloc(&t->mem, t->nlabels ? t->nlabels : 1, sizeof(char *))};
        for (size_t i = 0, off = 0; i < t->nlabels; i++) r->values[i] = kept + off, off += strlen(kept + off) + 1;
        if (t->bounds) r->buckets = arena_calloc(&t->mem, t->nbounds + 1, sizeof(double));
    }
    buf_free(&key);
    return &t->rows[at];
}

void tally_add(tally *t, const char *const *values, double v) { row_of(t, values)->value += v; }

void tally_observe(tally *t, const char *const *values, double x) {
    tally_row *r = row_of(t, values);
    size_t b = 0;
    while (b < t->nbounds && x > t->bounds[b]) b++;
    r->buckets[b]++;
    r->sum += x;
    r->value++;
}

/* A bound as Prometheus writes `le`: shortest form that reads back the same. */
static void bound_text(double v, char *out, size_t len) {
    if (isinf(v)) {
        snprintf(out, len, "+Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) { /* 60, not 6e+01 */
        snprintf(out, len, "%.0f", v);
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, len, "%.*g", digits, v);
        if (strtod(out, NULL) == v) return;
    }
}

void tally_emit(const tally *t, family *f) {
    const char *vals[17];
    char le[32];
    for (size_t i = 0; i < t->n; i++) {
        const tally_row *r = &t->rows[i];
        if (!t->bounds) {
            fam_set(f, r->value, r->values);
            continue;
        }
        for (size_t k = 0; k < t->nlabels && k < 16; k++) vals[k] = r->values[k];
        vals[t->nlabels] = le;
        double cumulative = 0;
        for (size_t b = 0; b <= t->nbounds; b++) {
            cumulative += r->buckets[b];
            bound_text(b < t->nbounds ? t->bounds[b] : INFINITY, le, sizeof le);
            fam_set(f, cumulative, vals);
        }
        fam_set(f->hist_sum, r->sum, r->values);
        fam_set(f->hist_count, r->value, r->values);
    }
}

json_object *tally_save(const tally *t) {
    json_object *rows = json_object_new_array();
    for (size_t i = 0; i < t->n; i++) {
        const tally_row *r = &t->rows[i];
        json_object *row = json_object_new_object(), *labels = json_object_new_array();
        for (size_t k = 0; k < t->nlabels; k++) json_object_array_add(labels, json_object_new_string(r->values[k]));
        json_object_object_add(row, "labels", labels);
        json_object_object_add(row, "value", json_object_new_double(r->value));
        if (t->bounds) {
            json_object *buckets = json_object_new_array();
            for (size_t b = 0; b <= t->nbounds; b++) json_object_array_add(buckets, json_object_new_double(r->buckets[b]));
            json_object_object_add(row, "sum", json_object_new_double(r->sum));
            json_object_object_add(row, "buckets", buckets);
        }
        json_object_array_add(rows, row);
    }
    json_object *doc = json_object_new_object();
    if (t->bounds) {
        json_object *bounds = json_object_new_array();
        for (size_t b = 0; b < t->nbounds; b++) json_object_array_add(bounds, json_object_new_double(t->bounds[b]));
        json_object_object_add(doc, "bounds", bounds);
    }
    json_object_object_add(doc, "rows", rows);
    return doc;
}

static bool number_in(json_object *o, const char *key, double *out) {
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) return false;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) return false;
    *out = json_object_get_double(v);
    return isfinite(*out) && *out >= 0;
}

static int load_row(tally *t, json_object *row) {
    json_object *labels, *buckets;
    if (!json_object_object_get_ex(row, "labels", &labels) || !json_object_is_type(labels, json_type_array) ||
        json_object_array_length(labels) != t->nlabels || t->nlabels > 16)
        return -1;
    const char *vals[16];
    for (size_t k = 0; k < t->nlabels; k++) {
        json_object *v = json_object_array_get_idx(labels, k);
        if (!json_object_is_type(v, json_type_string)) return -1;
        vals[k] = json_object_get_string(v);
    }
    double value, sum = 0;
    if (!number_in(row, "value", &value)) return -1;
    if (t->bounds && (!number_in(row, "sum", &sum) || !json_object_object_get_ex(row, "buckets", &buckets) ||
                      !json_object_is_type(buckets, json_type_array) || json_object_array_length(buckets) != t->nbounds + 1))
        return -1;
    tally_row *r = row_of(t, vals);
    r->value = value;
    r->sum = sum;
    for (size_t b = 0; t->bounds && b <= t->nbounds; b++) {
        json_object *v = json_object_array_get_idx(buckets, b);
        r->buckets[b] = json_object_get_double(v);
        if (!isfinite(r->buckets[b]) || r->buckets[b] < 0) return -1;
    }
    return 0;
}

/* The saved bounds are the tally's own (a site may change them: the old buckets then do not fit). */
static bool same_bounds(const tally *t, json_object *doc) {
    json_object *bounds;
    if (!t->bounds) return !json_object_object_get_ex(doc, "bounds", &bounds);
    if (!json_object_object_get_ex(doc, "bounds", &bounds) || !json_object_is_type(bounds, json_type_array) ||
        json_object_array_length(bounds) != t->nbounds)
        return false;
    for (size_t b = 0; b < t->nbounds; b++)
        if (json_object_get_double(json_object_array_get_idx(bounds, b)) != t->bounds[b]) return false;
    return true;
}

int tally_load(tally *t, json_object *doc) {
    json_object *rows;
    if (!doc || !json_object_object_get_ex(doc, "rows", &rows) || !json_object_is_type(rows, json_type_array) ||
        !same_bounds(t, doc))
        return -1;
    for (size_t i = 0; i < json_object_array_length(rows); i++)
        if (load_row(t, json_object_array_get_idx(rows, i)) < 0) {
            tally_free(t);
            return -1;
        }
    return 0;
}
