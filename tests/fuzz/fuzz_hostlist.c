/* fuzz_hostlist.c — libFuzzer target for Slurm host-list expansion (hostlist.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/hostlist.h"

static void count(const char *name, void *ctx) {
    (void)name;
    ++*(size_t *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t n = 0;
    char why[96];
    long got = hostlist_expand(text, 10000, count, &n, why, sizeof why);
    if (got >= 0 && (size_t)got != n) abort(); /* the count returned is the count of calls */
    free(text);
    return 0;
}
