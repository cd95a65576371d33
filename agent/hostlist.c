/* hostlist.c — expanding Slurm host lists (see hostlist.h). */
#include "hostlist.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NAME = 256 };

typedef struct {
    size_t max, count;
    void (*fn)(const char *, void *);
    void *ctx;
    char *why;
    size_t why_len;
} expansion;

static int fail(expansion *e, const char *what) {
    snprintf(e->why, e->why_len, "%s", what);
    return -1;
}

/* Expands one name (no top-level commas) whose text is item[0..len), prefix already in out[0..olen). */
static int expand_item(expansion *e, const char *item, size_t len, char *out, size_t olen) {
    const char *open = memchr(item, '[', len);
    if (!open) {
        if (memchr(item, ']', len)) return fail(e, "']' without '['");
        if (olen + len >= MAX_NAME) return fail(e, "host name too long");
        memcpy(out + olen, item, len);
        out[olen + len] = '\0';
        if (!out[0]) return fail(e, "empty host name");
        if (e->count >= e->max) return fail(e, "more hosts than allowed");
        e->count++;
        e->fn(out, e->ctx);
        return 0;
    }
    const char *close = memchr(open, ']', len - (size_t)(open - item));
    if (!close) return fail(e, "'[' without ']'");
    size_t pre = (size_t)(open - item);
    if (olen + pre >= MAX_NAME) return fail(e, "host name too long");
    memcpy(out + olen, item, pre);
    const char *rest = close + 1;
    size_t rest_len = len - (size_t)(rest - item);
    if (close == open + 1) return fail(e, "an empty [] group");
    /* each range of the group: a or a-b, digits only */
    for (const char *p = open + 1; p < close;) {
        const char *comma = memchr(p, ',', (size_t)(close - p));
        const char *end = comma ? comma : close;
        const char *dash = memchr(p, '-', (size_t)(end - p));
        const char *lo_end = dash ? dash : end;
        size_t width = (size_t)(lo_end - p);
        if (!width || width > 18) return fail(e, "a range bound is empty or too long");
        for (const char *d = p; d < end; d++)
            if (!isdigit((unsigned char)*d) && d != dash) return fail(e, "a range is not digits");
        unsigned long long lo = strtoull(p, NULL, 10), hi = lo;
        if (dash) {
            if (dash + 1 == end || end - dash - 1 > 18) return fail(e, "a range bound is empty or too long");
            hi = strtoull(dash + 1, NULL, 10);
        }
        if (hi < lo) return fail(e, "a range runs backwards");
        if (hi - lo >= e->max) return fail(e, "more hosts than allowed");
        for (unsigned long long v = lo; v <= hi; v++) {
            char num[24];
            int n = snprintf(num, sizeof num, "%0*llu", (int)width, v);
            if (olen + pre + (size_t)n >= MAX_NAME) return fail(e, "host name too long");
            memcpy(out + olen + pre, num, (size_t)n);
            if (expand_item(e, rest, rest_len, out, olen + pre + (size_t)n) < 0) return -1;
        }
        if (comma && comma + 1 == close) return fail(e, "an empty range before ']'");
        p = comma ? comma + 1 : close;
    }
    return 0;
}

long hostlist_expand(const char *list, size_t max, void (*fn)(const char *name, void *ctx), void *ctx, char *why,
                     size_t why_len) {
    expansion e = {.max = max, .fn = fn, .ctx = ctx, .why = why, .why_len = why_len};
    char out[MAX_NAME];
    for (const char *p = list; *p;) {
        /* an item ends at a comma outside brackets */
        size_t n = 0;
        int depth = 0;
        while (p[n] && (depth || p[n] != ',')) {
            depth += p[n] == '[' ? 1 : p[n] == ']' ? -1 : 0;
            if (depth < 0 || depth > 1) return fail(&e, "unbalanced brackets");
            n++;
        }
        if (depth) return fail(&e, "'[' without ']'");
        if (!n) return fail(&e, "empty host name");
        if (expand_item(&e, p, n, out, 0) < 0) return -1;
        if (p[n] == ',' && !p[n + 1]) return fail(&e, "empty host name after the last comma");
        p += n + (p[n] == ',');
    }
    return (long)e.count;
}
