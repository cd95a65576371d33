/* common.c — field splitting and number parsing shared by the collectors. */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Reads "digits[.digits]" exactly as strtod would (mantissa < 2^53 and at most 22 decimals:
 * one correctly rounded division), without strtod's cost; anything else goes to strtod. */
static double parse_decimal(const char *s, char **end) {
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    unsigned long long mant = 0;
    int digits = 0, decimals = 0;
    for (; *p >= '0' && *p <= '9' && digits < 16; p++, digits++) mant = mant * 10 + (unsigned)(*p - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9' && digits < 16; p++, digits++, decimals++) mant = mant * 10 + (unsigned)(*p - '0');
    if (digits == 0 || digits >= 16 || (*p >= '0' && *p <= '9') || *p == 'e' || *p == 'E' || *p == 'x' || *p == 'X')
        return strtod(s, end);
    *end = (char *)p;
    return (double)mant / pow10[decimals];
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
    return !*s || !strcmp(s, "N/A") || !strcmp(s, "n/a") || !strcmp(s, "(null)") || !strcmp(s, "NONE") || !strcmp(s, "Unknown");
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
    double v = parse_decimal(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int parse_slurm_memory(const char *s, double *si, double *bin) {
    *si = *bin = 0;
    if (is_null_word(s)) return 0;
    /* DIGITS[.DIGITS][K|M|G|T|P] and nothing else: no sign, space, hex or exponent */
    size_t int_digits = strspn(s, "0123456789"), frac = 0;
    if (!int_digits) return -1;
    if (s[int_digits] == '.' && !(frac = strspn(s + int_digits + 1, "0123456789"))) return -1;
    if (int_digits + frac > 15) return -1; /* more than a double holds exactly, and far beyond any node */
    const char *unit = s + int_digits + (frac ? frac + 1 : 0);
    if (*unit && (!strchr("KMGTP", *unit) || unit[1])) return -1;
    char *end;
    errno = 0;
    double v = parse_decimal(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) return -1;
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
    if (v * bin_unit >= 9.2e18) return -1; /* no memory size reaches 2^63 bytes (8 EiB) */
    *si = v * si_unit;
    *bin = v * bin_unit;
    return 0;
}

void slurm_memory_text(double mb, char *out, size_t outlen) {
    static const char units[] = "MGTP";
    int u = 0;
    while (u < 3 && mb >= 1024 && fmod(mb * 100, 1024) == 0) mb /= 1024, u++;
    if (mb == floor(mb))
        snprintf(out, outlen, "%.0f%c", mb, units[u]);
    else
        snprintf(out, outlen, "%.2f%c", mb, units[u]);
}

const char *kv_value(const char *line, const char *key, size_t *len) {
    size_t klen = strlen(key);
    for (const char *p = line; (p = strstr(p, key)); p += klen)
        if ((p == line || p[-1] == ' ') && p[klen] == '=') {
            *len = strcspn(p + klen + 1, " ");
            return p + klen + 1;
        }
    return NULL;
}

void kv_text(const char *line, const char *key, char *out, size_t outlen) {
    size_t len = 0;
    const char *v = kv_value(line, key, &len);
    if (!v || (len == 6 && !strncmp(v, "(null)", 6))) len = 0;
    snprintf(out, outlen, "%.*s", (int)len, v ? v : "");
}

int kv_count(const char *line, const char *key, double *out, char *why, size_t why_len) {
    char text[32];
    kv_text(line, key, text, sizeof text);
    long long v;
    if (!*text) return 1;
    if (parse_int(text, &v) < 0 || v < 0) {
        snprintf(why, why_len, "%s=\"%.20s\" is not a count", key, text);
        return -1;
    }
    *out = (double)v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS" into its six numbers; false for anything else. */
static bool time_fields(const char *t, int v[6]) {
    static const int at[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[] = "--T::";
    if (strlen(t) != 19) return false;
    for (int i = 0; i < 5; i++)
        if (t[at[i] + width[i]] != sep[i]) return false;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < width[i]; k++) {
            char c = t[at[i] + k];
            if (c < '0' || c > '9') return false;
            v[i] = v[i] * 10 + (c - '0');
        }
    }
    return v[1] >= 1 && v[1] <= 12 && v[2] >= 1 && v[2] <= 31 && v[3] <= 23 && v[4] <= 59 && v[5] <= 60;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long days_from_civil(long y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400, doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* This process's UTC offset in the hour that starts at local (as if UTC) seconds hour_start. */
static long offset_at(long hour_start, const int v[6]) {
    struct tm tm = {.tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2], .tm_hour = v[3], .tm_isdst = -1};
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? 0 : hour_start - (long)t;
}

bool parse_slurm_time_cached(const char *text, double *out, slurm_time_cache *cache) {
    int v[6];
    if (!time_fields(text, v)) return false;
    long hour_start = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600L, offset;
    /* mktime looks the zone up on every call (a stat of /etc/localtime): once per distinct hour here */
    size_t slot = (size_t)(hour_start / 3600) % SLURM_TIME_CACHE_SLOTS;
    if (cache && cache->valid[slot] && cache->hour[slot] == hour_start) {
        offset = cache->offset[slot];
    } else {
        offset = offset_at(hour_start, v);
        if (cache) cache->valid[slot] = true, cache->hour[slot] = hour_start, cache->offset[slot] = offset;
    }
    *out = (double)(hour_start + v[4] * 60L + v[5] - offset);
    return true;
}

bool parse_slurm_time(const char *text, double *out) { return parse_slurm_time_cached(text, out, NULL); }

int parse_bounds(const char *text, double *out, size_t max, char *why, size_t why_len) {
    size_t n = 0;
    for (const char *p = text; *p;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v) || v <= 0 || (*end && *end != ',') || (n && v <= out[n - 1]) || n == max) {
            snprintf(why, why_len, "bucket bounds \"%.60s\": want up to %zu ascending positive numbers, comma-separated", text,
                     max);
            return -1;
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    if (!n) snprintf(why, why_len, "bucket bounds: none given");
    return n ? (int)n : -1;
}

size_t bounds_or(const char *text, const char *fallback, double *out, size_t max) {
    char why[160];
    int n = text ? parse_bounds(text, out, max, why, sizeof why) : -1;
    if (n < 0) n = parse_bounds(fallback, out, max, why, sizeof why);
    return n < 0 ? 0 : (size_t)n;
}
