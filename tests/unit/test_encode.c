/* test_encode.c — encoders: Go-style value text, golden exposition text, and remote-write
 * bodies decoded back (snappy uncompress + protobuf-c unpack): labels, order, stale NaN. */
#include <math.h>
#include <setjmp.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "encode/labels.h"
#include "encode/remote_write.h"
#include "encode/text.h"
#include "agent/tally.h"
#include "remote.pb-c.h"
#include "remote2.pb-c.h"

static void test_format_value_like_go(void **st) {
    (void)st;
    char out[32];
    struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-1, "-1"},
        {114688, "114688"},
        {1823573, "1.823573e+06"},
        {2.048e9, "2.048e+09"},
        {1e6, "1e+06"},
        {999999, "999999"},
        {0.42, "0.42"},
        {1.68, "1.68"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {-8.1673e10, "-8.1673e+10"},
        {39.370000000000005, "39.370000000000005"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {1.5e300, "1.5e+300"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) assert_string_equal(format_value(cases[i].v, out), cases[i].want);
}

static sample_set *example_set(void) {
    sample_set *ss = ss_new(1700000000123);
    family *f = ss_family(ss, "slurm_user_state_total", "total jobs per state per user", METRIC_GAUGE, "username", "state", NULL);
    FAM_ADD(f, 2, "bob", "RUNNING");
    FAM_ADD(f, 1, "alice", "PENDING");
    FAM_ADD(f, 1, "alice", "PENDING");
    family *g = ss_family(ss, "slurm_cpus_total", "Total cpus", METRIC_GAUGE, NULL);
    fam_set(g, 10, NULL);
    family *h = ss_family(ss, "slurm_pending_reason_total", "help with \\ and\nnewline", METRIC_GAUGE, "reason", NULL);
    FAM_ADD(h, 1, "quote \" back \\ nl \n end");
    ss_finish(ss);
    return ss;
}

static void test_text_golden(void **st) {
    (void)st;
    sample_set *ss = example_set();
    label_pair extra[] = {{"cluster", "c1"}, {"state", "replaced"}};
    buf out = {0};
    const sample_set *sets[] = {ss};
    text_encode(sets, 1, extra, 1, false, &out);
    const char *want = "# HELP slurm_cpus_total Total cpus\n"
                       "# TYPE slurm_cpus_total gauge\n"
                       "slurm_cpus_total{cluster=\"c1\"} 10\n"
                       "# HELP slurm_pending_reason_total help with \\\\ and\\nnewline\n"
                       "# TYPE slurm_pending_reason_total gauge\n"
                       "slurm_pending_reason_total{cluster=\"c1\",reason=\"quote \\\" back \\\\ nl \\n end\"} 1\n"
                       "# HELP slurm_user_state_total total jobs per state per user\n"
                       "# TYPE slurm_user_state_total gauge\n"
                       "slurm_user_state_total{cluster=\"c1\",state=\"PENDING\",username=\"alice\"} 2\n"
                       "slurm_user_state_total{cluster=\"c1\",state=\"RUNNING\",username=\"bob\"} 2\n";
    assert_string_equal(out.data, want);
    buf_free(&out);
    /* an extra label named like a family label replaces it */
    text_encode(sets, 1, extra, 2, true, &out);
    assert_non_null(
        strstr(out.data, "slurm_user_state_total{cluster=\"c1\",state=\"replaced\",username=\"alice\"} 2 1700000000123\n"));
    buf_free(&out);
    ss_free(ss);
}

static void test_text_merges_same_family_across_sets(void **st) {
    (void)st;
    sample_set *a = ss_new(1), *b = ss_new(2);
    FAM_SET(ss_family(a, "slurmpush_collector_success", "h", METRIC_GAUGE, "collector", NULL), 1, "jobs");
    FAM_SET(ss_family(b, "slurmpush_collector_success", "h", METRIC_GAUGE, "collector", NULL), 0, "nodes");
    ss_family(b, "empty_family", "h", METRIC_GAUGE, NULL);
    ss_finish(a);
    ss_finish(b);
    const sample_set *sets[] = {a, b};
    buf out = {0};
    text_encode(sets, 2, NULL, 0, false, &out);
    assert_string_equal(out.data, "# HELP slurmpush_collector_success h\n# TYPE slurmpush_collector_success gauge\n"
                                  "slurmpush_collector_success{collector=\"jobs\"} 1\n"
                                  "slurmpush_collector_success{collector=\"nodes\"} 0\n");
    buf_free(&out);
    ss_free(a);
    ss_free(b);
}

typedef struct {
    Prometheus__WriteRequest *reqs[16];
    size_t n, samples[16];
} captured;

static void capture(void *ctx, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples) {
    free(body_v2);
    (void)len_v2;
    captured *c = ctx;
    size_t raw_len;
    assert_int_equal(snappy_uncompressed_length((const char *)body, len, &raw_len), SNAPPY_OK);
    char *raw = malloc(raw_len);
    assert_int_equal(snappy_uncompress((const char *)body, len, raw, &raw_len), SNAPPY_OK);
    c->reqs[c->n] = prometheus__write_request__unpack(NULL, raw_len, (const uint8_t *)raw);
    assert_non_null(c->reqs[c->n]);
    c->samples[c->n++] = samples;
    free(raw);
    free(body);
}

static void free_captured(captured *c) {
    for (size_t i = 0; i < c->n; i++) prometheus__write_request__free_unpacked(c->reqs[i], NULL);
}

static void test_remote_write_roundtrip(void **st) {
    (void)st;
    sample_set *ss = example_set();
    label_pair extra[] = {{"cluster", "c1"}};
    captured c = {0};
    rw_stats stats;
    const sample_set *sets[] = {ss};
    rw_encode(sets, 1, extra, 1, 2000, false, capture, &c, &stats);
    assert_int_equal(c.n, 1);
    assert_int_equal(stats.samples, 4);
    Prometheus__WriteRequest *wr = c.reqs[0];
    assert_int_equal(wr->n_timeseries, 4);
    for (size_t i = 0; i < wr->n_timeseries; i++) {
        Prometheus__TimeSeries *t = wr->timeseries[i];
        assert_string_equal(t->labels[0]->name, "__name__");
        for (size_t k = 1; k < t->n_labels; k++) assert_true(strcmp(t->labels[k - 1]->name, t->labels[k]->name) < 0);
        assert_int_equal(t->n_samples, 1);
        assert_int_equal(t->samples[0]->timestamp, 1700000000123);
    }
    /* first family as declared: slurm_user_state_total{state,username} sorted by values */
    Prometheus__TimeSeries *t = wr->timeseries[0];
    assert_string_equal(t->labels[0]->value, "slurm_user_state_total");
    assert_string_equal(t->labels[1]->name, "cluster");
    assert_string_equal(t->labels[2]->name, "state");
    assert_string_equal(t->labels[3]->name, "username");
    assert_string_equal(t->labels[3]->value, "alice");
    assert_true(t->samples[0]->value == 2);
    free_captured(&c);
    ss_free(ss);
}

/* HA pairs: a site's reserved "__" labels (Mimir's __replica__) reach remote-write with every label
 * still in order, wherever they sort against __name__; a family's own "__" label is still refused. */
static void test_remote_write_reserved_site_labels(void **st) {
    (void)st;
    sample_set *ss = example_set();
    label_pair extra[] = {{"cluster", "c1"}, {"__replica__", "ctl2"}, {"__A", "x"}};
    captured c = {0};
    rw_stats stats;
    const sample_set *sets[] = {ss};
    rw_encode(sets, 1, extra, 3, 2000, false, capture, &c, &stats);
    assert_int_equal(stats.invalid_skipped, 0);
    Prometheus__TimeSeries *t = c.reqs[0]->timeseries[0];
    const char *want[] = {"__A", "__name__", "__replica__", "cluster", "state", "username"};
    assert_int_equal(t->n_labels, 6);
    for (size_t k = 0; k < 6; k++) assert_string_equal(t->labels[k]->name, want[k]);
    assert_string_equal(t->labels[2]->value, "ctl2");
    free_captured(&c);
    ss_free(ss);
    sample_set *bad = ss_new(5);
    FAM_SET(ss_family(bad, "m", "h", METRIC_GAUGE, "__secret", NULL), 1, "v");
    ss_finish(bad);
    captured c2 = {0};
    const sample_set *bad_sets[] = {bad};
    rw_encode(bad_sets, 1, extra, 3, 2000, false, capture, &c2, &stats);
    assert_int_equal(stats.invalid_skipped, 1);
    free_captured(&c2);
    ss_free(bad);
}

static void test_remote_write_values_and_empty_labels(void **st) {
    (void)st;
    sample_set *ss = ss_new(5);
    family *f = ss_family(ss, "m", "h", METRIC_GAUGE, "feature", NULL);
    FAM_SET(f, 0, "");           /* empty value: label dropped, 0.0 still sent */
    FAM_SET(f, NAN, "nan");      /* left out, counted */
    FAM_SET(f, INFINITY, "inf"); /* left out, counted */
    FAM_SET(f, stale_nan(), "stale");
    ss_finish(ss);
    captured c = {0};
    rw_stats stats;
    const sample_set *sets[] = {ss};
    rw_encode(sets, 1, NULL, 0, 2000, false, capture, &c, &stats);
    assert_int_equal(stats.nonfinite_skipped, 2);
    assert_int_equal(c.reqs[0]->n_timeseries, 2);
    Prometheus__TimeSeries *empty = c.reqs[0]->timeseries[0];
    assert_int_equal(empty->n_labels, 1); /* only __name__ */
    assert_true(empty->samples[0]->value == 0);
    Prometheus__TimeSeries *stale = c.reqs[0]->timeseries[1];
    uint64_t bits;
    memcpy(&bits, &stale->samples[0]->value, sizeof bits);
    assert_true(bits == 0x7ff0000000000002ull);
    free_captured(&c);
    ss_free(ss);
}

static void test_remote_write_batches(void **st) {
    (void)st;
    sample_set *ss = ss_new(5);
    family *f = ss_family(ss, "m", "h", METRIC_GAUGE, "i", NULL);
    char name[16];
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof name, "%02d", i);
        FAM_SET(f, i, name);
    }
    ss_finish(ss);
    captured c = {0};
    rw_stats stats;
    const sample_set *sets[] = {ss};
    rw_encode(sets, 1, NULL, 0, 10, false, capture, &c, &stats);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.samples[0], 10);
    assert_int_equal(c.samples[2], 5);
    /* order kept across batches */
    assert_string_equal(c.reqs[1]->timeseries[0]->labels[1]->value, "10");
    free_captured(&c);
    ss_free(ss);
}

static void test_vanished_series_get_one_marker(void **st) {
    (void)st;
    sample_set *prev = ss_new(1), *next = ss_new(2);
    family *a = ss_family(prev, "jobs", "h", METRIC_GAUGE, "user", NULL);
    FAM_SET(a, 1, "alice");
    FAM_SET(a, 2, "bob");
    FAM_SET(ss_family(prev, "gone_family", "h", METRIC_GAUGE, NULL), 5, NULL);
    family *b = ss_family(next, "jobs", "h", METRIC_GAUGE, "user", NULL);
    FAM_SET(b, 7, "alice"); /* a changed value is no reason for a marker */
    FAM_SET(b, 1, "carol"); /* a new series neither */
    ss_finish(prev);
    ss_finish(next);
    sample_set *gone = ss_vanished(prev, next, 2000);
    assert_non_null(gone);
    assert_int_equal(gone->timestamp_ms, 2000);
    assert_int_equal(ss_series_count(gone), 2);
    assert_string_equal(gone->fams[0]->name, "jobs");
    assert_string_equal(gone->fams[0]->items[0].values[0], "bob");
    assert_true(is_stale_nan(gone->fams[0]->items[0].value));
    assert_string_equal(gone->fams[1]->name, "gone_family");
    assert_true(is_stale_nan(gone->fams[1]->items[0].value));
    ss_free(gone);
    assert_null(ss_vanished(next, next, 3)); /* nothing vanished */
    gone = ss_vanished(next, NULL, 4);       /* shutdown: everything */
    assert_int_equal(ss_series_count(gone), 2);
    ss_free(gone);
    ss_free(prev);
    ss_free(next);
}

typedef struct {
    Io__Prometheus__Write__V2__Request *req;
    Prometheus__WriteRequest *v1;
} captured_v2;

static void *unsnappy(const uint8_t *body, size_t len, size_t *raw_len) {
    assert_int_equal(snappy_uncompressed_length((const char *)body, len, raw_len), SNAPPY_OK);
    char *raw = malloc(*raw_len);
    assert_int_equal(snappy_uncompress((const char *)body, len, raw, raw_len), SNAPPY_OK);
    return raw;
}

static void capture_v2(void *ctx, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples) {
    (void)samples;
    captured_v2 *c = ctx;
    size_t n;
    void *raw = unsnappy(body, len, &n);
    c->v1 = prometheus__write_request__unpack(NULL, n, raw);
    free(raw);
    raw = unsnappy(body_v2, len_v2, &n);
    c->req = io__prometheus__write__v2__request__unpack(NULL, n, raw);
    free(raw);
    free(body);
    free(body_v2);
}

/* example_set with cluster="c1", encoded as 1.0 and 2.0 into c; the set, for the caller to free. */
static sample_set *encode_example_both_ways(captured_v2 *c) {
    sample_set *ss = example_set();
    label_pair extra[] = {{"cluster", "c1"}};
    rw_stats stats;
    const sample_set *sets[] = {ss};
    rw_encode(sets, 1, extra, 1, 2000, true, capture_v2, c, &stats);
    return ss;
}

static void test_remote_write_v2_same_samples(void **st) {
    (void)st;
    captured_v2 c = {0};
    sample_set *ss = encode_example_both_ways(&c);
    assert_non_null(c.req);
    assert_string_equal(c.req->symbols[0], "");
    assert_int_equal(c.req->n_timeseries, c.v1->n_timeseries);
    for (size_t i = 0; i < c.req->n_timeseries; i++) {
        Io__Prometheus__Write__V2__TimeSeries *t2 = c.req->timeseries[i];
        Prometheus__TimeSeries *t1 = c.v1->timeseries[i];
        assert_int_equal(t2->n_labels_refs, 2 * t1->n_labels);
        for (size_t k = 0; k < t1->n_labels; k++) {
            assert_true(t2->labels_refs[2 * k] < c.req->n_symbols && t2->labels_refs[2 * k + 1] < c.req->n_symbols);
            assert_string_equal(c.req->symbols[t2->labels_refs[2 * k]], t1->labels[k]->name);
            assert_string_equal(c.req->symbols[t2->labels_refs[2 * k + 1]], t1->labels[k]->value);
        }
        assert_true(t2->samples[0]->value == t1->samples[0]->value);
        assert_int_equal(t2->samples[0]->timestamp, t1->samples[0]->timestamp);
        assert_int_equal(t2->metadata->type, IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_GAUGE);
        assert_true(t2->metadata->help_ref > 0);
    }
    io__prometheus__write__v2__request__free_unpacked(c.req, NULL);
    prometheus__write_request__free_unpacked(c.v1, NULL);
    ss_free(ss);
}

/* The 2.0 body against a golden list written by hand from example_set (not against the 1.0 encoder):
 * each series rendered from the symbol table as name{labels} value @timestamp, labels sorted, the help
 * and type from the metadata; every symbol once. */
static void test_remote_write_v2_golden(void **st) {
    (void)st;
    captured_v2 c = {0};
    sample_set *ss = encode_example_both_ways(&c);
    const char *want[] = {
        "slurm_user_state_total{cluster=c1,state=PENDING,username=alice} 2 @1700000000123 gauge \"total jobs per state per "
        "user\"",
        "slurm_user_state_total{cluster=c1,state=RUNNING,username=bob} 2 @1700000000123 gauge \"total jobs per state per user\"",
        "slurm_cpus_total{cluster=c1} 10 @1700000000123 gauge \"Total cpus\"",
        "slurm_pending_reason_total{cluster=c1,reason=quote \" back \\ nl \n end} 1 @1700000000123 gauge \"help with \\ "
        "and\nnewline\"",
    };
    size_t n_want = sizeof want / sizeof *want;
    assert_int_equal(c.req->n_timeseries, n_want);
    Io__Prometheus__Write__V2__Request *r = c.req;
    for (size_t i = 1; i < r->n_symbols; i++)
        for (size_t k = 0; k < i; k++)
            if (!strcmp(r->symbols[i], r->symbols[k])) fail_msg("symbol \"%s\" twice", r->symbols[i]);
    bool seen[8] = {0};
    for (size_t i = 0; i < r->n_timeseries; i++) {
        Io__Prometheus__Write__V2__TimeSeries *t = r->timeseries[i];
        buf line = {0};
        assert_string_equal(r->symbols[t->labels_refs[0]], "__name__");
        buf_printf(&line, "%s{", r->symbols[t->labels_refs[1]]);
        for (size_t k = 2; k < t->n_labels_refs; k += 2) {
            if (k > 2) assert_true(strcmp(r->symbols[t->labels_refs[k - 2]], r->symbols[t->labels_refs[k]]) < 0);
            buf_printf(&line, "%s%s=%s", k > 2 ? "," : "", r->symbols[t->labels_refs[k]], r->symbols[t->labels_refs[k + 1]]);
        }
        assert_int_equal(t->n_samples, 1);
        buf_printf(&line, "} %g @%lld %s \"%s\"", t->samples[0]->value, (long long)t->samples[0]->timestamp,
                   t->metadata->type == IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_GAUGE ? "gauge" : "other",
                   r->symbols[t->metadata->help_ref]);
        size_t k = 0;
        while (k < n_want && strcmp(want[k], line.data)) k++;
        if (k == n_want || seen[k]) fail_msg("unexpected or repeated series: %s", line.data);
        seen[k] = true;
        buf_free(&line);
    }
    io__prometheus__write__v2__request__free_unpacked(c.req, NULL);
    prometheus__write_request__free_unpacked(c.v1, NULL);
    ss_free(ss);
}

/* A classic histogram from the tally, as every output shows it: one HELP/TYPE histogram block with its
 * buckets in bound order (+Inf last, not string order), _sum and _count; remote-write 2.0 metadata says
 * histogram for all three parts. */
static void test_histogram_everywhere(void **st) {
    (void)st;
    static const double bounds[] = {1, 10, 100};
    tally t;
    tally_init(&t, 1, bounds, 3);
    const char *p[] = {"debug"};
    tally_observe(&t, p, 0.5);
    tally_observe(&t, p, 50);
    tally_observe(&t, p, 5000);
    sample_set *ss = ss_new(1700000000123);
    family *h = ss_histogram(ss, "slurm_job_run_seconds", "how long", (const char *const[]){"partition", NULL});
    tally_emit(&t, h);
    ss_finish(ss);
    buf out = {0};
    const sample_set *sets[] = {ss};
    text_encode(sets, 1, NULL, 0, false, &out);
    assert_string_equal(out.data, "# HELP slurm_job_run_seconds how long\n"
                                  "# TYPE slurm_job_run_seconds histogram\n"
                                  "slurm_job_run_seconds_bucket{le=\"1\",partition=\"debug\"} 1\n"
                                  "slurm_job_run_seconds_bucket{le=\"10\",partition=\"debug\"} 1\n"
                                  "slurm_job_run_seconds_bucket{le=\"100\",partition=\"debug\"} 2\n"
                                  "slurm_job_run_seconds_bucket{le=\"+Inf\",partition=\"debug\"} 3\n"
                                  "slurm_job_run_seconds_count{partition=\"debug\"} 3\n"
                                  "slurm_job_run_seconds_sum{partition=\"debug\"} 5050.5\n");
    buf_free(&out);
    captured_v2 c = {0};
    rw_stats stats;
    rw_encode(sets, 1, NULL, 0, 2000, true, capture_v2, &c, &stats);
    assert_int_equal(c.req->n_timeseries, 6);
    for (size_t i = 0; i < c.req->n_timeseries; i++)
        assert_int_equal(c.req->timeseries[i]->metadata->type,
                         IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_HISTOGRAM);
    io__prometheus__write__v2__request__free_unpacked(c.req, NULL);
    prometheus__write_request__free_unpacked(c.v1, NULL);
    /* saved and loaded back: the same rows; other bounds refuse the document */
    json_object *doc = tally_save(&t);
    tally back, other;
    tally_init(&back, 1, bounds, 3);
    assert_int_equal(tally_load(&back, doc), 0);
    assert_int_equal(back.n, 1);
    assert_true(back.rows[0].value == 3 && back.rows[0].sum == 5050.5 && back.rows[0].buckets[3] == 1);
    static const double other_bounds[] = {1, 10, 1000};
    tally_init(&other, 1, other_bounds, 3);
    assert_int_equal(tally_load(&other, doc), -1);
    json_object_put(doc);
    tally_free(&back);
    tally_free(&other);
    tally_free(&t);
    ss_free(ss);
}

static void test_stale_nan_bits(void **st) {
    (void)st;
    double v = stale_nan();
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    assert_true(bits == 0x7ff0000000000002ull);
    assert_true(is_stale_nan(v));
    assert_false(is_stale_nan(NAN));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_value_like_go),
        cmocka_unit_test(test_text_golden),
        cmocka_unit_test(test_text_merges_same_family_across_sets),
        cmocka_unit_test(test_remote_write_roundtrip),
        cmocka_unit_test(test_remote_write_reserved_site_labels),
        cmocka_unit_test(test_remote_write_values_and_empty_labels),
        cmocka_unit_test(test_remote_write_batches),
        cmocka_unit_test(test_stale_nan_bits),
        cmocka_unit_test(test_histogram_everywhere),
        cmocka_unit_test(test_remote_write_v2_same_samples),
        cmocka_unit_test(test_remote_write_v2_golden),
        cmocka_unit_test(test_vanished_series_get_one_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
