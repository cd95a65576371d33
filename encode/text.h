/* text.h — the Prometheus text exposition format 0.0.4 (for /metrics, the Pushgateway
 * and --dry-run). Families sorted by name; same-named families of different sets form one
 * block; HELP and label values escaped per the format. */
#ifndef SLURMPUSH_TEXT_H
#define SLURMPUSH_TEXT_H

#include <stdbool.h>

#include "../agent/options.h"
#include "../agent/samples.h"
#include "../agent/util.h"

void text_encode(const sample_set *const *sets, size_t nsets, const label_pair *extra, size_t n_extra, bool with_timestamps,
                 buf *out);

#endif
