/* agent.h — the loop: each cycle starts every enabled collector that is not still running
 * (each in its own thread, so a slow or hung one delays no other), and each collector,
 * when done, publishes its own result: the /metrics snapshot is recomposed and its samples
 * go to every remote-write queue at once. At the end of a cycle (all done, or the next
 * tick) the agent's self-metrics go out and the Pushgateway group is replaced. */
#ifndef SLURMPUSH_AGENT_H
#define SLURMPUSH_AGENT_H

#include <stdbool.h>
#include <stdio.h>

#include "listener.h"
#include "options.h"

typedef struct agent agent;

#include "trace.h"

/* traces may be NULL (no trace ingest); the agent does not own it. */
agent *agent_new(const config *cfg, trace_table *traces);
/* Runs cycles until agent_request_stop; returns 0. */
int agent_run(agent *a);
/* One cycle (--once, --dry-run): waits for every collector and for delivery.
 * Returns 0 if every collector and every push succeeded, else 1. dry_run_out gets the text. */
int agent_run_once(agent *a, FILE *dry_run_out);
void agent_request_stop(agent *a);
/* The listener whose counters the self metrics carry; before agent_run. */
struct listener;
void agent_set_listener(agent *a, struct listener *l);
snapshot *agent_snapshot(agent *a);
void agent_free(agent *a);

#endif
