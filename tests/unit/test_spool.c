/* test_spool.c — the durable queue: order, acknowledged position across close/open, a crash
 * re-sends at most the one unacknowledged request, a torn tail is cut, a full spool drops the
 * oldest and counts it. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/spool.h"
#include "agent/util.h"

static char dir[64];

static int make_dir(void **st) {
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/slurmpush-spool-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **st) {
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static spool *open_spool(uint64_t max) {
    char err[256];
    spool *s = spool_open(dir, max, err, sizeof err);
    if (!s) fail_msg("%s", err);
    return s;
}

static void append_text(spool *s, const char *text, size_t samples) {
    assert_int_equal(spool_append(s, (const uint8_t *)text, strlen(text), samples), 0);
}

static void expect_next(spool *s, const char *text, size_t samples) {
    uint8_t *body;
    size_t len, n;
    assert_int_equal(spool_peek(s, &body, &len, &n), 1);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(body, text, len);
    assert_int_equal(n, samples);
    free(body);
}

static void test_order_and_restart(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    append_text(s, "one", 1);
    append_text(s, "two", 2);
    append_text(s, "three", 3);
    expect_next(s, "one", 1);
    spool_ack(s);
    expect_next(s, "two", 2); /* in flight, not acknowledged: a crash now */
    spool_close(s);
    s = open_spool(1 << 20);
    spool_stats stats;
    spool_get_stats(s, &stats);
    assert_int_equal(stats.recovered_records, 2);
    expect_next(s, "two", 2); /* re-sent once: at most one request twice */
    spool_ack(s);
    expect_next(s, "three", 3);
    spool_ack(s);
    uint8_t *body;
    size_t len, n;
    assert_int_equal(spool_peek(s, &body, &len, &n), 0);
    spool_close(s);
    s = open_spool(1 << 20); /* a clean stop after all was sent: nothing comes back */
    spool_get_stats(s, &stats);
    assert_int_equal(stats.recovered_records, 0);
    spool_close(s);
}

static void test_torn_tail_is_cut(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    append_text(s, "kept", 1);
    spool_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/*.seg; do printf 'SPR1\\377\\377garbage' >> $f; done", dir);
    assert_int_equal(system(cmd), 0);
    s = open_spool(1 << 20);
    expect_next(s, "kept", 1);
    spool_ack(s);
    append_text(s, "after", 1); /* appends land after the cut, readable */
    expect_next(s, "after", 1);
    spool_close(s);
}

static void test_full_spool_drops_oldest(void **st) {
    (void)st;
    spool *s = open_spool(64 * 1024); /* segments of 16 KiB */
    char body[4000];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        body[0] = (char)('A' + i % 26);
        append_text(s, body, 10);
    }
    spool_stats stats;
    spool_get_stats(s, &stats);
    assert_true(stats.dropped_records > 0);
    assert_int_equal(stats.dropped_samples, stats.dropped_records * 10);
    assert_true(stats.bytes <= 64 * 1024);
    assert_int_equal(stats.records + stats.dropped_records, 40);
    uint8_t *got;
    size_t len, n;
    assert_int_equal(spool_peek(s, &got, &len, &n), 1);
    assert_int_equal(got[0], 'A' + (int)stats.dropped_records % 26); /* the oldest kept one */
    free(got);
    spool_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_restart, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_full_spool_drops_oldest, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
