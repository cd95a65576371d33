/* util.h — the few containers everything else is built from: a bump arena
 * (one allocation strategy per cycle: everything a collector run makes lives
 * in one arena and is freed at once), a growable byte buffer, and a string-keyed
 * hash index. */
#ifndef SLURMPUSH_UTIL_H
#define SLURMPUSH_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- arena: chunks of memory handed out front to back, freed together ---- */
typedef struct arena_chunk arena_chunk;
typedef struct {
    arena_chunk *head;
    size_t bytes; /* total bytes reserved, for the benchmark's memory figure */
} arena;

void *arena_alloc(arena *a, size_t size);
void *arena_calloc(arena *a, size_t n, size_t size);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
void arena_free(arena *a);

/* ---- buf: growable bytes, always NUL-terminated ---- */
typedef struct {
    char *data;
    size_t len, cap;
} buf;

void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *data, size_t n);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(buf *b);

/* ---- htab: byte-string key -> index, open addressing; keys are not copied ---- */
typedef struct {
    uint32_t *slots; /* index + 1, 0 = empty */
    const char **keys;
    size_t *klens;
    size_t count, nslots;
} htab;

uint64_t hash_bytes(const void *data, size_t n);
/* a and b equal over n bytes, in time that does not depend on where they differ (secrets, hashes). */
bool same_bytes(const void *a, const void *b, size_t n);
/* Finds key; returns its index or -1. */
long htab_find(const htab *h, const char *key, size_t klen);
/* Inserts key (which must stay valid) with the next index (= old count); returns it. */
size_t htab_insert(htab *h, const char *key, size_t klen);
void htab_free(htab *h);

/* ---- misc ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* The URL as logs, errors, labels and file names may show it: no user info, no query (either may hold a
 * secret); a new string. */
char *url_without_secrets(const char *url);
int64_t now_ms(void);      /* wall clock, ms since the epoch */
double mono_seconds(void); /* monotonic clock */
/* A condition variable whose timed waits run on the monotonic clock (a step of the wall clock neither
 * stalls nor hurries them), and the deadline seconds from now for such a wait. */
void cond_init_monotonic(pthread_cond_t *c);
void monotonic_deadline(struct timespec *ts, double seconds);
/* Reads a whole (small) file into a new string; NULL on error. */
char *read_file(const char *path, size_t max, size_t *len);
/* A secret from a file (never the command line): its first line without the newline; NULL if the
 * file cannot be read or that line is empty. */
char *read_secret(const char *path);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s does not start one (overlong forms,
 * surrogates and code points past U+10FFFF are invalid). */
size_t utf8_sequence(const unsigned char *s);
/* True when s is valid UTF-8 throughout. */
bool utf8_valid(const char *s);
/* s with every invalid byte replaced by U+FFFD, in out (which must hold 3 * strlen(s) + 1 bytes). */
void utf8_sanitize(const char *s, char *out);

#endif
