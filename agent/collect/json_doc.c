/* json_doc.c — see json_doc.h. */
#include "json_doc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool json_doc_take(json_doc *d, const char *line, size_t len) {
    if (!d->decided) {
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i == len) return false; /* blank lines decide nothing */
        size_t j = len;
        while (j > i && (line[j - 1] == ' ' || line[j - 1] == '\t')) j--;
        d->decided = true;
        d->active = j - i == 1 && line[i] == '{';
    }
    if (!d->active) return false;
    buf_append(&d->text, line, len);
    buf_append(&d->text, "\n", 1);
    return true;
}

json_object *json_doc_parse(json_doc *d, char *why, size_t why_len) {
    json_tokener *tok = json_tokener_new_ex(64);
    json_object *doc = json_tokener_parse_ex(tok, d->text.data ? d->text.data : "", (int)d->text.len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!doc || err != json_tokener_success || !json_object_is_type(doc, json_type_object)) {
        snprintf(why, why_len, "JSON output does not parse: %s",
                 err != json_tokener_success ? json_tokener_error_desc(err) : "not an object");
        json_object_put(doc);
        return NULL;
    }
    return doc;
}

void json_doc_free(json_doc *d) { buf_free(&d->text); }

json_object *jget(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

bool jnum(json_object *o, double *out) {
    if (!o) return false;
    json_type t = json_object_get_type(o);
    if (t == json_type_int || t == json_type_double) {
        *out = json_object_get_double(o);
        return isfinite(*out);
    }
    if (t == json_type_object) {
        json_object *set = jget(o, "set"), *inf = jget(o, "infinite");
        if (!set || !json_object_get_boolean(set) || (inf && json_object_get_boolean(inf))) return false;
        return jnum(jget(o, "number"), out);
    }
    return false;
}

size_t jlen(json_object *o) { return o && json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0; }

const char *jstr(json_object *o) {
    if (o && json_object_is_type(o, json_type_array)) o = json_object_array_length(o) ? json_object_array_get_idx(o, 0) : NULL;
    return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : "";
}
