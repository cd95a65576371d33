/* agent.c — cycles, collector threads, publication and delivery (see agent.h). */
#include "agent.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <regex.h>
#include <zlib.h>
#include <pthread.h>
#include <systemd/sd-daemon.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../encode/remote_write.h"
#include "../encode/text.h"
#include "collector.h"
#include "listener.h"
#include "log.h"
#include "runner.h"
#include "selfmetrics.h"
#include "sender.h"
#include "state.h"

#ifndef SLURMPUSH_VERSION
#define SLURMPUSH_VERSION "0.0.0"
#endif

enum { MAX_NOTED = 64 }; /* distinct values a collector logs once; past that, one line says so */

typedef struct {
    agent *owner;
    const collector_def *def;
    char **argv;
    const char *command;
    char *duration_help;
    double interval, next_run; /* --collector.NAME.interval; mono_seconds() of the next run due */
    pthread_t thread;
    bool running, has_thread;
    bool ran_this_cycle; /* loop thread only: started by this cycle's start_collectors */
    /* guarded by agent.lock */
    sample_set *latest;
    uint64_t errors;
    uint64_t series_dropped; /* over --collector.NAME.max-series, all runs */
    uint64_t utf8_replaced;  /* label values that were not UTF-8, all runs */
    uint64_t truncated;      /* label values cut at 1024 bytes, all runs */
    size_t max_series;
    int64_t last_success_ms;
    bool last_ok;
    void *memory;           /* the descriptor's memory across runs (memory_size bytes), or NULL */
    char *noted[MAX_NOTED]; /* values note_once has logged */
    size_t n_noted;
} collector_rt;

struct agent {
    const config *cfg;
    listener *listener; /* NULL: none (its counters join the self metrics) */
    collector_rt *collectors;
    size_t n_collectors;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool stopping;
    _Atomic bool cancel; /* set with stopping: ends running commands */
    snapshot snap;
    endpoint_ref *endpoints; /* remote-write ones first, then the Pushgateway */
    size_t n_remote_write, n_endpoints;
    char *pushgateway_group_url;
    double start_time_s;
    collect_env env;
    sample_set *prev_self; /* the last self-metrics pushed, for their staleness */
    regex_t exclude;       /* --metrics.exclude */
    bool has_exclude;
    uint64_t nonfinite_skipped, invalid_skipped; /* guarded by lock */
    char slurm_version[32];                      /* guarded by lock: from the info collector's slurm_info, for error logs */
};

/* ---------------------------------------------------------------- endpoints */

static const char *const remote_write_headers[] = {
    "Content-Encoding: snappy",
    "Content-Type: application/x-protobuf",
    "X-Prometheus-Remote-Write-Version: 0.1.0",
    "User-Agent: slurmpush/" SLURMPUSH_VERSION,
    NULL,
};

static const char *const remote_write_v2_headers[] = {
    "Content-Encoding: snappy",
    "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request", /* no space after ';' */
    "X-Prometheus-Remote-Write-Version: 2.0.0",
    "User-Agent: slurmpush/" SLURMPUSH_VERSION,
    NULL,
};

static const char *const pushgateway_headers[] = {
    "Content-Type: text/plain; version=0.0.4; charset=utf-8",
    "User-Agent: slurmpush/" SLURMPUSH_VERSION,
    NULL,
};

static const char *const pushgateway_gzip_headers[] = {
    "Content-Type: text/plain; version=0.0.4; charset=utf-8",
    "Content-Encoding: gzip",
    "User-Agent: slurmpush/" SLURMPUSH_VERSION,
    NULL,
};

/* gzip (RFC 1952) of the text; NULL if zlib fails. */
static uint8_t *gzip_text(const buf *text, size_t *out_len) {
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)text->len);
    uint8_t *out = xmalloc(cap);
    z.next_in = (Bytef *)(text->data ? text->data : "");
    z.avail_in = (uInt)text->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Appends a Pushgateway grouping-key element, base64url-encoded when plain text cannot carry it. */
static void append_group_element(buf *url, const char *label, const char *value) {
    bool plain = *value;
    for (const char *p = value; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p);
    if (plain) {
        buf_printf(url, "/%s/%s", label, value);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    buf_printf(url, "/%s@base64/", label);
    const unsigned char *s = (const unsigned char *)value;
    size_t n = strlen(value);
    if (!n) buf_puts(url, "=");
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], b64[v >> 6 & 63], b64[v & 63]};
        buf_append(url, q, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
}

/* The endpoint's own spool directory: readable, stable across restarts for the same URL, and made of
 * the URL without user info and query (its name is in logs, and a rotated password keeps the spool). */
static char *spool_dir_for(const char *base, const char *url) {
    char *shown = url_without_secrets(url);
    buf dir = {0};
    buf_printf(&dir, "%s/", base);
    const char *host = strstr(shown, "://");
    host = host ? host + 3 : shown;
    for (const char *p = host; *p && dir.len < strlen(base) + 48; p++) {
        char c = *p;
        buf_append(&dir, (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ? &c : "_", 1);
    }
    buf_printf(&dir, "-%016llx", (unsigned long long)hash_bytes(shown, strlen(shown)));
    free(shown);
    return dir.data;
}

/* Starts one endpoint's sender; its name in logs and labels is the URL without secrets.
 * Returns -1 if its spool cannot be opened. */
static int add_endpoint(agent *a, const char *url, const char *protocol, const char *method, const char *const *headers,
                        sender_mode mode, const endpoint_options *eo) {
    spool *durable = NULL;
    if (mode == SENDER_FIFO && a->cfg->remote_write_spool_dir) {
        char err[512];
        char *dir = spool_dir_for(a->cfg->remote_write_spool_dir, url);
        durable = spool_open(dir, (uint64_t)a->cfg->remote_write_spool_bytes, err, sizeof err);
        if (!durable) {
            log_kv(LOG_ERROR, "cannot open the spool", "error", err, NULL);
            free(dir);
            return -1;
        }
        spool_stats st;
        spool_get_stats(durable, &st);
        if (st.recovered_records)
            log_kv(LOG_INFO, "spool: resending what an earlier run left unacknowledged", "dir", dir, "requests",
                   LOG_INT(st.recovered_records), NULL);
        free(dir);
    }
    char *name = url_without_secrets(url);
    sender_config sc = {.name = name,
                        .url = url,
                        .method = method,
                        .headers = headers,
                        .mode = mode,
                        .timeout_s = a->cfg->remote_write_timeout,
                        .queue_max_bytes = (size_t)a->cfg->remote_write_queue_bytes,
                        .durable = durable};
    if (eo) { /* the remote-write endpoint's own transport options */
        sc.headers_v2 = eo->v2 ? remote_write_v2_headers : NULL;
        sc.extra_headers = (const char *const *)eo->headers.items;
        sc.n_extra_headers = eo->headers.n;
        sc.username = eo->username;
        sc.password = eo->password;
        sc.bearer_token_file = eo->bearer_token_file;
        sc.ca_file = eo->ca_file;
        sc.cert_file = eo->cert_file;
        sc.key_file = eo->key_file;
        sc.server_name = eo->server_name;
        sc.insecure_skip_verify = eo->insecure;
        sc.proxy_url = eo->proxy_url;
    }
    a->endpoints[a->n_endpoints++] = (endpoint_ref){name, protocol, sender_start(&sc)};
    return 0;
}

/* The Pushgateway group URL: /metrics/job/JOB/instance/INSTANCE, INSTANCE defaulting to the
 * cluster label, else the host name. */
static char *pushgateway_group_url(const config *cfg) {
    buf url = {0};
    buf_puts(&url, cfg->pushgateway_url);
    while (url.len && url.data[url.len - 1] == '/') url.data[--url.len] = '\0';
    buf_puts(&url, "/metrics");
    append_group_element(&url, "job", cfg->pushgateway_job);
    const char *instance = cfg->pushgateway_instance;
    for (size_t i = 0; !instance && i < cfg->n_extra_labels; i++)
        if (!strcmp(cfg->extra_labels[i].name, "cluster")) instance = cfg->extra_labels[i].value;
    char host[256] = "slurmpush";
    if (!instance && gethostname(host, sizeof host - 1) == 0) instance = host;
    append_group_element(&url, "instance", instance ? instance : "slurmpush");
    return url.data;
}

static int start_endpoints(agent *a) {
    const config *cfg = a->cfg;
    size_t n = cfg->remote_write_urls.n + (cfg->pushgateway_url ? 1 : 0);
    a->endpoints = xcalloc(n ? n : 1, sizeof *a->endpoints);
    if (cfg->dry_run) return 0;
    for (size_t i = 0; i < cfg->remote_write_urls.n; i++) {
        if (add_endpoint(a, cfg->remote_write_urls.items[i], "remote_write", "POST", remote_write_headers, SENDER_FIFO,
                         &cfg->rw_endpoints[i]) < 0)
            return -1;
        a->n_remote_write++;
    }
    if (cfg->pushgateway_url) {
        a->pushgateway_group_url = pushgateway_group_url(cfg);
        add_endpoint(a, a->pushgateway_group_url, "pushgateway", "PUT",
                     cfg->pushgateway_gzip ? pushgateway_gzip_headers : pushgateway_headers, SENDER_LATEST_ONLY, NULL);
    }
    return 0;
}

/* ---------------------------------------------------------------- collectors */

static bool excluded(const char *name, void *ctx) { return regexec((regex_t *)ctx, name, 0, NULL, 0) == 0; }

/* Applies --metrics.exclude to a finished set. */
static void apply_exclude(agent *a, sample_set *ss) {
    if (a->has_exclude) ss_drop_families(ss, excluded, &a->exclude);
}

/* Adds the collector's self-metrics: the seed's duration (ms) and error counter, and ours. */
static void add_self_metrics(collector_rt *rt, sample_set *ss, const run_result *res) {
    const collector_def *d = rt->def;
    if (d->duration_metric)
        fam_set(ss_family(ss, d->duration_metric, rt->duration_help, METRIC_GAUGE, NULL), floor(res->seconds * 1000), NULL);
    fam_set(ss_family(ss, d->error_metric, d->error_help, METRIC_COUNTER, NULL), (double)rt->errors, NULL);
    FAM_SET(ss_family(ss, "slurmpush_collector_duration_seconds", "Wall time of the collector's last run.", METRIC_GAUGE,
                      "collector", NULL),
            res->seconds, d->name);
    FAM_SET(ss_family(ss, "slurmpush_collector_errors_total",
                      "Failed runs: command failed, timed out, printed too much or printed unexpected output.", METRIC_COUNTER,
                      "collector", NULL),
            (double)rt->errors, d->name);
    FAM_SET(ss_family(ss, "slurmpush_collector_success", "1 if the collector's last run succeeded, else 0.", METRIC_GAUGE,
                      "collector", NULL),
            rt->last_ok ? 1 : 0, d->name);
    FAM_SET(ss_family(ss, "slurmpush_label_values_replaced_total",
                      "Label values that were not valid UTF-8: stored with U+FFFD for the invalid bytes.", METRIC_COUNTER,
                      "collector", NULL),
            (double)rt->utf8_replaced, d->name);
    FAM_SET(ss_family(ss, "slurmpush_label_values_truncated_total",
                      "Label values longer than 1024 bytes: cut there (at a character's start).", METRIC_COUNTER, "collector",
                      NULL),
            (double)rt->truncated, d->name);
    FAM_SET(ss_family(ss, "slurmpush_series_dropped_total",
                      "Series left out because a run made more than --collector.NAME.max-series.", METRIC_COUNTER, "collector",
                      NULL),
            (double)rt->series_dropped, d->name);
    FAM_SET(ss_family(ss, "slurmpush_collector_last_success_timestamp_seconds", "When the collector last succeeded.",
                      METRIC_GAUGE, "collector", NULL),
            (double)rt->last_success_ms / 1000.0, d->name);
}

static void enqueue_remote_write(agent *a, const sample_set *ss);

/* Staleness: every series of prev that next lacks gets the stale marker, once, stamped ts
 * (the first collection that no longer sees it), as Prometheus does for a vanished target. */
static void push_vanished(agent *a, const sample_set *prev, const sample_set *next, int64_t ts) {
    if (!a->n_remote_write) return;
    sample_set *gone = ss_vanished(prev, next, ts);
    if (!gone) return;
    log_kv(LOG_DEBUG, "series vanished: stale markers queued", "series", LOG_INT(ss_series_count(gone)), NULL);
    enqueue_remote_write(a, gone);
    ss_free(gone);
}

/* The version label of a slurm_info series in ss (the info collector's), or NULL. */
static const char *slurm_version_in(const sample_set *ss) {
    for (size_t i = 0; i < ss->n; i++)
        if (!strcmp(ss->fams[i]->name, "slurm_info") && ss->fams[i]->n) return ss->fams[i]->items[0].values[0];
    return NULL;
}

/* Remembers the Slurm version for the logs; says once when it is outside what slurmpush is tested on. */
static void note_slurm_version(agent *a, const char *version) {
    pthread_mutex_lock(&a->lock);
    bool changed = strcmp(a->slurm_version, version) != 0;
    snprintf(a->slurm_version, sizeof a->slurm_version, "%s", version);
    pthread_mutex_unlock(&a->lock);
    if (!changed) return;
    int major = 0, minor = 0;
    sscanf(version, "%d.%d", &major, &minor);
    int v = major * 100 + minor;
    log_kv(v < 2205 || v > 2605 ? LOG_WARN : LOG_INFO,
           v < 2205 || v > 2605 ? "Slurm version outside the tested 22.05 to 26.05: report unexpected output" : "Slurm version",
           "slurm_version", version, NULL);
}

/* The enabled collector of that name, or NULL. */
static collector_rt *find_collector(agent *a, const char *name) {
    for (size_t i = 0; i < a->n_collectors; i++)
        if (!strcmp(a->collectors[i].def->name, name)) return &a->collectors[i];
    return NULL;
}

/* The descriptor's join: the other collector's latest success, this cycle's when it is running now
 * (its thread replaces latest under the lock and frees the old one only after: reading under the
 * lock is safe). */
static void join_other(agent *a, const collector_def *d, sample_set *ss) {
    collector_rt *other = find_collector(a, d->joins);
    if (!other) return;
    pthread_mutex_lock(&a->lock);
    while (other->running && !a->cancel) pthread_cond_wait(&a->changed, &a->lock);
    if (!a->cancel && other->latest && other->last_ok) d->join(other->latest, ss);
    pthread_mutex_unlock(&a->lock);
}

/* After a successful run: what the collector remembers, to --state-dir (in this thread: no lock held). */
static void save_memory(agent *a, collector_rt *rt) {
    if (!rt->memory || !rt->def->memory_save || !a->cfg->state_dir) return;
    json_object *doc = json_object_new_object();
    rt->def->memory_save(rt->memory, doc);
    char why[512];
    if (state_save(a->cfg->state_dir, rt->def->name, doc, why, sizeof why) < 0)
        log_kv(LOG_ERROR, "cannot save the collector's state: a restart starts its counters again", "collector", rt->def->name,
               "error", why, NULL);
    json_object_put(doc);
}

/* At start: the collector's memory, zeroed or restored from --state-dir. */
static void *restore_memory(const config *cfg, const collector_def *d) {
    if (!d->memory_size) return NULL;
    void *memory = xcalloc(1, d->memory_size);
    if (!cfg->state_dir || !d->memory_load) return memory;
    json_object *doc = NULL;
    char why[512] = "";
    if (state_load(cfg->state_dir, d->name, &doc, why, sizeof why) < 0 || (doc && d->memory_load(memory, doc))) {
        if (d->memory_release) d->memory_release(memory);
        memset(memory, 0, d->memory_size);
        log_kv(LOG_WARN, "saved state not readable: the collector starts from nothing", "collector", d->name, "error",
               why[0] ? why : "not a document this version wrote", NULL);
    } else if (doc) {
        log_kv(LOG_INFO, "collector state restored", "collector", d->name, "dir", cfg->state_dir, NULL);
    }
    json_object_put(doc);
    return memory;
}

/* collect_env.note_once for a collector (ctx): a value is logged the first time only. */
static void note_once(void *ctx, const char *msg, const char *value) {
    collector_rt *rt = ctx;
    agent *a = rt->owner;
    pthread_mutex_lock(&a->lock);
    bool seen = false;
    for (size_t i = 0; i < rt->n_noted && i < MAX_NOTED && !seen; i++) seen = !strcmp(rt->noted[i], value);
    bool log = !seen && rt->n_noted <= MAX_NOTED;
    if (log && rt->n_noted < MAX_NOTED) rt->noted[rt->n_noted] = xstrdup(value);
    if (log) rt->n_noted++;
    pthread_mutex_unlock(&a->lock);
    if (!log) return;
    if (rt->n_noted > MAX_NOTED)
        log_kv(LOG_WARN, "more distinct values to note than slurmpush keeps: no more are logged", "collector", rt->def->name,
               NULL);
    else
        log_kv(LOG_WARN, msg, "collector", rt->def->name, "value", value, NULL);
}

static void *collector_thread(void *arg) {
    collector_rt *rt = arg;
    agent *a = rt->owner;
    run_result res;
    collect_env env = a->env;
    env.note_once = note_once;
    env.note_ctx = rt;
    env.memory = rt->memory;
    sample_set *ss = collector_run(rt->def, rt->argv, a->cfg, &env, &a->cancel, &res);
    if (res.status == RUN_OK && !a->cancel) save_memory(a, rt);
    if (a->cancel) { /* stopping: a run cut short is not a failure, and publishes nothing */
        ss_free(ss);
        pthread_mutex_lock(&a->lock);
        rt->running = false;
        pthread_cond_broadcast(&a->changed);
        pthread_mutex_unlock(&a->lock);
        return NULL;
    }
    if (res.status == RUN_OK && rt->def->join) join_other(a, rt->def, ss);
    size_t dropped = res.status == RUN_OK ? ss_cap_series(ss, rt->max_series) : 0;
    if (dropped)
        log_kv(LOG_WARN, "collector made more series than its cap: the rest of this run is dropped", "collector", rt->def->name,
               "max_series", LOG_INT(rt->max_series), "dropped", LOG_INT(dropped), NULL);
    size_t replaced = ss_utf8_replaced(ss);
    if (replaced)
        log_kv(LOG_WARN, "label values that are not valid UTF-8: invalid bytes replaced by U+FFFD", "collector", rt->def->name,
               "values", LOG_INT(replaced), NULL);
    size_t truncated = ss_label_values_truncated(ss);
    if (truncated)
        log_kv(LOG_WARN, "label values longer than 1024 bytes: cut there", "collector", rt->def->name, "values",
               LOG_INT(truncated), NULL);
    pthread_mutex_lock(&a->lock);
    rt->series_dropped += dropped;
    rt->utf8_replaced += replaced;
    rt->truncated += truncated;
    rt->last_ok = res.status == RUN_OK;
    if (rt->last_ok)
        rt->last_success_ms = ss->timestamp_ms;
    else
        rt->errors++;
    add_self_metrics(rt, ss, &res);
    pthread_mutex_unlock(&a->lock);
    ss_finish(ss);
    apply_exclude(a, ss);
    if (res.status != RUN_OK) {
        char what[256], version[32];
        pthread_mutex_lock(&a->lock);
        snprintf(version, sizeof version, "%s", a->slurm_version[0] ? a->slurm_version : "unknown");
        pthread_mutex_unlock(&a->lock);
        log_kv(LOG_ERROR, "collector failed", "collector", rt->def->name, "command", rt->command, "error",
               run_status_text(&res, what, sizeof what), "stderr", res.stderr_head, "slurm_version", version, NULL);
    } else {
        const char *version = slurm_version_in(ss);
        if (version) note_slurm_version(a, version);
        if (res.stderr_head[0])
            log_kv(LOG_WARN, "command wrote to stderr", "collector", rt->def->name, "stderr", res.stderr_head, NULL);
        log_kv(LOG_DEBUG, "collector done", "collector", rt->def->name, "lines", LOG_INT(res.lines), "seconds",
               LOG_DBL(res.seconds), "series", LOG_INT(ss_series_count(ss)), NULL);
    }
    enqueue_remote_write(a, ss);
    if (a->n_remote_write)
        log_kv(LOG_DEBUG, "queued for remote-write", "collector", rt->def->name, "timestamp_ms", LOG_INT(ss->timestamp_ms), NULL);
    push_vanished(a, rt->latest, ss, ss->timestamp_ms); /* only this thread replaces rt->latest */
    pthread_mutex_lock(&a->lock);
    sample_set *old = rt->latest;
    rt->latest = ss;
    rt->running = false;
    pthread_cond_broadcast(&a->changed);
    pthread_mutex_unlock(&a->lock);
    ss_free(old);
    return NULL;
}

/* Starts every enabled collector that is due (its interval has passed) and not still running
 * from an earlier cycle. */
static void start_collectors(agent *a) {
    double now = mono_seconds();
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n_collectors; i++) {
        collector_rt *rt = &a->collectors[i];
        rt->ran_this_cycle = false;
        /* a little slack: a run due a moment after this tick would otherwise wait a whole cycle */
        if (rt->interval > 0 && now + 0.05 * a->cfg->cycle_seconds < rt->next_run) continue;
        if (rt->running) {
            log_kv(LOG_WARN, "collector still running from the last cycle; not started again", "collector", rt->def->name, NULL);
            continue;
        }
        if (rt->has_thread) pthread_join(rt->thread, NULL);
        rt->running = true;
        rt->has_thread = true;
        rt->ran_this_cycle = true;
        rt->next_run = now + rt->interval;
        pthread_create(&rt->thread, NULL, collector_thread, rt);
    }
    pthread_mutex_unlock(&a->lock);
}

/* A collector that did not run this cycle (its interval is longer) has its last successful
 * result pushed again, stamped now: remote-write receivers see every series every cycle, as
 * a scrape of a caching exporter would give, and never mark them stale between runs. */
static void repush_cached(agent *a) {
    if (!a->n_remote_write) return;
    int64_t now = now_ms();
    for (size_t i = 0; i < a->n_collectors; i++) {
        collector_rt *rt = &a->collectors[i];
        pthread_mutex_lock(&a->lock);
        bool idle = !rt->running && !rt->ran_this_cycle && rt->latest && rt->last_ok;
        pthread_mutex_unlock(&a->lock);
        if (!idle) continue; /* not running: only this (the loop) thread may start it and replace latest */
        sample_set view = *rt->latest;
        view.timestamp_ms = now;
        enqueue_remote_write(a, &view);
    }
}

static bool any_running(agent *a) {
    for (size_t i = 0; i < a->n_collectors; i++)
        if (a->collectors[i].running) return true;
    return false;
}

/* ---------------------------------------------------------------- publishing */

static uint8_t *copy_bytes(const uint8_t *data, size_t len) { return memcpy(xmalloc(len ? len : 1), data, len); }

/* One encoded request for every remote-write endpoint: copies for all but the last, which takes
 * the bodies; the 2.0 body only to the endpoints that send 2.0. */
static void to_queues(void *ctx, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples) {
    agent *a = ctx;
    for (size_t i = 0; i < a->n_remote_write; i++) {
        bool last = i + 1 == a->n_remote_write, v2 = body_v2 && a->cfg->rw_endpoints[i].v2;
        sender_enqueue2(a->endpoints[i].s, last ? body : copy_bytes(body, len), len,
                        v2 ? (last ? body_v2 : copy_bytes(body_v2, len_v2)) : NULL, v2 ? len_v2 : 0, samples);
    }
    if (!a->cfg->rw_endpoints[a->n_remote_write - 1].v2) free(body_v2);
}

/* Encodes a set once (with 2.0 only if an endpoint sends it) and queues it for every endpoint. */
static void enqueue_remote_write(agent *a, const sample_set *ss) {
    if (!a->n_remote_write) return;
    bool any_v2 = false;
    for (size_t i = 0; i < a->n_remote_write; i++) any_v2 = any_v2 || a->cfg->rw_endpoints[i].v2;
    rw_stats st;
    rw_encode(&ss, 1, a->cfg->extra_labels, a->cfg->n_extra_labels, (size_t)a->cfg->remote_write_max_samples, any_v2, to_queues,
              a, &st);
    if (!st.nonfinite_skipped && !st.invalid_skipped) return;
    pthread_mutex_lock(&a->lock);
    a->nonfinite_skipped += st.nonfinite_skipped;
    a->invalid_skipped += st.invalid_skipped;
    pthread_mutex_unlock(&a->lock);
    log_kv(LOG_WARN, "values left out of the push", "not_finite", LOG_INT(st.nonfinite_skipped), "invalid_name",
           LOG_INT(st.invalid_skipped), NULL);
}

static sample_set *agent_self_metrics(agent *a) {
    sample_set *ss = ss_new(now_ms());
    emit_process_metrics(ss, a->start_time_s);
    emit_build_info(ss);
    emit_sender_metrics(ss, a->endpoints, a->n_endpoints);
    if (a->env.traces) trace_table_metrics(a->env.traces, ss);
    if (a->listener) listener_metrics(a->listener, ss);
    pthread_mutex_lock(&a->lock);
    family *skipped =
        ss_family(ss, "slurmpush_samples_skipped_total",
                  "Values left out of pushes: not finite (NaN, Inf) or with an invalid name.", METRIC_COUNTER, "reason", NULL);
    FAM_SET(skipped, (double)a->nonfinite_skipped, "not_finite");
    FAM_SET(skipped, (double)a->invalid_skipped, "invalid_name");
    pthread_mutex_unlock(&a->lock);
    ss_finish(ss);
    apply_exclude(a, ss);
    return ss;
}

/* Renders every collector's latest result plus self into text; the caller holds no lock. */
static void compose_text(agent *a, const sample_set *self, bool timestamps, buf *out) {
    pthread_mutex_lock(&a->lock);
    const sample_set **sets = xcalloc(a->n_collectors + 1, sizeof *sets);
    size_t n = 0;
    for (size_t i = 0; i < a->n_collectors; i++)
        if (a->collectors[i].latest) sets[n++] = a->collectors[i].latest;
    sets[n++] = self;
    text_encode(sets, n, a->cfg->extra_labels, a->cfg->n_text_labels, timestamps, out);
    pthread_mutex_unlock(&a->lock);
    free(sets);
}

/* End of a cycle: self-metrics to remote-write, the snapshot for /metrics, the Pushgateway group. */
static void finish_cycle(agent *a) {
    repush_cached(a);
    sample_set *self = agent_self_metrics(a);
    enqueue_remote_write(a, self);
    push_vanished(a, a->prev_self, self, self->timestamp_ms);
    buf text = {0};
    compose_text(a, self, false, &text);
    if (a->pushgateway_group_url) {
        sender *pg = a->endpoints[a->n_endpoints - 1].s;
        size_t samples = 0;
        for (size_t i = 0; i < text.len; i++) samples += text.data[i] == '\n';
        size_t len = text.len;
        uint8_t *body = a->cfg->pushgateway_gzip ? gzip_text(&text, &len) : NULL;
        if (!body) { /* identity; also when gzip failed (and then the header would lie: cannot happen with zlib's bound) */
            body = xmalloc(text.len ? text.len : 1);
            memcpy(body, text.data, text.len);
            len = text.len;
        }
        sender_enqueue(pg, body, len, samples);
    }
    snapshot_publish(&a->snap, &text);
    ss_free(a->prev_self); /* only the loop thread touches prev_self */
    a->prev_self = self;
}

/* A last chance for what is queued, every endpoint at once (each sender has its own thread), and the
 * Pushgateway DELETE, all within one bound: STOP_DRAIN_MAX_S or the remote-write timeout if shorter.
 * What is left then stays in the spool (sent at the next start) or, without one, is logged as lost. */
enum { STOP_DRAIN_MAX_S = 5 };

static void drain_at_stop(agent *a) {
    double bound = a->cfg->remote_write_timeout < STOP_DRAIN_MAX_S ? a->cfg->remote_write_timeout : STOP_DRAIN_MAX_S;
    double deadline = mono_seconds() + bound;
    for (size_t i = 0; i < a->n_endpoints; i++) {
        double left = deadline - mono_seconds();
        if (sender_wait_idle(a->endpoints[i].s, left > 0 ? left : 0)) continue;
        sender_stats st;
        sender_get_stats(a->endpoints[i].s, &st);
        log_kv(LOG_WARN,
               st.spooled ? "stopping with requests not delivered; they stay in the spool"
                          : "stopping with requests not delivered; they are lost",
               "endpoint", a->endpoints[i].endpoint, "queued_requests", LOG_INT(st.queue_requests + 1), NULL);
    }
    /* stopped before the DELETE, so that no retried PUT brings the group back after it */
    for (size_t i = 0; i < a->n_endpoints; i++) sender_request_stop(a->endpoints[i].s);
    if (a->pushgateway_group_url && a->cfg->pushgateway_delete) {
        double left = deadline - mono_seconds();
        long status = sender_delete_now(a->endpoints[a->n_endpoints - 1].s, left > 0.5 ? left : 0.5);
        log_kv(status >= 200 && status < 300 ? LOG_INFO : LOG_WARN, "Pushgateway group deleted", "status", LOG_INT(status), NULL);
    }
}

/* At shutdown every live series is marked stale, stamped with the shutdown time. */
static void push_shutdown_markers(agent *a) {
    for (size_t i = 0; i < a->n_collectors; i++) {
        collector_rt *rt = &a->collectors[i];
        if (rt->has_thread) pthread_join(rt->thread, NULL); /* cancelled: ends at once */
        rt->has_thread = false;
    }
    /* stamped after every run has ended and after every sample pushed: a run that finished during the stop
     * pushed its samples already, and a marker older than them would be refused as out of order */
    int64_t now = now_ms();
    for (size_t i = 0; i < a->n_collectors; i++)
        if (a->collectors[i].latest && a->collectors[i].latest->timestamp_ms >= now)
            now = a->collectors[i].latest->timestamp_ms + 1;
    if (a->prev_self && a->prev_self->timestamp_ms >= now) now = a->prev_self->timestamp_ms + 1;
    for (size_t i = 0; i < a->n_collectors; i++) push_vanished(a, a->collectors[i].latest, NULL, now);
    push_vanished(a, a->prev_self, NULL, now);
}

/* ---------------------------------------------------------------- lifecycle */

agent *agent_new(const config *cfg, trace_table *traces) {
    agent *a = xcalloc(1, sizeof *a);
    a->cfg = cfg;
    a->env.traces = traces;
    a->start_time_s = (double)now_ms() / 1000.0;
    pthread_mutex_init(&a->lock, NULL);
    cond_init_monotonic(&a->changed);
    snapshot_init(&a->snap);
    if (cfg->state_dir && mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST)
        log_kv(LOG_ERROR, "cannot make the state directory: counters start again at every start", "dir", cfg->state_dir, "error",
               strerror(errno), NULL);
    /* validated at start-up: compiles */
    a->has_exclude = cfg->metrics_exclude && *cfg->metrics_exclude &&
                     regcomp(&a->exclude, cfg->metrics_exclude, REG_EXTENDED | REG_NOSUB) == 0;
    size_t n = 0;
    while (all_collectors[n]) n++;
    a->collectors = xcalloc(n ? n : 1, sizeof *a->collectors);
    for (size_t i = 0; i < n; i++) {
        const collector_def *d = all_collectors[i];
        const collector_config *cc = &cfg->collectors[i];
        if (!cc->enabled) continue;
        const char *command = cc->command;
        /* JSON mode: the collector's --json command, unless the site set its own */
        if (command && !cfg->cli_fallback && d->json_command && !strcmp(command, d->command)) command = d->json_command;
        char **argv = command ? runner_split(command) : NULL;
        if (command && !argv) {
            log_kv(LOG_ERROR, "collector command is empty or has unbalanced quotes", "collector", d->name, "command", command,
                   NULL);
            agent_free(a);
            return NULL;
        }
        collector_rt *rt = &a->collectors[a->n_collectors++];
        if (!command) command = d->summary; /* an HTTP source: logs name what it reads */
        *rt = (collector_rt){.owner = a,
                             .def = d,
                             .argv = argv,
                             .command = command,
                             .interval = cc->interval,
                             .max_series = (size_t)cc->max_series,
                             .memory = restore_memory(cfg, d)};
        buf help = {0};
        buf_printf(&help, "how long the cmd [%s] took (ms)", command);
        rt->duration_help = help.data;
    }
    if (start_endpoints(a) < 0) {
        agent_free(a);
        return NULL;
    }
    return a;
}

snapshot *agent_snapshot(agent *a) { return &a->snap; }

void agent_set_listener(agent *a, listener *l) { a->listener = l; }

void agent_request_stop(agent *a) {
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    a->cancel = true;
    pthread_cond_broadcast(&a->changed);
    pthread_mutex_unlock(&a->lock);
}

/* Under systemd's watchdog (WatchdogSec=), how often the loop must say it is alive; 0: not watched. */
static double watchdog_period(void) {
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? (double)usec / 2e6 : 0;
}

int agent_run(agent *a) {
    log_kv(LOG_INFO, "starting", "version", SLURMPUSH_VERSION, "cycle_seconds", LOG_DBL(a->cfg->cycle_seconds), "collectors",
           LOG_INT(a->n_collectors), "remote_write_endpoints", LOG_INT(a->n_remote_write), NULL);
    sd_notify(0, "READY=1"); /* listener up, endpoints started: a Type=notify unit is now active */
    double watchdog = watchdog_period(), next_ping = 0;
    double next = mono_seconds();
    for (;;) {
        start_collectors(a);
        next += a->cfg->cycle_seconds;
        double now = mono_seconds();
        if (next < now) next = now + a->cfg->cycle_seconds - fmod(now - next, a->cfg->cycle_seconds);
        /* wait until this cycle's collectors are done (then finish the cycle), or the tick */
        bool finished = false;
        pthread_mutex_lock(&a->lock);
        for (;;) {
            if (a->stopping) break;
            if (!finished && !any_running(a)) {
                pthread_mutex_unlock(&a->lock);
                finish_cycle(a);
                finished = true;
                pthread_mutex_lock(&a->lock);
                continue;
            }
            double now_s = mono_seconds(), left = next - now_s;
            if (watchdog > 0 && now_s >= next_ping) { /* from the loop itself: a stuck loop stops the pings */
                sd_notify(0, "WATCHDOG=1");
                next_ping = now_s + watchdog;
            }
            if (left <= 0) break;
            if (watchdog > 0 && left > next_ping - now_s) left = next_ping - now_s;
            struct timespec until;
            monotonic_deadline(&until, left);
            pthread_cond_timedwait(&a->changed, &a->lock, &until);
        }
        bool stopping = a->stopping;
        pthread_mutex_unlock(&a->lock);
        if (!finished && !stopping) finish_cycle(a); /* a collector is late: publish what did complete */
        if (stopping) break;
    }
    sd_notify(0, "STOPPING=1");
    push_shutdown_markers(a);
    drain_at_stop(a);
    log_kv(LOG_INFO, "stopping", NULL);
    return 0;
}

int agent_run_once(agent *a, FILE *dry_run_out) {
    start_collectors(a);
    pthread_mutex_lock(&a->lock);
    while (any_running(a) && !a->stopping) pthread_cond_wait(&a->changed, &a->lock);
    bool collectors_ok = !any_running(a);
    for (size_t i = 0; i < a->n_collectors; i++) collectors_ok = collectors_ok && a->collectors[i].last_ok;
    pthread_mutex_unlock(&a->lock);
    int rc = collectors_ok ? 0 : 1;
    if (dry_run_out) {
        sample_set *self = agent_self_metrics(a);
        buf text = {0};
        compose_text(a, self, true, &text);
        fwrite(text.data ? text.data : "", 1, text.len, dry_run_out);
        fflush(dry_run_out);
        buf_free(&text);
        ss_free(self);
        return rc;
    }
    finish_cycle(a);
    double deadline = mono_seconds() + a->cfg->remote_write_timeout + 5; /* one bound for all endpoints */
    for (size_t i = 0; i < a->n_endpoints; i++) {
        sender_stats st;
        double left = deadline - mono_seconds();
        bool idle = sender_wait_idle(a->endpoints[i].s, left > 0 ? left : 0);
        sender_get_stats(a->endpoints[i].s, &st);
        if (!idle || st.requests_dropped || st.requests_evicted) {
            log_kv(LOG_ERROR, "push did not complete", "endpoint", a->endpoints[i].endpoint, "delivered",
                   idle ? "all" : "not all", "rejected_requests", LOG_INT(st.requests_dropped), NULL);
            rc = 1;
        }
    }
    return rc;
}

void agent_free(agent *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n_endpoints; i++) {
        sender_stop(a->endpoints[i].s);
        free((char *)a->endpoints[i].endpoint);
    }
    free(a->endpoints);
    free(a->pushgateway_group_url);
    for (size_t i = 0; i < a->n_collectors; i++) {
        collector_rt *rt = &a->collectors[i];
        if (rt->has_thread) pthread_join(rt->thread, NULL);
        ss_free(rt->latest);
        free(rt->argv);
        free(rt->duration_help);
        for (size_t k = 0; k < rt->n_noted && k < MAX_NOTED; k++) free(rt->noted[k]);
        if (rt->memory && rt->def->memory_release) rt->def->memory_release(rt->memory);
        free(rt->memory);
    }
    free(a->collectors);
    ss_free(a->prev_self);
    snapshot_destroy(&a->snap);
    if (a->has_exclude) regfree(&a->exclude);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->changed);
    free(a);
}
