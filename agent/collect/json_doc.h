/* json_doc.h — Slurm's `--json` output for the collectors that read it (JSON mode,
 * --slurm.cli-fallback=false, or a command override that prints JSON): the document is
 * recognised by its first line being "{" alone, gathered line by line, parsed at the end.
 * Helpers read the three shapes Slurm used: plain numbers (openapi v0.0.37/v0.0.38) and
 * {set, infinite, number} structs (data_parser v0.0.39+). */
#ifndef SLURMPUSH_JSON_DOC_H
#define SLURMPUSH_JSON_DOC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util.h"

typedef struct {
    bool decided, active;
    buf text;
} json_doc;

/* Returns true when the line belongs to a JSON document (and keeps it). */
bool json_doc_take(json_doc *d, const char *line, size_t len);
/* Parses the gathered document; NULL with why on error. json_object_put the result. */
json_object *json_doc_parse(json_doc *d, char *why, size_t why_len);
void json_doc_free(json_doc *d);

/* o[key] (NULL if o is not an object or has no such key). Chains: jget(jget(o, "a"), "b"). */
json_object *jget(json_object *o, const char *key);
/* A number, or a {set, infinite, number} struct that is set and finite; false otherwise. */
bool jnum(json_object *o, double *out);
/* The length of an array, 0 for anything else (json-c asserts on a wrong type: hostile input must not). */
size_t jlen(json_object *o);
/* A string value, or "" (a string array gives its first element). */
const char *jstr(json_object *o);

#endif
