/* labels.h — the label set of a family's series as every encoder sends it: the family's
 * labels plus the configured extra labels (which replace a same-named family label),
 * sorted by name in byte order. Worked out once per family, used for every series. */
#ifndef SLURMPUSH_LABELS_H
#define SLURMPUSH_LABELS_H

#include <stddef.h>

#include "../agent/options.h"
#include "../agent/samples.h"

typedef struct {
    const char *name;
    long family_index;       /* index into series.values, or -1 */
    const char *fixed_value; /* the extra label's value when family_index < 0 */
} label_slot;

/* Fills out (room for f->nlabels + n_extra) and returns how many slots there are. */
size_t merge_labels(const family *f, const label_pair *extra, size_t n_extra, label_slot *out);

static inline const char *slot_value(const label_slot *slot, const series *s) {
    return slot->family_index >= 0 ? s->values[slot->family_index] : slot->fixed_value;
}

/* Shortest text that reads back as the same double, in Go's strconv 'g' form
 * (exponent below 1e-4 and from 1e6 on), NaN, +Inf, -Inf. out needs 32 bytes. */
const char *format_value(double v, char *out);

#endif
