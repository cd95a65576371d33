/* tally.h — counters and classic histograms that outlive a collector run (they live in a collector's
 * memory), keyed by label values: added to, emitted into each run's set, saved and restored as JSON.
 * Their rows only grow (one per label set seen): keep their labels to bounded sets (partitions,
 * accounts, states), never job or node names. */
#ifndef SLURMPUSH_TALLY_H
#define SLURMPUSH_TALLY_H

#include <json-c/json.h>
#include <stddef.h>

#include "samples.h"

typedef struct {
    const char **values; /* nlabels label values */
    double value;        /* a counter's value; a histogram's count */
    double sum;          /* a histogram's sum of observations */
    double *buckets;     /* a histogram's count per bound (not cumulative); NULL for a counter */
} tally_row;

typedef struct {
    size_t nlabels;
    const double *bounds; /* a histogram's upper bounds, ascending (+Inf implied); NULL: a counter */
    size_t nbounds;
    tally_row *rows;
    size_t n, cap;
    htab index;
    arena mem; /* keys and values */
} tally;

void tally_init(tally *t, size_t nlabels, const double *bounds, size_t nbounds);
void tally_free(tally *t);
/* A counter: the row of these label values plus v. */
void tally_add(tally *t, const char *const *values, double v);
/* A histogram: one observation x in the row of these label values. */
void tally_observe(tally *t, const char *const *values, double x);
/* Every row into f: a counter's value; a histogram's cumulative buckets (f is its _bucket family, as
 * ss_histogram returns), sum and count. */
void tally_emit(const tally *t, family *f);
/* {"rows": [{"labels": […], "value": N, "sum": N, "buckets": […]}, …]}; tally_load refuses (-1) a
 * document of another shape or other bounds (the tally is then empty). */
json_object *tally_save(const tally *t);
int tally_load(tally *t, json_object *doc);

#endif
