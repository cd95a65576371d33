/* log.c — logfmt writer (see log.h). One write per line so threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static _Atomic int min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level) { min_level = level; }

int log_parse_level(const char *s) {
    if (!strcmp(s, "debug")) return LOG_DEBUG;
    if (!strcmp(s, "info")) return LOG_INFO;
    if (!strcmp(s, "warn") || !strcmp(s, "warning")) return LOG_WARN;
    if (!strcmp(s, "error")) return LOG_ERROR;
    return -1;
}

const char *log_fmt_int(char *out, int64_t v) {
    snprintf(out, 24, "%lld", (long long)v);
    return out;
}

const char *log_fmt_dbl(char *out, double v) {
    snprintf(out, 32, "%.6g", v);
    return out;
}

static void append_value(buf *b, const char *v) {
    bool quote = !*v;
    for (const char *p = v; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20) quote = true;
    if (!quote) {
        buf_puts(b, v);
        return;
    }
    buf_append(b, "\"", 1);
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            buf_append(b, "\\", 1);
            buf_append(b, p, 1);
        } else if (c == '\n') {
            buf_puts(b, "\\n");
        } else if (c < 0x20) {
            buf_printf(b, "\\x%02x", c);
        } else {
            buf_append(b, p, 1);
        }
    }
    buf_append(b, "\"", 1);
}

void log_kv(log_level level, const char *msg, ...) {
    if ((int)level < min_level) return;
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);

    buf b = {0};
    buf_printf(&b, "ts=%s level=%s msg=", ts, level_names[level]);
    append_value(&b, msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        buf_printf(&b, " %s=", k);
        append_value(&b, v ? v : "");
    }
    va_end(ap);
    buf_append(&b, "\n", 1);
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    buf_free(&b);
}
