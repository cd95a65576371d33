/* floor.c — the parse floor the cycle is measured against (issue: "within 3x the floor"): read the squeue
 * and sinfo output slurmpush reads by default once, split every field, and sum per (user, account,
 * partition, state) and per (partition, state). No families, no encoding: what any program must at
 * least do with those bytes. Built into bench_cycle, with its flags. */
#include "floor.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_FIELDS = 16 };

typedef struct {
    uint64_t hash;
    double sum;
    long count;
} slot;

typedef struct {
    slot *slots;
    size_t n, used; /* n: a power of two, kept at least twice used */
} table;

static uint64_t fnv(const char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static slot *find(table *t, uint64_t h) {
    size_t at = h & (t->n - 1);
    while (t->slots[at].count && t->slots[at].hash != h) at = (at + 1) & (t->n - 1);
    return &t->slots[at];
}

static void grow(table *t) {
    table bigger = {calloc(t->n * 2, sizeof(slot)), t->n * 2, t->used};
    for (size_t i = 0; i < t->n; i++)
        if (t->slots[i].count) *find(&bigger, t->slots[i].hash) = t->slots[i];
    free(t->slots);
    *t = bigger;
}

/* Adds value under the key made of the given fields (keyed by the key's hash alone: a floor, not a
 * checked table; collisions are too rare to matter for the figure). */
static void add(table *t, const char *const *field, const size_t *len, const int *which, int n, double value) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = fnv(field[which[i]], len[which[i]], h) * 31 + 1;
    if (2 * (t->used + 1) > t->n) grow(t);
    slot *s = find(t, h);
    if (!s->count) t->used++;
    s->hash = h, s->sum += value, s->count++;
}

/* Splits each line on '|' and hands the fields to one of the two sums. */
static size_t read_once(const char *path, table *t, const int *key, int n_key, int value_field) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    static char chunk[1 << 16];
    char line[1 << 12];
    size_t used = 0, bytes = 0;
    for (ssize_t got; (got = read(fd, chunk, sizeof chunk)) > 0;) {
        bytes += (size_t)got;
        for (ssize_t i = 0; i < got; i++) {
            if (chunk[i] != '\n') {
                if (used < sizeof line) line[used++] = chunk[i];
                continue;
            }
            const char *field[MAX_FIELDS];
            size_t len[MAX_FIELDS];
            int n = 0;
            size_t start = 0;
            for (size_t k = 0; k <= used && n < MAX_FIELDS; k++)
                if (k == used || line[k] == '|') field[n] = line + start, len[n++] = k - start, start = k + 1;
            if (n > value_field) add(t, field, len, key, n_key, strtod(field[value_field], NULL));
            used = 0;
        }
    }
    close(fd);
    return bytes;
}

size_t parse_floor(const char *dir) {
    table t = {calloc(1024, sizeof(slot)), 1024, 0};
    char path[4096];
    /* squeue: id|user|account|partition|state|cpus|…  sinfo: node|partition|state|cpus A/I/O/T|… */
    static const int job_key[] = {1, 2, 3, 4}, node_key[] = {1, 2};
    size_t bytes = 0;
    strcpy(path, dir), strcat(path, "/squeue.txt");
    bytes += read_once(path, &t, job_key, 4, 5);
    strcpy(path, dir), strcat(path, "/sinfo.txt");
    bytes += read_once(path, &t, node_key, 2, 5);
    free(t.slots);
    return bytes;
}
