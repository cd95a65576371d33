/* trace.c — the trace table (see trace.h). */
#include "trace.h"

#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    trace_entry e;
    double received; /* monotonic seconds */
} stored;

struct trace_table {
    pthread_mutex_t lock;
    double rate_s;
    size_t max_entries;
    stored *items;
    size_t n;
    uint64_t verdicts[N_TRACE_VERDICTS];
};

trace_table *trace_table_new(double rate_s, size_t max_entries) {
    trace_table *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    t->rate_s = rate_s;
    t->max_entries = max_entries;
    t->items = xcalloc(max_entries ? max_entries : 1, sizeof *t->items);
    return t;
}

static void free_entry(trace_entry *e) {
    free(e->hostname);
    free(e->username);
}

void trace_table_free(trace_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) free_entry(&t->items[i].e);
    free(t->items);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void trace_table_count(trace_table *t, trace_verdict v) {
    pthread_mutex_lock(&t->lock);
    t->verdicts[v]++;
    pthread_mutex_unlock(&t->lock);
}

void trace_table_verdicts(trace_table *t, uint64_t *counts) {
    pthread_mutex_lock(&t->lock);
    memcpy(counts, t->verdicts, sizeof t->verdicts);
    pthread_mutex_unlock(&t->lock);
}

/* Drops entries older than the trace rate (strictly, as the seed); the caller holds the lock. */
static void expire(trace_table *t, double now) {
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (now - t->items[i].received > t->rate_s)
            free_entry(&t->items[i].e);
        else
            t->items[k++] = t->items[i];
    }
    t->n = k;
}

/* Reads one field of the body; returns NULL when it is fine, else the reason. */
static const char *number_field(json_object *obj, const char *key, bool integer, double min, double *out) {
    json_object *v;
    static __thread char why[96];
    if (!json_object_object_get_ex(obj, key, &v)) return snprintf(why, sizeof why, "missing field \"%s\"", key), why;
    json_type t = json_object_get_type(v);
    if (t != json_type_int && (integer || t != json_type_double))
        return snprintf(why, sizeof why, "field \"%s\" must be %s", key, integer ? "an integer" : "a number"), why;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < min) return snprintf(why, sizeof why, "field \"%s\" must be at least %g", key, min), why;
    *out = d;
    return NULL;
}

static const char *string_field(json_object *obj, const char *key, char **out) {
    json_object *v;
    static __thread char why[96];
    if (!json_object_object_get_ex(obj, key, &v)) return snprintf(why, sizeof why, "missing field \"%s\"", key), why;
    if (!json_object_is_type(v, json_type_string)) return snprintf(why, sizeof why, "field \"%s\" must be a string", key), why;
    const char *s = json_object_get_string(v);
    size_t n = strlen(s);
    if (!n || n > 255 || n != (size_t)json_object_get_string_len(v))
        return snprintf(why, sizeof why, "field \"%s\" must have 1 to 255 characters", key), why;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return snprintf(why, sizeof why, "field \"%s\" has a control character", key), why;
    if (!utf8_valid(s)) return snprintf(why, sizeof why, "field \"%s\" is not valid UTF-8", key), why;
    *out = xstrdup(s);
    return NULL;
}

/* Parses and checks a body into e; returns NULL or the reason it is refused. */
static const char *parse_body(const char *body, size_t len, trace_entry *e) {
    json_tokener *tok = json_tokener_new();
    /* RFC 8259 only: no single quotes, trailing commas or comments (json-c's default takes them) */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = (size_t)json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    const char *why = NULL;
    while (used < len && (body[used] == ' ' || body[used] == '\n' || body[used] == '\r' || body[used] == '\t')) used++;
    if (!obj || err != json_tokener_success || used != len)
        why = "body is not one JSON object";
    else if (!json_object_is_type(obj, json_type_object))
        why = "body is not a JSON object";
    double job_id = 0;
    if (!why) why = number_field(obj, "job_id", true, 1, &job_id);
    if (!why) why = number_field(obj, "pid", true, 0, &e->pid);
    if (!why) why = number_field(obj, "cpus", false, 0, &e->cpus);
    if (!why) why = number_field(obj, "threads", false, 0, &e->threads);
    if (!why) why = number_field(obj, "mem", false, 0, &e->mem);
    if (!why) why = number_field(obj, "read_bytes", false, 0, &e->read_bytes);
    if (!why) why = number_field(obj, "write_bytes", false, 0, &e->write_bytes);
    if (!why) why = string_field(obj, "username", &e->username);
    if (!why) why = string_field(obj, "hostname", &e->hostname);
    if (!why && job_id > 9007199254740991.0) why = "field \"job_id\" is out of range";
    e->job_id = why ? 0 : (long long)job_id; /* converted only once known to fit */
    json_object_put(obj);
    return why;
}

trace_verdict trace_table_post(trace_table *t, const char *body, size_t len, char *reason, size_t reason_len) {
    trace_entry e = {0};
    const char *why = parse_body(body, len, &e);
    pthread_mutex_lock(&t->lock);
    trace_verdict verdict = TRACE_ACCEPTED;
    if (why) {
        verdict = TRACE_BAD_BODY;
        snprintf(reason, reason_len, "%s", why);
        free_entry(&e);
    } else {
        double now = mono_seconds();
        size_t i = 0;
        while (i < t->n && !(t->items[i].e.job_id == e.job_id && !strcmp(t->items[i].e.hostname, e.hostname))) i++;
        if (i == t->n && t->n == t->max_entries) expire(t, now), i = t->n;
        if (i == t->n && t->n == t->max_entries) {
            verdict = TRACE_TABLE_FULL;
            snprintf(reason, reason_len, "trace table full (%zu entries); retry later", t->max_entries);
            free_entry(&e);
        } else {
            if (i < t->n)
                free_entry(&t->items[i].e);
            else
                t->n++;
            t->items[i] = (stored){e, now};
        }
    }
    t->verdicts[verdict]++;
    pthread_mutex_unlock(&t->lock);
    return verdict;
}

static void json_string(buf *out, const char *s) {
    json_object *j = json_object_new_string(s);
    buf_puts(out, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
}

void trace_table_list(trace_table *t, buf *out) {
    pthread_mutex_lock(&t->lock);
    expire(t, mono_seconds());
    buf_puts(out, "[");
    for (size_t i = 0; i < t->n; i++) {
        const trace_entry *e = &t->items[i].e;
        buf_printf(out, "%s{\"job_id\":%lld,\"hostname\":", i ? "," : "", e->job_id);
        json_string(out, e->hostname);
        buf_puts(out, ",\"username\":");
        json_string(out, e->username);
        buf_printf(out,
                   ",\"pid\":%.17g,\"cpus\":%.17g,\"threads\":%.17g,\"mem\":%.17g,\"read_bytes\":%.17g,\"write_bytes\":%.17g}",
                   e->pid, e->cpus, e->threads, e->mem, e->read_bytes, e->write_bytes);
    }
    buf_puts(out, "]\n");
    pthread_mutex_unlock(&t->lock);
}

size_t trace_table_snapshot(trace_table *t, trace_entry **out) {
    pthread_mutex_lock(&t->lock);
    expire(t, mono_seconds());
    size_t n = t->n;
    trace_entry *copy = xcalloc(n ? n : 1, sizeof *copy);
    for (size_t i = 0; i < n; i++) {
        copy[i] = t->items[i].e;
        copy[i].hostname = xstrdup(t->items[i].e.hostname);
        copy[i].username = xstrdup(t->items[i].e.username);
    }
    pthread_mutex_unlock(&t->lock);
    *out = copy;
    return n;
}

void trace_snapshot_free(trace_entry *entries, size_t n) {
    for (size_t i = 0; i < n; i++) free_entry(&entries[i]);
    free(entries);
}

void trace_emit(family *const *fams, const trace_entry *entries, size_t n, const traced_job *const *job) {
    family *mem_alloc = fams[TRACE_JOB_MEM], *cpu_alloc = fams[TRACE_JOB_CPUS], *pid = fams[TRACE_PID], *cpu = fams[TRACE_CPU],
           *mem = fams[TRACE_MEM], *threads = fams[TRACE_THREADS], *wr = fams[TRACE_WRITE], *rd = fams[TRACE_READ];
    for (size_t i = 0; i < n; i++) {
        if (!job[i]->listed) continue;
        const trace_entry *e = &entries[i];
        char id[24];
        snprintf(id, sizeof id, "%lld", e->job_id);
        FAM_SET(mem_alloc, job[i]->mem, id);
        FAM_SET(cpu_alloc, job[i]->cpus, id);
        FAM_SET(pid, e->pid, e->hostname, id);
        /* the seed-named series are per job: a multi-node job's hosts add up */
        size_t slot = FAM_SLOT(cpu, id, e->username);
        fam_add_at(cpu, slot, e->cpus);
        fam_add_at(mem, slot, e->mem);
        fam_add_at(threads, slot, e->threads);
        fam_add_at(wr, slot, e->write_bytes);
        fam_add_at(rd, slot, e->read_bytes);
    }
}

void trace_table_metrics(trace_table *t, sample_set *ss) {
    pthread_mutex_lock(&t->lock);
    fam_set(ss_family(ss, "slurmpush_trace_entries", "Live (job, host) entries in the trace table.", METRIC_GAUGE, NULL),
            (double)t->n, NULL);
    pthread_mutex_unlock(&t->lock);
}
