/* remote_write.h — Prometheus remote-write 1.0: sample sets -> WriteRequest protobuf ->
 * snappy block, in requests of at most max_samples samples. Every series carries
 * __name__ and the extra labels, names sorted and unique, empty values dropped. A value
 * that is not finite is left out and counted; only the exact stale marker passes. */
#ifndef SLURMPUSH_REMOTE_WRITE_H
#define SLURMPUSH_REMOTE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../agent/options.h"
#include "../agent/samples.h"

typedef struct {
    size_t samples; /* encoded */
    size_t requests;
    size_t nonfinite_skipped; /* NaN/Inf values left out */
    size_t invalid_skipped;   /* series with an invalid metric or label name */
    size_t raw_bytes, compressed_bytes;
} rw_stats;

/* Receives one request: its remote-write 1.0 body and, when asked for, the same samples as a
 * remote-write 2.0 body (else NULL); both snappy-compressed; takes ownership (free() them). */
typedef void (*rw_emit_fn)(void *ctx, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples);

void rw_encode(const sample_set *const *sets, size_t nsets, const label_pair *extra, size_t n_extra, size_t max_samples,
               bool also_v2, rw_emit_fn emit, void *ctx, rw_stats *stats);

#endif
