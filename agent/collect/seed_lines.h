/* seed_lines.h — the seed exporter's own line formats: its default squeue/sinfo commands
 * print one JSON object per line (`-o '{"a": "%a", …}'`). Sites that set -slurm.squeue-cli or
 * -slurm.sinfo-cli to such a command keep working: a line starting with '{' is read here into
 * the same fields as slurmpush's column formats. */
#ifndef SLURMPUSH_SEED_LINES_H
#define SLURMPUSH_SEED_LINES_H

#include <stddef.h>

#include "../util.h"

/* Reads the listed string/number keys of a one-line JSON object into text fields (numbers
 * rendered as text), allocated in mem. A missing key gives "". Returns -1 (with why) if the
 * line is not a JSON object or a key has another type. */
int seed_json_fields(const char *line, const char *const *keys, char **out, size_t n, arena *mem, char *why, size_t why_len);

#endif
