/* test_collectors.c — the parsers line by line: hostile and malformed lines are refused
 * with a reason (the run then fails: no series built from garbage), sentinel values never
 * reach a sum, and Slurm's memory units are read right. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "agent/collector.h"
#include "agent/hostlist.h"

static const collector_def *find(const char *name) {
    for (size_t i = 0; all_collectors[i]; i++)
        if (!strcmp(all_collectors[i]->name, name)) return all_collectors[i];
    fail_msg("no collector %s", name);
    return NULL;
}

/* Feeds lines; returns the index of the first refused line or -1, and the set (caller frees). */
static int feed(const collector_def *d, const char *const *lines, sample_set **out) {
    sample_set *ss = ss_new(1);
    void *state = calloc(1, d->state_size);
    if (d->begin) d->begin(state, ss, &(collect_env){0});
    int refused = -1;
    for (int i = 0; lines[i] && refused < 0; i++) {
        char *copy = strdup(lines[i]), why[160] = "";
        if (d->parse_line(state, copy, strlen(copy), why, sizeof why)) {
            refused = i;
            assert_true(why[0] != '\0'); /* always a reason for the log */
        }
        free(copy);
    }
    char why[160];
    if (refused < 0 && d->end && d->end(state, ss, why, sizeof why)) refused = 1000;
    if (d->release) d->release(state);
    free(state);
    ss_finish(ss);
    /* every family a run makes is one its descriptor declares (the README tables come from those) */
    for (size_t i = 0; !d->dynamic_families && i < ss->n; i++) {
        bool declared = false;
        for (const family_def *f = d->families; f && f->name; f++)
            declared = declared || !strcmp(f->name, family_metadata_name(ss->fams[i]));
        if (!declared) fail_msg("%s emitted %s, which its descriptor does not declare", d->name, ss->fams[i]->name);
    }
    *out = ss;
    return refused;
}

static double value_of(const sample_set *ss, const char *fam, const char *const *values) {
    for (size_t i = 0; i < ss->n; i++) {
        const family *f = ss->fams[i];
        if (strcmp(f->name, fam)) continue;
        for (size_t k = 0; k < f->n; k++) {
            bool same = true;
            for (size_t j = 0; j < f->nlabels; j++) same = same && !strcmp(f->items[k].values[j], values[j]);
            if (same) return f->items[k].value;
        }
    }
    return NAN;
}

static void test_memory_units(void **st) {
    (void)st;
    double si, bin;
    assert_int_equal(parse_slurm_memory("64M", &si, &bin), 0);
    assert_true(si == 64e6 && bin == 64.0 * 1048576);
    assert_int_equal(parse_slurm_memory("62.50G", &si, &bin), 0);
    assert_true(si == 62.5e9);
    assert_int_equal(parse_slurm_memory("2048", &si, &bin), 0); /* no unit = MB */
    assert_true(si == 2048e6);
    assert_int_equal(parse_slurm_memory("1T", &si, &bin), 0);
    assert_true(si == 1e12);
    assert_int_equal(parse_slurm_memory("512K", &si, &bin), 0);
    assert_true(si == 512e3 && bin == 512.0 * 1024);
    assert_int_equal(parse_slurm_memory("N/A", &si, &bin), 0);
    assert_true(si == 0);
    const char *bad[] = {"12X",  "abc", "-5M", "5MB", "inf", "nan",  "1e999",   "+3M", "99999999999999999999999G",
                         "0x1G", " 5G", "5G ", "1.G", ".5G", "1e3M", "9000000P"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (parse_slurm_memory(bad[i], &si, &bin) == 0) fail_msg("accepted memory %s", bad[i]);
}

/* The fast time parse equals strptime + mktime, with and without its cache, across DST changes in two
 * zones; malformed times are refused. */
static void test_slurm_times(void **st) {
    (void)st;
    const char *zones[] = {"Europe/Berlin", "America/New_York", "UTC"};
    const char *times[] = {"2026-03-29T01:59:59", "2026-03-29T03:00:00", "2026-10-25T02:30:00", "2026-10-25T03:00:01",
                           "2026-03-08T01:30:00", "2026-03-08T03:30:00", "2026-11-01T01:30:00", "2026-12-04T04:02:49",
                           "2000-02-29T23:59:59", "1999-12-31T00:00:00", "2038-01-19T03:14:08"};
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        setenv("TZ", zones[z], 1);
        tzset();
        slurm_time_cache cache = {0};
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
                struct tm tm = {0};
                assert_non_null(strptime(times[i], "%Y-%m-%dT%H:%M:%S", &tm));
                tm.tm_isdst = -1;
                double want = (double)mktime(&tm), got = 0, cached = 0;
                assert_true(parse_slurm_time(times[i], &got));
                assert_true(parse_slurm_time_cached(times[i], &cached, &cache));
                if (got != want || cached != want) fail_msg("%s in %s: %f / %f, want %f", times[i], zones[z], got, cached, want);
            }
    }
    unsetenv("TZ");
    tzset();
    const char *bad[] = {"N/A",
                         "Unknown",
                         "NONE",
                         "2026-13-01T00:00:00",
                         "2026-12-04 04:02:49",
                         "2026-12-04T04:02:4",
                         "2026-12-04T04:02:49Z",
                         "２026-12-04T04:02:49",
                         ""};
    double t;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (parse_slurm_time(bad[i], &t)) fail_msg("accepted time %s", bad[i]);
}

static void test_jobs_counts(void **st) {
    (void)st;
    const char *lines[] = {
        "1|bob|chem|debug|RUNNING|4|1G|cpu=4,mem=1G,node=1|None",
        "2|bob|chem|debug|RUNNING|2|512M|cpu=2,mem=1024M,node=1|None",
        "3|ann|phys|gpu|PENDING|1|0|cpu=1,mem=2G,node=1|ReqNodeNotAvail, UnavailableNodes:c[1-4]",
        "4|ann|phys|gpu|PENDING|1|0||Reason|with|pipes",
        /* the twelve columns (times before the reason), a reason with pipes too */
        "5|ann|phys|gpu|PENDING|1|0||2026-12-03T10:00:00|N/A|N/A|Reason|with|pipes",
        "",
        NULL,
    };
    sample_set *ss;
    assert_int_equal(feed(find("jobs"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_user_state_total", (const char *[]){"RUNNING", "bob"}) == 2);
    assert_true(value_of(ss, "slurm_user_cpu_alloc", (const char *[]){"RUNNING", "bob"}) == 6);
    assert_true(value_of(ss, "slurm_user_mem_alloc", (const char *[]){"RUNNING", "bob"}) == 1.512e9);
    assert_true(value_of(ss, "slurm_user_mem_alloc_bytes", (const char *[]){"RUNNING", "bob"}) == 2.0 * 1073741824);
    assert_true(value_of(ss, "slurm_pending_reason_total", (const char *[]){"(ReqNodeNotAvail, UnavailableNodes)"}) == 1);
    assert_true(value_of(ss, "slurm_pending_reason_total", (const char *[]){"Reason|with|pipes"}) == 2);
    /* zero-memory pending jobs: omitted from the seed's "> 0 only" memory family */
    assert_true(isnan(value_of(ss, "slurm_user_mem_alloc", (const char *[]){"PENDING", "ann"})));
    assert_true(value_of(ss, "slurm_feature_total", (const char *[]){""}) == 5);
    ss_free(ss);
}

static void test_jobs_garbage_refused(void **st) {
    (void)st;
    const char *cases[] = {
        "garbage",
        "1|bob|chem|debug|RUNNING|four|1G|cpu=4|None",
        "1|bob|chem|debug|RUNNING|4|lots|cpu=4|None",
        "1|bob|chem|debug|RUNNING|-4|1G|cpu=4|None",
        "1|bob|chem|debug|RUNNING|4|1G|mem=12Q|None",
        "|bob|chem|debug|RUNNING|4|1G|cpu=4|None",
        "{\"a\": \"x\", \"id\": 1, \"cpu\": \"many\"}",
        "{\"a\": [1], \"id\": 1}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *lines[] = {"1|bob|chem|debug|RUNNING|4|1G|cpu=4,mem=1G|None", cases[i], NULL};
        sample_set *ss;
        if (feed(find("jobs"), lines, &ss) != 1) fail_msg("accepted job line %s", cases[i]);
        ss_free(ss);
    }
}

static void test_nodes_merge_and_sentinels(void **st) {
    (void)st;
    const char *lines[] = {
        "n1|debug*|allocated|2/0/0/2|0.50|2048|1000|512|1", "n1|long|allocated|2/0/0/2|0.50|2048|1000|512|1",
        "n2|debug*|down*|0/0/4/4|N/A|4096|N/A|0|10",        "n3|debug*|idle|0/8/0/8|0.01|8192|8000|0|1",
        "n3|long|drained|0/8/0/8|0.01|8192|8000|0|1",       NULL,
    };
    sample_set *ss;
    assert_int_equal(feed(find("nodes"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_cpus_total", NULL) == 14);              /* each node once */
    assert_true(fabs(value_of(ss, "slurm_cpu_load", NULL) - 0.51) < 1e-12); /* N/A adds nothing */
    assert_true(value_of(ss, "slurm_mem_free", NULL) == 9000e6);
    assert_true(value_of(ss, "slurm_mem_alloc", NULL) == 512e6);
    assert_true(value_of(ss, "slurm_partition_total_cpus", (const char *[]){"debug"}) == 14);
    assert_true(value_of(ss, "slurm_partition_total_cpus", (const char *[]){"long"}) == 10);
    assert_true(value_of(ss, "slurm_node_count_per_state", (const char *[]){"idle&drained"}) == 1);
    assert_true(value_of(ss, "slurm_partition_weight", (const char *[]){"debug"}) == 12);
    assert_true(value_of(ss, "slurm_cpus_per_state", (const char *[]){"down*"}) == 4);
    ss_free(ss);
}

static void test_nodes_garbage_refused(void **st) {
    (void)st;
    const char *cases[] = {
        "n1|debug|idle|2/0/0|0.5|2048|1000|0|1",
        "n1|debug|idle|2/0/0/2|high|2048|1000|0|1",
        "n1|debug|idle|2/0/0/2|0.5|2048+|1000|0|1",
        "n1|debug|idle|2/0/0/2|0.5|2048|1000|0|1|extra",
        "n1|debug|idle|2/0/0/2|0.5|2048|1000|0",
        "|debug|idle|2/0/0/2|0.5|2048|1000|0|1",
        "{\"s\": \"idle\", \"mem\": 2048}", /* no cstate */
        "{not json",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *lines[] = {cases[i], NULL};
        sample_set *ss;
        if (feed(find("nodes"), lines, &ss) != 0) fail_msg("accepted node line %s", cases[i]);
        ss_free(ss);
    }
}

static void test_hostile_long_line(void **st) {
    (void)st;
    size_t n = 1 << 20;
    char *line = malloc(n + 1);
    memset(line, '|', n);
    line[n] = '\0';
    const char *lines[] = {line, NULL};
    sample_set *ss;
    assert_int_equal(feed(find("jobs"), lines, &ss), 0);
    ss_free(ss);
    assert_int_equal(feed(find("nodes"), lines, &ss), 0);
    ss_free(ss);
    free(line);
}

/* the seed's own fallback fixtures (fixtures/seed, *_fallback.txt): its line format still works */
static void test_seed_line_formats(void **st) {
    (void)st;
    const char *nodes[] = {
        "{\"s\": \"completing\", \"mem\": 770000, \"n\": \"cs156\", \"l\": \"N/A\", \"p\": \"hw\", \"fmem\": \"N/A\", "
        "\"cstate\": \"56/8/0/64\", \"w\": 1}",
        "{\"s\": \"allocated\", \"mem\": 1000000, \"n\": \"cs25\", \"l\": \"20.66\", \"p\": \"hw\", \"fmem\": \"89124\", "
        "\"cstate\": \"64/0/0/64\", \"w\": 1}",
        "{\"s\": \"allocated\", \"mem\": 1000000, \"n\": \"cs25\", \"l\": \"20.66\", \"p\": \"cdn\", \"fmem\": \"89124\", "
        "\"cstate\": \"64/0/0/64\", \"w\": 1}",
        NULL,
    };
    sample_set *ss;
    assert_int_equal(feed(find("nodes"), nodes, &ss), -1);
    assert_true(value_of(ss, "slurm_partition_alloc_cpus", (const char *[]){"cdn", "allocated"}) == 64);
    assert_true(value_of(ss, "slurm_partition_free_mem", (const char *[]){"cdn"}) == 89124e6);
    assert_true(value_of(ss, "slurm_partition_free_mem", (const char *[]){"hw"}) == 89124e6); /* N/A adds nothing */
    assert_true(value_of(ss, "slurm_cpus_total", NULL) == 128);
    assert_true(fabs(value_of(ss, "slurm_cpu_load", NULL) - 20.66) < 1e-12);
    ss_free(ss);
    const char *jobs[] = {
        "{\"a\": \"account1\", \"id\": 26515966, \"end_time\": \"2023-09-21T00:21:42\", \"state\": \"RUNNING\", \"p\": \"hw-h\", "
        "\"cpu\": 1, \"mem\": \"128G\", \"array_id\": \"N/A\", \"r\":  \"cs10\"}",
        "{\"a\": \"account1\", \"id\": 50580016, \"end_time\": \"2023-09-21T14:31:11\", \"state\": \"RUNNING\", \"p\": \"hw-l\", "
        "\"cpu\": 1, \"mem\": \"62.50G\", \"array_id\": \"N/A\", \"r\":  \"cs10\"}",
        "{\"a\": \"account1\", \"id\": 51447052, \"end_time\": \"N/A\", \"state\": \"PENDING\", \"p\": \"hw-h\", \"cpu\": 1, "
        "\"mem\": \"40000M\", \"array_id\": \"N/A\", \"r\":  \"((ReqNodeNotAvail, UnavailableNodes:cs[100,101,102]))\"}",
        NULL,
    };
    assert_int_equal(feed(find("jobs"), jobs, &ss), -1);
    assert_true(value_of(ss, "slurm_account_job_state_mem_alloc", (const char *[]){"account1", "RUNNING"}) == 128e9 + 62.5e9);
    assert_true(value_of(ss, "slurm_pending_reason_total", (const char *[]){"(ReqNodeNotAvail, UnavailableNodes)"}) == 1);
    assert_true(value_of(ss, "slurm_user_state_total", (const char *[]){"PENDING", ""}) == 1); /* no "u" key: username "" */
    ss_free(ss);
    /* the seed's fixture's broken lines ("cpu": xx) are refused: the run fails, nothing half-counted */
    const char *broken[] = {"{\"a\": \"account1\", \"id\": 18805, \"state\": \"PENDING\", \"p\": \"magma\", \"cpu\": xx}", NULL};
    assert_int_equal(feed(find("jobs"), broken, &ss), 0);
    ss_free(ss);
}

static void test_licenses_diags_limits_refuse_garbage(void **st) {
    (void)st;
    struct {
        const char *collector, *line;
    } cases[] = {
        {"licenses", "garbage"},
        {"licenses", "LicenseName=x Total=many Used=0"},
        {"licenses", "LicenseName=x Total=-3"},
        {"diags", "not sdiag"},
        {"limits", "a|b|c"},
        {"limits", "|acct|lots||||"},
        {"limits", "|acct|1|2|3|4|5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *lines[] = {cases[i].line, NULL};
        sample_set *ss;
        if (feed(find(cases[i].collector), lines, &ss) != 0) fail_msg("%s accepted %s", cases[i].collector, cases[i].line);
        ss_free(ss);
    }
    const char *rpc[] = {"*****", "Remote Procedure Call statistics by user", "\troot (0) count:x", NULL};
    sample_set *ss;
    assert_int_equal(feed(find("diags"), rpc, &ss), 2);
    ss_free(ss);
}

static void test_limits_duplicate_accounts_once(void **st) {
    (void)st;
    const char *lines[] = {"|acct|10|1000|5|50", "|acct|10|1000|5|50", "user|acct|99|99|99|99", "|other||||", NULL};
    sample_set *ss;
    assert_int_equal(feed(find("limits"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_account_cpu_limit", (const char *[]){"acct"}) == 10);
    assert_true(value_of(ss, "slurm_account_mem_limit", (const char *[]){"acct"}) == 1000e6);
    assert_true(isnan(value_of(ss, "slurm_account_cpu_limit", (const char *[]){"other"})));
    ss_free(ss);
}

static void test_info(void **st) {
    (void)st;
    sample_set *ss;
    const char *good[] = {"Configuration data as of 2026-12-01T10:00:00",
                          "AccountingStorageType   = accounting_storage/slurmdbd",
                          "ClusterName             = testlab",
                          "SLURM_VERSION           = 24.11.5",
                          "SLURM_VERSION_X = 1",
                          NULL};
    assert_int_equal(feed(find("info"), good, &ss), -1);
    assert_true(value_of(ss, "slurm_info", (const char *[]){"24.11.5", "testlab"}) == 1);
    assert_int_equal(ss_series_count(ss), 1);
    ss_free(ss);
    const char *no_version[] = {"ClusterName = testlab", "garbage", NULL};
    assert_int_equal(feed(find("info"), no_version, &ss), 1000); /* refused at the end: no version line */
    ss_free(ss);
    const char *bad[][2] = {{"SLURM_VERSION = abc", NULL},
                            {"SLURM_VERSION = 24.11 5", NULL},
                            {"SLURM_VERSION = ", NULL},
                            {"SLURM_VERSION = 24.11.5\x01", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *lines[] = {bad[i][0], NULL};
        assert_int_equal(feed(find("info"), lines, &ss), 0);
        ss_free(ss);
    }
}

static const family *family_named(const sample_set *ss, const char *name) {
    for (size_t i = 0; i < ss->n; i++)
        if (!strcmp(ss->fams[i]->name, name)) return ss->fams[i];
    return NULL;
}

static void test_native_exposition(void **st) {
    (void)st;
    sample_set *ss;
    const char *good[] = {"# HELP slurm_nodes Total number of nodes",
                          "# TYPE slurm_nodes gauge",
                          "slurm_nodes 5",
                          "# TYPE req counter",
                          "req_total{code=\"200\"} 7 1700000000000",
                          "# UNIT x seconds",
                          "odd{a=\"q\\\"uote\\\\ and\\nnl\",b=\"\",} +Inf",
                          "nan_value NaN",
                          "",
                          "# EOF",
                          "after_eof_next_body 1",
                          NULL};
    assert_int_equal(feed(find("native"), good, &ss), -1);
    assert_true(value_of(ss, "slurm_nodes", NULL) == 5);
    assert_string_equal(family_named(ss, "slurm_nodes")->help, "Total number of nodes");
    assert_true(value_of(ss, "req_total", (const char *[]){"200"}) == 7); /* the timestamp is not the value */
    assert_int_equal(family_named(ss, "req_total")->type, METRIC_COUNTER);
    assert_true(isinf(value_of(ss, "odd", (const char *[]){"q\"uote\\ and\nnl", ""})));
    assert_true(isnan(value_of(ss, "nan_value", NULL)));
    assert_true(value_of(ss, "after_eof_next_body", NULL) == 1);
    ss_free(ss);
    const char *bad[] = {"{a=\"b\"} 1",   "name",      "name{a=\"b} 1",     "name{a=b} 1",      "name 1e",
                         "name nan",      "name 0x10", "name{a=\"\\q\"} 1", "name{1a=\"b\"} 1", "# HELP  two_spaces",
                         "name{a=\"b\"}1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *lines[] = {bad[i], NULL};
        if (feed(find("native"), lines, &ss) != 0) fail_msg("native accepted \"%s\"", bad[i]);
        ss_free(ss);
    }
    const char *mixed[] = {"m{a=\"1\"} 1", "m{b=\"1\"} 2", NULL}; /* one family, two label sets */
    assert_int_equal(feed(find("native"), mixed, &ss), 1);
    ss_free(ss);
}

static void test_controller(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {"Slurmctld(primary) at ctl1 is DOWN", "Slurmctld(backup1) at ctl2 is UP", "", "*****", NULL};
    assert_int_equal(feed(find("controller"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_controller_up", (const char *[]){"ctl1", "primary"}) == 0);
    assert_true(value_of(ss, "slurm_controller_up", (const char *[]){"ctl2", "backup"}) == 1);
    ss_free(ss);
    const char *bad[] = {"slurm_load_ctl_conf error", "Slurmctld(primary) at vm is MAYBE", NULL};
    for (int i = 0; bad[i]; i++) {
        const char *one[] = {bad[i], NULL};
        assert_int_equal(feed(find("controller"), one, &ss), 0);
        ss_free(ss);
    }
    const char *none[] = {"", NULL};
    assert_int_equal(feed(find("controller"), none, &ss), 1000); /* no controller named: refused */
    ss_free(ss);
    /* scontrol ping exits 1 when a controller is down: still an answer */
    config cfg = {.cli_timeout = 5, .cli_max_output = 1 << 20};
    char *argv[] = {"sh", "-c", "echo 'Slurmctld(primary) at vm is DOWN'; exit 1", NULL};
    run_result res;
    ss = collector_run(find("controller"), argv, &cfg, &(collect_env){0}, NULL, &res);
    assert_int_equal(res.status, RUN_OK);
    ss_finish(ss);
    assert_true(value_of(ss, "slurm_controller_up", (const char *[]){"vm", "primary"}) == 0);
    ss_free(ss);
}

static void test_fairshare(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {"Account|User|RawShares|NormShares|RawUsage|NormUsage|EffectvUsage|FairShare|LevelFS",
                           "root|||0.000000|870||1.000000||",
                           " root|root|1|0.009901|0|0.000000|0.000000|1.000000|inf",
                           "  biology||20|0.200000|564|0.647907|0.647907||0.308686",
                           "  biology||99|0.9|0|0|0||1", /* the same account again: counted once */
                           NULL};
    assert_int_equal(feed(find("fairshare"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_account_fairshare", (const char *[]){"biology"}) == 0.308686); /* LevelFS */
    assert_true(value_of(ss, "slurm_account_fairshare_raw_shares", (const char *[]){"biology"}) == 20);
    assert_true(isnan(value_of(ss, "slurm_account_fairshare_raw_shares", (const char *[]){"root"}))); /* empty: no series */
    assert_true(isnan(value_of(ss, "slurm_account_fairshare", (const char *[]){"root"})));
    assert_true(value_of(ss, "slurm_account_fairshare_raw_usage", (const char *[]){"root"}) == 870);
    assert_true(isnan(value_of(ss, "slurm_user_fairshare", (const char *[]){"root", "root"}))); /* users: off */
    ss_free(ss);
    const char *no_header[] = {"root|||0.000000|870||1.000000||", NULL};
    assert_int_equal(feed(find("fairshare"), no_header, &ss), 0);
    ss_free(ss);
    const char *bad[] = {"Account|User|RawShares", "x||abc", NULL};
    assert_int_equal(feed(find("fairshare"), bad, &ss), 1);
    ss_free(ss);
    const char *short_row[] = {"Account|User|RawShares", "x|", NULL};
    assert_int_equal(feed(find("fairshare"), short_row, &ss), 1);
    ss_free(ss);
}

static void test_reservations(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {"ReservationName=maint StartTime=2026-12-10T16:44:41 EndTime=Unknown Duration=UNLIMITED Nodes=c[1-4] "
                           "NodeCnt=4 CoreCnt=8 Features=(null) PartitionName=debug Flags=MAINT,SPEC_NODES Users=root "
                           "Accounts=(null) State=ACTIVE BurstBuffer=(null)",
                           "No reservations in the system", "", NULL};
    assert_int_equal(feed(find("reservations"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_reservation_info",
                         (const char *[]){"maint", "ACTIVE", "debug", "MAINT,SPEC_NODES", "root", ""}) == 1);
    assert_true(value_of(ss, "slurm_reservation_nodes", (const char *[]){"maint"}) == 4);
    assert_true(value_of(ss, "slurm_reservation_cores", (const char *[]){"maint"}) == 8);
    assert_true(value_of(ss, "slurm_reservation_start_time_seconds", (const char *[]){"maint"}) > 1.7e9);
    assert_true(isnan(value_of(ss, "slurm_reservation_end_time_seconds", (const char *[]){"maint"}))); /* Unknown */
    ss_free(ss);
    const char *bad[][2] = {{"StartTime=2026-12-10T16:44:41 NodeCnt=1", NULL},
                            {"ReservationName=x NodeCnt=-1", NULL},
                            {"ReservationName=x CoreCnt=abc", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(feed(find("reservations"), bad[i], &ss), 0);
        ss_free(ss);
    }
}

static void test_node_detail(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {
        "NodeName=n1 Arch=x86_64 CPULoad=N/A OS=Linux 6.1 #1 SMP State=IDLE+DRAIN+NOT_RESPONDING "
        "Partitions=a,b ActiveFeatures=(null) AvailableFeatures=x,y Reason=maint: window [admin@2026-01-01T00:00:00]",
        "NodeName=n2 CPULoad=0.78 State=FUTURE Partitions= Reason=no user here", "No nodes in the system", NULL};
    assert_int_equal(feed(find("node-detail"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_node_state", (const char *[]){"n1", "idle"}) == 1);
    assert_true(value_of(ss, "slurm_node_state_flag", (const char *[]){"n1", "drain"}) == 1);
    assert_true(value_of(ss, "slurm_node_state_flag", (const char *[]){"n1", "not_responding"}) == 1);
    assert_true(isnan(value_of(ss, "slurm_node_cpu_load", (const char *[]){"n1"}))); /* N/A: no series */
    assert_true(value_of(ss, "slurm_node_cpu_load", (const char *[]){"n2"}) == 0.78);
    assert_true(value_of(ss, "slurm_node_partition_info", (const char *[]){"n1", "b"}) == 1);
    assert_true(value_of(ss, "slurm_node_features_info", (const char *[]){"n1", "", "x,y"}) == 1);
    assert_true(value_of(ss, "slurm_node_reason_info", (const char *[]){"n1", "maint: window", "admin"}) == 1);
    assert_true(value_of(ss, "slurm_node_reason_timestamp_seconds", (const char *[]){"n1"}) > 1.7e9);
    assert_true(value_of(ss, "slurm_node_reason_info", (const char *[]){"n2", "no user here", ""}) == 1);
    assert_true(value_of(ss, "slurm_node_state", (const char *[]){"n2", "future"}) == 1);
    ss_free(ss);
    const char *bad[][2] = {{"hello", NULL}, {"NodeName=x CPULoad=abc State=IDLE", NULL}, {"NodeName=x", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(feed(find("node-detail"), bad[i], &ss), 0);
        ss_free(ss);
    }
}

static void test_queue(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {"1|debug,long|Priority|2026-01-01T00:00:10|N/A",
                           "2|debug|ReqNodeNotAvail, UnavailableNodes:c4|2026-01-01T00:00:20|2026-01-01T01:00:00",
                           "3|debug|JobHeldUser|2026-01-01T00:00:00|N/A", "4|debug|Resources|2026-01-01T00:00:30|N/A", NULL};
    assert_int_equal(feed(find("queue"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_partition_jobs_pending_reason", (const char *[]){"debug", "ReqNodeNotAvail"}) == 1);
    assert_true(value_of(ss, "slurm_partition_jobs_pending_reason", (const char *[]){"long", "Priority"}) == 1);
    assert_true(value_of(ss, "slurm_partition_jobs_pending_reason", (const char *[]){"debug", "JobHeldUser"}) == 1);
    assert_true(value_of(ss, "slurm_partition_jobs_pending_wait_seconds_count", (const char *[]){"debug"}) == 3); /* held: out */
    assert_true(value_of(ss, "slurm_partition_jobs_start_delay_seconds_count", (const char *[]){"debug"}) == 1);
    /* nearest rank over 3 waits: the median is the middle submit (00:00:20), the max the oldest (00:00:10) */
    double median = value_of(ss, "slurm_partition_jobs_pending_wait_seconds", (const char *[]){"debug", "0.5"});
    double max = value_of(ss, "slurm_partition_jobs_pending_wait_seconds", (const char *[]){"debug", "1"});
    assert_true(fabs((max - median) - 10) < 1e-6);
    ss_free(ss);
    const char *bad[][2] = {{"1|debug|Priority|yesterday|N/A", NULL}, {"1|debug|Priority", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(feed(find("queue"), bad[i], &ss), 0);
        ss_free(ss);
    }
}

static void test_gres(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {"g1|debug*|gpu:a100:2(S:0-1),gpu:v100:1(S:0),mps:1K|gpu:a100:1(IDX:0-1,3),mps:0",
                           "g1|long|gpu:a100:2(S:0-1),gpu:v100:1(S:0),mps:1K|gpu:a100:1(IDX:0-1,3),mps:0", "g2|long|gpu:4|(null)",
                           "c1|debug*|(null)|(null)", NULL};
    assert_int_equal(feed(find("gres"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_node_gres", (const char *[]){"g1", "gpu", "a100"}) == 2); /* once per node */
    assert_true(value_of(ss, "slurm_node_gres", (const char *[]){"g1", "mps", ""}) == 1024);
    assert_true(value_of(ss, "slurm_node_gres_alloc", (const char *[]){"g1", "gpu", "a100"}) == 1);
    assert_true(value_of(ss, "slurm_node_gres", (const char *[]){"g2", "gpu", ""}) == 4);
    assert_true(value_of(ss, "slurm_partition_gres", (const char *[]){"long", "gpu", ""}) == 4);
    assert_true(value_of(ss, "slurm_partition_gres", (const char *[]){"debug", "gpu", "v100"}) == 1);
    assert_true(value_of(ss, "slurm_partition_gres_alloc", (const char *[]){"long", "gpu", "a100"}) == 1);
    ss_free(ss);
    const char *bad[][2] = {{"n|p|gpu|(null)", NULL}, {"n|p|gpu:x|(null)", NULL}, {"n|p|(null)", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(feed(find("gres"), bad[i], &ss), 0);
        ss_free(ss);
    }
}

/* sdiag pads its labels to a width: a two-digit value follows the colon with no space. */
static void test_diags_tight_columns(void **st) {
    (void)st;
    sample_set *ss;
    const char *lines[] = {"*******************************************************",
                           "Main scheduler exit:",
                           "\tEnd of job queue:13",
                           "Backfilling stats",
                           "\tTotal cycles: 96",
                           "Backfill exit",
                           "\tEnd of job queue:96",
                           NULL};
    assert_int_equal(feed(find("diags"), lines, &ss), -1);
    assert_true(value_of(ss, "slurm_sched_exit_end", NULL) == 13);
    assert_true(value_of(ss, "slurm_bf_exit_end", NULL) == 96);
    assert_true(value_of(ss, "slurm_bf_cycle_cnt", NULL) == 96);
    ss_free(ss);
}

/* Label values are UTF-8 on every path: bad bytes become U+FFFD (one per maximal invalid subpart),
 * values that differ only there are one series, counted once. */
static void test_utf8_labels(void **st) {
    (void)st;
    assert_true(utf8_valid("j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x98\x80"));
    const char *bad[] = {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (utf8_valid(bad[i])) fail_msg("took invalid UTF-8 #%zu", i);
    char out[64];
    utf8_sanitize("cut\xe2\x82!", out);
    assert_string_equal(out, "cut\xef\xbf\xbd!"); /* a cut sequence is one U+FFFD */
    utf8_sanitize("\xc0\xaf", out);
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd"); /* C0 never starts a sequence */
    sample_set *ss = ss_new(1);
    family *f = ss_family(ss, "f", "", METRIC_GAUGE, "user", NULL);
    FAM_ADD(f, 1, "caf\xe9");
    FAM_ADD(f, 1, "caf\xe8");
    FAM_ADD(f, 1, "caf\xe9");
    assert_int_equal(f->n, 1);
    assert_int_equal(ss_utf8_replaced(ss), 1);
    ss_finish(ss);
    assert_true(value_of(ss, "f", (const char *[]){"caf\xef\xbf\xbd"}) == 3);
    ss_free(ss);
}

/* A label value longer than 1024 bytes is cut there, at a character's start, and counted once per
 * series: values that differ only past the cut are one series. */
static void test_long_label_values(void **st) {
    (void)st;
    char *ascii = malloc(2001), *wide = malloc(2001);
    memset(ascii, 'a', 2000), ascii[2000] = '\0';
    /* "x" then 2-byte characters: byte 1024 is the second byte of one, so the cut falls before it */
    wide[0] = 'x';
    for (int i = 1; i < 1999; i += 2) wide[i] = '\xc3', wide[i + 1] = '\xa9';
    wide[1999] = '\0';
    sample_set *ss = ss_new(1);
    family *f = ss_family(ss, "f", "", METRIC_GAUGE, "user", NULL);
    FAM_ADD(f, 1, ascii);
    ascii[1500] = 'b'; /* differs past the cut: the same series */
    FAM_ADD(f, 1, ascii);
    FAM_ADD(f, 1, wide);
    FAM_ADD(f, 1, "short");
    assert_int_equal(f->n, 3);
    assert_int_equal(ss_label_values_truncated(ss), 2);
    ss_finish(ss);
    ascii[1024] = '\0';
    assert_true(value_of(ss, "f", (const char *[]){ascii}) == 2);
    wide[1023] = '\0'; /* "x" and 511 whole characters */
    assert_true(value_of(ss, "f", (const char *[]){wide}) == 1);
    assert_true(utf8_valid(wide));
    ss_free(ss);

    /* through a collector: a job whose user name is 10 MB costs one 1024-byte value */
    size_t big = 10u << 20;
    char *line = malloc(big + 64);
    memcpy(line, "1|", 2);
    memset(line + 2, 'u', big);
    strcpy(line + 2 + big, "|chem|debug|RUNNING|4|1G|cpu=4,mem=1G,node=1|None");
    const char *lines[] = {line, NULL};
    assert_int_equal(feed(find("jobs"), lines, &ss), -1);
    line[2 + 1024] = '\0';
    assert_true(value_of(ss, "slurm_user_state_total", (const char *[]){"RUNNING", line + 2}) == 1);
    assert_true(ss_label_values_truncated(ss) >= 1);
    ss_free(ss);
    free(line), free(ascii), free(wide);
}

static void collect_name(const char *name, void *ctx) {
    buf *b = ctx;
    buf_printf(b, "%s ", name);
}

static void test_hostlist(void **st) {
    (void)st;
    const struct {
        const char *list, *want;
    } good[] = {
        {"node0", "node0 "},
        {"c[1-3,7],gpu[01-03]", "c1 c2 c3 c7 gpu01 gpu02 gpu03 "},
        {"rack[1-2]-n[1-2]", "rack1-n1 rack1-n2 rack2-n1 rack2-n2 "},
        {"n[08-11]", "n08 n09 n10 n11 "},
        {"a,b[1],c", "a b1 c "},
    };
    char why[96];
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        buf b = {0};
        long n = hostlist_expand(good[i].list, 100, collect_name, &b, why, sizeof why);
        if (n < 0 || strcmp(b.data ? b.data : "", good[i].want)) fail_msg("%s -> %s (%s)", good[i].list, b.data, why);
        buf_free(&b);
    }
    const char *bad[] = {"c[1-", "c1-3]",   "c[3-1]", "c[a-b]", "c[]",
                         ",",    "c[1-2],", "c[1,]",  "c[[1]]", "c[1-99999999999999999999]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf b = {0};
        if (hostlist_expand(bad[i], 100, collect_name, &b, why, sizeof why) >= 0) fail_msg("took %s", bad[i]);
        buf_free(&b);
    }
    buf b = {0};
    assert_true(hostlist_expand("n[1-1000]", 100, collect_name, &b, why, sizeof why) < 0); /* past the bound */
    buf_free(&b);
}

/* The cap keeps the first series made and drops (and counts) the rest; omitted zeros do not count. */
static void test_series_cap(void **st) {
    (void)st;
    sample_set *ss = ss_new(1);
    family *a = ss_family(ss, "a", "", METRIC_GAUGE, "k", NULL), *p = ss_family(ss, "p", "", METRIC_GAUGE, "k", NULL);
    p->positive_only = true;
    FAM_SET(a, 1, "x");
    FAM_SET(p, 0, "zero"); /* omitted by ss_finish: not counted against the cap */
    FAM_SET(p, 2, "y");
    FAM_SET(a, 3, "z");
    FAM_SET(p, 4, "w");
    assert_int_equal(ss_cap_series(ss, 3), 1);
    ss_finish(ss);
    assert_int_equal(ss_series_count(ss), 3);
    assert_true(value_of(ss, "a", (const char *[]){"x"}) == 1 && value_of(ss, "a", (const char *[]){"z"}) == 3);
    assert_true(value_of(ss, "p", (const char *[]){"y"}) == 2);
    assert_true(isnan(value_of(ss, "p", (const char *[]){"w"}))); /* the last one made is the one dropped */
    assert_int_equal(ss_cap_series(ss, 100), 0);
    ss_free(ss);
}

/* Every collector's descriptor is complete: the README, --help and the fuzz list depend on it. */
static void test_descriptors_complete(void **st) {
    (void)st;
    for (size_t i = 0; all_collectors[i]; i++) {
        const collector_def *d = all_collectors[i];
        assert_non_null(d->summary);
        assert_non_null(d->fixture);
        assert_non_null(d->error_metric);
        assert_true(d->dynamic_families || family_count(d->families) > 0);
        assert_true(d->command || d->http_request); /* a command to run or a URL to read */
        for (const family_def *f = d->families; f && f->name; f++) {
            assert_true(valid_metric_name(f->name));
            assert_non_null(f->help);
            if (f == d->families) assert_false(f->shares_previous);
        }
        if (i) assert_true(strcmp(all_collectors[i - 1]->name, d->name) < 0); /* name order, no duplicates */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_units),
        cmocka_unit_test(test_slurm_times),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_controller),
        cmocka_unit_test(test_fairshare),
        cmocka_unit_test(test_reservations),
        cmocka_unit_test(test_node_detail),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_gres),
        cmocka_unit_test(test_diags_tight_columns),
        cmocka_unit_test(test_utf8_labels),
        cmocka_unit_test(test_long_label_values),
        cmocka_unit_test(test_hostlist),
        cmocka_unit_test(test_native_exposition),
        cmocka_unit_test(test_descriptors_complete),
        cmocka_unit_test(test_jobs_counts),
        cmocka_unit_test(test_jobs_garbage_refused),
        cmocka_unit_test(test_nodes_merge_and_sentinels),
        cmocka_unit_test(test_nodes_garbage_refused),
        cmocka_unit_test(test_hostile_long_line),
        cmocka_unit_test(test_seed_line_formats),
        cmocka_unit_test(test_licenses_diags_limits_refuse_garbage),
        cmocka_unit_test(test_limits_duplicate_accounts_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
