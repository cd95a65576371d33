/* state.h — what collectors remember across restarts (--state-dir): one JSON document per collector
 * in DIR/NAME.state.json. Knows nothing of what the documents hold. */
#ifndef SLURMPUSH_STATE_H
#define SLURMPUSH_STATE_H

#include <json-c/json.h>
#include <stddef.h>

enum { STATE_MAX_BYTES = 64 << 20 }; /* a state file larger than this is refused, on writing and on reading */

/* The collector's saved document (the caller puts it), NULL when there is none; a file that cannot be
 * read or parsed is an error (-1, with why): the collector then starts from nothing. */
int state_load(const char *dir, const char *name, json_object **out, char *why, size_t why_len);
/* Writes the document whole: to a temporary file, synced, renamed over the old one (a crash leaves the
 * old or the new, never a mix). -1 with why on failure (the old file stays). */
int state_save(const char *dir, const char *name, json_object *doc, char *why, size_t why_len);

#endif
