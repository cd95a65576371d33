/* seed_lines.c — one-line JSON objects of the seed's formats (see seed_lines.h). */
#include "seed_lines.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int seed_json_fields(const char *line, const char *const *keys, char **out, size_t n, arena *mem, char *why, size_t why_len) {
    json_tokener *tok = json_tokener_new();
    json_object *obj = json_tokener_parse_ex(tok, line, (int)strlen(line));
    enum json_tokener_error err = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!obj || err != json_tokener_success || !json_object_is_type(obj, json_type_object)) {
        snprintf(why, why_len, "not a JSON object (%s)",
                 err != json_tokener_success ? json_tokener_error_desc(err) : "other type");
        json_object_put(obj);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v;
        out[i] = "";
        if (!json_object_object_get_ex(obj, keys[i], &v) || json_object_is_type(v, json_type_null)) continue;
        char num[64];
        switch (json_object_get_type(v)) {
        case json_type_string: out[i] = arena_strdup(mem, json_object_get_string(v)); break;
        case json_type_int:
            snprintf(num, sizeof num, "%lld", (long long)json_object_get_int64(v)), out[i] = arena_strdup(mem, num);
            break;
        case json_type_double:
            snprintf(num, sizeof num, "%.17g", json_object_get_double(v)), out[i] = arena_strdup(mem, num);
            break;
        default: snprintf(why, why_len, "key \"%s\" is neither a string nor a number", keys[i]); rc = -1;
        }
        if (rc) break;
    }
    json_object_put(obj);
    return rc;
}
