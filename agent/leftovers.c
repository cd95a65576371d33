/* leftovers.c — what a command left behind, found by its mark and ended (see leftovers.h). */
#include "leftovers.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void leftovers_mark(char out[LEFTOVERS_MARK_MAX]) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(out, LEFTOVERS_MARK_MAX, "SLURMPUSH_RUN=%ld.%ld.%lld%09ld", (long)getpid(), (long)gettid(), (long long)ts.tv_sec,
             ts.tv_nsec);
}

/* Environments are a few KiB; one larger than this is not a command's we started. */
enum { ENVIRON_MAX = 4 << 20 };

/* True if the environment of pid (readable for our own processes, or as root) holds mark. */
static bool carries(pid_t pid, const char *mark) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
    size_t len;
    char *env = read_file(path, ENVIRON_MAX, &len);
    if (!env) return false;
    bool found = false;
    for (size_t at = 0; at < len && !found; at += strlen(env + at) + 1) found = !strcmp(env + at, mark);
    free(env);
    return found;
}

/* The parent and state of pid from /proc/PID/stat ("pid (comm) S ppid …"; comm may hold ')'). */
static bool read_stat(pid_t pid, pid_t *ppid, char *state) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    char *text = read_file(path, 4096, NULL);
    if (!text) return false;
    char *close = strrchr(text, ')');
    long parent = 0;
    bool ok = close && sscanf(close + 1, " %c %ld", state, &parent) == 2;
    *ppid = (pid_t)parent;
    free(text);
    return ok;
}

typedef struct {
    pid_t pid, ppid;
    size_t parent; /* index of the parent's entry, or n when /proc did not show it */
    bool doomed, gone;
} proc_entry;

static int by_pid(const void *a, const void *b) {
    pid_t x = ((const proc_entry *)a)->pid, y = ((const proc_entry *)b)->pid;
    return (x > y) - (x < y);
}

/* Every process /proc shows, with its parent, sorted by pid. */
static proc_entry *scan_processes(size_t *n) {
    size_t cap = 256;
    proc_entry *all = xmalloc(cap * sizeof *all);
    *n = 0;
    DIR *d = opendir("/proc");
    if (!d) return all;
    for (struct dirent *e; (e = readdir(d));) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10), ppid;
        char state;
        if (!read_stat(pid, &ppid, &state)) continue;
        if (*n == cap) all = xrealloc(all, (cap *= 2) * sizeof *all);
        all[(*n)++] = (proc_entry){.pid = pid, .ppid = ppid};
    }
    closedir(d);
    qsort(all, *n, sizeof *all, by_pid);
    for (size_t i = 0; i < *n; i++) {
        proc_entry key = {.pid = all[i].ppid}, *p = bsearch(&key, all, *n, sizeof *all, by_pid);
        all[i].parent = p ? (size_t)(p - all) : *n;
    }
    return all;
}

/* Marks root, what carries mark, and everything below either (a pass per generation). */
static void doom(proc_entry *all, size_t n, const char *mark, pid_t root) {
    pid_t self = getpid();
    for (size_t i = 0; i < n; i++) all[i].doomed = all[i].pid != self && (all[i].pid == root || carries(all[i].pid, mark));
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < n; i++) {
            if (all[i].doomed || all[i].pid == self || all[i].parent == n || !all[all[i].parent].doomed) continue;
            all[i].doomed = more = true;
        }
    }
}

/* Reaps each killed process that is (or becomes, as its parent dies) our child; done with one when it
 * is reaped or no longer exists. Bounded: a process stuck in the kernel (D state) is left. */
static void reap_killed(proc_entry *all, size_t n, pid_t root) {
    double deadline = mono_seconds() + 1;
    for (bool pending = true; pending && mono_seconds() < deadline;) {
        pending = false;
        for (size_t i = 0; i < n; i++) {
            if (!all[i].doomed || all[i].gone || all[i].pid == root) continue;
            pid_t r = waitpid(all[i].pid, NULL, WNOHANG);
            all[i].gone = r == all[i].pid || (r < 0 && kill(all[i].pid, 0) < 0 && errno == ESRCH);
            pending = pending || !all[i].gone;
        }
        if (pending) usleep(5000);
    }
}

size_t leftovers_end(const char *mark, pid_t root) {
    size_t n, killed = 0;
    proc_entry *all = scan_processes(&n);
    doom(all, n, mark, root);
    for (size_t i = 0; i < n; i++) {
        if (!all[i].doomed) continue;
        kill(all[i].pid, SIGKILL);
        if (all[i].pid != root) killed++;
    }
    if (root > 0) kill(root, SIGKILL); /* even if /proc did not show it */
    reap_killed(all, n, root);
    free(all);
    return killed;
}

size_t leftovers_sweep(const char *mark) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
    char *list = read_file(path, 1 << 20, NULL);
    if (!list) return 0; /* a kernel without CONFIG_PROC_CHILDREN: orphans wait for a later run's end */
    size_t done = 0;
    bool ours_alive = false;
    for (char *p = list, *end; *p; p = end) {
        pid_t pid = (pid_t)strtol(p, &end, 10), ppid;
        if (end == p) break;
        char state;
        if (!read_stat(pid, &ppid, &state)) continue;
        if (state == 'Z')
            done += waitpid(pid, NULL, WNOHANG) == pid;
        else
            ours_alive = ours_alive || carries(pid, mark);
    }
    free(list);
    if (ours_alive) done += leftovers_end(mark, 0);
    return done;
}
