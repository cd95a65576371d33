/* fuzz_collector.c — libFuzzer target for a collector's parser (FUZZ_COLLECTOR names it):
 * the input is split into lines as the runner does, parsed, finished, then encoded both ways,
 * so hostile bytes also reach the label and value encoders. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collector.h"
#include "encode/remote_write.h"
#include "encode/text.h"

#ifndef FUZZ_COLLECTOR
#error "define FUZZ_COLLECTOR"
#endif

static void discard(void *ctx, uint8_t *body, size_t len, uint8_t *body_v2, size_t len_v2, size_t samples) {
    free(body_v2);
    (void)len_v2;
    (void)ctx, (void)len, (void)samples;
    free(body);
}

/* FUZZ_COLLECTOR is the descriptor's identifier (node_detail) of a name that may hold '-' (node-detail). */
static bool same_name(const char *name, const char *id) {
    for (; *name && *id; name++, id++)
        if (*name != *id && !(*name == '-' && *id == '_')) return false;
    return !*name && !*id;
}

/* One run over the input (a copy: parsers write into lines), then both encoders. */
static void run_once(const collector_def *d, const uint8_t *data, size_t size, void *memory) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    sample_set *ss = ss_new(1000 * (int64_t)(size + 1));
    void *state = calloc(1, d->state_size);
    if (d->begin) d->begin(state, ss, &(collect_env){.memory = memory});
    int refused = 0;
    char why[160];
    for (char *line = text, *next; line && !refused; line = next) {
        next = memchr(line, '\n', (size_t)(text + size - line));
        if (next) *next++ = '\0';
        refused = d->parse_line(state, line, strlen(line), why, sizeof why);
    }
    if (!refused && d->end) d->end(state, ss, why, sizeof why);
    if (d->release) d->release(state);
    free(state);
    ss_finish(ss);
    const sample_set *sets[] = {ss};
    label_pair extra[] = {{"cluster", "fuzz"}};
    rw_stats st;
    rw_encode(sets, 1, extra, 1, 100, true, discard, NULL, &st);
    buf out = {0};
    text_encode(sets, 1, extra, 1, true, &out);
    buf_free(&out);
    ss_free(ss);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const collector_def *d = NULL;
    for (size_t i = 0; all_collectors[i]; i++)
        if (same_name(all_collectors[i]->name, FUZZ_COLLECTOR)) d = all_collectors[i];
    void *memory = d->memory_size ? calloc(1, d->memory_size) : NULL;
    run_once(d, data, size, memory);
    if (!memory) return 0;
    /* a collector with memory: a second run has edges; what it saves loads back and runs on */
    run_once(d, data, size / 2, memory);
    json_object *doc = json_object_new_object();
    d->memory_save(memory, doc);
    void *restored = calloc(1, d->memory_size);
    if (d->memory_load(restored, doc) == 0) run_once(d, data, size, restored);
    json_object_put(doc);
    if (d->memory_release) d->memory_release(memory), d->memory_release(restored);
    free(memory);
    free(restored);
    return 0;
}
