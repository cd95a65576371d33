/* hostlist.h — Slurm's compressed host lists: "c[1-3,7],gpu[01-04],rack[1-2]-n[1-2],login" expands
 * to c1 c2 c3 c7 gpu01 … gpu04 rack1-n1 rack1-n2 rack2-n1 rack2-n2 login. A range keeps the width of
 * its lower bound (01-04: zero-padded). Several bracket groups in one name multiply. */
#ifndef SLURMPUSH_HOSTLIST_H
#define SLURMPUSH_HOSTLIST_H

#include <stddef.h>

/* Calls fn(name, ctx) for every host, in order; stops at max hosts. Returns the number of hosts,
 * or -1 (and why) for a list that is not a host list or would expand past max. */
long hostlist_expand(const char *list, size_t max, void (*fn)(const char *name, void *ctx), void *ctx, char *why, size_t why_len);

#endif
