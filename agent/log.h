/* log.h — logfmt lines on stderr: `ts=… level=… msg=… key=value …`, as Prometheus tools log.
 * Values are quoted when they need it; pass numbers through LOG_INT / LOG_DBL. */
#ifndef SLURMPUSH_LOG_H
#define SLURMPUSH_LOG_H

#include <stdint.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level level);
/* Parses debug|info|warn|warning|error; returns -1 for anything else. */
int log_parse_level(const char *s);
/* Key/value pairs follow msg, terminated by NULL. */
void log_kv(log_level level, const char *msg, ...) __attribute__((sentinel));

const char *log_fmt_int(char *out, int64_t v);
const char *log_fmt_dbl(char *out, double v);
#define LOG_INT(v) log_fmt_int((char[24]){0}, (int64_t)(v))
#define LOG_DBL(v) log_fmt_dbl((char[32]){0}, (double)(v))

#endif
