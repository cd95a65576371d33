/* test_spool.c — the durable queue: order, acknowledged position across close/open, a crash
 * re-sends at most the one unacknowledged request, a torn tail is cut, a full spool drops the
 * oldest and counts it; damage in the middle costs only the damaged record, a damaged or emptied
 * position re-sends (counted) rather than lose, a second agent is refused, a drained spool gives
 * its space back (also after a full disk). */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

/* The one segment file of the spool (the tests below keep to one). */
static void segment_file(char *out, size_t outlen) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ls %s/*.seg", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)outlen, p));
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static void overwrite(const char *path, long off, const char *bytes) {
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, strlen(bytes), off), (ssize_t)strlen(bytes));
    close(fd);
}

static void write_cursor(const char *text) {
    char path[128];
    snprintf(path, sizeof path, "%s/cursor", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Records "r00".."r19", each HEADER (16) + 3 bytes: record i starts at 19*i. */
static void append_twenty(spool *s) {
    for (int i = 0; i < 20; i++) {
        char text[8];
        snprintf(text, sizeof text, "r%02d", i);
        append_text(s, text, (size_t)i + 1);
    }
}

static void expect_records(spool *s, const int *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char text[8];
        snprintf(text, sizeof text, "r%02d", want[i]);
        expect_next(s, text, (size_t)want[i] + 1);
        spool_ack(s);
    }
    uint8_t *body;
    size_t len, samples;
    assert_int_equal(spool_peek(s, &body, &len, &samples), 0);
}

static void test_damage_in_the_middle_costs_one_record(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    append_twenty(s);
    spool_close(s);
    char seg[128];
    segment_file(seg, sizeof seg);
    overwrite(seg, 9 * 19 + 17, "XY"); /* the body of record 9: its CRC no longer matches */
    s = open_spool(1 << 20);
    spool_stats stats;
    spool_get_stats(s, &stats);
    assert_int_equal(stats.recovered_records, 19);
    int want[19];
    for (int i = 0, k = 0; i < 20; i++)
        if (i != 9) want[k++] = i;
    expect_records(s, want, 19);
    spool_get_stats(s, &stats);
    assert_int_equal(stats.damaged_records, 1);
    assert_int_equal(stats.records, 0);
    assert_int_equal(stats.bytes, 0);
    spool_close(s);
}

static void test_damaged_header_and_length(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    append_twenty(s);
    spool_close(s);
    char seg[128];
    segment_file(seg, sizeof seg);
    overwrite(seg, 3 * 19 + 4, "\377\377\377\177"); /* record 3 claims 2 GB */
    overwrite(seg, 19 * 19 + 2, "zz");              /* the last record's magic: a damaged tail */
    s = open_spool(1 << 20);
    int want[18];
    for (int i = 0, k = 0; i < 19; i++)
        if (i != 3) want[k++] = i;
    expect_records(s, want, 18);
    append_text(s, "r20", 21); /* appends after a cut tail are read */
    expect_next(s, "r20", 21);
    spool_close(s);
}

static void test_cursor_into_a_record_resends_it(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    append_twenty(s);
    spool_close(s);
    char seg[128], text[64];
    segment_file(seg, sizeof seg);
    unsigned long long id = strtoull(strrchr(seg, '/') + 1, NULL, 10);
    snprintf(text, sizeof text, "%llu %d\n", id, 5 * 19 + 7); /* inside record 5 (the format without a CRC) */
    write_cursor(text);
    s = open_spool(1 << 20);
    int want[15];
    for (int i = 0; i < 15; i++) want[i] = 5 + i;
    expect_records(s, want, 15);
    spool_stats stats;
    spool_get_stats(s, &stats);
    assert_int_equal(stats.cursor_repairs, 1);
    spool_close(s);
    /* a position whose CRC does not match is damaged too: everything again, counted */
    snprintf(text, sizeof text, "%llu %d 12345\n", id, 5 * 19);
    write_cursor(text);
    s = open_spool(1 << 20);
    spool_get_stats(s, &stats);
    assert_int_equal(stats.cursor_repairs, 1);
    assert_int_equal(stats.recovered_records, 20);
    spool_close(s);
}

static void test_emptied_cursor_resends_counted(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    append_twenty(s);
    for (int i = 0; i < 12; i++) {
        uint8_t *body;
        size_t len, n;
        assert_int_equal(spool_peek(s, &body, &len, &n), 1);
        free(body);
        spool_ack(s);
    }
    spool_close(s);
    write_cursor("");
    s = open_spool(1 << 20);
    spool_stats stats;
    spool_get_stats(s, &stats);
    assert_int_equal(stats.cursor_repairs, 1); /* said, not silent */
    assert_int_equal(stats.recovered_records, 20);
    spool_close(s);
}

static void test_second_agent_is_refused(void **st) {
    (void)st;
    spool *s = open_spool(1 << 20);
    char err[512] = "";
    assert_null(spool_open(dir, 1 << 20, err, sizeof err));
    assert_non_null(strstr(err, "in use by another slurmpush"));
    char pid[32];
    snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
    assert_non_null(strstr(err, pid));
    spool_close(s);
    s = open_spool(1 << 20); /* released on close */
    spool_close(s);
}

static long long dir_bytes(void) {
    long long total = 0;
    char cmd[160], line[256];
    snprintf(cmd, sizeof cmd, "ls %s/*.seg", dir);
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        struct stat sb;
        if (stat(line, &sb) == 0) total += sb.st_size;
    }
    if (p) pclose(p);
    return total;
}

static void drain(spool *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t *body;
        size_t len, k;
        assert_int_equal(spool_peek(s, &body, &len, &k), 1);
        free(body);
        spool_ack(s);
    }
}

static void test_drained_spool_gives_space_back(void **st) {
    (void)st;
    spool *s = open_spool(16 << 20); /* segments of 4 MiB: all in one */
    char body[4001];
    memset(body, 'x', 4000);
    body[4000] = '\0';
    for (int i = 0; i < 100; i++) append_text(s, body, 1);
    assert_true(dir_bytes() > 400000);
    drain(s, 100);
    assert_true(dir_bytes() < 4096); /* started afresh */
    append_text(s, "after", 1);
    expect_next(s, "after", 1);
    spool_close(s);
}

static void test_full_disk_recovers_after_the_backlog(void **st) {
    (void)st;
    spool *s = open_spool(16 << 20);
    char body[4001];
    memset(body, 'y', 4000);
    body[4000] = '\0';
    /* a file size limit stands in for a full disk: writes past it fail */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim = {64 << 10, 64 << 10};
    getrlimit(RLIMIT_FSIZE, &old);
    lim.rlim_max = old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int ok = 0;
    while (spool_append(s, (const uint8_t *)body, 4000, 1) == 0) ok++;
    assert_int_equal(ok, (64 << 10) / 4016);
    assert_int_equal(dir_bytes(), ok * 4016); /* the failed record left nothing behind */
    drain(s, (size_t)ok);
    /* the backlog drained: the space is back and appends work again, under the same limit */
    for (int i = 0; i < 5; i++) append_text(s, body, 1);
    setrlimit(RLIMIT_FSIZE, &old);
    drain(s, 5);
    spool_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_restart, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_full_spool_drops_oldest, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_damage_in_the_middle_costs_one_record, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_damaged_header_and_length, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_cursor_into_a_record_resends_it, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_emptied_cursor_resends_counted, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_second_agent_is_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_drained_spool_gives_space_back, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_full_disk_recovers_after_the_backlog, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
