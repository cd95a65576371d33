/* collectors.c — the registry of collectors. A new collector is one file under collect/
 * and one line here. */
#include "collector.h"

extern const collector_def jobs_collector;
extern const collector_def nodes_collector;

const collector_def *const all_collectors[] = {
    &jobs_collector,
    &nodes_collector,
    NULL,
};
