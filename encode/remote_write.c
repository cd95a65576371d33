/* remote_write.c — WriteRequest encoder (see remote_write.h). */
#include "remote_write.h"

#include <math.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "remote.pb-c.h"
#include "remote2.pb-c.h"

/* One request being filled: protobuf-c structs live in the arena until the body is packed.
 * With v2, the same series also go into a 2.0 request whose strings are a symbol table. */
typedef struct {
    arena mem;
    Prometheus__TimeSeries **series;
    size_t n, cap;
    bool v2;
    Io__Prometheus__Write__V2__TimeSeries **series2;
    htab symbol_index;
    char **symbols;
    size_t nsymbols, symbols_cap;
} request;

static uint8_t *snappy_block(const uint8_t *raw, size_t raw_len, size_t *out_len) {
    *out_len = snappy_max_compressed_length(raw_len);
    uint8_t *out = xmalloc(*out_len);
    /* cannot fail: the buffer is sized by snappy itself */
    if (snappy_compress((const char *)raw, raw_len, (char *)out, out_len) != SNAPPY_OK) abort();
    return out;
}

static uint8_t *pack_v2(request *r, size_t *out_len) {
    Io__Prometheus__Write__V2__Request req = IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
    req.n_symbols = r->nsymbols;
    req.symbols = r->symbols;
    req.n_timeseries = r->n;
    req.timeseries = r->series2;
    size_t raw_len = io__prometheus__write__v2__request__get_packed_size(&req);
    uint8_t *raw = xmalloc(raw_len);
    io__prometheus__write__v2__request__pack(&req, raw);
    uint8_t *out = snappy_block(raw, raw_len, out_len);
    free(raw);
    return out;
}

static void flush(request *r, rw_emit_fn emit, void *ctx, rw_stats *st) {
    if (!r->n) return;
    Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
    wr.n_timeseries = r->n;
    wr.timeseries = r->series;
    size_t raw_len = prometheus__write_request__get_packed_size(&wr);
    uint8_t *raw = xmalloc(raw_len);
    prometheus__write_request__pack(&wr, raw);
    size_t out_len, out2_len = 0;
    uint8_t *out = snappy_block(raw, raw_len, &out_len), *out2 = r->v2 ? pack_v2(r, &out2_len) : NULL;
    free(raw);
    st->samples += r->n;
    st->requests++;
    st->raw_bytes += raw_len;
    st->compressed_bytes += out_len;
    emit(ctx, out, out_len, out2, out2_len, r->n);
    arena_free(&r->mem);
    htab_free(&r->symbol_index);
    r->n = 0;
    r->nsymbols = 0;
}

/* The index of s in the request's symbol table (symbols[0] is ""). */
static uint32_t symbol(request *r, const char *s) {
    if (r->nsymbols == 0) {
        if (!r->symbols) r->symbols = xmalloc((r->symbols_cap = 64) * sizeof *r->symbols);
        r->symbols[r->nsymbols++] = "";
        htab_insert(&r->symbol_index, "", 0);
    }
    size_t n = strlen(s);
    long k = htab_find(&r->symbol_index, s, n);
    if (k >= 0) return (uint32_t)k;
    if (r->nsymbols == r->symbols_cap) r->symbols = xrealloc(r->symbols, (r->symbols_cap *= 2) * sizeof *r->symbols);
    r->symbols[r->nsymbols] = (char *)s; /* the set's strings outlive the request */
    htab_insert(&r->symbol_index, s, n);
    return (uint32_t)r->nsymbols++;
}

/* The 2.0 twin of the 1.0 series t just added: label refs into the symbol table, metadata. */
static void add_series_v2(request *r, const family *f, const Prometheus__TimeSeries *t) {
    Io__Prometheus__Write__V2__TimeSeries *t2 = arena_alloc(&r->mem, sizeof *t2);
    io__prometheus__write__v2__time_series__init(t2);
    t2->n_labels_refs = 2 * t->n_labels;
    t2->labels_refs = arena_alloc(&r->mem, t2->n_labels_refs * sizeof(uint32_t));
    for (size_t i = 0; i < t->n_labels; i++) {
        t2->labels_refs[2 * i] = symbol(r, t->labels[i]->name);
        t2->labels_refs[2 * i + 1] = symbol(r, t->labels[i]->value);
    }
    Io__Prometheus__Write__V2__Sample *sample = arena_alloc(&r->mem, sizeof *sample);
    io__prometheus__write__v2__sample__init(sample);
    sample->value = t->samples[0]->value;
    sample->timestamp = t->samples[0]->timestamp;
    t2->n_samples = 1;
    t2->samples = arena_alloc(&r->mem, sizeof *t2->samples);
    t2->samples[0] = sample;
    Io__Prometheus__Write__V2__Metadata *meta = arena_alloc(&r->mem, sizeof *meta);
    io__prometheus__write__v2__metadata__init(meta);
    meta->type = f->type == METRIC_COUNTER     ? IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_COUNTER
                 : f->type == METRIC_HISTOGRAM ? IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_HISTOGRAM
                                               : IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_GAUGE;
    meta->help_ref = symbol(r, f->help);
    t2->metadata = meta;
    r->series2[r->n - 1] = t2;
}

static bool sendable(double v) { return isfinite(v) || is_stale_nan(v); }

static void add_series(request *r, const family *f, const series *s, const label_slot *slots, size_t nslots, int64_t ts) {
    Prometheus__TimeSeries *t = arena_alloc(&r->mem, sizeof *t);
    prometheus__time_series__init(t);
    Prometheus__Label **labels = arena_alloc(&r->mem, (nslots + 1) * sizeof *labels);
    Prometheus__Label *cells = arena_alloc(&r->mem, (nslots + 1) * sizeof *cells);
    size_t n = 0;
    bool named = false; /* "__name__" in its sorted place: a site's "__" label (__replica__) may sort either side */
    for (size_t i = 0; i <= nslots; i++) {
        if (!named && (i == nslots || strcmp(slots[i].name, "__name__") > 0)) {
            prometheus__label__init(&cells[n]);
            cells[n].name = "__name__";
            cells[n].value = (char *)f->name;
            labels[n] = &cells[n];
            n++;
            named = true;
        }
        if (i == nslots) break;
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
        r->series2 = xrealloc(r->series2, r->cap * sizeof *r->series2);
    }
    r->series[r->n++] = t;
    if (r->v2) add_series_v2(r, f, t);
}

static bool family_names_valid(const family *f, const label_slot *slots, size_t nslots) {
    if (!valid_metric_name(f->name)) return false;
    for (size_t i = 0; i < nslots; i++)
        if (!valid_label_name(slots[i].name) || (slots[i].family_index >= 0 && !strncmp(slots[i].name, "__", 2))) return false;
    return true;
}

void rw_encode(const sample_set *const *sets, size_t nsets, const label_pair *extra, size_t n_extra, size_t max_samples,
               bool also_v2, rw_emit_fn emit, void *ctx, rw_stats *st) {
    *st = (rw_stats){0};
    request r = {.v2 = also_v2};
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
    free(r.series2);
    free(r.symbols);
    free(slots);
}
