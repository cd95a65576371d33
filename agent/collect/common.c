/* common.c — field splitting and number parsing shared by the collectors. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"

size_t split_fields(char *line, char **fields, size_t max) {
    size_t n = 0;
    char *p = line;
    while (n + 1 < max) {
        char *bar = strchr(p, '|');
        if (!bar) break;
        *bar = '\0';
        fields[n++] = p;
        p = bar + 1;
    }
    fields[n++] = p;
    return n;
}

int parse_int(const char *s, long long *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || (s[0] != '-' && (s[0] < '0' || s[0] > '9'))) return -1;
    *out = v;
    return 0;
}

static bool is_null_word(const char *s) {
    return !*s || !strcmp(s, "N/A") || !strcmp(s, "n/a") || !strcmp(s, "(null)") || !strcmp(s, "NONE") ||
           !strcmp(s, "Unknown");
}

int parse_number_or_na(const char *s, double *out, int *missing) {
    *out = 0;
    *missing = 0;
    if (is_null_word(s)) {
        *missing = 1;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int parse_slurm_memory(const char *s, double *si, double *bin) {
    *si = *bin = 0;
    if (is_null_word(s)) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0 || s[0] == '+' || s[0] == '-') return -1;
    double si_unit, bin_unit;
    switch (*end) {
    case '\0':
    case 'M': si_unit = 1e6, bin_unit = 1048576.0; break;
    case 'K': si_unit = 1e3, bin_unit = 1024.0; break;
    case 'G': si_unit = 1e9, bin_unit = 1073741824.0; break;
    case 'T': si_unit = 1e12, bin_unit = 1099511627776.0; break;
    case 'P': si_unit = 1e15, bin_unit = 1125899906842624.0; break;
    default: return -1;
    }
    if (*end && end[1]) return -1;
    *si = v * si_unit;
    *bin = v * bin_unit;
    return 0;
}
