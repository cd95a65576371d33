/* floor.h — the parse floor bench_cycle prints beside the cycle (floor.c). */
#ifndef SLURMPUSH_BENCH_FLOOR_H
#define SLURMPUSH_BENCH_FLOOR_H

#include <stddef.h>

/* Reads DIR/squeue.txt and DIR/sinfo.txt once and sums them as described in floor.c; returns the bytes read. */
size_t parse_floor(const char *dir);

#endif
