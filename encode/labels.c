/* labels.c — label merging and value formatting shared by the encoders (see labels.h). */
#include "labels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_slot(const void *a, const void *b) { return strcmp(((const label_slot *)a)->name, ((const label_slot *)b)->name); }

size_t merge_labels(const family *f, const label_pair *extra, size_t n_extra, label_slot *out) {
    size_t n = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        bool replaced = false;
        for (size_t j = 0; j < n_extra && !replaced; j++) replaced = !strcmp(extra[j].name, f->label_names[i]);
        if (!replaced) out[n++] = (label_slot){f->label_names[i], (long)i, NULL};
    }
    for (size_t j = 0; j < n_extra; j++) out[n++] = (label_slot){extra[j].name, -1, extra[j].value};
    if (n > 1) qsort(out, n, sizeof *out, cmp_slot);
    return n;
}

/* Integers (counts, bytes) are most values: format them without printf's float machinery. */
static const char *format_integer(long long v, char *out) {
    char digits[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do digits[n++] = (char)('0' + u % 10);
    while ((u /= 10));
    char *p = out;
    if (v < 0) *p++ = '-';
    int exp10 = n - 1;
    if (exp10 < 6) {
        while (n) *p++ = digits[--n];
        *p = '\0';
        return out;
    }
    int last = 0; /* digits are reversed: skip trailing zeros of the number */
    while (digits[last] == '0') last++;
    *p++ = digits[n - 1];
    if (n - 1 > last) {
        *p++ = '.';
        for (int i = n - 2; i >= last; i--) *p++ = digits[i];
    }
    sprintf(p, "e+%02d", exp10);
    return out;
}

const char *format_value(double v, char *out) {
    if (isnan(v)) return strcpy(out, "NaN");
    if (isinf(v)) return strcpy(out, v > 0 ? "+Inf" : "-Inf");
    if (v == 0) return strcpy(out, signbit(v) ? "-0" : "0");
    if (v == floor(v) && fabs(v) < 1e15) return format_integer((long long)v, out);
    /* fewest significant digits that read back exactly */
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(out, 32, "%.*e", digits - 1, v);
        if (strtod(out, NULL) == v) break;
    }
    snprintf(out, 32, "%.*e", digits - 1, v);
    int exp10 = atoi(strchr(out, 'e') + 1);
    if (exp10 < -4 || exp10 >= 6) return out; /* already "d.ddde±XX", as Go writes it */
    int decimals = digits - 1 - exp10;
    snprintf(out, 32, "%.*f", decimals > 0 ? decimals : 0, v);
    return out;
}
