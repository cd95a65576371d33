/* job_edges.c — jobs starting and finishing, from successive squeue runs (see job_edges.h). */
#include "job_edges.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { C_PENDING, C_STARTED, C_FINISHED };

/* squeue's state word as a class: finished (Slurm's terminal states), started (it holds or held
 * nodes and has not finished), else pending (PENDING, REQUEUED, a hold …). */
static int class_of_state(const char *state) {
    static const char *const finished[] = {"COMPLETED", "FAILED",    "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                                           "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"};
    static const char *const started[] = {"RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED",
                                          "STOPPED", "SIGNALING",  "STAGE_OUT",   "RESIZING"};
    for (size_t i = 0; i < sizeof finished / sizeof *finished; i++)
        if (!strcmp(state, finished[i])) return C_FINISHED;
    for (size_t i = 0; i < sizeof started / sizeof *started; i++)
        if (!strcmp(state, started[i])) return C_STARTED;
    return C_PENDING;
}

static void classes_free(job_classes *c) {
    free(c->class_of);
    htab_free(&c->index);
    arena_free(&c->mem);
    *c = (job_classes){0};
}

static int classes_find(const job_classes *c, const char *id) {
    long at = htab_find(&c->index, id, strlen(id));
    return at < 0 ? -1 : c->class_of[at];
}

static void classes_put(job_classes *c, const char *id, int cls) {
    long at = htab_find(&c->index, id, strlen(id));
    if (at < 0) {
        char *kept = arena_strdup(&c->mem, id);
        at = (long)htab_insert(&c->index, kept, strlen(kept));
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 256;
            c->class_of = xrealloc(c->class_of, c->cap);
        }
        c->n++;
    }
    c->class_of[at] = (unsigned char)cls;
}

static void reset_tally(tally *t, size_t nlabels, double *mine, size_t *n_mine, const double *bounds, size_t n) {
    if (*n_mine == n && t->nlabels == nlabels && !memcmp(mine, bounds, n * sizeof *bounds)) return;
    tally_free(t);
    memcpy(mine, bounds, n * sizeof *bounds);
    *n_mine = n;
    tally_init(t, nlabels, mine, n);
}

void job_edges_configure(job_edges *m, const double *wait, size_t n_wait, const double *run, size_t n_run) {
    if (!m->started.nlabels) tally_init(&m->started, 2, NULL, 0), tally_init(&m->finished, 3, NULL, 0);
    reset_tally(&m->wait, 1, m->wait_bounds, &m->n_wait, wait, n_wait);
    reset_tally(&m->run, 2, m->run_bounds, &m->n_run, run, n_run);
}

static struct job_event *new_event(job_edges_run *r, const char *partition, const char *account) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->events = xrealloc(r->events, r->cap * sizeof *r->events);
    }
    struct job_event *e = &r->events[r->n++];
    *e = (struct job_event){.partition = arena_strdup(&r->mem, partition),
                            .account = arena_strdup(&r->mem, account),
                            .state = "",
                            .wait = -1,
                            .run = -1};
    return e;
}

void job_edges_see(job_edges_run *r, const job_edges *m, const char *id, const char *state, const char *partition,
                   const char *account, double submit, double start, double end) {
    int now = class_of_state(state);
    classes_put(&r->now, id, now);
    if (!m->baseline) return; /* the first run is the baseline: nothing in it is an edge */
    int was = classes_find(&m->last, id);
    if (was == C_FINISHED || now == C_PENDING || (was == now)) return;
    /* it ran unless it was cancelled before it started (Slurm then sets its start to its end) */
    bool ran = now == C_STARTED || (start > 0 && (strcmp(state, "CANCELLED") || end > start));
    bool starts = ran && (was < 0 || was == C_PENDING);
    struct job_event *e = new_event(r, partition, account);
    e->started = starts;
    if (starts && submit > 0 && start >= submit) e->wait = start - submit;
    if (now == C_FINISHED) {
        e->finished = true;
        e->state = arena_strdup(&r->mem, state);
        if (ran && start > 0 && end >= start) e->run = end - start;
    }
}

void job_edges_commit(job_edges *m, job_edges_run *r) {
    for (size_t i = 0; i < r->n; i++) {
        const struct job_event *e = &r->events[i];
        if (e->started) tally_add(&m->started, (const char *const[]){e->partition, e->account}, 1);
        if (e->started && e->wait >= 0) tally_observe(&m->wait, (const char *const[]){e->partition}, e->wait);
        if (e->finished) tally_add(&m->finished, (const char *const[]){e->partition, e->account, e->state}, 1);
        if (e->finished && e->run >= 0) tally_observe(&m->run, (const char *const[]){e->partition, e->state}, e->run);
    }
    job_classes old = m->last; /* this run's jobs are the last now: a job it did not list is forgotten */
    m->last = r->now;
    r->now = old;
    m->baseline = true;
}

void job_edges_emit(const job_edges *m, family *started, family *finished, family *wait, family *run) {
    tally_emit(&m->started, started);
    tally_emit(&m->finished, finished);
    tally_emit(&m->wait, wait);
    tally_emit(&m->run, run);
}

void job_edges_run_free(job_edges_run *r) {
    classes_free(&r->now);
    free(r->events);
    arena_free(&r->mem);
    *r = (job_edges_run){0};
}

void job_edges_free(job_edges *m) {
    classes_free(&m->last);
    tally_free(&m->started);
    tally_free(&m->finished);
    tally_free(&m->wait);
    tally_free(&m->run);
}

/* The jobs as one string, "ID CLASS\n" each (a JSON object of 100,000 keys costs ten times more to write). */
void job_edges_save(const job_edges *m, json_object *out) {
    buf jobs = {0};
    for (size_t i = 0; i < m->last.n; i++) buf_printf(&jobs, "%s %d\n", m->last.index.keys[i], m->last.class_of[i]);
    json_object_object_add(out, "baseline", json_object_new_boolean(m->baseline));
    json_object_object_add(out, "jobs", json_object_new_string_len(jobs.data ? jobs.data : "", (int)jobs.len));
    buf_free(&jobs);
    json_object_object_add(out, "started", tally_save(&m->started));
    json_object_object_add(out, "finished", tally_save(&m->finished));
    json_object_object_add(out, "wait", tally_save(&m->wait));
    json_object_object_add(out, "run", tally_save(&m->run));
}

/* A saved histogram's bounds become the memory's (job_edges_configure then checks them against the
 * configured ones). */
static int load_bounds(json_object *hist, double *bounds, size_t *n) {
    json_object *b;
    if (!json_object_object_get_ex(hist, "bounds", &b) || !json_object_is_type(b, json_type_array) ||
        json_object_array_length(b) > JOB_EDGE_MAX_BUCKETS)
        return -1;
    *n = json_object_array_length(b);
    for (size_t i = 0; i < *n; i++) bounds[i] = json_object_get_double(json_object_array_get_idx(b, i));
    return 0;
}

int job_edges_load(job_edges *m, json_object *in) {
    json_object *baseline, *jobs, *started, *finished, *wait, *run;
    if (!json_object_object_get_ex(in, "baseline", &baseline) || !json_object_object_get_ex(in, "jobs", &jobs) ||
        !json_object_is_type(jobs, json_type_string) || !json_object_object_get_ex(in, "started", &started) ||
        !json_object_object_get_ex(in, "finished", &finished) || !json_object_object_get_ex(in, "wait", &wait) ||
        !json_object_object_get_ex(in, "run", &run) || load_bounds(wait, m->wait_bounds, &m->n_wait) < 0 ||
        load_bounds(run, m->run_bounds, &m->n_run) < 0)
        return -1;
    tally_init(&m->started, 2, NULL, 0);
    tally_init(&m->finished, 3, NULL, 0);
    tally_init(&m->wait, 1, m->wait_bounds, m->n_wait);
    tally_init(&m->run, 2, m->run_bounds, m->n_run);
    if (tally_load(&m->started, started) < 0 || tally_load(&m->finished, finished) < 0 || tally_load(&m->wait, wait) < 0 ||
        tally_load(&m->run, run) < 0)
        return -1;
    for (const char *p = json_object_get_string(jobs); *p;) {
        const char *space = strchr(p, ' '), *nl = space ? strchr(space, '\n') : NULL;
        if (!space || !nl || nl != space + 2 || space == p || space[1] < '0' + C_PENDING || space[1] > '0' + C_FINISHED)
            return -1;
        char id[128];
        if ((size_t)(space - p) >= sizeof id) return -1;
        memcpy(id, p, (size_t)(space - p));
        id[space - p] = '\0';
        classes_put(&m->last, id, space[1] - '0');
        p = nl + 1;
    }
    m->baseline = json_object_get_boolean(baseline);
    return 0;
}
