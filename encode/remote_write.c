/* remote_write.c — WriteRequest encoder (see remote_write.h). */
#include "remote_write.h"

#include <math.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "remote.pb-c.h"

/* One request being filled: protobuf-c structs live in the arena until the body is packed. */
typedef struct {
    arena mem;
    Prometheus__TimeSeries **series;
    size_t n, cap;
} request;

static void flush(request *r, rw_emit_fn emit, void *ctx, rw_stats *st) {
    if (!r->n) return;
    Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
    wr.n_timeseries = r->n;
    wr.timeseries = r->series;
    size_t raw_len = prometheus__write_request__get_packed_size(&wr);
    uint8_t *raw = xmalloc(raw_len);
    prometheus__write_request__pack(&wr, raw);
    size_t out_len = snappy_max_compressed_length(raw_len);
    uint8_t *out = xmalloc(out_len);
    if (snappy_compress((const char *)raw, raw_len, (char *)out, &out_len) != SNAPPY_OK)
        abort(); /* cannot fail: buffer sized by snappy */
    free(raw);
    st->samples += r->n;
    st->requests++;
    st->raw_bytes += raw_len;
    st->compressed_bytes += out_len;
    emit(ctx, out, out_len, r->n);
    arena_free(&r->mem);
    r->n = 0;
}

static bool sendable(double v) { return isfinite(v) || is_stale_nan(v); }

static void add_series(request *r, const family *f, const series *s, const label_slot *slots, size_t nslots, int64_t ts) {
    Prometheus__TimeSeries *t = arena_alloc(&r->mem, sizeof *t);
    prometheus__time_series__init(t);
    Prometheus__Label **labels = arena_alloc(&r->mem, (nslots + 1) * sizeof *labels);
    Prometheus__Label *cells = arena_alloc(&r->mem, (nslots + 1) * sizeof *cells);
    size_t n = 0;
    /* "__name__" sorts before every valid label name ('_' < 'a'; names starting "__" are reserved) */
    prometheus__label__init(&cells[n]);
    cells[n].name = "__name__";
    cells[n].value = (char *)f->name;
    labels[n] = &cells[n];
    n++;
    for (size_t i = 0; i < nslots; i++) {
        const char *v = slot_value(&slots[i], s);
        if (!*v) continue; /* an empty value means "no such label" */
        prometheus__label__init(&cells[n]);
        cells[n].name = (char *)slots[i].name;
        cells[n].value = (char *)v;
        labels[n] = &cells[n];
        n++;
    }
    t->n_labels = n;
    t->labels = labels;
    Prometheus__Sample *sample = arena_alloc(&r->mem, sizeof *sample);
    Prometheus__Sample **samples = arena_alloc(&r->mem, sizeof *samples);
    prometheus__sample__init(sample);
    sample->value = s->value;
    sample->timestamp = ts;
    samples[0] = sample;
    t->n_samples = 1;
    t->samples = samples;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->series = xrealloc(r->series, r->cap * sizeof *r->series);
    }
    r->series[r->n++] = t;
}

static bool family_names_valid(const family *f, const label_slot *slots, size_t nslots) {
    if (!valid_metric_name(f->name)) return false;
    for (size_t i = 0; i < nslots; i++)
        if (!valid_label_name(slots[i].name) || !strncmp(slots[i].name, "__", 2)) return false;
    return true;
}

void rw_encode(const sample_set *const *sets, size_t nsets, const label_pair *extra, size_t n_extra, size_t max_samples,
               rw_emit_fn emit, void *ctx, rw_stats *st) {
    *st = (rw_stats){0};
    request r = {0};
    label_slot *slots = NULL;
    size_t slots_cap = 0;
    for (size_t i = 0; i < nsets; i++) {
        if (!sets[i]) continue;
        for (size_t j = 0; j < sets[i]->n; j++) {
            const family *f = sets[i]->fams[j];
            if (f->nlabels + n_extra > slots_cap) {
                slots_cap = f->nlabels + n_extra;
                slots = xrealloc(slots, slots_cap * sizeof *slots);
            }
            size_t nslots = merge_labels(f, extra, n_extra, slots);
            if (!family_names_valid(f, slots, nslots)) {
                st->invalid_skipped += f->n;
                continue;
            }
            for (size_t k = 0; k < f->n; k++) {
                if (!sendable(f->items[k].value)) {
                    st->nonfinite_skipped++;
                    continue;
                }
                add_series(&r, f, &f->items[k], slots, nslots, sets[i]->timestamp_ms);
                if (r.n >= max_samples) flush(&r, emit, ctx, st);
            }
        }
    }
    flush(&r, emit, ctx, st);
    free(r.series);
    free(slots);
}
