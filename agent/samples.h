/* samples.h — the sample set: what one collector run produced. Families (name, help, type,
 * label names) hold series (label values, value) aggregated through a hash index keyed by
 * the label values, so memory grows with distinct series, never with jobs. Everything of a
 * set lives in its arena and is freed at once. Knows nothing of where samples go. */
#ifndef SLURMPUSH_SAMPLES_H
#define SLURMPUSH_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* A classic histogram is three families: NAME_bucket (its labels and `le`), NAME_sum and NAME_count,
 * each of type METRIC_HISTOGRAM with metadata_name NAME (ss_histogram makes them). */
typedef enum { METRIC_GAUGE, METRIC_COUNTER, METRIC_HISTOGRAM } metric_type;

typedef struct {
    const char **values; /* label values, in the family's label-name order */
    double value;
} series;

typedef struct family_s {
    const char *name, *help;
    metric_type type;
    const char **label_names;
    size_t nlabels;
    bool positive_only; /* the seed omits zero-valued series of these families */
    series *items;
    size_t n, cap;
    htab index; /* label values -> series; dropped by ss_finish */
    arena *mem; /* the owning set's arena */
    /* families declared with ss_family_like share the first one's labels and index: one
     * lookup per input line serves them all (series i is the same label set in each) */
    struct family_s *next_sibling;
    const char *last_key; /* the last key looked up: consecutive lines often repeat it */
    size_t last_klen, last_slot;
    size_t utf8_replaced;                   /* label values that were not valid UTF-8 (stored with U+FFFD) */
    size_t label_values_truncated;          /* label values over 1024 bytes (cut there) */
    const char *metadata_name;              /* a histogram's part: the histogram's name (HELP, TYPE); else NULL */
    struct family_s *hist_sum, *hist_count; /* on a histogram's _bucket family: its other parts */
} family;

typedef struct {
    arena mem;
    family **fams;
    size_t n, cap;
    int64_t timestamp_ms; /* when the data was collected */
} sample_set;

sample_set *ss_new(int64_t timestamp_ms);
void ss_free(sample_set *ss);

/* Declares a family; label names follow, NULL-terminated. help is kept by pointer. */
family *ss_family(sample_set *ss, const char *name, const char *help, metric_type type, ...) __attribute__((sentinel));
/* The same with the label names as a NULL-terminated array (NULL: none). */
family *ss_family_labels(sample_set *ss, const char *name, const char *help, metric_type type, const char *const *labels);
/* Declares a family with first's label names and series keys: fam_slot on first finds the
 * series in all of them. */
family *ss_family_like(sample_set *ss, family *first, const char *name, const char *help, metric_type type);
/* Declares a classic histogram NAME (labels NULL-terminated, NULL: none): NAME_bucket with the labels
 * and `le`, NAME_sum and NAME_count; returns the _bucket family (->hist_sum, ->hist_count). */
family *ss_histogram(sample_set *ss, const char *name, const char *help, const char *const *labels);
/* The name a family is exposed under in HELP/TYPE and metadata: the histogram's for its parts. */
static inline const char *family_metadata_name(const family *f) { return f->metadata_name ? f->metadata_name : f->name; }

/* The slot of the series with these label values in f (and its siblings), created at 0.
 * Call it on the first family of a group; use the slot with every family of the group. */
size_t fam_slot(family *f, const char *const *values);
static inline void fam_add_at(family *f, size_t slot, double v) { f->items[slot].value += v; }
/* Adds v to the series with these label values (family's label count of them); creates it at 0. */
void fam_add(family *f, double v, const char *const *values);
/* Sets the series' value. */
void fam_set(family *f, double v, const char *const *values);
#define FAM_ADD(f, v, ...) fam_add((f), (v), (const char *const[]){__VA_ARGS__})
#define FAM_SET(f, v, ...) fam_set((f), (v), (const char *const[]){__VA_ARGS__})
#define FAM_SLOT(f, ...)   fam_slot((f), (const char *const[]){__VA_ARGS__})

/* Ends a run: drops series that positive_only families must omit, sorts series by label values. */
void ss_finish(sample_set *ss);
size_t ss_series_count(const sample_set *ss);
/* Label values of the set that were not valid UTF-8 and were stored with U+FFFD instead. */
size_t ss_utf8_replaced(const sample_set *ss);
/* Label values of the set that were longer than 1024 bytes and were cut there. */
size_t ss_label_values_truncated(const sample_set *ss);
/* Keeps the first max series (in family order, each family in the order its series were made;
 * the series ss_finish would omit do not count) and drops the rest: returns how many it dropped.
 * Call before ss_finish, while series are still in the order they were made. */
size_t ss_cap_series(sample_set *ss, size_t max);
/* The family of that name in ss, or NULL. */
family *ss_find(const sample_set *ss, const char *name);
/* Removes the families for which drop(name, ctx) is true. */
void ss_drop_families(sample_set *ss, bool (*drop)(const char *name, void *ctx), void *ctx);

/* The series of prev that next no longer has (next may be NULL: all of them), as a new set
 * whose every value is the stale marker, stamped ts; NULL when nothing vanished. */
sample_set *ss_vanished(const sample_set *prev, const sample_set *next, int64_t ts);

/* The remote-write staleness marker: exactly the bits 0x7ff0000000000002. */
double stale_nan(void);
bool is_stale_nan(double v);

#endif
