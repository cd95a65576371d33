/* gen_cluster.c — synthetic CLI output in slurmpush's column formats, for benchmarks and
 * fixture checks: gen_cluster JOBS NODES DIR [SEED] writes DIR/squeue.txt and DIR/sinfo.txt, and the
 * per-node outputs DIR/nodes-detail.txt (scontrol show nodes -o) and DIR/gres.txt (sinfo -N Gres).
 * Deterministic for a seed; label cardinality like a large site (1,000 users, 100 accounts,
 * 12 partitions, a dozen job states and pending reasons). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

static unsigned long long rng_state;
static unsigned next_rand(void) { /* xorshift64*: reproducible, no libc state */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (unsigned)((rng_state * 2685821657736338717ull) >> 33);
}
static unsigned pick(unsigned n) { return next_rand() % n; }

static const char *const job_states[] = {"RUNNING",       "RUNNING",   "RUNNING",    "RUNNING",  "PENDING",   "PENDING",
                                         "PENDING",       "COMPLETED", "COMPLETING", "FAILED",   "CANCELLED", "TIMEOUT",
                                         "OUT_OF_MEMORY", "SUSPENDED", "PREEMPTED",  "NODE_FAIL"};
static const char *const reasons[] = {"Resources",
                                      "Priority",
                                      "Dependency",
                                      "JobHeldUser",
                                      "QOSMaxJobsPerUserLimit",
                                      "AssocGrpCpuLimit",
                                      "ReqNodeNotAvail, UnavailableNodes:n[0001-0004]",
                                      "BeginTime",
                                      "Licenses",
                                      "DependencyNeverSatisfied"};
static const char *const mems[] = {"0", "512M", "1G", "2G", "4G", "8G", "16G", "62.50G", "128G", "40000M"};
static const char *const node_states[] = {"allocated", "allocated", "mixed",      "mixed", "idle",   "down*",
                                          "drained",   "draining",  "completing", "idle~", "mixed-", "reserved"};

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: gen_cluster JOBS NODES DIR [SEED]\n");
        return 2;
    }
    long jobs = atol(argv[1]), nodes = atol(argv[2]);
    time_t base = 1796000000; /* a fixed "now": the same seed writes the same files */
    rng_state = argc > 4 ? strtoull(argv[4], NULL, 10) | 1 : 0x9e3779b97f4a7c15ull;
    mkdir(argv[3], 0755);
    char path[4096];
    snprintf(path, sizeof path, "%s/squeue.txt", argv[3]);
    FILE *q = fopen(path, "w");
    snprintf(path, sizeof path, "%s/sinfo.txt", argv[3]);
    FILE *s = fopen(path, "w");
    snprintf(path, sizeof path, "%s/nodes-detail.txt", argv[3]);
    FILE *d = fopen(path, "w");
    snprintf(path, sizeof path, "%s/gres.txt", argv[3]);
    FILE *g = fopen(path, "w");
    if (!q || !s || !d || !g) {
        perror("gen_cluster");
        return 1;
    }
    for (long j = 0; j < jobs; j++) {
        const char *state = job_states[pick(sizeof job_states / sizeof *job_states)];
        unsigned cpus = 1u << pick(7), nodes_used = 1 + pick(4);
        const char *mem = mems[pick(sizeof mems / sizeof *mems)];
        unsigned user = pick(1000);
        /* the jobs collector's twelve columns: times in the form the runner pins, in this timezone */
        time_t submit = base - (time_t)pick(86400), start = submit + (time_t)pick(3600), end = start + (time_t)pick(7200);
        char ts[3][32];
        strftime(ts[0], sizeof ts[0], "%Y-%m-%dT%H:%M:%S", localtime(&submit));
        strftime(ts[1], sizeof ts[1], "%Y-%m-%dT%H:%M:%S", localtime(&start));
        strftime(ts[2], sizeof ts[2], "%Y-%m-%dT%H:%M:%S", localtime(&end));
        bool pending = !strcmp(state, "PENDING"), running = !strcmp(state, "RUNNING");
        fprintf(q, "%ld|user%04u|acct%02u|part%02u|%s|%u|%s|cpu=%u,mem=%uG,node=%u,billing=%u|%s|%s|%s|%s\n", 1000000 + j, user,
                user % 100, pick(12), state, cpus, mem, cpus, 1 + pick(64), nodes_used, cpus, ts[0], pending ? "N/A" : ts[1],
                pending   ? "N/A"
                : running ? "NONE"
                          : ts[2],
                pending ? reasons[pick(sizeof reasons / sizeof *reasons)] : "None");
    }
    for (long n = 0; n < nodes; n++) {
        const char *state = node_states[pick(sizeof node_states / sizeof *node_states)];
        unsigned cpus = pick(2) ? 64 : 128, alloc = pick(cpus + 1), weight = 1 + pick(10);
        unsigned mem = cpus * 4000, amem = alloc * 3000;
        unsigned parts = 1 + pick(2), first = pick(12);
        for (unsigned p = 0; p < parts; p++) {
            bool down = !strcmp(state, "down*");
            char load[16] = "N/A", freem[16] = "N/A";
            if (!down) {
                snprintf(load, sizeof load, "%.2f", alloc * 0.97);
                snprintf(freem, sizeof freem, "%u", mem - amem / 2);
            }
            fprintf(s, "n%06ld|part%02u%s|%s|%u/%u/0/%u|%s|%u|%s|%u|%u\n", n, (first + p) % 12, (first + p) % 12 == 0 ? "*" : "",
                    state, alloc, cpus - alloc, cpus, load, mem, freem, amem, weight);
            unsigned gpus = n % 4 ? 0 : 8;
            if (gpus)
                fprintf(g, "n%06ld|part%02u|gpu:a100:%u(S:0-1)|gpu:a100:%u(IDX:0-%u)\n", n, (first + p) % 12, gpus, alloc % 9,
                        alloc % 9 ? alloc % 9 - 1 : 0);
            else
                fprintf(g, "n%06ld|part%02u|(null)|(null)\n", n, (first + p) % 12);
        }
        bool sick = !strcmp(state, "down*") || !strcmp(state, "drained") || !strcmp(state, "draining");
        fprintf(d,
                "NodeName=n%06ld Arch=x86_64 CoresPerSocket=32 CPUAlloc=%u CPUEfctv=%u CPUTot=%u CPULoad=%.2f "
                "AvailableFeatures=ib,avx512 ActiveFeatures=ib,avx512 Gres=(null) NodeAddr=n%06ld NodeHostName=n%06ld "
                "OS=Linux 6.1.0 #1 SMP RealMemory=%u AllocMem=%u FreeMem=%u Sockets=2 State=%s ThreadsPerCore=1 "
                "Partitions=part%02u,part%02u CfgTRES=cpu=%u AllocTRES=cpu=%u%s\n",
                n, alloc, cpus, cpus, alloc * 0.97, n, n, mem, amem, mem - amem / 2,
                sick            ? "DOWN+DRAIN+NOT_RESPONDING"
                : alloc == cpus ? "ALLOCATED"
                : alloc         ? "MIXED"
                                : "IDLE",
                first, (first + 1) % 12, cpus, alloc, sick ? " Reason=bad dimm [root@2026-11-01T12:00:00]" : "");
    }
    fclose(q);
    fclose(s);
    fclose(d);
    fclose(g);
    return 0;
}
